"""Decompress an input (plain, gzip, zstd) into bounded chunks, and say exactly where it ends early.

Every chunk is at most `chunk_bytes` long whatever the compression ratio (a 13 MB `.gz` can hold 3 GB), so
memory never depends on the input. A stream that stops inside a gzip member or a zstd frame, or that cannot
be read further, ends with `StreamDamaged` after every byte that could be decoded: the caller keeps the
readable prefix and quarantines the rest with the message.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO, cast

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ_BYTES = 1 << 20


class StreamDamaged(Exception):
    """The input ends early or is corrupt after the bytes already returned; `str()` is the reason."""


def chunks(raw: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """The decompressed content of `raw`, in chunks of at most `chunk_bytes` bytes."""
    source = _Source(raw)
    first = source.read(_READ_BYTES)
    if first.startswith(GZIP_MAGIC):
        yield from _gunzip(source, first, chunk_bytes)
    elif first.startswith(ZSTD_MAGIC):
        yield from _unzstd(source, first, chunk_bytes)
    else:
        yield from _plain(source, first, chunk_bytes)


class _Source:
    """Reads the raw input, counting bytes; a read error becomes `StreamDamaged` naming the offset."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.offset = 0
        self.pending = b""
        self.walker: _FrameWalker | None = None

    def read(self, size: int = _READ_BYTES) -> bytes:
        if self.pending:
            data, self.pending = self.pending[:size], self.pending[size:]
        else:
            try:
                data = self.raw.read(size if size > 0 else _READ_BYTES)
            except OSError as exc:
                raise StreamDamaged(
                    f"input unreadable after byte {self.offset}: {exc.strerror or exc}"
                ) from None
        self.offset += len(data)
        if self.walker is not None:
            self.walker.feed(data, self.offset - len(data))
        return data

    def unread(self, data: bytes) -> None:
        self.pending = data + self.pending
        self.offset -= len(data)


def _plain(source: _Source, first: bytes, chunk_bytes: int) -> Iterator[bytes]:
    data = first
    while data:
        for start in range(0, len(data), chunk_bytes):
            yield data[start : start + chunk_bytes]
        data = source.read(max(chunk_bytes, _READ_BYTES))


def _truncated(decoded: int, compressed: int, kind: str) -> StreamDamaged:
    return StreamDamaged(
        f"input truncated after byte {decoded} of decompressed data: the {kind} stream ends early "
        f"(at compressed byte {compressed}); whole lines before that point were read"
    )


def _gunzip(source: _Source, first: bytes, chunk_bytes: int) -> Iterator[bytes]:
    """gzip, including concatenated members and zero padding, with output bounded per call."""
    decoded = 0
    inflater: zlib._Decompress | None = zlib.decompressobj(wbits=31)
    data = first
    while True:
        if not data:
            data = source.read()
            if not data:
                break
        if inflater is None:  # between members: padding, another member, or garbage
            data = data.lstrip(b"\x00")
            if not data:
                continue
            if len(data) < 2:
                data += source.read(1)
            if not data.startswith(GZIP_MAGIC):
                raise StreamDamaged(
                    f"input corrupt after byte {decoded} of decompressed data: data that is not gzip "
                    f"follows the last complete member (compressed byte {source.offset - len(data)})"
                )
            inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data, chunk_bytes)
            while out:
                decoded += len(out)
                yield out
                out = inflater.decompress(inflater.unconsumed_tail, chunk_bytes) if not inflater.eof else b""
        except zlib.error as exc:
            raise StreamDamaged(
                f"input corrupt after byte {decoded} of decompressed data: {exc} "
                f"(near compressed byte {source.offset})"
            ) from None
        if inflater.eof:
            data = inflater.unused_data
            inflater = None
        else:
            data = inflater.unconsumed_tail
    if inflater is not None:
        tail = inflater.flush()
        if tail:
            decoded += len(tail)
            yield tail
        if not inflater.eof:
            raise _truncated(decoded, source.offset, "gzip")


