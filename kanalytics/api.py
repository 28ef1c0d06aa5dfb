"""The public Python API: `open_archive(path, config=...)` returns an `Archive`, the one façade over an archive.

The `Archive` carries its settings (loaded once), its signing keys and its catalog (loaded on first use); every
CLI command parses its arguments and makes one call on it. Conventions, the same for every method:

- Arguments after the first are keyword-only.
- Periods: `start` is inclusive, `end` exclusive; `month="YYYY-MM"` is the month's [first midnight, next
  first midnight). Dates (`date` or `"YYYY-MM-DD"`) are midnight in the configured time zone (`timezone` in
  kanalytics.toml, UTC when none is configured); a naive datetime or ISO string is in that zone too; an aware
  datetime or an ISO string with an offset is taken as it is. An end at or before the start is an error.
- Tabular data is a polars DataFrame whose timestamps are `Datetime('us', 'UTC')`; results are dataclasses.
- Filters that match nothing (an unknown cluster, a period without data) warn with `NothingMatchedWarning`;
  `events()`/`timeline()` warn with `TruncatedWarning` when they stop at `limit`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kanalytics.archive.api import ArchiveInfo, Store
from kanalytics.config import Settings, load_settings
from kanalytics.errors import ArchiveError, UsageError

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from kanalytics.archive.compact import CompactResult
    from kanalytics.archive.dispositions import Disposition
    from kanalytics.archive.holds import Hold
    from kanalytics.archive.ingest import IngestSummary
    from kanalytics.archive.retention import ApplyResult, RetentionPlan
    from kanalytics.archive.signing import Keys
    from kanalytics.archive.verify import VerifyReport
    from kanalytics.catalog.api import FindingsResult
    from kanalytics.catalog.evaluate import EvaluationStats
    from kanalytics.catalog.incidents import IncidentsResult
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import Suppression
    from kanalytics.catalog.review import IncidentVerdict
    from kanalytics.catalog.runner import Progress
    from kanalytics.catalog.tune import TuneResult
    from kanalytics.outputs.alerts.service import Alerting
    from kanalytics.outputs.hec import HecStats
    from kanalytics.report.api import ReportOutputs

Instant = date | datetime | str
"""A point in time: a `date` or "YYYY-MM-DD" (midnight in the configured zone), a `datetime`, an ISO string."""

DEFAULT_LIMIT = 10_000


class NothingMatchedWarning(UserWarning):
    """A filter matched no data (unknown cluster, a period the archive has no events of)."""


class TruncatedWarning(UserWarning):
    """A listing stopped at its `limit`; more rows matched."""


@dataclass
class QueryRun:
    """One catalog query over a period: `status` "ok", "error" or "not-evaluable" (`reason` says why);
    `frame` holds the rows when ok; `suppressed` the allow-list entries that removed rows."""

    query_id: str
    status: str
    reason: str
    rows: int
    frame: pl.DataFrame | None
    suppressed: list[Suppression]
    seconds: float


@dataclass(frozen=True)
class Checkpoint:
    """The newest manifest: keep `seq:sha256` (or the signed `note`) outside the archive."""

    seq: int
    sha256: str
    note: str | None = None

    @property
    def text(self) -> str:
        return f"{self.seq}:{self.sha256}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "sha256": self.sha256, "checkpoint": self.text, "note": self.note}


def open_archive(path: str | Path, *, config: str | Path | Settings | None = None) -> Archive:
    """Open (or prepare to create) the archive at `path`.

    `config`: a kanalytics.toml path, a `Settings` object, or None for `$KANALYTICS_CONFIG`, else
    `./kanalytics.toml`, else defaults. Settings loaded from a file (or None) take the environment's signing
    keys and DuckDB memory (`kanalytics.config.load_settings`); a `Settings` object is used as it is.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    return Archive(path, settings=settings)


