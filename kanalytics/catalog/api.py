"""The catalog's entry points for the façade (`kanalytics.api.Archive`) and the report: findings, judged.

`judged_run` is the one way findings come out of the catalog: it runs the queries once and then, under the
default profile, judges medium/low findings against the baseline (`catalog.recurrence`), so the review queue
(`run.findings`) and the recurring behaviour (`run.recurring`) are the same in `findings`, the façade and the
report. `findings` returns a `FindingsResult`: the review queue, the recurring patterns with their evidence and,
for each query that failed, could not be evaluated or waits for configuration, its id and the reason. Nothing is
dropped silently.

With an engine other than DuckDB (`--engine spark`: a `runner.QueryEngine`), the findings are computed from the
events on that engine, never read from the stored results (which DuckDB computed); the queries it cannot run
are listed in `FindingsResult.not_portable` with their reasons, apart from those the archive cannot evaluate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.findings import json_safe, sort_findings
from kanalytics.catalog.model import Finding, RecurringPattern
from kanalytics.errors import UsageError
from kanalytics.vocabulary import FINDING_KINDS, SEVERITIES, SEVERITY_ORDER

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun
    from kanalytics.catalog.runner import EventSource, Progress, QueryEngine
    from kanalytics.config import Settings

# The evidence key a recurring finding carries when it is listed with the others (findings --include-recurring,
# the report's findings.csv/json): its pattern's evidence, "seen on 24 of 30 baseline days (...)".
RECURRING_MARK = "recurring"


@dataclass(frozen=True)
class QueryProblem:
    """A query that produced no rows to trust: `status` "error" (it failed), "not-evaluable" (the archive lacks
    what it needs, e.g. the audit level or a baseline) or "needs-configuration" (it waits for a list you have
    not set; the reason names it and the command that helps), with the reason."""

    query_id: str
    status: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"query_id": self.query_id, "status": self.status, "reason": self.reason}


@dataclass
class FindingsResult:
    """The findings of [start, end) to review, most severe first; the recurring behaviour moved out of them
    (`recurring`, each pattern with its evidence and findings); and the queries that failed, were not evaluable
    or need configuration.

    Iterating (or `len`) goes over the findings to review, so `for f in archive.findings(...)` reads naturally.
    """

    start: datetime
    end: datetime
    findings: list[Finding] = field(default_factory=list)
    failed: list[QueryProblem] = field(default_factory=list)
    not_evaluable: list[QueryProblem] = field(default_factory=list)
    queries: int = 0  # how many detections and anomalies ran
    needs_configuration: list[QueryProblem] = field(default_factory=list)
    # Falco-parity queries the default profile does not run because native ones cover them (`superseded_by`).
    superseded: list[QueryProblem] = field(default_factory=list)
    recurring: list[RecurringPattern] = field(default_factory=list)
    # The `kanalytics tune` command that proposes the lists the needs-configuration queries wait for.
    tune_command: str = ""
    # How the results were obtained (stored / refreshed / recomputed, and after a recompute whether they agree
    # with what was stored): `catalog.evaluate.EvaluationStats.to_json` plus `catalog.stored` agreement keys.
    evaluation: dict[str, Any] = field(default_factory=dict)
    # The engine the queries ran on, and the queries it could not run ("not run on spark: ..." reasons).
    engine: str = "duckdb"
    not_portable: list[QueryProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no query failed (not-evaluable queries are a property of the data, not a failure)."""
        return not self.failed

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    @property
    def recurring_findings(self) -> int:
        """How many findings the recurring patterns hold (not in `findings`)."""
        return sum(len(p.findings) for p in self.recurring)

    def listing(self, *, include_recurring: bool = False) -> list[Finding]:
        """The findings to review; with `include_recurring` the recurring ones too, in severity order, each
        marked with its pattern's evidence (`evidence["recurring"]`)."""
        if not include_recurring or not self.recurring:
            return list(self.findings)
        return sort_findings([*self.findings, *marked_recurring(self.recurring)])

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "queries": self.queries,
            "findings": [f.to_json() for f in self.findings],
            "failed": [p.to_json() for p in self.failed],
            "not_evaluable": [p.to_json() for p in self.not_evaluable],
            "needs_configuration": [p.to_json() for p in self.needs_configuration],
            "superseded": [p.to_json() for p in self.superseded],
            "engine": self.engine,
            "not_portable": [p.to_json() for p in self.not_portable],
            "tune_command": self.tune_command,
            "recurring": [recurring_to_json(p) for p in self.recurring],
            "evaluation": self.evaluation,
        }


def recurring_to_json(pattern: RecurringPattern) -> dict[str, Any]:
    """One recurring pattern: who, which query and key, its baseline evidence, and the findings it covers."""
    return json_safe(
        {
            "query_id": pattern.query_id,
            "cluster": pattern.cluster,
            "user_name": pattern.user_name,
            "key": pattern.key,
            "days_seen": pattern.days_seen,
            "baseline_days": pattern.baseline_days,
            "first_seen": pattern.first_seen,
            "last_seen": pattern.last_seen,
            "evidence": pattern.evidence,
            "count": len(pattern.findings),
            "findings": [f.to_json() for f in pattern.findings],
        }
    )


def marked_recurring(patterns: Iterable[RecurringPattern]) -> list[Finding]:
    """The findings of `patterns`, each a copy whose evidence says it is recurring behaviour and why."""
    return [
        dataclasses.replace(f, evidence={**f.evidence, RECURRING_MARK: p.evidence})
        for p in patterns
        for f in p.findings
    ]


