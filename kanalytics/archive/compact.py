"""Compaction: merge a day's small files into few large sorted ones, swapped in by one manifest per partition.

Rows are never lost: the new files are written under temporary names, their row count must equal the old
files' before the `compact` manifest commits the swap, and a kill at any point leaves either the old files
(uncommitted temporaries are removed by the next writer) or the new ones (recover rolls the swap forward).
Files are verified against the chain before they are read, so compaction never launders a tampered file
into a freshly hashed one. Memory: one partition (a day of one cluster) is held in memory as Arrow.
"""

from __future__ import annotations

import time as clock
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kanalytics.archive import holds as holds_mod
from kanalytics.archive import manifest as manifests
from kanalytics.archive.chain import readable_path, replay
from kanalytics.archive.fileformat import COMPRESSION_LEVEL, ROW_GROUP_ROWS, parquet_writer, sort_rows
from kanalytics.archive.fsutil import fsync_file, sha256_file
from kanalytics.archive.layout import Layout, Partition
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry
from kanalytics.archive.rows import format_timestamp
from kanalytics.archive.schema import ARROW_SCHEMA
from kanalytics.archive.verify import key_problem
from kanalytics.errors import ArchiveError, UsageError
from kanalytics.vocabulary import COMPACT_OPERATION

if TYPE_CHECKING:
    from kanalytics.archive.signing import Keys

TARGET_FILE_BYTES = 512 * 1024 * 1024  # split output above this (DESIGN: 100 MB–1 GB per file)
Hook = Callable[[str], None]  # tests inject kills between steps ("after-write", "after-manifest", ...)


@dataclass
class PartitionCompaction:
    partition: str
    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int
    rows: int
    held_by: list[str] = field(default_factory=list)
    manifest_seq: int | None = None


@dataclass
class CompactResult:
    compacted: list[PartitionCompaction] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # partitions left alone and why
    level: int = COMPRESSION_LEVEL
    seconds: float = 0.0

    @property
    def files_before(self) -> int:
        return sum(c.files_before for c in self.compacted)

    @property
    def files_after(self) -> int:
        return sum(c.files_after for c in self.compacted)

    @property
    def bytes_before(self) -> int:
        return sum(c.bytes_before for c in self.compacted)

    @property
    def bytes_after(self) -> int:
        return sum(c.bytes_after for c in self.compacted)

    def summary(self) -> str:
        gain = (1 - self.bytes_after / self.bytes_before) * 100 if self.bytes_before else 0.0
        return (
            f"compacted {len(self.compacted)} partitions: {self.files_before} → {self.files_after} files, "
            f"{self.bytes_before / 1e6:.1f} → {self.bytes_after / 1e6:.1f} MB ({gain:.0f}% smaller), "
            f"zstd level {self.level}; skipped {len(self.skipped)}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "files_before": self.files_before,
            "files_after": self.files_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "summary": self.summary(),
        }


def parse_age(text: str) -> timedelta:
    """`2d`, `36h`, `0d` → timedelta."""
    units = {"d": "days", "h": "hours"}
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not value.isdigit():
        raise UsageError(f"invalid age {text!r}", hint="use a number of days or hours, e.g. 2d or 36h")
    return timedelta(**{units[unit]: int(value)})


