"""Findings files: detection results the catalog computed, stored as archive data under `_findings/`.

Each file holds the rows of one (cluster, UTC date) partition, `_findings/cluster=<c>/date=<d>/<name>.parquet`,
with the caller's key-value metadata (query hash, input files, ...) in its Parquet footer. Files are written
and committed like events: hidden temporary names first, then one `evaluate` manifest adding them and removing
the results they supersede (the commit point), then the final names; `manifest.recover` finishes or rolls back
an interrupted evaluate. They are verified, held and deleted by retention with their partition's events, and
never read as events. The archive knows nothing of what the rows mean: that is the catalog's business.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kanalytics.archive import manifest as manifests
from kanalytics.archive.chain import ChainState, readable_path, snapshot
from kanalytics.archive.fileformat import COMPRESSION_LEVEL
from kanalytics.archive.fsutil import fsync_file, sha256_file
from kanalytics.archive.layout import Layout, Partition, check_cluster_name
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry, Manifest
from kanalytics.archive.rows import format_timestamp
from kanalytics.errors import ArchiveError, UsageError
from kanalytics.vocabulary import EVALUATE_OPERATION

if TYPE_CHECKING:
    from kanalytics.archive.signing import Keys

TS_COLUMN = "ts"  # a finding's time: sets the file's min_ts/max_ts and must fall in the partition's day
_ARROW_SCHEMA_KEY = b"ARROW:schema"  # pyarrow's own footer entry, not the caller's metadata
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MICROS = 86_400_000_000
Hook = Callable[[str], None]  # tests inject kills between steps ("after-write", "after-manifest", ...)


class FindingsPart(NamedTuple):
    """The results of one (cluster, UTC date) to store; a plain (cluster, date, table, metadata) tuple works
    too. `label` (optional) starts the file name, to tell files apart on disk; the name stays unique."""

    cluster: str
    date: date
    table: pa.Table
    metadata: Mapping[str, str] = {}
    label: str | None = None


class _HasLayout(Protocol):
    layout: Layout
    keys: Keys | None


def write_findings(
    target: Layout | _HasLayout,
    parts: Iterable[FindingsPart | tuple[Any, ...]],
    remove: Iterable[str | FileEntry] = (),
    *,
    keys: Keys | None = None,
    details: Mapping[str, Any] | None = None,
    hook: Hook | None = None,
) -> Manifest | None:
    """Store `parts` as new findings files and retire the live findings files `remove` names, in one
    `evaluate` manifest; returns it, or None when there is nothing to add or remove.

    Takes the writer lock. `target` is a Layout or a Store (whose keys sign the manifest unless `keys` is
    given). Every path in `remove` must be a live findings file when the lock is held, else nothing is written
    (another writer changed the archive since the caller read it: read again and retry).
    """
    layout = target if isinstance(target, Layout) else target.layout
    signer = keys if keys is not None or isinstance(target, Layout) else target.keys
    wanted = [_part(p) for p in parts]
    retired = [r if isinstance(r, str) else r.path for r in remove]
    if not wanted and not retired:
        return None
    with writer_lock(layout):
        manifests.recover(layout, keys=signer)
        # The cached chain view, extended by what was appended (as ingest's dedupe reads it): an evaluate
        # after every small commit must not re-parse the whole chain.
        removed = _live_entries(snapshot(layout), retired)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        added: list[FileEntry] = []
        pending: str | None = None
        try:
            for index, part in enumerate(wanted):
                name = f"{part.label}-{stamp}-{index}" if part.label else f"{stamp}-{index}"
                pending = layout.findings_file(Partition(part.cluster, part.date), name)
                added.append(_write(layout, pending, part))
            pending = None
            if hook:
                hook("after-write")
        except BaseException:
            for relpath in [*(e.path for e in added), *([pending] if pending else [])]:
                layout.tmp_path(relpath).unlink(missing_ok=True)
            raise
        committed = manifests.append_manifest(
            layout,
            EVALUATE_OPERATION,
            added=added,
            removed=removed,
            details={
                **(details or {}),
                "findings_added": len(added),
                "findings_removed": len(removed),
                "partitions": sorted({Partition(p.cluster, p.date).findings_relpath for p in wanted}),
            },
            keys=signer,
        )
        if hook:
            hook("after-manifest")
        manifests.publish(layout, [e.path for e in added])
        if hook:
            hook("after-publish")
        # The superseded files go now if no reader is using the archive, else on the next writer run.
        manifests.purge_removed(layout, trusted=committed, keys=signer)
    return committed


def _part(part: FindingsPart | tuple[Any, ...]) -> FindingsPart:
    """A checked part: a valid cluster name, a date, an Arrow table, string metadata, a safe label."""
    part = FindingsPart(*part)
    day = date.fromisoformat(part.date) if isinstance(part.date, str) else part.date
    if not isinstance(day, date) or isinstance(day, datetime):
        raise UsageError(f"findings part for cluster {part.cluster!r}: date {part.date!r} is not a date")
    if not isinstance(part.table, pa.Table):
        raise UsageError(
            f"findings part {part.cluster}/{day}: table is a {type(part.table).__name__}, not a pyarrow.Table"
        )
    bad = [k for k, v in part.metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise UsageError(
            f"findings part {part.cluster}/{day}: metadata {bad[0]!r} is not a str -> str entry",
            hint="encode values as text (JSON for lists and mappings)",
        )
    if part.label is not None and not _safe_label(part.label):
        raise UsageError(
            f"findings part {part.cluster}/{day}: label {part.label!r} cannot start a file name",
            hint="use letters, digits, '.', '_' or '-' (at most 100 characters), starting with a letter or digit",
        )
    return part._replace(cluster=check_cluster_name(part.cluster), date=day)


def _safe_label(label: str) -> bool:
    try:
        check_cluster_name(label)  # the same alphabet and length as a cluster name
    except UsageError:
        return False
    return True


def _live_entries(state: ChainState, relpaths: Sequence[str]) -> list[FileEntry]:
    found: list[FileEntry] = []
    for relpath in dict.fromkeys(relpaths):
        live = state.live.get(relpath)
        if live is None or live[0].kind != "findings":
            why = "is not a findings file" if live is not None else "is not live (removed or never committed)"
            raise ArchiveError(
                f"cannot supersede {relpath!r}: it {why}; nothing was written",
                hint="another writer changed the archive since the findings were read: read them again "
                "(Store.findings_files) and retry",
            )
        found.append(live[0])
    return found


def _write(layout: Layout, relpath: str, part: FindingsPart) -> FileEntry:
    """Write one part under its temporary name (zstd, footer metadata) and describe it for the manifest."""
    low, high = _ts_bounds(part)
    table = part.table
    metadata = dict(table.schema.metadata or {})
    metadata.update({k.encode(): v.encode() for k, v in part.metadata.items()})
    table = table.replace_schema_metadata(metadata)
    tmp = layout.tmp_path(relpath)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp, compression="zstd", compression_level=COMPRESSION_LEVEL, write_statistics=True)
    fsync_file(tmp)
    return FileEntry(
        path=relpath,
        sha256=sha256_file(tmp),
        bytes=tmp.stat().st_size,
        kind="findings",
        rows=table.num_rows,
        min_ts=format_timestamp(low) if low is not None else None,
        max_ts=format_timestamp(high) if high is not None else None,
    )


def _ts_bounds(part: FindingsPart) -> tuple[int | None, int | None]:
    """The first and last `ts` (µs since the epoch, UTC); refuses rows outside the partition's UTC day, which
    retention would delete with the wrong events and readers of that day would miss."""
    table = part.table
    if TS_COLUMN not in table.column_names or not pa.types.is_timestamp(table.schema.field(TS_COLUMN).type):
        return None, None
    micros = pc.cast(table[TS_COLUMN], pa.timestamp("us", tz="UTC"), safe=False).cast(pa.int64())
    bounds = pc.min_max(micros)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is None or high is None:
        return None, None
    day_start = (datetime.combine(part.date, datetime.min.time(), UTC) - _EPOCH) // timedelta(microseconds=1)
    if low < day_start or high >= day_start + _DAY_MICROS:
        outside = low if low < day_start else high
        raise ArchiveError(
            f"findings part {part.cluster}/{part.date}: a row's ts {format_timestamp(outside)} is outside "
            f"that UTC day; nothing was written",
            hint="store each finding in the partition of the UTC day of its ts (this is a bug in the caller)",
        )
    return low, high


# -- read side ------------------------------------------------------------------------------------------
def live_findings(
    layout: Layout,
    start_date: date | None = None,
    end_date: date | None = None,
    clusters: Sequence[str] | None = None,
) -> list[FileEntry]:
    """The live findings files of the UTC dates in [start_date, end_date) (end exclusive, like every period),
    of `clusters` (all when None), in partition and path order, from the readers' cached chain view."""
    chosen: list[FileEntry] = []
    for partition, entries in snapshot(layout).findings_by_partition().items():
        if clusters is not None and partition.cluster not in clusters:
            continue
        if (start_date and partition.date < start_date) or (end_date and partition.date >= end_date):
            continue
        chosen += entries
    return chosen


def findings_path(layout: Layout, relpath: str) -> Path:
    """Where a committed file can be read now (its temporary name while an interrupted change awaits its
    rename); the path is checked like every manifest path."""
    return readable_path(layout, relpath)


def read_findings_metadata(layout: Layout, relpath: str) -> dict[str, str]:
    """The key-value metadata stored with a findings file (read from its footer only)."""
    path = findings_path(layout, relpath)
    try:
        raw = pq.read_metadata(path).metadata or {}
    except (OSError, pa.ArrowException) as exc:
        raise ArchiveError(
            f"cannot read the findings file {relpath}: {exc}",
            hint="run `kanalytics verify` to see whether it was changed or removed",
        ) from None
    return {
        k.decode(errors="replace"): v.decode(errors="replace")
        for k, v in raw.items()
        if k != _ARROW_SCHEMA_KEY
    }


__all__ = [
    "FindingsPart",
    "findings_path",
    "live_findings",
    "read_findings_metadata",
    "write_findings",
]
