"""Fast, exact JSON text: orjson where it is exact, the standard library where it is not.

orjson turns integers beyond 64 bits into floats silently; any text with a run of 19+ digits (a cheap,
conservative test) is parsed by the standard library instead, which keeps them exact.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(rb"\d{19}")


def loads(data: bytes) -> Any:
    if _LONG_DIGITS.search(data):
        return json.loads(data)
    return orjson.loads(data)


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    return dumps_bytes(value, sort_keys=sort_keys).decode("utf-8")


def dumps_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":")).encode(
            "utf-8"
        )