def compact_archive(
    layout: Layout,
    *,
    older_than: timedelta = timedelta(days=2),
    level: int | None = None,
    target_bytes: int = TARGET_FILE_BYTES,
    clusters: list[str] | None = None,
    now: datetime | None = None,
    hook: Hook | None = None,
    keys: Keys | None = None,
) -> CompactResult:
    """Compact every partition whose day ended more than `older_than` ago and that has several files."""
    started = clock.perf_counter()
    result = CompactResult(level=level if level is not None else COMPRESSION_LEVEL)
    if not 1 <= result.level <= 22:
        raise UsageError(f"zstd level {result.level} is out of range", hint="use 1..22")
    horizon = (now or datetime.now(UTC)) - older_than
    with writer_lock(layout):
        manifests.recover(layout, keys=keys)
        state = replay(layout)
        holds = holds_mod.active_holds(layout)
        for partition, entries in sorted(state.live_by_partition().items()):
            if clusters and partition.cluster not in clusters:
                continue
            day_end = datetime.combine(partition.date + timedelta(days=1), datetime.min.time(), UTC)
            if day_end > horizon or len(entries) < 2:
                continue
            bad = [e.path for e in entries if key_problem(layout, e.path, e, state.live[e.path][1])]
            if bad:
                result.skipped.append(
                    {"partition": partition.relpath, "reason": f"fails verification: {bad[0]}"}
                )
                continue
            held = [h.describe() for h in holds_mod.holds_covering(holds, partition)]
            result.compacted.append(
                _compact_partition(layout, partition, entries, result.level, target_bytes, held, hook, keys)
            )
    result.seconds = round(clock.perf_counter() - started, 3)
    return result


def _compact_partition(
    layout: Layout,
    partition: Partition,
    old: list[FileEntry],
    level: int,
    target_bytes: int,
    held: list[str],
    hook: Hook | None,
    keys: Keys | None = None,
) -> PartitionCompaction:
    table = sort_rows(
        pa.concat_tables([pq.read_table(readable_path(layout, e), schema=ARROW_SCHEMA) for e in old])
    )
    rows_before = sum(e.rows for e in old)
    if table.num_rows != rows_before:
        raise ArchiveError(
            f"{partition.relpath}: files hold {table.num_rows} rows, manifests say {rows_before}"
        )
    pieces = max(1, -(-sum(e.bytes for e in old) // target_bytes))  # ceil: the old size bounds the new
    per_file = -(-table.num_rows // pieces)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    new: list[FileEntry] = []
    try:
        for index in range(pieces):
            chunk = table.slice(index * per_file, per_file)
            if chunk.num_rows:
                new.append(
                    _write(layout, layout.data_file(partition, f"compact-{stamp}-{index}"), chunk, level)
                )
        if sum(e.rows for e in new) != rows_before:  # never commit a swap that loses or invents rows
            raise ArchiveError(
                f"{partition.relpath}: compaction wrote {sum(e.rows for e in new)} of {rows_before} rows"
            )
        if hook:
            hook("after-write")
    except BaseException:
        for entry in new:
            layout.tmp_path(entry.path).unlink(missing_ok=True)
        raise
    details = {
        "partition": partition.relpath,
        "old": [e.path for e in old],
        "new": [e.path for e in new],
        "rows": rows_before,
        "zstd_level": level,
        "held_by": held,
    }
    committed = manifests.append_manifest(
        layout, COMPACT_OPERATION, added=new, removed=old, details=details, keys=keys
    )
    if hook:
        hook("after-manifest")
    manifests.publish(layout, [e.path for e in new])
    if hook:
        hook("after-publish")
    # The old files go now if no reader is using the archive, else on the next writer run.
    manifests.purge_removed(layout, trusted=committed, keys=keys)
    return PartitionCompaction(
        partition=partition.relpath,
        files_before=len(old),
        files_after=len(new),
        bytes_before=sum(e.bytes for e in old),
        bytes_after=sum(e.bytes for e in new),
        rows=rows_before,
        held_by=held,
        manifest_seq=committed.seq,
    )


def _write(layout: Layout, relpath: str, table: pa.Table, level: int) -> FileEntry:
    tmp = layout.tmp_path(relpath)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    writer = parquet_writer(tmp, level)
    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    writer.close()
    fsync_file(tmp)
    bounds = pc.min_max(table["request_ts"].cast(pa.int64()))
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return FileEntry(
        path=relpath,
        sha256=sha256_file(tmp),
        bytes=tmp.stat().st_size,
        kind="events",
        rows=pq.ParquetFile(tmp).metadata.num_rows,
        min_ts=format_timestamp(low) if low is not None else None,
        max_ts=format_timestamp(high) if high is not None else None,
    )


__all__ = ["CompactResult", "compact_archive", "parse_age"]
