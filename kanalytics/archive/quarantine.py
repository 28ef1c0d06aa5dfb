"""Quarantine: input that could not be archived, kept whole with its origin, line and reason."""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from kanalytics.archive.fsutil import sha256_file
from kanalytics.archive.layout import Layout
from kanalytics.archive.manifest import FileEntry


class QuarantineWriter:
    """Streams quarantine records into one zstd JSONL file per ingest batch (created on first use)."""

    def __init__(self, layout: Layout, batch_id: str) -> None:
        self.layout = layout
        self.relpath = layout.quarantine_file(batch_id)
        self.count = 0
        self.reasons: Counter[str] = Counter()
        self._file: IO[bytes] | None = None
        self._writer: Any = None

    def add(self, origin: str, line: int, reason: str, raw: bytes | None) -> None:
        if self._writer is None:
            tmp = self.layout.tmp_path(self.relpath)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(tmp, "wb")  # noqa: SIM115 (closed in close())
            self._writer = zstandard.ZstdCompressor(level=3).stream_writer(self._file, closefd=False)
        record: dict[str, Any] = {"origin": origin, "line": line, "reason": reason}
        if raw is not None:
            try:
                record["raw"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                record["raw_base64"] = base64.b64encode(raw).decode("ascii")
        self._writer.write(orjson.dumps(record) + b"\n")
        self.count += 1
        self.reasons[reason.split(":")[0]] += 1

    def close(self) -> FileEntry | None:
        """Finish the file (still under its temporary name) and describe it for the manifest."""
        if self._writer is None or self._file is None:
            return None
        self._writer.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        tmp = self.layout.tmp_path(self.relpath)
        return FileEntry(
            path=self.relpath,
            sha256=sha256_file(tmp),
            bytes=tmp.stat().st_size,
            kind="quarantine",
            rows=self.count,
        )


def read_quarantine(path: Path) -> Iterator[dict[str, Any]]:
    """The records of one quarantine file, with `raw` restored to bytes."""
    with open(path, "rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as reader:
        buffer = b""
        while chunk := reader.read(1 << 20):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line:
                    yield orjson.loads(line)
        if buffer.strip():
            yield orjson.loads(buffer)
