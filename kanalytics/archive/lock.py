"""Locks: one writer at a time (`_state/writer.lock`), and the readers lock that keeps files readers may
still open from being deleted. Readers never wait for a writer: they share `_state/readers.lock`, which a
writer takes exclusively, without waiting, only for the moment it renames or deletes files."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from kanalytics.archive.layout import Layout
from kanalytics.errors import ArchiveLockedError


@contextmanager
def writer_lock(layout: Layout) -> Iterator[int]:
    """Hold the archive's writer lock; yields the lock's file descriptor (workers must close their copy), or
    -1 on an object store, where the lock is a lease object (kanalytics.archive.s3.Lease)."""
    if layout.remote:
        from kanalytics.archive import s3

        assert isinstance(layout.storage, s3.S3Storage)
        with s3.lease(layout.storage, layout.lease_key):
            yield -1
        return
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
        # Created here, so that readers (who may only have read access) find it to share.
        os.close(os.open(layout.readers_lock, os.O_RDONLY | os.O_CREAT, 0o644))
        yield fd
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def reader_lock(layout: Layout) -> int | None:
    """Take the readers lock shared; returns the descriptor to close when the reader is done with the files.

    None when the archive has no readers lock and this process cannot create one (a read-only copy that no
    writer touches), and on an object store (no flock: writers defer deletions by a grace period instead).
    Waits only while a writer renames or deletes files (it never holds the lock longer).
    """
    if layout.remote:
        return None
    try:
        fd = os.open(layout.readers_lock, os.O_RDONLY)
    except FileNotFoundError:
        try:
            fd = os.open(layout.readers_lock, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            return None
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


@contextmanager
def readers_idle(layout: Layout) -> Iterator[bool]:
    """True while no reader holds the readers lock (new readers wait meanwhile); False when some do.

    Writers rename committed files and delete removed ones only when True; when False they leave them for
    the next writer run, so a reader that resolved the old state keeps finding its files. On an object store
    it is always False: deletion there waits for the grace period instead (manifest.purge_removed).
    """
    if layout.remote:
        yield False
        return
    layout.state.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.readers_lock, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            idle = False
        else:
            idle = True
        yield idle
    finally:
        os.close(fd)
