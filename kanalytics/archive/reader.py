"""The read side: which files hold a period, the DuckDB `events` view over them, and export back to Events."""

from __future__ import annotations

import gzip
import os
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pyarrow.fs as pafs

from kanalytics.archive import chain
from kanalytics.archive.layout import Layout, Partition
from kanalytics.archive.lock import reader_lock
from kanalytics.archive.manifest import FileEntry
from kanalytics.archive.rows import row_to_event
from kanalytics.archive.schema import ARROW_SCHEMA, events_select
from kanalytics.errors import ArchiveError, UsageError
from kanalytics.sources import gke, jsontext

EVENTS_VIEW = "events"


def _period_files(
    layout: Layout,
    start: datetime | None,
    end: datetime | None,
    clusters: Sequence[str] | None,
) -> list[tuple[Partition, list[Path]]]:
    """The committed files of the partitions that can hold events with start <= request_ts < end: the chain's
    file set (never a directory listing), pruned by partition."""
    state = chain.snapshot(layout)
    chain.check_committed(layout, state)
    return chain.committed_files(layout, state, chain.utc_day(start), chain.utc_day(end), clusters)


def committed_partitions(layout: Layout) -> list[tuple[Partition, list[Path]]]:
    """Every committed partition with the paths to read its files by."""
    return _period_files(layout, None, None, None)


def select_partitions(
    layout: Layout,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
) -> list[Partition]:
    """Committed partitions that can hold events with start <= request_ts < end: the partition pruning step
    (from the chain alone: no file is opened or fetched)."""
    return [partition for partition, _ in _period_entries(layout, start, end, clusters)]


def event_files(
    layout: Layout,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
) -> list[Path]:
    return [f for _, files in _period_files(layout, start, end, clusters) for f in files]


def period_uris(
    layout: Layout,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
) -> list[str]:
    """The committed events files of the period as URIs another engine can read: absolute local paths on a
    local archive (`s3://bucket/key` on an object store; read them through `arrow_filesystem`)."""
    if layout.remote:
        return [layout.storage.url(e.path) for _, entries in _period_entries(layout, start, end, clusters)
                for e in entries]  # fmt: skip
    return [str(f) for f in event_files(layout, start, end, clusters)]


def arrow_filesystem(layout: Layout) -> pafs.FileSystem:
    """The pyarrow FileSystem the archive's files are read through (local, or S3 with the resolved AWS
    endpoint, region and credentials): what another engine (Spark, polars) is handed with `period_uris`."""
    return layout.storage.arrow_filesystem()[0]


def _period_entries(
    layout: Layout,
    start: datetime | None,
    end: datetime | None,
    clusters: Sequence[str] | None,
) -> list[tuple[Partition, list[FileEntry]]]:
    state = chain.snapshot(layout)
    chain.check_committed(layout, state)
    return chain.committed_entries(state, chain.utc_day(start), chain.utc_day(end), clusters)


def empty_events() -> pa.Table:
    schema = ARROW_SCHEMA.append(pa.field("cluster", pa.string())).append(pa.field("date", pa.date32()))
    return schema.empty_table()


DEFAULT_MEMORY_LIMIT = "1GB"


