"""Ingest: input in, deduplicated and redacted Parquet partitions out, committed by one manifest.

Conversion (parse, redact, map, hash) runs in worker processes a block at a time; this process only
deduplicates and writes. Memory is bounded by batch size: rows are buffered per partition as Arrow and
written as sorted row groups; the dedupe state of a partition is kept only while the partition is being
written to and reloaded from disk if it is touched again. The cost of a run grows with the new input and
the partitions it touches, never with the whole archive.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kanalytics.archive import manifest as manifests
from kanalytics.archive.chain import partition_paths
from kanalytics.archive.collisions import DayIndex
from kanalytics.archive.convert import (
    CLUSTER_COLUMN,
    DAY_COLUMN,
    Converted,
    convert_block,
    convert_records,
)
from kanalytics.archive.fileformat import ROW_GROUP_ROWS, parquet_writer, sort_rows
from kanalytics.archive.fsutil import fsync_file, sha256_file
from kanalytics.archive.layout import Layout, Partition, check_cluster_name
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry
from kanalytics.archive.quarantine import QuarantineWriter
from kanalytics.archive.rows import format_timestamp
from kanalytics.archive.schema import ARROW_SCHEMA, HASH_BYTES
from kanalytics.sources.cursor import ReadProgress
from kanalytics.sources.records import Block, PathNotice, Record
from kanalytics.vocabulary import INGEST_OPERATION

if TYPE_CHECKING:
    from kanalytics.archive.signing import Keys

MAX_BUFFERED_ROWS = 128 * 1024
MAX_TRACKED_EVENTS = 2_000_000
_MAX_COLLISIONS_LISTED = 1000
_RECORDS_PER_CHUNK = 10_000
_RECORD_BYTES_PER_CHUNK = 16 * 1024 * 1024  # records also carry their input bytes: bound those too
_MAX_PATHS_LISTED = 1000
_EPOCH = date(1970, 1, 1)
DEFAULT_CLUSTER = "default"  # the cluster of events no `--cluster` and no envelope names


@dataclass
class IngestSummary:
    """What one ingest did. `read == archived + duplicates + quarantined + records_skipped` always holds.

    `records_skipped` counts the records of a managed-cloud envelope that are deliberately not archived
    because they are not audit records (an AKS kube-apiserver log line, an EKS scheduler stream, a
    CONTROL_MESSAGE), by reason in `records_skipped_reasons`. A file or folder inside the input that could
    not be read counts as one quarantined record (reason "cannot read ...", line 0) and is named in
    `unreadable`; paths skipped on purpose (FIFOs, dangling symlinks, hidden and non-log names) are not
    records: they are counted by reason in `skipped` and named in `skipped_examples`. `clusters` are the
    clusters this run wrote to (`--cluster`, else the ones the envelopes name, else "default").
    """

    read: int = 0
    archived: int = 0
    duplicates: int = 0
    quarantined: int = 0
    records_skipped: int = 0
    redacted: int = 0
    collisions: int = 0
    files_written: int = 0
    partitions: list[str] = field(default_factory=list)
    quarantine_file: str | None = None
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    records_skipped_reasons: dict[str, int] = field(default_factory=dict)
    clusters: list[str] = field(default_factory=list)
    collision_examples: list[dict[str, str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: list[str] = field(default_factory=list)
    incremental: ReadProgress | None = None  # an ingest that used saved offsets: what they saved
    manifest_seq: int | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _PartitionWriter:
    """Buffers Arrow rows of one partition and writes them as sorted row groups into one temporary file."""

    def __init__(self, layout: Layout, relpath: str) -> None:
        self.relpath = relpath
        self.tmp = layout.tmp_path(relpath)
        self.batches: list[pa.RecordBatch] = []
        self.buffered = 0
        self.rows = 0
        self.min_ts: int | None = None
        self.max_ts: int | None = None
        self._writer: pq.ParquetWriter | None = None

    def append(self, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)
        self.buffered += batch.num_rows

    def flush(self) -> None:
        if not self.buffered:
            return
        table = sort_rows(pa.Table.from_batches(self.batches, schema=ARROW_SCHEMA))
        bounds = pc.min_max(table["request_ts"].cast(pa.int64()))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        self.min_ts = low if self.min_ts is None else min(self.min_ts, low)
        self.max_ts = high if self.max_ts is None else max(self.max_ts, high)
        if self._writer is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._writer = parquet_writer(self.tmp)
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += self.buffered
        self.batches = []
        self.buffered = 0
        del table
        pa.default_memory_pool().release_unused()  # give freed buffers back: RSS tracks the batch, not the run

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


class _Seen:
    """Dedupe state of one partition: (auditID, stage) -> event hash, or a set of them after a collision.

    Keys are Python hashes of (auditID, stage): a third of the memory of the tuples. Two different pairs
    sharing a key can only be misreported as a collision; the duplicate decision always compares the content
    checksum too (`rows.event_hash`: 8 bytes, v1 files' 16-byte hashes cut to the same 8), so no event is
    ever dropped because of it.
    """

    __slots__ = ("by_key",)

    def __init__(self) -> None:
        self.by_key: dict[int, bytes | frozenset[bytes]] = {}

    def check(self, audit_id: str, stage: str, digest: bytes) -> str:
        """'new', 'duplicate' or 'collision' (same auditID and stage, different content); records it."""
        key = hash((audit_id, stage))
        known = self.by_key.get(key)
        if known is None:
            self.by_key[key] = digest
            return "new"
        if known == digest or (isinstance(known, frozenset) and digest in known):
            return "duplicate"
        self.by_key[key] = (known if isinstance(known, frozenset) else frozenset((known,))) | {digest}
        return "collision"


class Ingestor:
    """One ingest run into one archive. Use `run(items)`; it takes the writer lock for its duration.

    `cluster` names the cluster of every event; when it is None, each event goes to the cluster its
    envelope names (EKS log group, AKS resourceId, GKE cluster_name), or DEFAULT_CLUSTER.
    """

    def __init__(
        self,
        layout: Layout,
        cluster: str | None = None,
        redact: bool = True,
        workers: int | None = None,
        *,
        keys: Keys | None = None,
    ) -> None:
        self.layout = layout
        self.keys = keys  # signs the manifest; recovery acts on no manifest its verifier rejects
        self.cluster = check_cluster_name(cluster) if cluster is not None else None
        self._clusters: set[str] = set()
        self.redact = redact
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.batch_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        self.summary = IngestSummary()
        self._writers: dict[Partition, _PartitionWriter] = {}
        self._closed: dict[Partition, list[FileEntry]] = {}
        self._seen: OrderedDict[Partition, _Seen] = OrderedDict()
        # Per cluster: the (auditID, stage) keys of the resident partitions' days, for collisions across days.
        self._days: dict[str, DayIndex] = {}
        self._loaded: set[Partition] = set()  # partitions whose dedupe state this run has loaded
        self._tracked = 0
        self._buffered = 0
        self._quarantine = QuarantineWriter(layout, self.batch_id, redact=redact)
        self._pool: ProcessPoolExecutor | None = None
        self._pinned: set[Partition] = set()
        self._lock_fd = -1

    def run(self, items: Iterable[Record | Block | PathNotice]) -> IngestSummary:
        started = time.perf_counter()
        with writer_lock(self.layout) as lock_fd:
            self._lock_fd = lock_fd
            manifests.recover(self.layout, keys=self.keys)
            try:
                self._consume(items)
                entries = self._finish()
            except BaseException:
                self._abandon()
                raise
            finally:
                if self._pool is not None:
                    self._pool.shutdown(cancel_futures=True)
            if entries:
                committed = manifests.append_manifest(
                    self.layout, INGEST_OPERATION, added=entries, details=self._details(), keys=self.keys
                )
                manifests.publish(self.layout, [e.path for e in entries])
                self.summary.manifest_seq = committed.seq
        self.summary.seconds = round(time.perf_counter() - started, 3)
        return self.summary

    # -- pipeline -----------------------------------------------------------------------------------------
    def _consume(self, items: Iterable[Record | Block | PathNotice]) -> None:
        """Convert in order (blocks in workers, a few in flight), absorb results in input order."""
        pending: deque[Future[Converted] | Converted] = deque()
        records: list[Record] = []
        record_bytes = 0
        in_flight = max(2, 2 * self.workers)
        for item in items:
            if isinstance(item, PathNotice):
                notice = self._notice(item)
                if notice is not None:
                    records.append(notice)
                continue
            if isinstance(item, Record):
                records.append(item)
                record_bytes += len(item.raw) if item.raw is not None else 0
                if len(records) >= _RECORDS_PER_CHUNK or record_bytes >= _RECORD_BYTES_PER_CHUNK:
                    pending.append(convert_records(records, self.redact))
                    records, record_bytes = [], 0
                    while len(pending) > in_flight:
                        self._absorb(_result(pending.popleft()))
                continue
            if records:
                pending.append(convert_records(records, self.redact))
                records, record_bytes = [], 0
            pending.append(self._submit(item))
            while len(pending) > in_flight:
                self._absorb(_result(pending.popleft()))
        if records:
            pending.append(convert_records(records, self.redact))
        while pending:
            self._absorb(_result(pending.popleft()))

    def _notice(self, notice: PathNotice) -> Record | None:
        """An unreadable path becomes a quarantine record (so it is counted and exits 3); a skipped one is listed."""
        summary = self.summary
        if notice.kind == "unreadable":
            if len(summary.unreadable) < _MAX_PATHS_LISTED:
                summary.unreadable.append(f"{notice.path} ({notice.why})")
            what = "folder" if notice.path.endswith("/") else "file"
            return Record(notice.path, 0, error=f"cannot read this {what}: {notice.why}")
        summary.skipped[notice.why] = summary.skipped.get(notice.why, 0) + 1
        if len(summary.skipped_examples) < _MAX_PATHS_LISTED:
            summary.skipped_examples.append(notice.path)
        return None

    def _submit(self, block: Block) -> Future[Converted] | Converted:
        if self.workers <= 1:
            return convert_block(block, self.redact)
        if self._pool is None:
            # fork: workers inherit the imported modules, so they start in milliseconds
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_worker_init,
                initargs=(self._lock_fd,),
            )
        return self._pool.submit(convert_block, block, self.redact)

    def _absorb(self, converted: Converted) -> None:
        summary = self.summary
        summary.read += converted.read
        summary.redacted += converted.redacted
        for reason, count in converted.skipped.items():
            summary.records_skipped += count
            reasons = summary.records_skipped_reasons
            reasons[reason] = reasons.get(reason, 0) + count
        for origin, line, reason, raw in converted.quarantine:
            self._quarantine.add(origin, line, reason, raw)
        batch = converted.batch
        if batch is None:
            return
        keep: dict[Partition, list[int]] = {}
        # Resolve each (cluster, day)'s partition and dedupe state once per batch, not once per row.
        by_day: dict[tuple[str | None, int], tuple[Partition, _Seen, list[int]]] = {}
        named = (
            [None] * batch.num_rows if self.cluster is not None else batch.column(CLUSTER_COLUMN).to_pylist()
        )
        columns = zip(
            named,
            batch.column(DAY_COLUMN).to_pylist(),
            batch.column("audit_id").to_pylist(),
            batch.column("stage").to_pylist(),
            batch.column("event_hash").to_pylist(),
            strict=True,
        )
        for index, (name, day, audit_id, stage, digest) in enumerate(columns):
            entry = by_day.get((name, day))
            if entry is None:
                partition = Partition(self._cluster_of(name), _EPOCH + timedelta(days=day))
                self._pinned.add(partition)
                seen = self._seen_for(partition)
                entry = by_day[(name, day)] = (partition, seen, keep.setdefault(partition, []))
            partition, seen, kept = entry
            verdict = seen.check(audit_id, stage, digest)
            if verdict == "duplicate":
                summary.duplicates += 1
                continue
            if verdict == "collision" or self._crosses_days(partition, audit_id, stage, archived=False):
                self._collision(partition, audit_id, stage)
            self._tracked += 1
            kept.append(index)
        self._pinned.clear()
        rows = batch.drop_columns([DAY_COLUMN, CLUSTER_COLUMN])
        for partition, indices in keep.items():
            if not indices:
                continue
            subset = rows if len(indices) == rows.num_rows else rows.take(pa.array(indices, type=pa.int32()))
            self._write(partition, subset)

    def _crosses_days(self, partition: Partition, audit_id: str, stage: str, *, archived: bool) -> bool:
        """Whether this (auditID, stage) on this day adds a collision with another day of the cluster."""
        index = self._days.setdefault(partition.cluster, DayIndex())
        return index.observe(hash((audit_id, stage)), partition.date.toordinal(), archived) > 0

    def _collision(self, partition: Partition, audit_id: str, stage: str) -> None:
        summary = self.summary
        summary.collisions += 1
        if len(summary.collision_examples) < _MAX_COLLISIONS_LISTED:
            summary.collision_examples.append(
                {"partition": partition.relpath, "audit_id": audit_id, "stage": stage}
            )

    def _cluster_of(self, named: str | None) -> str:
        """The partition cluster of an event: `--cluster`, else the one its envelope names, else the default."""
        cluster = self.cluster or (check_cluster_name(named) if named is not None else DEFAULT_CLUSTER)
        self._clusters.add(cluster)
        return cluster

    def _write(self, partition: Partition, batch: pa.RecordBatch) -> None:
        writer = self._writers.get(partition)
        if writer is None:
            count = len(self._closed.get(partition, []))
            name = self.batch_id if count == 0 else f"{self.batch_id}-{count}"
            writer = self._writers[partition] = _PartitionWriter(
                self.layout, self.layout.data_file(partition, name)
            )
        writer.append(batch)
        self.summary.archived += batch.num_rows
        self._buffered += batch.num_rows
        if writer.buffered >= ROW_GROUP_ROWS:
            self._buffered -= writer.buffered
            writer.flush()
        elif self._buffered >= MAX_BUFFERED_ROWS:
            for other in sorted(self._writers.values(), key=lambda w: w.buffered, reverse=True):
                self._buffered -= other.buffered
                other.flush()
                if self._buffered < MAX_BUFFERED_ROWS // 2:
                    break

    # -- dedupe state ---------------------------------------------------------------------------------------
    def _seen_for(self, partition: Partition) -> _Seen:
        seen = self._seen.get(partition)
        if seen is not None:
            if next(reversed(self._seen)) != partition:
                self._seen.move_to_end(partition)
            return seen
        # Evict least recently used partitions, but never one the current batch is still writing to.
        for victim in [p for p in self._seen if p not in self._pinned]:
            if self._tracked <= MAX_TRACKED_EVENTS:
                break
            self._evict(victim)
        seen, count = self._load_seen(partition)
        self._seen[partition] = seen
        self._tracked += count
        return seen

    def _evict(self, partition: Partition) -> None:
        seen = self._seen.pop(partition)
        self._tracked -= len(seen.by_key)
        self._days[partition.cluster].forget(list(seen.by_key), partition.date.toordinal())
        writer = self._writers.pop(partition, None)
        if writer is not None:
            self._buffered -= writer.buffered
            self._closed.setdefault(partition, []).append(writer.close())

    def _load_seen(self, partition: Partition) -> tuple[_Seen, int]:
        """What the partition already holds: committed files plus files this run has closed.

        Its keys join the cluster's day index; on the first load, a committed event that shares its auditID and
        stage with an event this run added on another day counts as a collision. A reload (after eviction)
        counts nothing again, so collisions with days evicted meanwhile can be missed: the count is exact while
        the days a run touches fit MAX_TRACKED_EVENTS.
        """
        first_load = partition not in self._loaded
        self._loaded.add(partition)
        seen = _Seen()
        paths = [str(p) for p in partition_paths(self.layout, partition)]  # committed files only
        paths += [str(self.layout.tmp_path(e.path)) for e in self._closed.get(partition, [])]
        count = 0
        for path in paths:
            table = pq.read_table(path, columns=["audit_id", "stage", "event_hash"])
            for audit_id, stage, digest in zip(
                table["audit_id"].to_pylist(),
                table["stage"].to_pylist(),
                table["event_hash"].to_pylist(),
                strict=True,
            ):
                seen.check(audit_id, stage, digest[:HASH_BYTES])  # v1 files hold 16 bytes: the same prefix
                if self._crosses_days(partition, audit_id, stage, archived=True) and first_load:
                    self._collision(partition, audit_id, stage)
                count += 1
        return seen, count

    # -- commit ---------------------------------------------------------------------------------------------
    def _finish(self) -> list[FileEntry]:
        for partition, writer in self._writers.items():
            self._closed.setdefault(partition, []).append(writer.close())
        self._writers.clear()
        entries = [entry for files in self._closed.values() for entry in files]
        self.summary.files_written = len(entries)
        self.summary.partitions = sorted({p.relpath for p in self._closed})
        self.summary.clusters = sorted({p.cluster for p in self._closed})
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
            "cluster": self.cluster or (s.clusters[0] if len(s.clusters) == 1 else None),
            "clusters": s.clusters,
            "redaction": self.redact,
            "read": s.read,
            "archived": s.archived,
            "duplicates": s.duplicates,
            "quarantined": s.quarantined,
            "records_skipped": s.records_skipped,
            "collisions": s.collisions,
            "collision_examples": s.collision_examples[:100],
        }


def _worker_init(lock_fd: int) -> None:
    """In a forked worker: drop the inherited lock descriptor, and die with the parent if it is killed."""
    if lock_fd >= 0:
        with contextlib.suppress(OSError):  # already closed: nothing to release
            os.close(lock_fd)
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphans holding memory or files
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _result(item: Future[Converted] | Converted) -> Converted:
    return item.result() if isinstance(item, Future) else item
