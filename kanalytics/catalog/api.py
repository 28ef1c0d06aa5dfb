"""The catalog's entry points for the façade (`kanalytics.api.Archive`): findings with their failures.

`findings` runs every detection and anomaly once and returns a `FindingsResult`: the findings and, for each
query that failed or could not be evaluated, its id and the reason. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.model import Finding
from kanalytics.errors import UsageError
from kanalytics.vocabulary import FINDING_KINDS, SEVERITIES, SEVERITY_ORDER

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun
    from kanalytics.catalog.runner import EventSource
    from kanalytics.config import Settings


@dataclass(frozen=True)
class QueryProblem:
    """A query that produced no rows to trust: `status` "error" (it failed) or "not-evaluable" (the archive
    lacks what it needs, e.g. the audit level), with the reason."""

    query_id: str
    status: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"query_id": self.query_id, "status": self.status, "reason": self.reason}


@dataclass
class FindingsResult:
    """The findings of [start, end), most severe first, and the queries that failed or were not evaluable.

    Iterating (or `len`) goes over the findings, so `for f in archive.findings(...)` reads naturally.
    """

    start: datetime
    end: datetime
    findings: list[Finding] = field(default_factory=list)
    failed: list[QueryProblem] = field(default_factory=list)
    not_evaluable: list[QueryProblem] = field(default_factory=list)
    queries: int = 0  # how many detections and anomalies ran

    @property
    def ok(self) -> bool:
        """True when no query failed (not-evaluable queries are a property of the data, not a failure)."""
        return not self.failed

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "queries": self.queries,
            "findings": [f.to_json() for f in self.findings],
            "failed": [p.to_json() for p in self.failed],
            "not_evaluable": [p.to_json() for p in self.not_evaluable],
        }


def findings(
    source: EventSource,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    catalog: Catalog,
    clusters: Sequence[str] | None = None,
    min_severity: str | None = None,
) -> FindingsResult:
    """Every detection and anomaly finding of [start, end) at or above `min_severity`, with the failures."""
    from kanalytics.catalog.runner import run_catalog

    floor = severity_floor(min_severity)
    run = run_catalog(
        source,
        start,
        end,
        clusters=clusters,
        settings=settings,
        catalog=catalog,
        kinds=FINDING_KINDS,
        keep_tables=False,
    )
    return findings_result(run, floor)


def findings_result(run: CatalogRun, floor: int = 0) -> FindingsResult:
    """A catalog run's findings (at or above the severity rank `floor`) and its problem queries."""
    result = FindingsResult(start=run.start, end=run.end, queries=len(run.results))
    result.findings = [f for f in run.findings if SEVERITY_ORDER[f.severity] >= floor]
    for query_id, query_result in sorted(run.results.items()):
        problem = QueryProblem(query_id, query_result.status, query_result.reason)
        if query_result.status == "error":
            result.failed.append(problem)
        elif query_result.status == "not-evaluable":
            result.not_evaluable.append(problem)
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