def connect(
    layout: Layout,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the `events` view over the committed files of the period (all when unbounded).

    The connection holds the readers lock until it is garbage-collected, so no writer deletes a file the
    view names while it may still be queried (writers leave such files to their next run).
    """
    if layout.remote and REMOTE_READ == "dataset":
        entries = [e for _, files in _period_entries(layout, start, end, clusters) for e in files]
        con = connection or duckdb.connect(config=duckdb_config(memory_limit))
        _create_dataset_view(con, layout, entries)
        return con
    return _connect_over(layout, lambda: event_files(layout, start, end, clusters), memory_limit, connection)


# How an object-store archive's `events` view reads its files: "cache" downloads each committed file once
# to a local cache (checked against the manifest's SHA-256) and reads it with read_parquet; "dataset" scans
# the objects in place through a pyarrow dataset over S3. Chosen by benchmarks/s3_read.py (see
# docs/object-storage.md); KANALYTICS_S3_READ overrides.
REMOTE_READ = os.environ.get("KANALYTICS_S3_READ", "cache")


def _create_dataset_view(
    con: duckdb.DuckDBPyConnection, layout: Layout, entries: Sequence[FileEntry]
) -> None:
    """The `events` view over exactly `entries`, scanned in place (DuckDB pushes projection and filters
    into the pyarrow dataset)."""
    if not entries:
        _create_view(con, [])
        return
    import pyarrow.dataset as ds

    fs, base = layout.storage.arrow_filesystem()
    partitioning = ds.partitioning(
        pa.schema([("cluster", pa.string()), ("date", pa.date32())]), flavor="hive"
    )
    dataset = ds.dataset(
        [f"{base}/{e.path}" for e in entries],
        filesystem=fs,
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=f"{base}/events",
    )
    con.register("_kanalytics_events_dataset", dataset)
    con.execute(
        f"CREATE OR REPLACE VIEW {EVENTS_VIEW} AS SELECT {events_select('duckdb')} "  # noqa: S608
        "FROM _kanalytics_events_dataset"
    )


def _connect_over(
    layout: Layout,
    resolve: Callable[[], list[Path]],
    memory_limit: str,
    connection: duckdb.DuckDBPyConnection | None,
) -> duckdb.DuckDBPyConnection:
    """Take the readers lock, resolve the files to read under it, and (re)create the `events` view over them
    in `connection` or a new bounded connection, which holds the lock until it is garbage-collected."""
    fd = reader_lock(layout)
    try:
        files = resolve()
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise
    con = connection or duckdb.connect(config=duckdb_config(memory_limit))
    if fd is not None:
        weakref.finalize(con, os.close, fd)
    _create_view(con, files)
    return con


def connect_files(
    layout: Layout,
    relpaths: Sequence[str],
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose `events` view reads exactly the committed event files `relpaths` (archive-
    relative, as the chain names them): what evaluation at commit runs the catalog over. Holds the readers
    lock like `connect`. With `connection`, its `events` view is replaced (one connection for many runs)."""

    def resolve() -> list[Path]:
        state = chain.snapshot(layout)
        files = []
        for relpath in relpaths:
            live = state.live.get(relpath)
            if live is None or live[0].kind != "events":
                raise ArchiveError(
                    f"{layout.url}: {relpath} is not a committed events file",
                    hint="the archive changed while it was read; run the command again",
                )
            files.append(chain.readable_path(layout, live[0]))
        return files

    return _connect_over(layout, resolve, memory_limit, connection)


def _create_view(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> None:
    if files:
        # A view cannot take bound parameters; the list holds our own file paths, each quoted by _sql_list.
        file_list = _sql_list([str(f) for f in files])
        con.execute(
            f"CREATE OR REPLACE VIEW {EVENTS_VIEW} AS SELECT {events_select('duckdb')} "  # noqa: S608
            f"FROM read_parquet({file_list}, "
            "hive_partitioning = true, hive_types = {'cluster': VARCHAR, 'date': DATE}, union_by_name = true)"
        )
    else:
        con.register("_kanalytics_empty_events", empty_events())
        con.execute(f"CREATE OR REPLACE VIEW {EVENTS_VIEW} AS SELECT * FROM _kanalytics_empty_events")  # noqa: S608


def fetch_arrow(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Run one statement with bound `$name` parameters and return its rows as Arrow (no extra copy)."""
    return con.sql(query, params=params or None).to_arrow_table()


def duckdb_config(
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> dict[str, str | bool | int | float | list[str]]:
    """Bounded memory for every read connection: DuckDB's default (80% of RAM) let a 10M-event month's
    catalog run reach 5.6 GiB of buffer cache; with 1 GiB it peaks at 1.3 GiB and spills to a temp folder.
    `duckdb_memory` in the settings (or `KANALYTICS_DUCKDB_MEMORY`, e.g. 4GB) raises it on machines with
    room to spare."""
    spill = Path(tempfile.gettempdir()) / "kanalytics-duckdb"
    return {
        "memory_limit": memory_limit,
        "temp_directory": str(spill),
    }


def _sql_list(items: list[str]) -> str:
    # File paths come from the manifest chain (checked when parsed), but quote them properly all the same.
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def iter_events(
    layout: Layout,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(cluster, Event) pairs in time order per partition; memory bounded by one partition."""
    lo = _micros(start) if start else None
    hi = _micros(end) if end else None
    fd = reader_lock(layout)
    try:
        for partition, files in _period_files(layout, start, end, clusters):
            if not files:
                continue
            table = pa.concat_tables(pq.read_table(f, schema=ARROW_SCHEMA) for f in files)
            table = table.sort_by(
                [("request_ts", "ascending"), ("audit_id", "ascending"), ("stage", "ascending")]
            )
            for batch in table.to_batches(max_chunksize=10_000):
                for row in batch.to_pylist():
                    ts = _micros(row["request_ts"])
                    if (lo is not None and ts < lo) or (hi is not None and ts >= hi):
                        continue
                    yield partition.cluster, row_to_event(row)
    finally:
        if fd is not None:
            os.close(fd)


def _micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def open_output(path: Path) -> IO[bytes]:
    """A binary writer for `path`, compressed by suffix (.gz, .zst)."""
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "wb", compresslevel=6))
    if path.suffix == ".zst":
        import zstandard

        return zstandard.ZstdCompressor(level=6).stream_writer(open(path, "wb"), closefd=True)
    return open(path, "wb")


EXPORT_FORMATS = ("original", "native")


def export_events(
    layout: Layout,
    out: IO[bytes],
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
    *,
    format: str = "original",
) -> int:
    """Write the archived records as JSON Lines: each in the shape it came in ("original": a GKE event is
    its LogEntry again), or as audit Events ("native", without the GKE bookkeeping key)."""
    if format not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {format!r}", hint=f"give one of {', '.join(EXPORT_FORMATS)}")
    count = 0
    for _, event in iter_events(layout, start, end, clusters):
        out.write(jsontext.dumps_bytes(exported(event, format)) + b"\n")
        count += 1
    return count


def exported(event: dict[str, Any], format: str) -> dict[str, Any]:
    """One archived Event as `export_events` writes it in `format`."""
    entry = gke.original(event)
    if entry is None:
        return event
    if format == "original":
        return entry
    return {key: value for key, value in event.items() if key != gke.RESERVED}
