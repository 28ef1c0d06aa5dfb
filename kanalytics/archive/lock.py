"""One writer at a time: an exclusive `flock` on `_state/writer.lock`. Readers never take it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from kanalytics.archive.layout import Layout
from kanalytics.errors import ArchiveLockedError


@contextmanager
def writer_lock(layout: Layout) -> Iterator[int]:
    """Hold the archive's writer lock; yields the lock's file descriptor (workers must close their copy)."""
    layout.state.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ArchiveLockedError(
                f"archive {layout.root} is being written by another process (pid {holder})",
                hint="wait for it to finish; readers (sql, export, report) can run meanwhile",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield fd
    finally:
        os.close(fd)  # closing the descriptor releases the lock