def _unzstd(source: _Source, first: bytes, chunk_bytes: int) -> Iterator[bytes]:
    """zstd frames (and skippable frames); a frame cut short is detected by walking the frame structure.

    python-zstandard's stream reader returns end-of-data silently when the input stops inside a frame, so
    the compressed bytes are walked alongside (headers and block sizes only) to know whether the last frame
    was complete.
    """
    walker = source.walker = _FrameWalker()
    source.unread(first)
    reader = zstandard.ZstdDecompressor().stream_reader(
        cast(IO[bytes], source), read_size=_READ_BYTES, read_across_frames=True
    )
    decoded = 0
    try:
        while out := reader.read(chunk_bytes):
            decoded += len(out)
            yield out
        while source.read():  # whatever the reader left unread still has to be whole frames
            pass
    except zstandard.ZstdError as exc:
        raise StreamDamaged(
            f"input corrupt after byte {decoded} of decompressed data: {exc} (near compressed byte "
            f"{source.offset})"
        ) from None
    if walker.problem is not None:
        raise StreamDamaged(f"input corrupt after byte {decoded} of decompressed data: {walker.problem}")
    if not walker.at_boundary():
        raise _truncated(decoded, source.offset, "zstd")


class _FrameWalker:
    """Follows zstd frame headers and block sizes (RFC 8878) to tell whether the input ends between frames."""

    def __init__(self) -> None:
        self.state = "magic"
        self.need = 4
        self.header = b""
        self.skip = 0
        self.last_block = False
        self.checksum = False
        self.problem: str | None = None

    def at_boundary(self) -> bool:
        return self.problem is None and self.state == "magic" and not self.header and not self.skip

    def feed(self, data: bytes, offset: int) -> None:
        index = 0
        while index < len(data) and self.problem is None:
            if self.skip:
                taken = min(self.skip, len(data) - index)
                self.skip -= taken
                index += taken
                if not self.skip:
                    self._after_skip()
                continue
            taken = min(self.need - len(self.header), len(data) - index)
            self.header += data[index : index + taken]
            index += taken
            if len(self.header) == self.need:
                header, self.header = self.header, b""
                self._parsed(header, offset + index)

    def _parsed(self, header: bytes, offset: int) -> None:
        state = self.state
        if state == "magic":
            if header == ZSTD_MAGIC:
                self.state, self.need = "descriptor", 1
            elif header[0] & 0xF0 == 0x50 and header[1:] == b"\x2a\x4d\x18":
                self.state, self.need = "skippable", 4
            else:
                self.problem = f"data that is not a zstd frame at compressed byte {offset - 4}"
        elif state == "skippable":
            self.skip = int.from_bytes(header, "little")
            self.state = "skippable-body"
            if not self.skip:
                self._after_skip()
        elif state == "descriptor":
            descriptor = header[0]
            single_segment = bool(descriptor & 0x20)
            self.checksum = bool(descriptor & 0x04)
            size_field = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
            rest = (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 0x03] + size_field
            if rest:
                self.state, self.need = "frame-header", rest
            else:
                self.state, self.need = "block", 3
        elif state == "frame-header":
            self.state, self.need = "block", 3
        elif state == "block":
            value = int.from_bytes(header, "little")
            self.last_block = bool(value & 1)
            kind, size = (value >> 1) & 3, value >> 3
            if kind == 3:
                self.problem = f"reserved zstd block type at compressed byte {offset - 3}"
                return
            self.skip = 1 if kind == 1 else size
            self.state = "block-body"
            if not self.skip:
                self._after_skip()

    def _after_skip(self) -> None:
        if self.state == "block-body" and not self.last_block:
            self.state, self.need = "block", 3
        elif self.state == "block-body" and self.checksum:
            self.state, self.skip = "checksum", 4
        else:
            self.state, self.need = "magic", 4
