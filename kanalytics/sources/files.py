"""Open inputs (plain, gzip, zstd; files, folders, stdin) and frame them into Records.

A file is read as JSON Lines unless its first line is not JSON by itself, in which case it is read as one
pretty-printed document (an Event or EventList, as the webhook backend and some exporters write). Every
problem becomes a Record with an `error`, so the caller can quarantine it with file and line; nothing is
skipped silently except blank lines.
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import zstandard

from kanalytics.archive import jsontext
from kanalytics.errors import InputError
from kanalytics.sources import native

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024
BLOCK_BYTES = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIP_SUFFIXES = (".md", ".tsv", ".yaml", ".yml", ".txt", ".sha256", ".sig")


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


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files in the order they should be read: folders recursively, rotated sets oldest first."""
    expanded: list[str] = []
    for item in paths:
        if item == "-":
            expanded.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")]
            files = [p for p in files if not p.name.endswith(_SKIP_SUFFIXES)]
            expanded.extend(str(p) for p in sorted(files, key=_rotation_key))
        elif path.is_file():
            expanded.append(str(path))
        else:
            raise InputError(f"input not found: {item}", hint="give a file, a folder, or '-' for stdin")
    return expanded


def _rotation_key(path: Path) -> tuple[str, int, str]:
    # audit.log.2.gz is older than audit.log.1 which is older than audit.log
    name = path.name
    for suffix in (".gz", ".zst"):
        name = name.removesuffix(suffix)
    stem, _, last = name.rpartition(".")
    if last.isdigit() and stem:
        return (str(path.parent / stem), -int(last), name)
    return (str(path.parent / name), 0, name)


def read_inputs(
    paths: Iterable[str], progress: Callable[[int], None] | None = None
) -> Iterator[Record | Block]:
    for item in expand_paths(paths):
        if item == "-":
            yield from _read_stream(sys.stdin.buffer, "<stdin>", progress)
        else:
            yield from read_file(Path(item), progress)


def read_file(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[Record | Block]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below; the generator owns it)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        yield from _read_stream(handle, str(path), progress)


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    head = raw.peek(4)[:4] if isinstance(raw, io.BufferedReader) else b""
    if head.startswith(_GZIP_MAGIC):
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if head.startswith(_ZSTD_MAGIC):
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return cast(IO[bytes], io.BufferedReader(cast(Any, reader)))
    return raw


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
    raw: IO[bytes], origin: str, progress: Callable[[int], None] | None
) -> Iterator[Record | Block]:
    source: IO[bytes] = raw
    if progress is not None:
        source = io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 20)
    elif not isinstance(raw, io.BufferedReader):
        source = cast(IO[bytes], io.BufferedReader(cast(Any, raw)))
    stream = _decompressed(source)
    carry = b""
    line_no = 1  # number of the first line in `carry`
    first = True
    try:
        while True:
            chunk = stream.read(BLOCK_BYTES)
            if first:
                first = False
                if _is_document(carry + chunk):
                    yield from _document(
                        carry + chunk + stream.read(MAX_DOCUMENT_BYTES + 1 - len(chunk)), origin
                    )
                    return
            if not chunk:
                break
            data = carry + chunk
            cut = data.rfind(b"\n")
            if cut == -1:
                carry = data
                if len(carry) > MAX_LINE_BYTES:
                    yield _oversize(stream, carry, origin, line_no)
                    line_no += 1
                    carry = b""
                continue
            block, carry = data[: cut + 1], data[cut + 1 :]
            yield from _split_oversize(block, origin, line_no)
            line_no += block.count(b"\n")
    except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
        if carry:
            yield Block(origin, line_no, carry)
        yield Record(
            origin, line_no + 1, error=f"input ends early (truncated or corrupt compressed stream): {exc}"
        )
        return
    if carry:
        yield from _split_oversize(carry, origin, line_no)


def _split_oversize(block: bytes, origin: str, first_line: int) -> Iterator[Record | Block]:
    """A block as is, unless one of its lines is over the limit: that line becomes a quarantine Record."""
    if len(block) <= MAX_LINE_BYTES:
        yield Block(origin, first_line, block)
        return
    # Rare path: re-frame line by line so only the oversize lines are set apart.
    pending: list[bytes] = []
    pending_start = first_line
    for offset, line in enumerate(block.split(b"\n")):
        number = first_line + offset
        if len(line) > MAX_LINE_BYTES:
            if pending:
                yield Block(origin, pending_start, b"\n".join(pending))
                pending = []
            yield Record(
                origin, number, error=f"line longer than {MAX_LINE_BYTES} bytes ({len(line)} bytes)", raw=line
            )
            pending_start = number + 1
        else:
            if not pending:
                pending_start = number
            pending.append(line)
    if pending:
        yield Block(origin, pending_start, b"\n".join(pending))


def _is_document(head: bytes) -> bool:
    """True when the input is one pretty-printed JSON document rather than JSON Lines."""
    head = head.removeprefix(BOM)
    for line in head.split(b"\n", 64)[:64]:
        stripped = line.strip()
        if stripped:
            return stripped[:1] in (b"{", b"[") and not _parses(stripped)
    return False


def _parses(data: bytes) -> bool:
    try:
        jsontext.loads(data)
    except ValueError:
        return False
    return True


def _unwrapped(document: Any, origin: str, line_no: int, data: bytes) -> Iterator[Record]:
    events = native.unwrap(document)
    if events is None:
        yield Record(
            origin, line_no, error="not an audit event: not a JSON object, EventList or array", raw=data
        )
        return
    single = len(events) == 1
    for event in events:
        yield Record(origin, line_no, value=event, raw=data if single else None)


def _document(data: bytes, origin: str) -> Iterator[Record | Block]:
    data = data.removeprefix(BOM)
    if len(data) > MAX_DOCUMENT_BYTES:
        yield Record(
            origin, 1, error=f"JSON document larger than {MAX_DOCUMENT_BYTES} bytes", raw=data[: 1 << 20]
        )
        return
    try:
        document = jsontext.loads(data)
    except ValueError:
        # Not one document after all: judge it line by line, so each bad line is quarantined on its own.
        yield from _split_oversize(data, origin, 1)
        return
    yield from _unwrapped(document, origin, 1, data)


def not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _oversize(stream: IO[bytes], head: bytes, origin: str, line_no: int) -> Record:
    """A line over the limit: keep all of it for quarantine (compressed later), without parsing it."""
    parts = [head]
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        parts.append(chunk)
        if not chunk or chunk.endswith(b"\n"):
            break
    data = b"".join(parts).rstrip(b"\r\n")
    return Record(
        origin, line_no, error=f"line longer than {MAX_LINE_BYTES} bytes ({len(data)} bytes)", raw=data
    )
