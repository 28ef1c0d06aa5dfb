"""Read each input file from where the last ingest stopped: file identity, saved offsets, resumed reading.

A file is known by (device, inode) plus a BLAKE2 hash of its first HEAD_BYTES decompressed bytes (fewer when
the file was smaller; the length is kept), so a rename or a rotation (audit.log -> audit.log.1, same inode)
keeps its offset, and a rotated-and-compressed copy (audit.log.1 -> audit.log.2.gz, new inode) is found by
the hash of its first decompressed bytes and read only past what was read of the original. A file that
shrank below its offset (truncated) or whose first bytes changed (replaced) is reported and read from the
start. JSON Lines are resumed at a line boundary; the active file's partial last line (no newline yet) is
left for the next run, while a rotated file is read to its end. A file of JSON documents (pretty-printed,
an array) cannot be resumed mid-document: it is one unit, skipped while unchanged and re-read when it
changes. Stdin and FIFOs are never tracked. The archive's content-hash dedupe stays the backstop: reading
a line twice is harmless, offsets only make not reading it cheap.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from kanalytics.sources import decompress, files
from kanalytics.sources.decompress import GZIP_MAGIC, ZSTD_MAGIC, StreamDamaged
from kanalytics.sources.documents import AUTO
from kanalytics.sources.records import Block, PathNotice, Record

HEAD_BYTES = 4096  # the identity of a file: the hash of this many decompressed bytes (or all, if fewer)
_CLASSIFY_BYTES = 1 << 20  # how far to look for the end of the first line to tell JSON Lines from documents
_CHUNK_BYTES = files.BLOCK_BYTES
_TAIL_BYTES = 1 << 16
_MAX_RESETS_LISTED = 1000
LINES = "lines"  # resumable at a line boundary
WHOLE = "whole"  # JSON documents: read whole or not at all
# Names of files a log writer has rotated away (audit.log.1, audit.log.2.gz, lumberjack's
# audit-2026-10-01T12-00-00.000.log): they no longer grow, so a partial last line is read too.
_ROTATED = re.compile(r"(\.\d+(\.(gz|zst))?|\.(gz|zst)|-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(\.\d+)?\.\w+)\Z")

Item = Record | Block | PathNotice


@dataclass
class FileState:
    """How far one source file has been read."""

    path: str
    dev: int
    ino: int
    size: int  # bytes on disk when it was last looked at
    head_len: int
    head_hash: str
    offset: int  # decompressed bytes read, up to a line boundary (for a WHOLE unit: its size)
    lines: int  # lines read, so that line numbers (in quarantine) continue
    compressed: bool
    unit: str = LINES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileState:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass
class ReadProgress:
    """What the saved offsets saved: part of the ingest summary of an incremental ingest."""

    files: int = 0  # regular files looked at
    unchanged: int = 0  # nothing new in them
    resumed: int = 0  # read from a saved offset
    new: int = 0  # read from the start, seen for the first time
    reread: int = 0  # read from the start again (a changed document file, a truncated or replaced file)
    bytes_skipped: int = 0  # decompressed bytes not read again thanks to the offsets
    resets: list[str] = field(default_factory=list)  # "PATH: truncated ...", "PATH: replaced ..."

    def nothing_new(self) -> bool:
        return self.files > 0 and self.unchanged == self.files and not self.resets

    def add(self, other: ReadProgress) -> None:
        """Fold in another pass over the same inputs (`--follow` reads them again every poll)."""
        self.files = max(self.files, other.files)
        self.unchanged = other.unchanged
        self.resumed += other.resumed
        self.new += other.new
        self.reread += other.reread
        self.bytes_skipped += other.bytes_skipped
        self.resets += other.resets[: max(0, _MAX_RESETS_LISTED - len(self.resets))]


def head_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def is_rotated_name(path: str) -> bool:
    return bool(_ROTATED.search(Path(path).name))


class Tracker:
    """Reads inputs past what `known` says was read, and keeps the new states (`states()`) to be saved
    once the ingest has committed. `full` reads everything again (and still records the new states)."""

    def __init__(self, known: Iterable[FileState], *, full: bool = False, shape: str = AUTO) -> None:
        self.full = full
        self.shape = shape
        self.progress = ReadProgress()
        self._by_inode: dict[tuple[int, int], FileState] = {}
        self._by_head: dict[tuple[int, str], FileState] = {}
        for state in known:
            self._remember(state)

    def states(self) -> list[FileState]:
        return list(self._by_inode.values())

    def _remember(self, state: FileState) -> None:
        self._by_inode.pop((state.dev, state.ino), None)  # last seen last: the oldest are forgotten first
        self._by_inode[(state.dev, state.ino)] = state
        key = (state.head_len, state.head_hash)
        held = self._by_head.get(key)
        if held is None or held.offset <= state.offset:
            self._by_head[key] = state

    # -- reading -------------------------------------------------------------------------------------------
    def read_inputs(
        self, paths: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Iterator[Item]:
        """`files.read_inputs`, each regular file read only past its saved offset."""
        self.progress = ReadProgress()
        for item in files.walk_inputs(paths):
            if isinstance(item, PathNotice):
                yield item
            elif item == "-":
                yield from files.read_inputs(["-"], progress, self.shape)  # stdin: never tracked
            else:
                yield from self._read_file(item, progress)

    def pending(self, paths: Iterable[str]) -> bool:
        """Whether any input file differs (size or identity) from what was read: cheap, stats only."""
        for item in files.walk_inputs(paths):
            if isinstance(item, PathNotice) or item == "-":
                continue
            try:
                info = os.stat(item)
            except OSError:
                continue
            state = self._by_inode.get((info.st_dev, info.st_ino))
            if stat.S_ISREG(info.st_mode) and (state is None or state.size != info.st_size):
                return True
        return False

    def _read_file(self, path: str, progress: Callable[[int], None] | None) -> Iterator[Item]:
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):  # a FIFO named on purpose: read as given, never tracked
                yield from files.read_file(Path(path), progress, self.shape)
                return
            head, compressed = _head(path)
        except OSError:
            yield from files.read_file(Path(path), progress, self.shape)  # names the problem
            return
        self.progress.files += 1
        prior, start = self._match(path, info, head, compressed)
        unit = prior.unit if prior is not None and start is not None else _classify(path)
        state = FileState(
            path=os.path.abspath(path),
            dev=info.st_dev,
            ino=info.st_ino,
            size=info.st_size,
            head_len=len(head),
            head_hash=head_hash(head),
            offset=0,
            lines=0,
            compressed=compressed,
            unit=unit,
        )
        if unit == WHOLE:
            unchanged = (
                start is not None
                and prior is not None
                and prior.size == info.st_size
                and prior.ino == info.st_ino
            )
            state.offset = info.st_size
            self._remember(state)
            if unchanged and not self.full:
                self.progress.unchanged += 1
                return
            self._count_start(prior)
            yield from files.read_file(Path(path), progress, self.shape)
            return
        resuming = not (self.full or prior is None or start is None)
        if not resuming:
            base, lines = 0, 0
        else:
            assert prior is not None and start is not None
            base, lines = start, prior.lines
            if not compressed:
                base = min(start, info.st_size)  # a copy shorter than what was read: all of it was read
            elif (prior.dev, prior.ino, prior.size) == (info.st_dev, info.st_ino, info.st_size):
                state.offset, state.lines = prior.offset, prior.lines  # read before, not changed since:
                self._remember(state)  # skipped without decompressing it
                self.progress.unchanged += 1
                self.progress.bytes_skipped += prior.offset
                return
        try:
            end = None if compressed or is_rotated_name(path) else _readable_end(path, base, info.st_size)
            if end is not None and end <= base:  # nothing new, or only a partial line being written
                state.offset, state.lines = base, lines
                self._remember(state)
                self.progress.unchanged += 1
                self.progress.bytes_skipped += base
                return
            window = _Window(path, 0 if compressed else base, end, progress)
        except OSError:  # gone or unreadable since it was looked at
            yield from files.read_file(Path(path), progress, self.shape)  # names the problem
            return
        if not resuming:
            self._count_start(prior)
        counted = _Counted(decompress.chunks(cast(IO[bytes], window), _CHUNK_BYTES))
        chunks = _skip(iter(counted), base) if compressed else iter(counted)
        try:
            yield from files.frame_lines(chunks, path, lines + 1, self.shape)
        finally:
            window.close()
        if compressed:  # the counts cover the whole decompressed stream, skipped part included
            state.offset, state.lines = counted.bytes, counted.newlines
        else:
            state.offset, state.lines = base + counted.bytes, lines + counted.newlines
        self._remember(state)
        if not resuming:
            return
        if state.offset <= base:  # a compressed copy of no more than what was read of the original
            self.progress.unchanged += 1
        else:
            self.progress.resumed += 1
        self.progress.bytes_skipped += min(base, state.offset)

    def _match(
        self, path: str, info: os.stat_result, head: bytes, compressed: bool
    ) -> tuple[FileState | None, int | None]:
        """The saved state this file continues and the decompressed offset to resume at (None: from the start)."""
        prior = self._by_inode.get((info.st_dev, info.st_ino))
        if prior is not None:
            same = len(head) >= prior.head_len and head_hash(head[: prior.head_len]) == prior.head_hash
            if not compressed and prior.unit == LINES and info.st_size < prior.offset:
                self._reset(path, f"truncated (now {info.st_size} bytes, {prior.offset} had been read)")
                return prior, None
            if same:
                return prior, prior.offset
            if prior.path == os.path.abspath(path):
                self._reset(path, "replaced (its first bytes changed since the last ingest)")
                return prior, None
            # an inode reused by another file: fall through to the content
        for length in sorted({key[0] for key in self._by_head}, reverse=True):
            if len(head) >= length:
                copy = self._by_head.get((length, head_hash(head[:length])))
                if copy is not None:
                    return copy, copy.offset
        return None, None

    def _reset(self, path: str, why: str) -> None:
        if len(self.progress.resets) < _MAX_RESETS_LISTED:
            self.progress.resets.append(f"{path}: {why}; read from the start")

    def _count_start(self, prior: FileState | None) -> None:
        if prior is None:
            self.progress.new += 1
        else:
            self.progress.reread += 1


def _head(path: str) -> tuple[bytes, bool]:
    """The first HEAD_BYTES decompressed bytes of a file (fewer if it is shorter), and whether it is compressed."""
    with open(path, "rb") as handle:
        magic = handle.read(4)
        handle.seek(0)
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in decompress.chunks(handle, HEAD_BYTES):
                parts.append(chunk)
                size += len(chunk)
                if size >= HEAD_BYTES:
                    break
        except StreamDamaged:
            pass  # what could be decoded is the head; reading quarantines the rest
    compressed = magic.startswith(GZIP_MAGIC) or magic.startswith(ZSTD_MAGIC)
    return b"".join(parts)[:HEAD_BYTES], compressed


def _classify(path: str) -> str:
    """LINES when the file is read as JSON Lines (its first line is a whole value), WHOLE for documents."""
    parts: list[bytes] = []
    size = 0
    try:
        with open(path, "rb") as handle:
            for chunk in decompress.chunks(handle, _TAIL_BYTES):
                parts.append(chunk)
                size += len(chunk)
                if b"\n" in chunk.lstrip() or size >= _CLASSIFY_BYTES:
                    break
    except (OSError, StreamDamaged):
        pass
    head = b"".join(parts)
    if b"\n" not in head.lstrip() and size >= _CLASSIFY_BYTES:
        return WHOLE  # a first line over 1 MiB: cannot tell cheaply, and whole is always correct
    return LINES if files.is_line_framed(head) else WHOLE


def _readable_end(path: str, start: int, size: int) -> int:
    """Where reading [start, size) of a plain file may stop: after its last newline, or at its end when what
    follows that newline is a whole JSON value rather than a line still being written.

    The API server's log backend writes each Event with its newline, so text after the last newline is usually
    a line in the middle of being written: it is left for the next ingest. An export that is one JSON document
    without a final newline (an AKS Event Hubs capture, a GKE or EKS JSON array) is complete as it stands: its
    text starts with `{` or `[` and ends with `}` or `]`, which a line cut mid-write almost never does (and if
    it did, the reader would quarantine it with the reason rather than lose it)."""
    end = _last_line_end(path, start, size)
    if end >= size:
        return end
    with open(path, "rb") as handle:
        handle.seek(end)
        head = handle.read(min(_EDGE_BYTES, size - end)).lstrip()
        handle.seek(max(end, size - _EDGE_BYTES))
        tail = handle.read().rstrip()
    whole = head[:1] in (b"{", b"[") and tail[-1:] in (b"}", b"]")
    return size if whole else end


def _last_line_end(path: str, start: int, size: int) -> int:
    """The offset just past the last newline in [start, size) of a plain file (start if there is none)."""
    with open(path, "rb") as handle:
        end = size
        while end > start:
            begin = max(start, end - _TAIL_BYTES)
            handle.seek(begin)
            data = handle.read(end - begin)
            cut = data.rfind(b"\n")
            if cut != -1:
                return begin + cut + 1
            end = begin
    return start


_EDGE_BYTES = 4096  # how much of an unterminated last line's start and end is looked at


def _skip(chunks: Iterator[bytes], count: int) -> Iterator[bytes]:
    """`chunks` without their first `count` bytes."""
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:] if count else chunk
        count = 0


class _Counted:
    """Passes chunks through, counting bytes and newlines (the new offset and line count of the file)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.bytes = 0
        self.newlines = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.bytes += len(chunk)
            self.newlines += chunk.count(b"\n")
            yield chunk


class _Window(io.RawIOBase):
    """The raw bytes of a file in [start, end) (end None: to its end), reporting progress."""

    def __init__(
        self, path: str, start: int, end: int | None, progress: Callable[[int], None] | None
    ) -> None:
        self._handle: IO[bytes] = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._handle.seek(start)
        self._left = None if end is None else end - start
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer) if self._left is None else min(len(buffer), self._left)
        data = self._handle.read(size) if size else b""
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
        if self._progress is not None:
            self._progress(len(data))
        return len(data)

    def close(self) -> None:
        self._handle.close()
        super().close()