class Archive:
    """One archive with its settings, signing keys and catalog. Creating it touches nothing on disk."""

    def __init__(
        self, root: str | Path, *, settings: Settings | None = None, keys: Keys | None = None
    ) -> None:
        from kanalytics.archive.storage import archive_root

        self.root = archive_root(root)  # a Path, or an s3:// URL (kept as a string: a Path folds `//`)
        self.settings = settings if settings is not None else Settings()
        self._keys = keys

    def __repr__(self) -> str:
        return f"Archive({str(self.root)!r})"

    # -- what the archive carries -----------------------------------------------------------------------
    @cached_property
    def keys(self) -> Keys:
        """The signing keys of the settings (`[signing]`, or the environment's), loaded on first use."""
        from kanalytics.archive.signing import Keys

        return self._keys if self._keys is not None else Keys.from_settings(self.settings)

    @cached_property
    def catalog(self) -> Catalog:
        """The query catalog: the built-in queries plus `query_paths` of the settings, loaded on first use."""
        from kanalytics.catalog.loader import load_catalog

        return load_catalog(settings=self.settings)

    @cached_property
    def store(self) -> Store:
        """The storage side (events in, SQL out), what the catalog and the report read from."""
        return Store(self.root, keys=self.keys, memory_limit=self.settings.duckdb_memory)

    @property
    def layout(self) -> Any:
        return self.store.layout

    def require(self) -> None:
        """Raise `ArchiveError` unless the archive exists."""
        self.store.require()

    def connect(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        clusters: Sequence[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection whose `events` view covers only the partitions of [start, end)."""
        return self.store.connect(start, end, clusters)

    # -- the one period rule ----------------------------------------------------------------------------
    def instant(self, value: Instant, *, name: str = "time") -> datetime:
        """`value` as an aware UTC datetime under the period rule of this module."""
        from kanalytics.catalog.period import parse_instant

        zone = self.settings.zone
        if isinstance(value, datetime):
            return (value if value.tzinfo is not None else value.replace(tzinfo=zone)).astimezone(UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=zone).astimezone(UTC)
        if isinstance(value, str):
            return parse_instant(value, zone, option=name)
        raise UsageError(f"{name}: expected a date, datetime or ISO string, got {type(value).__name__}")

    def period(
        self, *, month: str | None = None, start: Instant | None = None, end: Instant | None = None
    ) -> tuple[datetime | None, datetime | None]:
        """[start, end) in UTC from `month` or `start`/`end` (either may be open); reversed is an error."""
        from kanalytics.catalog.period import month_bounds

        if month is not None:
            if start is not None or end is not None:
                raise UsageError("give either a month (--month) or --from/--to, not both")
            return month_bounds(month, self.settings.zone)
        first = self.instant(start, name="--from") if start is not None else None
        last = self.instant(end, name="--to") if end is not None else None
        if first is not None and last is not None and last <= first:
            raise UsageError(
                f"the period ends ({_shown(end)}) at or before it starts ({_shown(start)})",
                hint="--from is inclusive, --to exclusive: e.g. --from 2026-10-01 --to 2026-11-01",
            )
        return first, last

    def closed_period(
        self, *, month: str | None = None, start: Instant | None = None, end: Instant | None = None
    ) -> tuple[datetime, datetime]:
        """Like `period`, but both ends are needed (a month, or both start and end)."""
        first, last = self.period(month=month, start=start, end=end)
        if first is None or last is None:
            raise UsageError(
                "a period needs both --from and --to (or --month)",
                hint="e.g. --month 2026-10, or --from 2026-10-01 --to 2026-11-01",
            )
        return first, last

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
        """Ingest files, folders or '-' (stdin); bad input is quarantined, duplicates skipped. The manifest is
        signed when a signing key is configured. `progress` is told how many input bytes were read.

        `format` forces one input shape: "native" (Event, EventList, array), "eks" (CloudWatch Logs),
        "aks" (Azure diagnostic settings) or "gke" (Cloud Audit Logs); "auto" detects each document's.
        Without `cluster`, each event goes to the cluster its envelope names (EKS log group, AKS
        resourceId, GKE cluster_name), else "default"; a given `cluster` always wins.

        `incremental` (what `kanalytics ingest` does) reads each file only past what earlier incremental
        ingests read of it, recognising rotated, renamed and compressed copies; `full` reads everything
        again and saves the new offsets. Stdin is never tracked (docs/ingest-incremental.md)."""
        since = self._committed_seq()
        summary = self.store.ingest(
            paths,
            cluster=cluster,
            redact=redact,
            progress=progress,
            format=format,
            incremental=incremental,
            full=full,
        )
        self.evaluate_commits(since)
        return summary

    def follow(
        self,
        paths: Iterable[str | Path],
        *,
        stop: Callable[[], bool],
        on_batch: Callable[[IngestSummary], None],
        cluster: str | None = None,
        redact: bool = True,
        format: str = "auto",
        flush_events: int = 10_000,
        flush_seconds: float = 30.0,
        poll_seconds: float = 1.0,
    ) -> int:
        """Tail files and folders (polling every `poll_seconds`) until `stop()` is true, committing a batch
        every `flush_events` events or `flush_seconds` seconds and at the stop; `on_batch` is given each
        batch's summary. Starts from, and saves, the offsets of incremental ingest. Returns the batch count."""

        def evaluated(summary: IngestSummary) -> None:
            self.evaluate_commits(seen[0])
            seen[0] = self._committed_seq()
            on_batch(summary)

        seen = [self._committed_seq()]
        return self.store.follow(
            paths,
            stop=stop,
            on_batch=evaluated,
            cluster=cluster,
            redact=redact,
            format=format,
            flush_events=flush_events,
            flush_seconds=flush_seconds,
            poll_seconds=poll_seconds,
        )

    def ingest_events(
        self, events: Iterable[dict[str, Any]], *, cluster: str | None = None, redact: bool = True
    ) -> IngestSummary:
        """Ingest Event dicts already in memory (tests, the webhook receiver)."""
        since = self._committed_seq()
        summary = self.store.ingest_events(events, cluster=cluster, redact=redact)
        self.evaluate_commits(since)
        return summary

    def _committed_seq(self) -> int:
        from kanalytics.archive.chain import committed_seq

        return committed_seq(self.store.layout)

    def evaluate_commits(self, since_seq: int) -> EvaluationStats:
        """Evaluation at commit: run the catalog over what the manifests after `since_seq` added and store the
        results under `_findings/` (nothing when `evaluation.on_commit` is off; they are then computed on the
        first read), then admit the findings of those days to alerting (`alerting`; docs/alerts.md). Ingest,
        follow and the webhook flusher call it after each commit."""
        from kanalytics.catalog import evaluate

        if not self.settings.evaluation.on_commit or not self.store.layout.is_archive():
            return evaluate.EvaluationStats()
        parts = evaluate.committed_parts(self.store, since_seq)
        if not parts:
            return evaluate.EvaluationStats()
        stats = evaluate.ensure(self.store, self.catalog, self.settings, parts).stats
        self.alerting.after_commit(parts)
        return stats

    @cached_property
    def alerting(self) -> Alerting:
        """Alerts for this archive (`[alerts]` of the settings): the outbox under `_state/alerts/`, delivery to
        the configured sinks, `list`/`retry`/`test` (docs/alerts.md)."""
        from kanalytics.outputs.alerts.service import Alerting

        return Alerting(self.store, self.settings, self.catalog)

    # -- read side --------------------------------------------------------------------------------------
    def sql(
        self,
        query: str,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        safe: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> pl.DataFrame:
        """Run SQL against the `events` view; `$name` placeholders are bound from `params`.

        The period limits the partitions the view covers; a query that names `$start`/`$end` gets them bound.
        Without `safe` this is the full DuckDB (it may read and write any file the process can); with `safe`
        it must be one SELECT that reads the archive's events and nothing else (docs/sql-safety.md).
        """
        first, last = self.period(month=month, start=start, end=end)
        self._warn_if_empty(first, last, clusters)
        return self.store.sql(
            query, start=first, end=last, clusters=clusters, safe=safe, **dict(params or {})
        )

    def events(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        user: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        source_ip: str | None = None,
        clusters: Sequence[str] | None = None,
        limit: int | None = DEFAULT_LIMIT,
    ) -> pl.DataFrame:
        """Events matching every given filter, oldest first; at most `limit` rows (None: all), with a
        `TruncatedWarning` when more matched."""
        first, last = self.period(month=month, start=start, end=end)
        self._warn_if_empty(first, last, clusters)
        frame = self.store.events(
            first, last, user=user, verb=verb, resource=resource, namespace=namespace, name=name,
            source_ip=source_ip, clusters=clusters, limit=_probe(limit),
        )  # fmt: skip
        return _truncated(frame, limit, "events()")

    def timeline(
        self,
        *,
        user: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        limit: int | None = DEFAULT_LIMIT,
    ) -> pl.DataFrame:
        """What one identity did, or what happened to one object, in order; at most `limit` rows (None: all),
        with a `TruncatedWarning` when more matched."""
        first, last = self.period(month=month, start=start, end=end)
        self._warn_if_empty(first, last, clusters)
        frame = self.store.timeline(
            user=user, namespace=namespace, name=name, start=first, end=last, clusters=clusters,
            limit=_probe(limit),
        )  # fmt: skip
        return _truncated(frame, limit, "timeline()")

    def export(
        self,
        out: IO[bytes],
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        format: str = "original",
    ) -> int:
        """Write the archived Events of the period as JSON Lines to `out`; returns how many.

        `format` "original" writes each record in the shape it was ingested in (a GKE LogEntry as it came,
        with what redaction replaced still replaced); "native" writes audit Events only; "ecs", "splunk-hec"
        and "ocsf" write each Event as Elastic, Splunk's HTTP Event Collector or OCSF (Security Lake) read it
        (docs/exports/)."""
        from kanalytics.outputs import export
        from kanalytics.outputs.formats import SIEM_FORMATS

        first, last = self.period(month=month, start=start, end=end)
        self._warn_if_empty(first, last, clusters)
        if format not in SIEM_FORMATS:
            return self.store.export(out, start=first, end=last, clusters=clusters, format=format)
        self.require()
        documents = export.event_documents(
            self.layout, format, self.settings, start=first, end=last, clusters=clusters
        )
        return export.write_lines(documents, out)

    def export_findings(
        self,
        out: IO[bytes],
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        min_severity: str | None = None,
        format: str = "jsonl",
    ) -> int:
        """Write the period's findings to review (as `findings` lists them) as JSON Lines in `format` ("jsonl",
        "ecs", "splunk-hec", "ocsf": OCSF Detection Finding); returns how many."""
        from kanalytics.outputs import export
        from kanalytics.outputs.formats import finding_converter

        finding_converter(format, self.settings)  # an unknown format fails before the catalog runs
        result = self.findings(
            month=month, start=start, end=end, clusters=clusters, min_severity=min_severity
        )
        return export.write_lines(export.finding_documents(result.findings, format, self.settings), out)

    def send_to_hec(
        self,
        *,
        findings: bool = False,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        min_severity: str | None = None,
    ) -> HecStats:
        """Deliver the period's events (or, with `findings`, its findings) to the Splunk HTTP Event Collector of
        `[exports.splunk_hec]`, in batches, retrying what the collector asks to retry."""
        from kanalytics.outputs import export

        if findings:
            result = self.findings(
                month=month, start=start, end=end, clusters=clusters, min_severity=min_severity
            )
            payloads = export.finding_documents(result.findings, "splunk-hec", self.settings)
        else:
            first, last = self.period(month=month, start=start, end=end)
            self.require()
            self._warn_if_empty(first, last, clusters)
            payloads = export.event_documents(
                self.layout, "splunk-hec", self.settings, start=first, end=last, clusters=clusters
            )
        return export.send_to_hec(payloads, self.settings)

    def info(self) -> ArchiveInfo:
        """Clusters, dates, partitions, files, events, bytes, quarantined records and manifests."""
        return self.store.info()

    # -- catalog ----------------------------------------------------------------------------------------
    def run(
        self,
        query_id: str,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
    ) -> QueryRun:
        """Run one catalog query over the period; a failing query is a result with status "error"."""
        from kanalytics.catalog.findings import to_polars
        from kanalytics.catalog.runner import run_query

        self.catalog.get(query_id)  # an unknown id is a usage error before the archive is opened
        first, last = self.closed_period(month=month, start=start, end=end)
        self.require()
        self._warn_if_empty(first, last, clusters)
        result = run_query(
            self.store, query_id, first, last, clusters=clusters, settings=self.settings, catalog=self.catalog
        )
        frame = utc(to_polars(result.table)) if result.table is not None else None
        return QueryRun(
            query_id,
            result.status,
            result.reason,
            result.rows,
            frame,
            list(result.suppressed),
            result.seconds,
        )

    def findings(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        min_severity: str | None = None,
        progress: Progress | None = None,
        recompute: bool = False,
        engine: str = "duckdb",
        spark_master: str | None = None,
    ) -> FindingsResult:
        """Every detection and anomaly finding of the period to review, most severe first; under the default
        profile the medium/low findings that recur on most baseline days are in `result.recurring` instead,
        with their evidence. The queries that failed, were not evaluable or need configuration are in
        `result.failed`, `result.not_evaluable` and `result.needs_configuration`, with their reasons.

        The findings are read from the results stored in the archive (computed first where stale or missing:
        `result.evaluation` counts them); `recompute` derives them again from the events and says in
        `result.evaluation["agrees"]` whether they match what was stored.

        `engine="spark"` computes them from the events on Apache Spark (`spark_master`: default local[2], a
        cluster URL or a Spark Connect `sc://host:port`), not from the stored results; the queries Spark cannot
        run are in `result.not_portable` with their reasons (docs/spark.md)."""
        from kanalytics.catalog import api as catalog_api

        catalog_api.severity_floor(min_severity)  # a usage error before the archive is opened
        first, last = self.closed_period(month=month, start=start, end=end)
        self.require()
        self._warn_if_empty(first, last, clusters)
        with catalog_api.query_engine(engine, spark_master) as query_engine:
            return catalog_api.findings(
                self.store, first, last, settings=self.settings, catalog=self.catalog, clusters=clusters,
                min_severity=min_severity, progress=progress, recompute=recompute, engine=query_engine,
            )  # fmt: skip

    def refresh(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
    ) -> EvaluationStats:
        """Compute and store every stale or missing result of the period and of its baseline window (what
        `findings` and `report` otherwise do when they first read it); the counts say what was done."""
        from kanalytics.catalog import evaluate

        first, last = self.closed_period(month=month, start=start, end=end)
        self.require()
        since = first - timedelta(days=self.settings.baseline.days)
        return evaluate.ensure(
            self.store, self.catalog, self.settings, start=since, end=last, clusters=clusters
        ).stats

    def findings_frame(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        min_severity: str | None = None,
        include_recurring: bool = False,
        engine: str = "duckdb",
        spark_master: str | None = None,
    ) -> pl.DataFrame:
        """`findings()` as one polars DataFrame (fixed schema, evidence as JSON text); warns with
        `QueryFailedWarning` naming each query that failed. `include_recurring` adds the recurring findings,
        each with its pattern's evidence under the evidence key "recurring". `engine`, `spark_master`: as in
        `findings`."""
        from kanalytics.catalog.findings import findings_frame

        result = self.findings(
            month=month, start=start, end=end, clusters=clusters, min_severity=min_severity, engine=engine,
            spark_master=spark_master,
        )  # fmt: skip
        for problem in result.failed:
            warnings.warn(
                f"query {problem.query_id} failed: {problem.reason}", QueryFailedWarning, stacklevel=2
            )
        return utc(findings_frame(result.listing(include_recurring=include_recurring)))

    def controls(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        frameworks: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """The control mapping of the period as the report shows it, one row per control of each framework
        (default: `[report] frameworks`): its status (exceptions | evidenced | not evaluable | manual), the
        exceptions to review and how many of them were reviewed, the info-severity inventory counted as
        evidence, and the checks behind it (kanalytics.report.controls)."""
        import polars as pl

        from kanalytics.catalog.api import judged_run
        from kanalytics.catalog.incidents import configured_incidents
        from kanalytics.catalog.review import reviews_for
        from kanalytics.report.controls import control_tables

        first, last = self.closed_period(month=month, start=start, end=end)
        self.require()
        self._warn_if_empty(first, last, clusters)
        run = judged_run(
            self.store, first, last, settings=self.settings, catalog=self.catalog, clusters=clusters
        )
        wanted = list(frameworks or self.settings.report.frameworks)
        incidents = configured_incidents(run.findings, catalog=self.catalog, settings=self.settings)
        reviews = reviews_for(run.findings, incidents, self.dispositions())
        rows = [
            {
                "framework": table.id,
                "framework_title": table.title,
                "control": row.control,
                "title": row.title,
                "automation": row.automation,
                "status": row.status,
                "exceptions": row.exceptions,
                "reviewed": row.reviewed,
                "inventory": row.inventory,
                "checks": row.queries,
                "reason": row.reason,
                "note": row.note,
            }
            for table in control_tables(run, self.catalog, wanted, reviews)
            for row in table.rows
        ]
        schema: dict[str, Any] = {
            "framework": pl.String, "framework_title": pl.String, "control": pl.String, "title": pl.String,
            "automation": pl.String, "status": pl.String, "exceptions": pl.Int64, "reviewed": pl.Int64,
            "inventory": pl.Int64, "checks": pl.List(pl.String), "reason": pl.String, "note": pl.String,
        }  # fmt: skip
        return pl.DataFrame(rows, schema=schema)

    def report(
        self,
        out: str | Path,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        formats: Sequence[str] | str = ("html", "pdf", "csv", "json"),
        progress: Progress | None = None,
        generated_at: datetime | None = None,
        recompute: bool = False,
        engine: str = "duckdb",
        spark_master: str | None = None,
    ) -> ReportOutputs:
        """Write the report files for the period into `out` (default period: the previous complete month in
        the configured time zone). `recompute`: derive the findings from the events, ignoring the stored
        results, and state in the methodology whether they agree (`run_info["evaluation"]`). `engine="spark"`:
        compute every query from the events on Spark (`spark_master` as in `findings`; not with `recompute`)."""
        from kanalytics.catalog.api import query_engine
        from kanalytics.catalog.period import previous_month
        from kanalytics.report.api import generate_report, parse_formats

        wanted = parse_formats(formats)
        if month is None and start is None and end is None:
            first, last = previous_month(None, self.settings.zone)
        else:
            first, last = self.closed_period(month=month, start=start, end=end)
        self.require()
        self._warn_if_empty(first, last, clusters)
        if recompute and engine != "duckdb":
            raise UsageError(
                "--recompute compares DuckDB's stored results with the events; --engine spark stores nothing",
                hint="run one, then the other",
            )
        with query_engine(engine, spark_master) as running_on:
            return generate_report(
                self.store, first, last, Path(out), settings=self.settings, clusters=clusters, formats=wanted,
                catalog=self.catalog, progress=progress, generated_at=generated_at, recompute=recompute,
                engine=running_on,
            )  # fmt: skip

    # -- integrity --------------------------------------------------------------------------------------
    def verify(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        public_key: str | Path | None = None,
        checkpoint: str | None = None,
    ) -> VerifyReport:
        """Check the manifest chain, signatures and the hashes of the data files of the period (all files
        when no period is given). `public_key` defaults to `[signing] public_key_path`; `checkpoint` is a
        `SEQ:SHA256`, a saved checkpoint note's text, or the path of a file holding one."""
        from kanalytics.archive import signing
        from kanalytics.archive.verify import verify_archive
        from kanalytics.errors import IntegrityError

        first, last = self.period(month=month, start=start, end=end)
        key_path = public_key or self.settings.signing.public_key_path
        key = signing.load_public_key(Path(key_path).expanduser()) if key_path else None
        note = None
        if checkpoint is not None and Path(checkpoint).is_file():
            note = Path(checkpoint).read_text(encoding="utf-8")
            if key is not None and (problem := signing.check_checkpoint_note(note, key)):
                raise IntegrityError(f"{checkpoint}: {problem}")
        self._require_archive()
        report = verify_archive(
            self.layout,
            public_key=key,
            start=first.date() if first is not None else None,
            end=(last - timedelta(microseconds=1)).date() if last is not None else None,
            checkpoint=signing.parse_checkpoint(note or checkpoint) if checkpoint else None,
        )
        if (first is not None or last is not None) and report.files_total == 0:
            # Said after verifying: reading the chain to look for data must not pre-empt its own check.
            span = f"{first.isoformat() if first else '…'} to {last.isoformat() if last else '…'}"
            warnings.warn(
                f"nothing matched: the archive {self.root} has no data files in {span}; none were hashed",
                NothingMatchedWarning,
                stacklevel=2,
            )
        return report

    def checkpoint(self) -> Checkpoint:
        """The newest manifest's `SEQ:SHA256`, with a signed note when a signing key is configured."""
        from kanalytics.archive import signing
        from kanalytics.archive.manifest import last_manifest

        last = last_manifest(self._require_archive())
        if last is None:
            raise ArchiveError(f"{self.root} has no manifests yet: nothing to checkpoint")
        signer = self.keys.signer
        note = (
            signing.sign_checkpoint(signer, str(self.root.resolve()), last.seq, last.sha256)
            if signer
            else None
        )
        return Checkpoint(last.seq, last.sha256, note)

    # -- lifecycle --------------------------------------------------------------------------------------
    def retention_plan(self, *, as_of: date | str | None = None) -> RetentionPlan:
        """Every partition the retention policy would delete (as if today were `as_of`); deletes nothing."""
        from kanalytics.archive.retention import plan_retention

        today = _day(as_of, "--as-of") if as_of is not None else None
        return plan_retention(self._require_archive(), self.settings, today=today)

    def retention_apply(
        self, *, approved: list[tuple[str, str]] | None = None, batch_size: int = 50
    ) -> ApplyResult:
        """Delete what a fresh plan lists, one signed manifest per batch. `approved`: the plan's `key()` the
        operator confirmed; if the fresh plan differs, nothing is deleted."""
        from kanalytics.archive.retention import apply_retention

        return apply_retention(
            self._require_archive(), self.settings, approved=approved, batch_size=batch_size, keys=self.keys
        )

    def holds(self, *, include_released: bool = False) -> list[Hold]:
        """The legal holds (active ones unless `include_released`)."""
        from kanalytics.archive.holds import list_holds

        return [h for h in list_holds(self._require_archive()) if include_released or h.active]

    def add_hold(
        self,
        *,
        cluster: str,
        reason: str,
        owner: str,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        namespace: str | None = None,
    ) -> Hold:
        """Place a legal hold on the local days (configured zone) the period [start, end) touches: retention
        never deletes them while the hold is active. `--to 2026-11-01` holds up to and including Oct 31."""
        from kanalytics.archive.holds import add_hold

        first, last = self.closed_period(month=month, start=start, end=end)
        zone = self.settings.zone
        return add_hold(
            self.layout, cluster=cluster, namespace=namespace, start=first.astimezone(zone).date(),
            end=(last - timedelta(microseconds=1)).astimezone(zone).date(), reason=reason, owner=owner,
            timezone=self.settings.timezone, keys=self.keys,
        )  # fmt: skip

    def release_hold(self, hold_id: str, *, reason: str) -> Hold:
        """Release a legal hold; it stays in the record, marked released."""
        from kanalytics.archive.holds import release_hold

        return release_hold(self._require_archive(), hold_id, reason=reason, keys=self.keys)

    def compact(
        self,
        *,
        older_than: str | timedelta = "2d",
        level: int | None = None,
        clusters: Sequence[str] | None = None,
    ) -> CompactResult:
        """Merge each day's small files into few large sorted ones (days that ended `older_than` ago)."""
        from kanalytics.archive.compact import compact_archive, parse_age

        age = parse_age(older_than) if isinstance(older_than, str) else older_than
        return compact_archive(
            self._require_archive(), older_than=age, level=level, clusters=list(clusters) if clusters else None,
            keys=self.keys,
        )  # fmt: skip

    # -- helpers ----------------------------------------------------------------------------------------
    def _require_archive(self) -> Any:
        self.require()
        return self.layout

    def _warn_if_empty(
        self, start: datetime | None, end: datetime | None, clusters: Sequence[str] | None
    ) -> None:
        """Warn when the filters select no partition at all, so "0 rows" is never silent."""
        if not self.layout.is_archive():
            return
        from kanalytics.archive import chain
        from kanalytics.archive.reader import select_partitions

        if select_partitions(self.layout, start, end, clusters):
            return
        known = sorted({p.cluster for p in chain.snapshot(self.layout).partitions})
        unknown = [c for c in clusters or () if c not in known]
        if unknown:
            what = f"no events of cluster {', '.join(map(repr, unknown))} (clusters: {', '.join(known) or 'none'})"
        else:
            span = f"{start.isoformat() if start else '…'} to {end.isoformat() if end else '…'}"
            what = f"no events in {span}" + (f" for cluster {', '.join(clusters)}" if clusters else "")
        warnings.warn(
            f"nothing matched: the archive {self.root} has {what}", NothingMatchedWarning, stacklevel=3
        )

    # -- incidents --------------------------------------------------------------------------------------
    def incidents(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        min_severity: str | None = None,
        progress: Progress | None = None,
    ) -> IncidentsResult:
        """The period's findings to review (`findings()`) correlated into incidents, most urgent first
        (docs/incidents.md); `min_severity` filters incidents by their own, possibly raised, severity.
        `result.findings` is the `FindingsResult` they came from, with its failed queries."""
        from kanalytics.catalog import api as catalog_api
        from kanalytics.catalog.incidents import incidents_result

        floor = catalog_api.severity_floor(min_severity)
        found = self.findings(month=month, start=start, end=end, clusters=clusters, progress=progress)
        return incidents_result(found, catalog=self.catalog, settings=self.settings, min_severity=floor)

    # -- review -----------------------------------------------------------------------------------------
    def triage_set(
        self,
        target: str,
        *,
        verdict: str,
        note: str,
        by: str,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
    ) -> Disposition:
        """Record an analyst's verdict on a finding ("f-…") or an incident ("inc-…") in the archive's manifest
        chain (docs/triage.md); returns it as stored. Ids carry no date, so the id must be one of the findings or
        incidents of the period (default: the previous complete month and the current one); an incident's
        verdict records its member findings, so it keeps covering them if the incident id changes later."""
        from dataclasses import replace

        from kanalytics.archive import dispositions
        from kanalytics.catalog.findings import finding_id
        from kanalytics.catalog.incidents import incidents_result
        from kanalytics.catalog.period import month_bounds, previous_month

        draft = dispositions.check_disposition(
            dispositions.Disposition(target, verdict, note, by, datetime.now(UTC))  # type: ignore[arg-type]
        )  # the verdict is checked here, before the period's findings are computed
        if month is None and start is None and end is None:
            zone = self.settings.zone
            first = previous_month(tz=zone)[0]
            last = month_bounds(f"{datetime.now(UTC).astimezone(zone):%Y-%m}", zone)[1]
        else:
            first, last = self.closed_period(month=month, start=start, end=end)
        found = self.findings(start=first, end=last)
        if target.startswith("inc-"):
            built = incidents_result(found, catalog=self.catalog, settings=self.settings)
            members = next((i.findings for i in built if i.id == target), None)
        else:
            members = [f for f in found.listing(include_recurring=True) if finding_id(f) == target] or None
        if members is None:
            raise UsageError(
                f"{target} is not a {'incident' if target.startswith('inc-') else 'finding'} of "
                f"{_shown(first)} to {_shown(last)}",
                hint=f"pass --month (or --from/--to) for the period it was found in; {dispositions.ID_HINT}",
            )
        covered = tuple(finding_id(f) for f in members)
        return dispositions.record_disposition(
            self.layout, self.keys, replace(draft, findings=covered, at=datetime.now(UTC))
        )

    def dispositions(
        self,
        *,
        month: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
        verdict: str | None = None,
    ) -> dict[str, Disposition]:
        """The verdict in force per finding or incident id (the newest recorded), optionally only those
        recorded in the period and with `verdict`."""
        from kanalytics.archive.dispositions import VERDICTS, latest_dispositions

        if verdict is not None and verdict not in VERDICTS:
            raise UsageError(f"unknown verdict {verdict!r}", hint=f"use one of: {', '.join(VERDICTS)}")
        first, last = self.period(month=month, start=start, end=end)
        return {
            target: d
            for target, d in latest_dispositions(self._require_archive()).items()
            if (verdict is None or d.verdict == verdict)
            and (first is None or d.at >= first)
            and (last is None or d.at < last)
        }

    def triage_history(self, target: str) -> list[Disposition]:
        """Every verdict recorded on `target`, oldest first (the last one is in force)."""
        from kanalytics.archive.dispositions import check_target, disposition_history

        return disposition_history(self._require_archive(), check_target(target))

    def incident_verdicts(self, incidents: IncidentsResult) -> dict[str, IncidentVerdict]:
        """Incident id -> what analysts recorded on it (its verdict and reviewed members), for the incidents of
        an `incidents()` result; `incidents.to_json(verdicts)` prints them as the report's incidents.json does."""
        from kanalytics.catalog.review import incident_reviews

        return incident_reviews(incidents.incidents, self.dispositions(), self.reviews(incidents))

    def reviews(self, incidents: IncidentsResult) -> dict[str, Disposition]:
        """Finding id -> the disposition that covers it (its own, else its incident's), for the findings of
        an `incidents()` result (kanalytics.catalog.review.reviews_for)."""
        from kanalytics.catalog.review import reviews_for

        found = incidents.findings.listing(include_recurring=True) if incidents.findings else []
        return reviews_for(found, incidents.incidents, self.dispositions())

    # -- tune -------------------------------------------------------------------------------------------
    def tune(
        self,
        *,
        start: Instant | None = None,
        end: Instant | None = None,
        clusters: Sequence[str] | None = None,
        min_days: int | None = None,
        out: str | Path | None = None,
        force: bool = False,
    ) -> TuneResult:
        """Propose allow-lists from the baseline [start, end) (default: the `baseline.days` days before the
        current month) as TOML for a person to review (`result.text`; docs/tune.md); written to `out` when
        given (never over a file without `force`, never to a kanalytics.toml). Nothing is ever applied."""
        from kanalytics.catalog.loader import load_proposals
        from kanalytics.catalog.tune import default_period, propose
        from kanalytics.catalog.tune_toml import write_proposal

        if start is None and end is None:
            first, last = default_period(self.settings)
        else:
            first, last = self.closed_period(start=start, end=end)
        self.require()
        result = propose(
            self.store, first, last, settings=self.settings, catalog=self.catalog, clusters=clusters,
            proposals=load_proposals(self.catalog, settings=self.settings), min_days=min_days,
            archive_name=str(self.root),
        )  # fmt: skip
        if out is not None:
            protected = [p for p in (self.settings.source,) if p]
            write_proposal(result.text, Path(out), force=force, protected=protected)
        return result


class QueryFailedWarning(UserWarning):
    """A catalog query failed; its findings are missing from a frame (`findings()` lists them in `failed`)."""


def utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Every zoned timestamp column as `Datetime('us', 'UTC')`, the API's one timestamp dtype."""
    from kanalytics.archive.api import utc_frame

    return utc_frame(frame)


def _probe(limit: int | None) -> int:
    return (limit + 1) if limit is not None else 2**62


def _truncated(frame: pl.DataFrame, limit: int | None, what: str) -> pl.DataFrame:
    if limit is not None and frame.height > limit:
        warnings.warn(
            f"{what} stopped at limit={limit:,}; more rows matched (pass a larger limit, or limit=None)",
            TruncatedWarning,
            stacklevel=3,
        )
        return frame.head(limit)
    return frame


def _day(value: date | str, option: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: cannot read {value!r} as a date", hint="use YYYY-MM-DD") from None


def _shown(value: Instant | None) -> str:
    return value if isinstance(value, str) else (value.isoformat() if value is not None else "")


__all__ = [
    "Archive",
    "Checkpoint",
    "Instant",
    "NothingMatchedWarning",
    "QueryFailedWarning",
    "QueryRun",
    "TruncatedWarning",
    "open_archive",
]