def judged_run(
    source: EventSource,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    catalog: Catalog,
    clusters: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    progress: Progress | None = None,
    recompute: bool = False,
    engine: QueryEngine | None = None,
) -> CatalogRun:
    """The catalog over [start, end) (detection tables released once they are findings), then, under the
    default profile, its recurring medium/low findings moved out of `findings` into `recurring`.

    An archive (`kanalytics.archive.api.Store`) is read through its stored results (`catalog.stored`); with
    `recompute` those are derived again from the events and compared with what was stored. Any other event
    source, and any `engine` (whose results are never stored), is evaluated from scratch."""
    from kanalytics.catalog.recurrence import judge_recurrence
    from kanalytics.catalog.runner import run_catalog

    if engine is not None:
        run = run_catalog(
            source, start, end, clusters=clusters, settings=settings, catalog=catalog, kinds=kinds,
            keep_tables=False, progress=progress, engine=engine,
        )  # fmt: skip
        return judge_recurrence(source, run, settings=settings, catalog=catalog)
    if _is_store(source):
        from kanalytics.catalog.stored import stored_run

        run = stored_run(
            source, start, end, clusters=clusters, settings=settings, catalog=catalog,  # type: ignore[arg-type]
            kinds=kinds, progress=progress, recompute=recompute,
        )  # fmt: skip
        return judge_recurrence(source, run, settings=settings, catalog=catalog, stored=True)
    run = run_catalog(
        source, start, end, clusters=clusters, settings=settings, catalog=catalog, kinds=kinds,
        keep_tables=False, progress=progress,
    )  # fmt: skip
    return judge_recurrence(source, run, settings=settings, catalog=catalog)  # a no-op under "falco"


@contextmanager
def query_engine(name: str = "duckdb", spark_master: str | None = None) -> Iterator[QueryEngine | None]:
    """The engine a command computes its findings on, for the length of the command: None for DuckDB (the
    runner's own connection), a started Spark session for "spark" (stopped after, if this process started
    it). A UsageError for an unknown engine or a Spark master without Spark."""
    from kanalytics.archive.schema import ENGINES

    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}", hint=f"use one of: {', '.join(ENGINES)}")
    if name == "duckdb":
        if spark_master:
            raise UsageError("--spark-master applies to --engine spark", hint="add --engine spark")
        yield None
        return
    from kanalytics.catalog.spark_engine import SparkEngine

    with SparkEngine.start(spark_master) as engine:
        yield engine


def _is_store(source: EventSource) -> bool:
    from kanalytics.archive.api import Store

    return isinstance(source, Store)


def findings(
    source: EventSource,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    catalog: Catalog,
    clusters: Sequence[str] | None = None,
    min_severity: str | None = None,
    progress: Progress | None = None,
    recompute: bool = False,
    engine: QueryEngine | None = None,
) -> FindingsResult:
    """Every detection and anomaly finding of [start, end) at or above `min_severity`, judged against the
    baseline (recurring behaviour listed apart), with the queries that did not run and why. `engine`: compute
    them on that engine (see the module docstring); `recompute` does not apply then (nothing is stored)."""
    from kanalytics.catalog.runner import tune_command

    floor = severity_floor(min_severity)
    if engine is not None and recompute:
        raise UsageError(
            f"--recompute compares DuckDB's stored results with the events; --engine {engine.name} computes "
            "from the events and stores nothing",
            hint="run one, then the other, and compare the two --json outputs",
        )
    run = judged_run(
        source, start, end, settings=settings, catalog=catalog, clusters=clusters, kinds=FINDING_KINDS,
        progress=progress, recompute=recompute, engine=engine,
    )  # fmt: skip
    result = findings_result(run, floor)
    if engine is not None:
        result.engine = engine.name
    if result.needs_configuration:
        result.tune_command = tune_command(run.start, settings)
    return result


def findings_result(run: CatalogRun, floor: int = 0) -> FindingsResult:
    """A catalog run's findings and recurring patterns (at or above the severity rank `floor`) and its
    problem queries."""
    result = FindingsResult(start=run.start, end=run.end, queries=len(run.results), evaluation=run.evaluation)
    result.findings = [f for f in run.findings if SEVERITY_ORDER[f.severity] >= floor]
    result.recurring = [
        p for p in run.recurring if p.findings and SEVERITY_ORDER[p.findings[0].severity] >= floor
    ]
    problems = {
        "error": result.failed,
        "not-evaluable": result.not_evaluable,
        "needs-configuration": result.needs_configuration,
        "superseded": result.superseded,
    }
    from kanalytics.catalog.runner import NOT_RUN_ON

    for query_id, query_result in sorted(run.results.items()):
        if query_result.status == "not-evaluable" and query_result.reason.startswith(NOT_RUN_ON):
            result.not_portable.append(QueryProblem(query_id, "not-portable", query_result.reason))
        elif query_result.status in problems:
            problems[query_result.status].append(
                QueryProblem(query_id, query_result.status, query_result.reason)
            )
    return result


def severity_floor(min_severity: str | None) -> int:
    """The numeric floor of `min_severity` (None: everything); a UsageError for unknown names."""
    if min_severity is None:
        return 0
    try:
        return SEVERITY_ORDER[min_severity.lower()]
    except KeyError:
        raise UsageError(
            f"unknown severity {min_severity!r}", hint=f"use one of: {', '.join(SEVERITIES)}"
        ) from None
