"""What readers hand to ingest: Blocks of JSON Lines, Records (one candidate Event or one problem), notices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Block:
    """Whole lines of a JSON Lines input; `first_line` is the number of the first one. `shape` is the input
    format to read them as ("auto": each line's own, see `documents.SHAPES`)."""

    origin: str
    first_line: int
    data: bytes
    shape: str = "auto"


@dataclass(slots=True)
class Record:
    """One candidate Event, one problem (`error`), or one record deliberately not archived (`skipped`: a
    non-audit record of a managed-cloud envelope), located by origin and line. `cluster` is the cluster the
    envelope names, when it names one."""

    origin: str
    line: int
    value: Any = None
    error: str | None = None
    raw: bytes | None = None  # the input bytes, kept for quarantine
    skipped: str | None = None
    cluster: str | None = None


@dataclass(slots=True)
class PathNotice:
    """A path inside an input folder that was not read: `unreadable` ones are quarantined, `skipped` ones
    (FIFOs, sockets, dangling symlinks, hidden or non-log names) are only reported."""

    path: str
    kind: str  # "unreadable" | "skipped"
    why: str
