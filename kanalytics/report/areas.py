"""The review-area sections of the report: which metric tables and charts each area shows, and why.

The queries of an area come from their headers (`area:`), so a new detection appears in its section without
a code change; only the introductions and which metrics are charts rather than tables live here.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from kanalytics.report import charts
from kanalytics.report.context import AreaSection, Chart
from kanalytics.report.metrics import DENIED_PER_DAY, SHOWN_ELSEWHERE, result_rows, rows_of
from kanalytics.report.tables import to_table
from kanalytics.vocabulary import AREA_TITLES, SEVERITY_ORDER, Area

if TYPE_CHECKING:
    from kanalytics.catalog.model import CatalogRun

# (area, what a reviewer looks for there), in report order; titles are the vocabulary's AREA_TITLES.
SECTIONS: tuple[tuple[Area, str], ...] = (
    (
        "activity",
        "Who used the clusters: the busiest identities, overall and of each type (the daily volume by identity "
        "type is charted in the executive summary).",
    ),
    (
        "failed-access",
        "Requests refused by authentication (401) or authorization (403). Repeated refusals from one identity "
        "or address are how credential misuse and permission probing show up.",
    ),
    (
        "rbac",
        "Changes to roles, bindings, service accounts and certificate requests: every elevation of privilege "
        "should match an approved change.",
    ),
    (
        "privileged-workloads",
        "Workloads that asked for privileged containers, host namespaces or host paths: a container escape "
        "starts here. These checks need request bodies.",
    ),
    (
        "secrets",
        "Who read or listed Secrets. Controllers do this all day; people and unexpected service accounts "
        "should not.",
    ),
    (
        "exec",
        "Interactive and tunnelled access into running workloads, and requests made on behalf of another "
        "identity.",
    ),
    (
        "anonymous",
        "Requests without credentials. Anything other than refused discovery and health requests needs an "
        "explanation.",
    ),
    (
        "anomalies",
        "Activity compared with the baseline before the period: off-hours work, new origins, unusual volume.",
    ),
    ("network", "Where requests came from, by client network (the first source address of each request)."),
    (
        "configuration",
        "Changes to admission webhooks, CRDs, API services, namespaces and network policy: the objects that "
        "change how the whole cluster behaves.",
    ),
)
# Areas without an area section of their own, and the report section (HTML anchor) that shows their queries:
# coverage metrics feed "Coverage and completeness"; integrity checks report under "Findings by severity".
SHOWN_IN: dict[Area, str] = {"coverage": "coverage", "integrity": "findings"}


def build_areas(
    run: CatalogRun, shared: dict[str, Chart] | None = None, zone: str = "UTC"
) -> list[AreaSection]:
    from kanalytics.report.build import query_status

    shared = shared or {}
    found = Counter(f.query_id for f in run.findings)
    sections = []
    for area, intro in SECTIONS:
        results = [r for r in run.results.values() if r.query.header.area == area]
        metrics = sorted((r for r in results if r.query.header.kind == "metric"), key=lambda r: r.query.id)
        checks = [r for r in results if r.query.header.kind != "metric"]
        checks.sort(key=lambda r: (-SEVERITY_ORDER[r.query.header.severity], r.query.id))
        tables = []
        for result in metrics:
            if result.query.id in SHOWN_ELSEWHERE:
                continue
            if result.status != "ok":
                tables.append((result.query.header.title, to_table([], caption=_unavailable(result.reason))))
                continue
            tables.append((result.query.header.title, to_table(result_rows(run, result.query.id), limit=30)))
        statuses = [query_status(r) for r in checks]
        for status in statuses:
            status.rows = found.get(status.id, 0)
        sections.append(
            AreaSection(
                id=area, title=AREA_TITLES[area], intro=intro, charts=_charts(area, run, shared, zone), tables=tables,
                queries=statuses, findings=sum(s.rows for s in statuses),
            )
        )  # fmt: skip
    return sections


def _unavailable(reason: str) -> str:
    return f"Not evaluable: {reason}" if reason else "Not evaluable"


def _charts(area: str, run: CatalogRun, shared: dict[str, Chart], zone: str) -> list[Chart]:
    """The charts of an area section; a chart the executive summary shows (daily volume) is not repeated."""
    if area == "activity":
        return [shared["identities"]] if "identities" in shared else []
    if area == "anomalies":
        return [shared["heatmap"]] if "heatmap" in shared else []
    if area == "failed-access":
        rows: list[dict[str, Any]] = rows_of(run, DENIED_PER_DAY)
        if rows and any(r["forbidden"] or r["unauthenticated"] for r in rows):
            return [charts.denied_over_time(rows, zone)]
    return []
