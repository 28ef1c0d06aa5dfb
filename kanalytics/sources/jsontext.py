"""Fast, exact JSON text: orjson where it is exact, the standard library where it is not.

orjson turns integers beyond 64 bits into floats silently; any text with a run of 19+ digits (a cheap,
conservative test) is parsed by the standard library instead, which keeps them exact. Both paths accept
standard JSON only: `NaN`, `Infinity` and numbers that overflow a double are errors, never `null` or a
non-standard literal in the archive (orjson already refuses them; the standard library is told to).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# Map every digit to "0" and everything else to " ": a run of 19 zeros means a run of 19 digits.
# (bytes.translate + a substring test is ~15x faster than a regular expression here.)
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_RUN = b"0" * 19
NON_FINITE = "NaN or Infinity cannot be written as standard JSON"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is too large for a double")
    return value


# The standard library's decoder, restricted to standard JSON (used for big integers and by streaming readers).
DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def loads(data: bytes) -> Any:
    if _RUN in data.translate(_DIGITS):
        return DECODER.decode(data.decode("utf-8"))
    return orjson.loads(data)


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    return dumps_bytes(value, sort_keys=sort_keys).decode("utf-8")


def dumps_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON; raises ValueError for NaN/Infinity next to a >64-bit integer, never writes `NaN`."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # integers beyond 64 bits
        try:
            text = json.dumps(
                value, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"), allow_nan=False
            )
        except ValueError as exc:
            if "Out of range float" in str(exc):
                raise ValueError(NON_FINITE) from None
            raise
        return text.encode("utf-8")


def has_non_finite(value: Any) -> bool:
    """True when a float NaN or infinity is anywhere inside `value` (orjson would write it as `null`)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            if not math.isfinite(item):
                return True
        elif type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False
