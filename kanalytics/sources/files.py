"""Open inputs (plain, gzip, zstd; files, folders, stdin) and frame them into Blocks and Records.

A file is read as JSON Lines unless its first line starts a JSON value that is not complete by itself, in
which case it is read as a stream of JSON documents (an Event, EventList or array, pretty-printed, as the
webhook backend and some exporters write; see `jsonstream`). The decision needs only the first line, and
reading needs memory for one line or one document item, never for the file. Every problem becomes a Record
with an `error`, so the caller can quarantine it with file and line:
  - a line over MAX_LINE_BYTES is quarantined by its first QUARANTINE_HEAD_BYTES; the rest of it is
    discarded while reading, never held;
  - a stream that ends early (truncated gzip/zstd, read error) keeps every whole line before the damage,
    and its partial last line is quarantined with where the input stopped;
  - an unreadable file or folder inside an input folder is a PathNotice (quarantined by ingest, named), and
    FIFOs, sockets, dangling symlinks, hidden and non-log names are PathNotices that are only reported.
Nothing is skipped silently except blank lines.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from kanalytics.errors import InputError
from kanalytics.sources import decompress, jsonstream, jsontext
from kanalytics.sources.decompress import StreamDamaged
from kanalytics.sources.documents import AUTO, BOM, check_shape, not_utf8
from kanalytics.sources.records import Block, PathNotice, Record

__all__ = ["BOM", "Block", "PathNotice", "Record", "expand_paths", "not_utf8", "read_inputs", "walk_inputs"]

MAX_LINE_BYTES = 16 * 1024 * 1024  # longest line (or document item) that is parsed
QUARANTINE_HEAD_BYTES = 64 * 1024  # how much of a longer one is kept in quarantine
BLOCK_BYTES = 4 * 1024 * 1024
_SKIP_SUFFIXES = (".md", ".tsv", ".yaml", ".yml", ".txt", ".sha256", ".sig")

Item = Record | Block | PathNotice


# -- paths ------------------------------------------------------------------------------------------------
def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files in the order they should be read: folders recursively, rotated sets oldest first."""
    return [item for item in walk_inputs(paths) if isinstance(item, str)]


def walk_inputs(paths: Iterable[str]) -> Iterator[str | PathNotice]:
    """`expand_paths`, plus a PathNotice for each path inside a folder that will not be read."""
    for item in paths:
        if item == "-":
            yield item
            continue
        path = Path(item)
        try:
            is_dir = path.is_dir()
        except OSError as exc:  # e.g. a parent folder that cannot be searched
            yield PathNotice(item, "unreadable", exc.strerror or str(exc))
            continue
        if is_dir:
            yield from _walk_folder(path)
        elif path.exists():
            yield item  # a file, or a FIFO named on purpose (e.g. `<(zcat audit.log.gz)`): read as given
        else:
            raise InputError(f"input not found: {item}", hint="give a file, a folder, or '-' for stdin")


def _walk_folder(root: Path) -> Iterator[str | PathNotice]:
    files: list[Path] = []
    notices: list[PathNotice] = []
    visited: set[tuple[int, int]] = set()
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            stat = folder.stat()
            if (stat.st_dev, stat.st_ino) in visited:
                notices.append(PathNotice(f"{folder}/", "skipped", "folder already read (symlink loop)"))
                continue
            visited.add((stat.st_dev, stat.st_ino))
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            notices.append(PathNotice(f"{folder}/", "unreadable", exc.strerror or str(exc)))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                notices.append(PathNotice(str(path), "skipped", "hidden name"))
            elif entry.is_dir():
                folders.append(path)
            elif entry.is_file():
                if entry.name.endswith(_SKIP_SUFFIXES):
                    notices.append(PathNotice(str(path), "skipped", "not a log file name"))
                else:
                    files.append(path)
            elif entry.is_symlink():
                notices.append(PathNotice(str(path), "skipped", "dangling symlink"))
            else:
                notices.append(
                    PathNotice(str(path), "skipped", "not a regular file (FIFO, socket or device)")
                )
    yield from notices
    yield from (str(p) for p in sorted(files, key=_rotation_key))


def _rotation_key(path: Path) -> tuple[str, int, str]:
    # audit.log.2.gz is older than audit.log.1 which is older than audit.log
    name = path.name
    for suffix in (".gz", ".zst"):
        name = name.removesuffix(suffix)
    stem, _, last = name.rpartition(".")
    if last.isdigit() and stem:
        return (str(path.parent / stem), -int(last), name)
    return (str(path.parent / name), 0, name)


# -- reading --------------------------------------------------------------------------------------------
def read_inputs(
    paths: Iterable[str], progress: Callable[[int], None] | None = None, shape: str = AUTO
) -> Iterator[Item]:
    """Every input as Blocks, Records and PathNotices; `shape` is the input format (`documents.SHAPES`)."""
    check_shape(shape)
    for item in walk_inputs(paths):
        if isinstance(item, PathNotice):
            yield item
        elif item == "-":
            yield from _read_stream(sys.stdin.buffer, "<stdin>", progress, shape)
        else:
            yield from read_file(Path(item), progress, shape)


def read_file(path: Path, progress: Callable[[int], None] | None = None, shape: str = AUTO) -> Iterator[Item]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below; the generator owns it)
    except OSError as exc:
        yield PathNotice(str(path), "unreadable", exc.strerror or str(exc))
        return
    with handle:
        yield from _read_stream(handle, str(path), progress, shape)


