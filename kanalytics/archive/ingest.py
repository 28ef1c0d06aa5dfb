"""Ingest: Records in, deduplicated and redacted Parquet partitions out, committed by one manifest.

Memory is bounded by batch size: rows are buffered per partition and written as sorted row groups; the
dedupe state of a partition (hashes of its events) is kept only while the partition is being written to and
reloaded from disk if it is touched again. The cost of a run grows with the new input and the partitions it
touches, never with the whole archive.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kanalytics.archive import jsontext
from kanalytics.archive import manifest as manifests
from kanalytics.archive.fsutil import fsync_file, sha256_file
from kanalytics.archive.layout import Layout, Partition, check_cluster_name
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry
from kanalytics.archive.quarantine import QuarantineWriter
from kanalytics.archive.redact import redact_event
from kanalytics.archive.rows import NotAnEvent, event_hash, event_to_row, format_timestamp
from kanalytics.archive.schema import ARROW_SCHEMA, COLUMN_NAMES
from kanalytics.sources.files import Record

ROW_GROUP_ROWS = 128 * 1024
MAX_BUFFERED_ROWS = 512 * 1024
MAX_TRACKED_HASHES = 4_000_000
COMPRESSION_LEVEL = 6
SORT_KEYS = [("request_ts", "ascending"), ("audit_id", "ascending"), ("stage", "ascending")]
_NO_DICTIONARY = {"event_hash", "audit_id", "request_object", "response_object", "object_uid"}
_MAX_COLLISIONS_LISTED = 1000


@dataclass
class IngestSummary:
    """What one ingest did. `read == archived + duplicates + quarantined` always holds."""

    read: int = 0
    archived: int = 0
    duplicates: int = 0
    quarantined: int = 0
    redacted: int = 0
    collisions: int = 0
    files_written: int = 0
    partitions: list[str] = field(default_factory=list)
    quarantine_file: str | None = None
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    collision_examples: list[dict[str, str]] = field(default_factory=list)
    manifest_seq: int | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _PartitionWriter:
    """Buffers rows of one partition and writes them as sorted row groups into one temporary file."""

    def __init__(self, layout: Layout, partition: Partition, relpath: str) -> None:
        self.partition = partition
        self.relpath = relpath
        self.tmp = layout.tmp_path(relpath)
        self.columns: dict[str, list[Any]] = {name: [] for name in COLUMN_NAMES}
        self.buffered = 0
        self.rows = 0
        self.min_ts: int | None = None
        self.max_ts: int | None = None
        self._writer: pq.ParquetWriter | None = None

    def append(self, row: dict[str, Any]) -> None:
        for name, values in self.columns.items():
            values.append(row[name])
        self.buffered += 1
        ts = row["request_ts"]
        self.min_ts = ts if self.min_ts is None or ts < self.min_ts else self.min_ts
        self.max_ts = ts if self.max_ts is None or ts > self.max_ts else self.max_ts

    def flush(self) -> None:
        if not self.buffered:
            return
        table = pa.Table.from_pydict(self.columns, schema=ARROW_SCHEMA).sort_by(SORT_KEYS)
        if self._writer is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.tmp,
                ARROW_SCHEMA,
                compression="zstd",
                compression_level=COMPRESSION_LEVEL,
                use_dictionary=[n for n in COLUMN_NAMES if n not in _NO_DICTIONARY],
                write_statistics=True,
            )
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += self.buffered
        self.columns = {name: [] for name in COLUMN_NAMES}
        self.buffered = 0

    def close(self) -> FileEntry:
        self.flush()
        assert self._writer is not None
        self._writer.close()
        fsync_file(self.tmp)
        return FileEntry(
            path=self.relpath,
            sha256=sha256_file(self.tmp),
            bytes=self.tmp.stat().st_size,
            kind="events",
            rows=self.rows,
            min_ts=format_timestamp(self.min_ts) if self.min_ts is not None else None,
            max_ts=format_timestamp(self.max_ts) if self.max_ts is not None else None,
        )


@dataclass
class _Seen:
    """Dedupe state of one partition: event hashes, and the first hash seen per (auditID, stage)."""

    hashes: set[bytes] = field(default_factory=set)
    by_id: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def add(self, audit_id: str, stage: str, digest: bytes) -> None:
        self.hashes.add(digest)
        self.by_id.setdefault((audit_id, stage), digest)


def _partition_of(row: dict[str, Any], cluster: str) -> Partition:
    return Partition(cluster, datetime.fromtimestamp(row["request_ts"] / 1_000_000, UTC).date())


class Ingestor:
    """One ingest run into one archive. Use `run(records)`; it takes the writer lock for its duration."""

    def __init__(self, layout: Layout, cluster: str = "default", redact: bool = True) -> None:
        self.layout = layout
        self.cluster = check_cluster_name(cluster)
        self.redact = redact
        self.batch_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        self.summary = IngestSummary()
        self._writers: dict[Partition, _PartitionWriter] = {}
        self._closed: dict[Partition, list[FileEntry]] = {}
        self._seen: OrderedDict[Partition, _Seen] = OrderedDict()
        self._tracked = 0
        self._buffered = 0
        self._quarantine = QuarantineWriter(layout, self.batch_id)

    def run(self, records: Iterable[Record]) -> IngestSummary:
        started = time.perf_counter()
        with writer_lock(self.layout):
            manifests.recover(self.layout)
            try:
                for record in records:
                    self._take(record)
                entries = self._finish()
            except BaseException:
                self._abandon()
                raise
            if entries:
                committed = manifests.append_manifest(
                    self.layout, "ingest", added=entries, details=self._details()
                )
                manifests.publish(self.layout, [e.path for e in entries])
                self.summary.manifest_seq = committed.seq
        self.summary.seconds = round(time.perf_counter() - started, 3)
        return self.summary

    def _take(self, record: Record) -> None:
        summary = self.summary
        summary.read += 1
        if record.error is not None:
            self._quarantine.add(record.origin, record.line, record.error, record.raw)
            return
        event = record.value
        try:
            if self.redact and isinstance(event, dict) and redact_event(event):
                summary.redacted += 1
            row = event_to_row(event)
        except NotAnEvent as exc:
            self._quarantine.add(record.origin, record.line, str(exc), record.raw or _dump(event))
            return
        digest = event_hash(event)
        row["event_hash"] = digest
        partition = _partition_of(row, self.cluster)
        seen = self._seen_for(partition)
        if digest in seen.hashes:
            summary.duplicates += 1
            return
        key = (row["audit_id"], row["stage"])
        first = seen.by_id.get(key)
        if first is not None and first != digest:
            summary.collisions += 1
            if len(summary.collision_examples) < _MAX_COLLISIONS_LISTED:
                summary.collision_examples.append(
                    {"partition": partition.relpath, "audit_id": key[0], "stage": key[1]}
                )
        seen.add(key[0], key[1], digest)
        self._tracked += 1
        writer = self._writers.get(partition)
        if writer is None:
            count = len(self._closed.get(partition, []))
            name = self.batch_id if count == 0 else f"{self.batch_id}-{count}"
            writer = self._writers[partition] = _PartitionWriter(
                self.layout, partition, self.layout.data_file(partition, name)
            )
        writer.append(row)
        summary.archived += 1
        self._buffered += 1
        if writer.buffered >= ROW_GROUP_ROWS:
            self._buffered -= writer.buffered
            writer.flush()
        elif self._buffered >= MAX_BUFFERED_ROWS:
            self._flush_largest()

    def _flush_largest(self) -> None:
        for writer in sorted(self._writers.values(), key=lambda w: w.buffered, reverse=True):
            self._buffered -= writer.buffered
            writer.flush()
            if self._buffered < MAX_BUFFERED_ROWS // 2:
                break

    def _seen_for(self, partition: Partition) -> _Seen:
        seen = self._seen.get(partition)
        if seen is not None:
            self._seen.move_to_end(partition)
            return seen
        while self._tracked > MAX_TRACKED_HASHES and self._seen:
            self._evict(next(iter(self._seen)))
        seen = self._load_seen(partition)
        self._seen[partition] = seen
        self._tracked += len(seen.hashes)
        return seen

    def _evict(self, partition: Partition) -> None:
        seen = self._seen.pop(partition)
        self._tracked -= len(seen.hashes)
        writer = self._writers.pop(partition, None)
        if writer is not None:
            self._buffered -= writer.buffered
            self._closed.setdefault(partition, []).append(writer.close())

    def _load_seen(self, partition: Partition) -> _Seen:
        """Hashes already in the partition: committed files plus files this run has closed."""
        seen = _Seen()
        paths = [str(p) for p in self.layout.partition_files(partition)]
        paths += [str(self.layout.tmp_path(e.path)) for e in self._closed.get(partition, [])]
        for path in paths:
            table = pq.read_table(path, columns=["audit_id", "stage", "event_hash"])
            for audit_id, stage, digest in zip(
                table["audit_id"].to_pylist(),
                table["stage"].to_pylist(),
                table["event_hash"].to_pylist(),
                strict=True,
            ):
                seen.add(audit_id, stage, digest)
        return seen

    def _finish(self) -> list[FileEntry]:
        for partition, writer in self._writers.items():
            self._closed.setdefault(partition, []).append(writer.close())
        self._writers.clear()
        entries = [entry for files in self._closed.values() for entry in files]
        self.summary.files_written = len(entries)
        self.summary.partitions = sorted({p.relpath for p in self._closed})
        quarantine = self._quarantine.close()
        self.summary.quarantined = self._quarantine.count
        self.summary.quarantine_reasons = dict(self._quarantine.reasons)
        if quarantine is not None:
            entries.append(quarantine)
            self.summary.quarantine_file = quarantine.path
        return entries

    def _abandon(self) -> None:
        """On failure, remove this run's temporary files; nothing was committed."""
        for writer in self._writers.values():
            writer.tmp.unlink(missing_ok=True)
        for files in self._closed.values():
            for entry in files:
                self.layout.tmp_path(entry.path).unlink(missing_ok=True)
        self.layout.tmp_path(self._quarantine.relpath).unlink(missing_ok=True)

    def _details(self) -> dict[str, Any]:
        s = self.summary
        return {
            "batch_id": self.batch_id,
            "cluster": self.cluster,
            "redaction": self.redact,
            "read": s.read,
            "archived": s.archived,
            "duplicates": s.duplicates,
            "quarantined": s.quarantined,
            "collisions": s.collisions,
            "collision_examples": s.collision_examples[:100],
        }


def _dump(value: Any) -> bytes:
    return jsontext.dumps_bytes(value)
