"""The catalog metrics the report reads by id, and the columns it reads from each: declared here, once.

Every other metric is printed as a table in its area's section with whatever columns it returns. These are
read by name (headline figures, charts, coverage), so a renamed metric or column would empty a chart without a
word: `tests/test_contracts.py` runs each declared metric and checks its columns, and `rows_of` refuses a
result that lacks one (a user's override of a built-in metric, say) with an error naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kanalytics.errors import ReportError

if TYPE_CHECKING:
    from kanalytics.catalog.model import CatalogRun


@dataclass(frozen=True)
class MetricNeed:
    """A metric the report reads: its query id, the columns read from its rows, and what they become."""

    id: str
    columns: tuple[str, ...]  # empty: shown as a table as it is, whatever its columns
    used_for: str
    area_table: bool = False  # also printed as a table in its area's section (others are shown elsewhere)


IDENTITY_SUMMARY = MetricNeed(
    "identity-summary",
    ("identity_type", "events", "identities", "denied"),
    "headline figures (this period and the previous one) and the identity-type table",
)
EVENTS_PER_DAY = MetricNeed(
    "events-per-day", ("day", "cluster", "events"), "coverage: days without events, clusters, chart"
)
HOURLY_COVERAGE_GAPS = MetricNeed("hourly-coverage-gaps", (), "coverage: the table of gap hours")
AUDIT_LEVELS_SEEN = MetricNeed("audit-levels-seen", (), "coverage: the table of audit levels and stages")
DAILY_VOLUME = MetricNeed(
    "daily-volume-by-identity-type", ("day", "identity_type", "events"), "the daily volume chart"
)
ACTIVITY_HEATMAP = MetricNeed(
    "activity-heatmap", ("weekday", "hour", "events", "human_events"), "the weekday × hour heatmap"
)
TOP_IDENTITIES = MetricNeed(
    "top-identities", ("user_name", "identity_type", "events"), "the top identities chart", area_table=True
)
DENIED_PER_DAY = MetricNeed(
    "denied-requests-per-day", ("day", "forbidden", "unauthenticated"), "the denied requests chart"
)

REPORT_METRICS: tuple[MetricNeed, ...] = (
    IDENTITY_SUMMARY,
    EVENTS_PER_DAY,
    HOURLY_COVERAGE_GAPS,
    AUDIT_LEVELS_SEEN,
    DAILY_VOLUME,
    ACTIVITY_HEATMAP,
    TOP_IDENTITIES,
    DENIED_PER_DAY,
)
# Run over the previous period too, for the executive summary's comparison (the checks are not re-run).
COMPARISON_METRICS: tuple[MetricNeed, ...] = (IDENTITY_SUMMARY,)
# Metrics not printed as area tables: the report shows them as charts or in its own sections.
SHOWN_ELSEWHERE = frozenset(m.id for m in REPORT_METRICS if not m.area_table)


def rows_of(run: CatalogRun | None, need: MetricNeed) -> list[dict[str, Any]]:
    """The rows of a declared metric: [] when it did not run or failed (coverage lists it), a ReportError
    when it ran but lacks a column the report reads."""
    result = run.results.get(need.id) if run else None
    if result is None or result.status != "ok" or result.table is None:
        return []
    missing = [c for c in need.columns if c not in result.table.column_names]
    if missing:
        raise ReportError(
            f"metric {need.id} ({result.query.path}) returns no column {', '.join(missing)}: the report reads "
            f"{', '.join(need.columns)} from it for {need.used_for}",
            hint="return those columns from the query (see kanalytics/report/metrics.py), or remove the "
            "override of the built-in metric",
        )
    rows: list[dict[str, Any]] = result.table.to_pylist()
    return rows


def result_rows(run: CatalogRun | None, query_id: str) -> list[dict[str, Any]]:
    """The rows of any ok metric result, else []. Metric tables are small by construction."""
    result = run.results.get(query_id) if run else None
    if result is None or result.status != "ok" or result.table is None:
        return []
    rows: list[dict[str, Any]] = result.table.to_pylist()
    return rows