class _Counting(io.RawIOBase):
    """Reports compressed bytes consumed, for the progress bar."""

    def __init__(self, inner: IO[bytes], progress: Callable[[int], None]) -> None:
        self._inner = inner
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._progress(len(data))
        return len(data)


def _read_stream(
    raw: IO[bytes], origin: str, progress: Callable[[int], None] | None, shape: str
) -> Iterator[Record | Block]:
    source: IO[bytes] = raw
    if progress is not None:
        source = io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 20)
    head, chunks = _head(decompress.chunks(source, BLOCK_BYTES))
    if _is_document(head):

        def lines(rest: Iterator[bytes], first_line: int) -> Iterator[Record | Block]:
            return _frame_lines(rest, origin, first_line, shape)

        yield from jsonstream.read_documents(
            chunks, origin, MAX_LINE_BYTES, QUARANTINE_HEAD_BYTES, lines, shape
        )
    else:
        yield from _frame_lines(chunks, origin, 1, shape)


def _head(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The input up to the end of its first non-blank line (at most MAX_LINE_BYTES + a chunk), and all of it."""
    parts: list[bytes] = []
    size = 0
    damage: StreamDamaged | None = None
    try:
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_LINE_BYTES or b"\n" in b"".join(parts).removeprefix(BOM).lstrip():
                break
    except StreamDamaged as exc:
        damage = exc
    head = b"".join(parts)

    def everything() -> Iterator[bytes]:
        if head:
            yield head
        if damage is not None:
            raise damage
        yield from chunks

    return head, everything()


def _is_document(head: bytes) -> bool:
    """True when the first line starts a JSON value that is not complete on that line."""
    data = head.removeprefix(BOM).lstrip()
    if data[:1] not in (b"{", b"["):
        return False
    newline = data.find(b"\n")
    if newline == -1:
        return len(head) > MAX_LINE_BYTES or not _parses(data)
    return not _parses(data[:newline])


def _parses(data: bytes) -> bool:
    try:
        jsontext.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _frame_lines(
    chunks: Iterator[bytes], origin: str, line_no: int, shape: str = AUTO
) -> Iterator[Record | Block]:
    """Blocks of whole lines; over-long lines and a damaged tail become Records. Holds one line at most."""
    carry = b""
    long_head: bytes | None = None  # the head of an over-long line being discarded
    long_size = 0
    try:
        for chunk in chunks:
            if long_head is not None:
                newline = chunk.find(b"\n")
                if newline == -1:
                    long_size += len(chunk)
                    continue
                yield _over_long(origin, line_no, long_head, long_size + newline)
                line_no += 1
                long_head = None
                chunk = chunk[newline + 1 :]
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n")
            if cut == -1:
                carry = data
            else:
                block, carry = data[: cut + 1], data[cut + 1 :]
                yield from _split_oversize(block, origin, line_no, shape)
                line_no += block.count(b"\n")
            if len(carry) > MAX_LINE_BYTES:
                long_head, long_size, carry = carry[:QUARANTINE_HEAD_BYTES], len(carry), b""
    except StreamDamaged as exc:
        tail = long_head if long_head is not None else carry[:QUARANTINE_HEAD_BYTES]
        yield Record(origin, line_no, error=str(exc), raw=tail or None)
        return
    if long_head is not None:
        yield _over_long(origin, line_no, long_head, long_size)
    elif carry:
        yield from _split_oversize(carry, origin, line_no, shape)


def _over_long(origin: str, line_no: int, head: bytes, size: int) -> Record:
    kept = "" if len(head) >= size else f"; its first {len(head)} bytes are kept"
    return Record(
        origin, line_no, error=f"line longer than {MAX_LINE_BYTES} bytes ({size} bytes){kept}", raw=head
    )


def _split_oversize(block: bytes, origin: str, first_line: int, shape: str) -> Iterator[Record | Block]:
    """A block as is, unless one of its lines is over the limit: that line becomes a quarantine Record."""
    if len(block) <= MAX_LINE_BYTES:
        yield Block(origin, first_line, block, shape)
        return
    # Rare path: re-frame line by line so only the oversize lines are set apart.
    pending: list[bytes] = []
    pending_start = first_line
    for offset, line in enumerate(block.split(b"\n")):
        number = first_line + offset
        if len(line) > MAX_LINE_BYTES:
            if pending:
                yield Block(origin, pending_start, b"\n".join(pending), shape)
                pending = []
            yield _over_long(origin, number, line[:QUARANTINE_HEAD_BYTES], len(line))
            pending_start = number + 1
        else:
            if not pending:
                pending_start = number
            pending.append(line)
    if pending:
        yield Block(origin, pending_start, b"\n".join(pending), shape)


# -- for incremental ingest (sources/cursor.py), which resumes a JSON Lines file at a saved line ----------
def is_line_framed(head: bytes) -> bool:
    """True when an input that starts with `head` is read as JSON Lines, so it can be resumed at a line."""
    return not _is_document(head)


def frame_lines(
    chunks: Iterator[bytes], origin: str, first_line: int, shape: str = AUTO
) -> Iterator[Record | Block]:
    """Decompressed `chunks` framed as a JSON Lines file is, its lines numbered from `first_line`."""
    return _frame_lines(chunks, origin, first_line, shape)
