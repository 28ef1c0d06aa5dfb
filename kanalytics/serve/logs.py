"""JSON-lines logs on stderr: one object per line with time, level, message and fields."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from kanalytics.sources import jsontext

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_state = {"level": 20}
_lock = threading.Lock()


def set_level(name: str) -> None:
    _state["level"] = _LEVELS[name]


def log(level: str, message: str, **fields: Any) -> None:
    if _LEVELS[level] < _state["level"]:
        return
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z", "level": level, "msg": message}
    record.update(fields)
    line = jsontext.dumps(record) + "\n"
    with _lock:
        sys.stderr.write(line)
        sys.stderr.flush()
