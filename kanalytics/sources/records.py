"""What readers hand to ingest: Blocks of JSON Lines, Records (one candidate Event or one problem), notices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Block:
    """Whole lines of a JSON Lines input; `first_line` is the number of the first one."""

    origin: str
    first_line: int
    data: bytes


@dataclass(slots=True)
class Record:
    """One candidate Event, or one problem, located by origin and line."""

    origin: str
    line: int
    value: Any = None
    error: str | None = None
    raw: bytes | None = None  # the input bytes, kept for quarantine


@dataclass(slots=True)
class PathNotice:
    """A path inside an input folder that was not read: `unreadable` ones are quarantined, `skipped` ones
    (FIFOs, sockets, dangling symlinks, hidden or non-log names) are only reported."""

    path: str
    kind: str  # "unreadable" | "skipped"
    why: str
