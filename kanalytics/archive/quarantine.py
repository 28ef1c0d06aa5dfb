"""Quarantine: input that could not be archived, kept with its origin, line and reason.

With redaction on, the kept bytes are redacted first: input that parses as JSON structurally (as an event
would be), anything else lexically (`scrub.scrub_lexical`), each removed span replaced by a placeholder that
gives its length, its offset in the original line and a short keyed hash (equal values, equal hashes, within
one quarantine file; the key is never stored, so a hash cannot be used to test guesses of a value).
"""

from __future__ import annotations

import base64
import hashlib
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
from kanalytics.archive.redact import redact_document
from kanalytics.archive.scrub import MARK, scrub_lexical, scrub_text
from kanalytics.sources import jsontext

_MAX_PARSED_BYTES = 64 << 20  # larger input is scrubbed lexically rather than parsed


class QuarantineWriter:
    """Streams quarantine records into one zstd JSONL file per ingest batch (created on first use)."""

    def __init__(self, layout: Layout, batch_id: str, *, redact: bool = True) -> None:
        self.layout = layout
        self.redact = redact
        self._hash_key = os.urandom(16)
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
        if self.redact:
            record["reason"] = scrub_text(reason)
        if raw is not None:
            if self.redact:
                raw, redaction = self._redacted(raw)
                if redaction is not None:
                    record["redaction"] = redaction
            try:
                record["raw"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                record["raw_base64"] = base64.b64encode(raw).decode("ascii")
        self._writer.write(orjson.dumps(record) + b"\n")
        self.count += 1
        self.reasons[reason.split(":")[0]] += 1

    def _redacted(self, raw: bytes) -> tuple[bytes, dict[str, Any] | None]:
        """`raw` without Secret values or credentials, and how they were removed (None: nothing was)."""
        mentions_secret = b"secret" in raw.lower()
        if len(raw) <= _MAX_PARSED_BYTES:
            try:
                document = jsontext.loads(raw)
                changed = redact_document(document, assume_secret=mentions_secret)
                clean = jsontext.dumps_bytes(document) if changed else raw
            except Exception:  # any failure to parse or redact: fall back to the lexical rules
                pass
            else:
                return clean, ({"method": "parsed"} if changed else None)
        text = raw.decode("latin-1")  # one character per byte: offsets and lengths are byte counts
        clean_text, spans = scrub_lexical(text, assume_secret=mentions_secret, mark=self._placeholder)
        if not spans:
            return raw, None
        return clean_text.encode("latin-1"), {"method": "lexical", "spans": spans}

    def _placeholder(self, removed: str, offset: int) -> str:
        digest = hashlib.blake2b(removed.encode("latin-1"), key=self._hash_key, digest_size=4).hexdigest()
        return f"{MARK[:-1]}: {len(removed)} bytes at {offset}, #{digest}]"

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
