"""Fast, exact JSON text: orjson where it is exact, the standard library where it is not.

orjson turns integers beyond 64 bits into floats silently; any text with a run of 19+ digits (a cheap,
conservative test) is parsed by the standard library instead, which keeps them exact.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Map every digit to "0" and everything else to " ": a run of 19 zeros means a run of 19 digits.
# (bytes.translate + a substring test is ~15x faster than a regular expression here.)
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_RUN = b"0" * 19


def loads(data: bytes) -> Any:
    if _RUN in data.translate(_DIGITS):
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
