"""The durable spool: acknowledged batches appended to segment files and fsynced before the answer.

A segment is `<seq>.spool`, a run of entries, each `KSP1 | kind | events | length | crc32 | payload`. The
active segment takes appends; `rotate()` closes it so the flusher can ingest every closed segment and delete
it once the archive's manifest committed. A crash can leave a torn last entry: it was never acknowledged (its
fsync did not return), so reading stops at the first entry whose header or checksum does not hold.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"KSP1"
_HEADER = struct.Struct(">4sBIII")
EVENTS = 1  # payload: JSON Lines, one Event per line
PROBLEM = 2  # payload: reason, NUL, the offending bytes (already capped and scrubbed)
SUFFIX = ".spool"


@dataclass(frozen=True, slots=True)
class Entry:
    kind: int
    events: int
    payload: bytes


class _Segment:
    """The open segment: appends under the spool lock, fsyncs grouped (one fsync covers every write before it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = 0
        self.synced = 0
        self.sync_lock = threading.Lock()
        self.closed = False

    def sync(self, upto: int) -> None:
        with self.sync_lock:
            if self.synced >= upto or self.closed:
                return
            target = self.size
            os.fsync(self.fd)
            self.synced = target

    def close(self) -> None:
        self.sync(self.size)
        with self.sync_lock:
            if not self.closed:
                self.closed = True
                os.close(self.fd)


class Spool:
    """Segment files in one directory; thread-safe. `bytes` and `events` count what is not yet deleted."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._active: _Segment | None = None
        existing = self.closed_segments()
        self._next = max((int(p.stem) for p in existing), default=0) + 1
        self.bytes = sum(p.stat().st_size for p in existing)
        self.events = sum(e.events for p in existing for e in read_segment(p))
        self._since: float | None = min((p.stat().st_mtime for p in existing), default=None)

    # -- intake side --------------------------------------------------------------------------------------
    def append(self, kind: int, events: int, payload: bytes) -> None:
        """Append one entry and return once it is on disk (file fsynced; the directory too for a new file)."""
        frame = _HEADER.pack(MAGIC, kind, events, len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            segment = self._active
            if segment is None:
                segment = self._active = _Segment(self.directory / f"{self._next:012d}{SUFFIX}")
                self._next += 1
                _fsync_dir(self.directory)
            written = os.write(segment.fd, frame)
            if written != len(frame):  # O_APPEND regular files write whole frames or raise; be sure anyway
                raise OSError(f"short write to {segment.path}: {written} of {len(frame)} bytes")
            segment.size += written
            end = segment.size
            self.bytes += written
            self.events += events
            if self._since is None:
                self._since = time.time()
        segment.sync(end)

    # -- flusher side -------------------------------------------------------------------------------------
    def rotate(self) -> None:
        """Close the active segment (if any), so that every segment holding data is closed."""
        with self._lock:
            segment, self._active = self._active, None
        if segment is not None:
            segment.close()

    def closed_segments(self) -> list[Path]:
        """Segments not being appended to, oldest first.

        Under the spool lock: `append` creates a new segment's file and makes it the active one under that lock,
        so a listing can never see a just-created active file as closed (the flusher would ingest it half
        written, delete it, and the appends acknowledged after that would go to an unlinked file)."""
        with self._lock:
            active = self._active.path if self._active is not None else None
            found = self.directory.glob(f"*{SUFFIX}")
            return sorted(p for p in found if p != active and p.stem.isdigit())

    def delete(self, segments: list[Path], *, events: int) -> None:
        """Delete flushed segments (their events are committed to the archive)."""
        freed = 0
        for path in segments:
            freed += path.stat().st_size
            path.unlink()
        _fsync_dir(self.directory)
        with self._lock:
            self.bytes -= freed
            self.events -= events
            self._since = None if self.bytes == 0 else (self._since if self._active else time.time())

    def oldest_age(self) -> float:
        """Seconds since the oldest spooled, not yet flushed, entry arrived (0 when the spool is empty)."""
        since = self._since
        return 0.0 if since is None else max(0.0, time.time() - since)

    def writable(self) -> bool:
        return os.access(self.directory, os.W_OK)


def read_segment(path: Path) -> Iterator[Entry]:
    """The entries of one segment, stopping at a torn or corrupt tail (never acknowledged)."""
    with path.open("rb") as handle:
        while True:
            header = handle.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            magic, kind, events, length, crc = _HEADER.unpack(header)
            if magic != MAGIC:
                return
            payload = handle.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return
            yield Entry(kind, events, payload)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
