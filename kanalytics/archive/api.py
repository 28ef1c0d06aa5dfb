"""`Store`: the storage side of one archive: write events in, read them back with SQL. Knows no catalog.

The public API is `kanalytics.api.Archive` (`kanalytics.open_archive`), which wraps a `Store` together with
the settings, the signing keys and the catalog; the catalog and the report take a `Store` (anything with
`connect`, `layout`, `root` and `require`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kanalytics.archive import findings_files, reader
from kanalytics.archive import incremental as incremental_ingest
from kanalytics.archive import manifest as manifests
from kanalytics.archive.ingest import Ingestor, IngestSummary
from kanalytics.archive.layout import Layout
from kanalytics.archive.manifest import FileEntry, Manifest
from kanalytics.archive.storage import archive_root
from kanalytics.errors import ArchiveError, QueryError
from kanalytics.sources.files import Record, read_inputs

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from kanalytics.archive.signing import Keys


@dataclass
class ArchiveInfo:
    root: str
    clusters: list[str] = field(default_factory=list)
    first_date: str | None = None
    last_date: str | None = None
    partitions: int = 0
    files: int = 0
    events: int = 0
    bytes: int = 0
    findings_files: int = 0  # stored detection results under _findings/ (not counted in files/bytes)
    quarantined: int = 0
    manifests: int = 0
    last_manifest_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Store:
    """An archive root. Creating the object touches nothing; writers create the layout on first ingest.

    `keys` sign every manifest this store's ingests write; `memory_limit` bounds each DuckDB connection.
    """

    def __init__(
        self, root: str | Path, *, keys: Keys | None = None, memory_limit: str = reader.DEFAULT_MEMORY_LIMIT
    ) -> None:
        self.root = archive_root(root)  # a Path, or an s3:// URL (kept as a string)
        self.layout = Layout(self.root)
        self.keys = keys
        self.memory_limit = memory_limit

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- write side -------------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        cluster: str | None = None,
        redact: bool = True,
        progress: Callable[[int], None] | None = None,
        format: str = "auto",
        incremental: bool = False,
        full: bool = False,
    ) -> IngestSummary:
        """Ingest files, folders or '-' (stdin). Bad input is quarantined, duplicates skipped. `format`
        forces one input shape (auto, native, eks, aks, gke); without `cluster`, events go to the cluster
        their envelope names, else "default".

        `incremental` reads each file only past what earlier incremental ingests read of it (offsets saved in
        `_state/`, see docs/ingest-incremental.md; stdin is never tracked); `full` then reads everything again
        and saves the new offsets. `summary.incremental` says what the offsets saved."""
        if incremental:
            return incremental_ingest.ingest(
                self.layout,
                [str(p) for p in paths],
                cluster=cluster,
                redact=redact,
                keys=self.keys,
                progress=progress,
                shape=format,
                full=full,
            )
        records = read_inputs([str(p) for p in paths], progress=progress, shape=format)
        return Ingestor(self.layout, cluster=cluster, redact=redact, keys=self.keys).run(records)

    def follow(
        self,
        paths: Iterable[str | Path],
        *,
        stop: Callable[[], bool],
        on_batch: Callable[[IngestSummary], None],
        cluster: str | None = None,
        redact: bool = True,
        format: str = "auto",
        flush_events: int = incremental_ingest.FLUSH_EVENTS,
        flush_seconds: float = incremental_ingest.FLUSH_SECONDS,
        poll_seconds: float = incremental_ingest.POLL_SECONDS,
    ) -> int:
        """Tail files and folders until `stop()` returns true, committing a batch every `flush_events`
        events or `flush_seconds` seconds (and at the stop); `on_batch` gets each batch's summary. Returns
        the number of batches. Resumes from, and saves, the offsets of incremental ingest."""
        return incremental_ingest.follow(
            self.layout,
            [str(p) for p in paths],
            cluster=cluster,
            redact=redact,
            keys=self.keys,
            stop=stop,
            on_batch=on_batch,
            shape=format,
            flush_events=flush_events,
            flush_seconds=flush_seconds,
            poll_seconds=poll_seconds,
        )

    def ingest_events(
        self, events: Iterable[dict[str, Any]], *, cluster: str | None = None, redact: bool = True
    ) -> IngestSummary:
        """Ingest Event dicts already in memory (tests, the webhook receiver)."""
        records = (Record("<api>", n, value=event, raw=None) for n, event in enumerate(events, start=1))
        return Ingestor(self.layout, cluster=cluster, redact=redact, keys=self.keys).run(records)

    def commit_findings(
        self,
        parts: Iterable[findings_files.FindingsPart | tuple[Any, ...]],
        remove: Iterable[str | FileEntry] = (),
        *,
        details: dict[str, Any] | None = None,
    ) -> Manifest | None:
        """Store detection results as findings files and retire the ones they supersede, in one `evaluate`
        manifest (see `archive.findings_files.write_findings`); None when there is nothing to do."""
        return findings_files.write_findings(self, parts, remove, details=details)

    # -- read side --------------------------------------------------------------------------------------
    def findings_files(
        self,
        start_date: date | None = None,
        end_date: date | None = None,
        clusters: Sequence[str] | None = None,
    ) -> list[FileEntry]:
        """The live findings files of the UTC dates in [start_date, end_date) (end exclusive) and `clusters`."""
        return findings_files.live_findings(self.layout, start_date, end_date, clusters)

    def path(self, relpath: str) -> Path:
        """Where a committed file can be read now (checked like every manifest path)."""
        return findings_files.findings_path(self.layout, relpath)

    def require(self) -> None:
        if not self.layout.is_archive():
            raise ArchiveError(
                f"{self.root} is not a kanalytics archive (no events/ or _manifests/ inside)",
                hint="ingest into it first: kanalytics ingest FILE --archive DIR",
            )

    def connect(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        clusters: Sequence[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection whose `events` view covers only the partitions of [start, end)."""
        self.require()
        return reader.connect(self.layout, start, end, clusters, memory_limit=self.memory_limit)

    def sql(
        self,
        query: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        clusters: Sequence[str] | None = None,
        safe: bool = False,
        **params: Any,
    ) -> pl.DataFrame:
        """Run SQL against the `events` view; `$name` placeholders are bound from `params`.

        `start`/`end` limit the partitions the view covers (pruning); when the query itself refers to
        `$start` or `$end`, they are bound as parameters too, so `sql("... request_ts >= $start", start=t)`
        works as one would expect.

        The query runs with the full DuckDB (it may read and write any file the process can, load
        extensions, fetch URLs) unless `safe`: then it must be one SELECT and can read the archive's
        events and nothing else (see `archive.safe_sql`, docs/sql-safety.md).
        """
        import duckdb
        import polars as pl

        from kanalytics.archive import safe_sql

        if safe:
            safe_sql.check_select_only(query)
        for name, value in (("start", start), ("end", end)):
            if value is not None and re.search(rf"\${name}\b", query):
                params.setdefault(name, value)
        con = self.connect(start, end, clusters)
        try:
            if safe:
                safe_sql.lock_down(con, self.layout)
            table = reader.fetch_arrow(con, query, params)
            return utc_frame(pl.from_arrow(table))  # type: ignore[arg-type]
        except duckdb.Error as exc:
            hint = safe_sql.SAFE_HINT if safe and isinstance(exc, duckdb.PermissionException) else None
            raise QueryError(f"query failed: {exc}", hint=hint) from None
        finally:
            con.close()

    def events(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        user: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        source_ip: str | None = None,
        clusters: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> pl.DataFrame:
        """Events matching every given filter, oldest first (at most `limit` rows)."""
        filters = {
            "user_name": user,
            "verb": verb,
            "resource": resource,
            "namespace": namespace,
            "object_name": name,
        }
        clauses, params = _time_clauses(start, end)
        for column, value in filters.items():
            if value is not None:
                clauses.append(f"{column} = ${column}")
                params[column] = value
        if source_ip is not None:
            clauses.append("list_contains(source_ips, $source_ip)")
            params["source_ip"] = source_ip
        params["limit"] = limit
        where = " AND ".join(clauses) or "true"
        query = f"SELECT * EXCLUDE (event_hash) FROM events WHERE {where} ORDER BY request_ts, audit_id, stage LIMIT $limit"  # noqa: S608 (fixed fragments; values are bound)
        return self.sql(query, start=start, end=end, clusters=clusters, **params)

    def timeline(
        self,
        *,
        user: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        clusters: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> pl.DataFrame:
        """What one identity did, or what happened to one object, as a readable time line."""
        if user is None and name is None:
            raise QueryError(
                "timeline needs a user or an object name", hint="timeline(user='alice') or name='web-1'"
            )
        clauses, params = _time_clauses(start, end)
        if user is not None:
            clauses.append("(user_name = $user OR impersonated_user = $user)")
            params["user"] = user
        if name is not None:
            clauses.append("object_name = $name")
            params["name"] = name
        if namespace is not None:
            clauses.append("namespace = $namespace")
            params["namespace"] = namespace
        params["limit"] = limit
        # Fixed fragments only; every value is a bound parameter. source_ip is the address the API server saw
        # (the last entry, as the catalog's client_ip macro), never a client-supplied X-Forwarded-For entry.
        query = (
            "SELECT request_ts AS ts, cluster, user_name, impersonated_user, verb, resource, subresource, namespace, "  # noqa: S608
            "object_name, response_code, authz_decision, source_ips[-1] AS source_ip, user_agent, request_uri, audit_id "
            f"FROM events WHERE {' AND '.join(clauses)} AND stage IN ('ResponseComplete', 'ResponseStarted', 'Panic') "
            "ORDER BY request_ts, audit_id LIMIT $limit"
        )
        return self.sql(query, start=start, end=end, clusters=clusters, **params)

    def export(
        self,
        out: IO[bytes],
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        clusters: Sequence[str] | None = None,
        format: str = "original",
    ) -> int:
        """Write the archived Events back as JSON Lines; returns how many. `format` "original" gives each
        record in the shape it came in (a GKE LogEntry as it was), "native" audit Events only."""
        self.require()
        return reader.export_events(self.layout, out, start, end, clusters, format=format)

    def info(self) -> ArchiveInfo:
        import pyarrow.parquet as pq

        self.require()
        info = ArchiveInfo(root=str(self.root))
        committed = reader.committed_partitions(self.layout)  # what the chain committed, not what is on disk
        partitions = [p for p, _ in committed]
        info.partitions = len(partitions)
        info.clusters = sorted({p.cluster for p in partitions})
        if partitions:
            dates = sorted(p.date for p in partitions)
            info.first_date, info.last_date = dates[0].isoformat(), dates[-1].isoformat()
        for _, paths in committed:
            for path in paths:
                info.files += 1
                info.bytes += path.stat().st_size
                info.events += pq.ParquetFile(path).metadata.num_rows
        info.findings_files = len(findings_files.live_findings(self.layout))
        chain = list(manifests.iter_manifests(self.layout))
        info.manifests = len(chain)
        info.last_manifest_sha256 = chain[-1].sha256 if chain else None
        info.quarantined = sum(f.rows for m in chain for f in m.files_added if f.kind == "quarantine") - sum(
            f.rows for m in chain for f in m.files_removed if f.kind == "quarantine"
        )
        return info


def _time_clauses(start: datetime | None, end: datetime | None) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if start is not None:
        clauses.append("request_ts >= $from_ts")
        params["from_ts"] = start
    if end is not None:
        clauses.append("request_ts < $to_ts")
        params["to_ts"] = end
    return clauses, params


def utc_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every zoned timestamp column as `Datetime('us', 'UTC')`, the one timestamp dtype of the API (DuckDB
    hands out 'Etc/UTC'; frames with different zone names do not concatenate)."""
    import polars as pl

    zoned = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    ]
    if not zoned:
        return frame
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC").dt.cast_time_unit("us") for name in zoned
    )
