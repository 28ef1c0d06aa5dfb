"""Build the `ReportContext` from a catalog run: summary, coverage, findings, controls and methodology.

Only small, aggregated tables reach Python (metric results and the findings list); events stay in DuckDB.
Every count of findings here is the review queue (`run.findings`); recurring behaviour (`run.recurring`) is
counted and listed on its own, with its evidence, like suppressions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kanalytics.catalog.model import CatalogRun, QueryResult
from kanalytics.catalog.runner import NO_BASELINE, config_key
from kanalytics.report import charts
from kanalytics.report.context import (
    Coverage,
    Delta,
    ExecutiveSummary,
    Highlight,
    QueryStatus,
    RecurringRow,
    SuppressionRow,
)
from kanalytics.report.metrics import (
    ACTIVITY_HEATMAP,
    AUDIT_LEVELS_SEEN,
    DAILY_VOLUME,
    EVENTS_PER_DAY,
    HOURLY_COVERAGE_GAPS,
    IDENTITY_SUMMARY,
    TOP_IDENTITIES,
    rows_of,
)
from kanalytics.report.tables import fmt_value, to_table
from kanalytics.vocabulary import SEVERITIES

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.report.context import Chart


@dataclass
class Totals:
    """The headline figures of one period, from the metric results (None when the metric did not run)."""

    events: int
    identities: int
    denied: int
    findings: int
    by_severity: dict[str, int]


def totals(run: CatalogRun) -> Totals:
    identity = rows_of(run, IDENTITY_SUMMARY)
    severity = Counter(f.severity for f in run.findings)
    return Totals(
        events=sum(int(r["events"]) for r in identity),
        identities=sum(int(r["identities"]) for r in identity),
        denied=sum(int(r["denied"]) for r in identity),
        findings=len(run.findings),
        by_severity={s: severity.get(s, 0) for s in SEVERITIES},
    )


def query_status(result: QueryResult) -> QueryStatus:
    h = result.query.header
    return QueryStatus(
        id=h.id, title=h.title, kind=h.kind, area=h.area, severity=h.severity, needs_level=h.needs_level,
        status=result.status, reason=result.reason, rows=result.rows, version=result.query.version,
        seconds=round(result.seconds, 3), controls=list(h.controls), description=h.description.strip(),
        lists=[config_key(n, h.id) for n in h.needs_config],
    )  # fmt: skip


def summary(run: CatalogRun, previous: CatalogRun | None, previous_label: str) -> ExecutiveSummary:
    """Headline figures against the previous period. When `previous` ran the metrics only (the default: the
    checks are not re-run over a second month), findings show "not compared" rather than a drop to zero."""
    now = totals(run)
    before = totals(previous) if previous is not None else None
    if before is not None and before.events == 0:
        before = None  # no data then: show "no comparison", never a drop from zero
    checks_ran = previous is not None and any(
        r.query.header.kind != "metric" for r in previous.results.values()
    )
    compared = before is not None and checks_ran
    not_compared = "not compared (see the note below)"

    def delta(label: str, attr: str) -> Delta:
        if attr == "findings" and before is not None and not compared:
            return Delta(label, now.findings, None, not_compared)
        return Delta(label, getattr(now, attr), getattr(before, attr) if before else None)

    def by_severity(s: str) -> Delta:
        if before is not None and not compared:
            return Delta(s, now.by_severity[s], None, not_compared)
        return Delta(s, now.by_severity[s], before.by_severity[s] if before else None)

    identity_rows = rows_of(run, IDENTITY_SUMMARY)
    return ExecutiveSummary(
        events=delta("Audit events", "events"),
        identities=delta("Identities", "identities"),
        denied=delta("Denied requests (401/403)", "denied"),
        findings=delta("Findings", "findings"),
        by_severity=[by_severity(s) for s in SEVERITIES],
        # ties in events are ordered by name here, so the same archive always gives the same table
        identity_types=to_table(
            sorted(identity_rows, key=lambda r: (-int(r["events"]), str(r["identity_type"])))
        ),
        highlights=[],
        previous_label=previous_label,
        empty=now.events == 0,
        findings_compared=compared,
    )


def highlights(coverage: Coverage) -> list[Highlight]:
    """What limits the evidence, shown under the ranked incidents: gaps in the audit trail, checks waiting
    for configuration, a first month without baseline, checks the audit level cannot feed."""
    items: list[Highlight] = []
    if coverage.days_without_events or coverage.gap_hour_count:
        detail = (
            f"{len(coverage.days_without_events)} cluster-day(s) without events and "
            f"{coverage.gap_hour_count} hour(s) with no or far fewer events than usual"
        )
        items.append(Highlight("coverage", "Gaps in the audit trail", detail, "coverage"))
    if coverage.needs_configuration:
        detail = (
            f"{len(coverage.needs_configuration)} checks wait for an allow-list before they run: "
            + ", ".join(q.id for q in coverage.needs_configuration[:4])
            + (f"; {coverage.tune_command} proposes entries" if coverage.tune_command else "")
        )
        items.append(Highlight("coverage", "Checks that need configuration", detail, "coverage"))
    if coverage.first_month:
        items.append(Highlight("coverage", "First month: no baseline", coverage.baseline, "coverage"))
    by_level = [q for q in coverage.not_evaluable if not q.reason.startswith(NO_BASELINE)]
    if by_level:
        detail = f"{len(by_level)} queries could not run: " + ", ".join(q.id for q in by_level[:4])
        items.append(Highlight("coverage", "Checks not evaluable at this audit level", detail, "coverage"))
    return items


def baseline_statement(run: CatalogRun, window_days: int) -> tuple[str, bool]:
    """What the anomalies were judged against, in words, and whether this is an archive's first month (no
    cluster of the period had a baseline, so the anomalies did not run)."""
    first = any(
        r.status == "not-evaluable" and r.reason.startswith(NO_BASELINE) for r in run.by_kind("anomaly")
    )
    if first:
        return (
            f"first month: no baseline (the archive has no events in the {window_days} days before the period); "
            "anomalies are judged from the next period on",
            True,
        )
    days = run.baseline_days_with_events
    judged = {c: n for c, n in days.items() if n}
    if not judged:
        return "no events in the period: nothing was judged against a baseline", False
    counts = sorted(set(judged.values()), reverse=True)
    if len(counts) == 1:
        per = f"{counts[0]} baseline day{'s' if counts[0] != 1 else ''}"
    else:
        per = ", ".join(f"{n} ({c})" for c, n in sorted(judged.items(), key=lambda kv: (-kv[1], kv[0])))
        per += " baseline days"
    text = f"judged against {per} (of the {window_days} before the period)"
    if missing := sorted(c for c, n in days.items() if not n):
        text += (
            f"; no baseline yet for {', '.join(missing)}: its anomalies are judged from the next period on"
        )
    return text, False


def coverage(
    run: CatalogRun,
    integrity: str,
    integrity_ok: bool | None,
    catalog: Catalog,
    *,
    window_days: int = 30,
    tune_command: str = "",
) -> Coverage:
    from kanalytics.catalog.policy import coverage_from_levels

    per_day = rows_of(run, EVENTS_PER_DAY)
    empty_days = [f"{fmt_value(r['day'])} ({r['cluster']})" for r in per_day if int(r["events"]) == 0]
    gaps = rows_of(run, HOURLY_COVERAGE_GAPS)
    statuses = [query_status(r) for r in run.results.values()]
    by_id = {s.id: s for s in statuses}
    baseline, first_month = baseline_statement(run, window_days)
    waiting = sorted((s for s in statuses if s.status == "needs-configuration"), key=lambda s: s.id)
    superseded = sorted((s for s in statuses if s.status == "superseded"), key=lambda s: s.id)
    days_total = len({r["day"] for r in per_day})
    total = sum(int(r["events"]) for r in per_day)
    if not per_day or total == 0:
        statement = "No audit events were recorded in this period: nothing below can be read as a pass."
    elif empty_days or gaps:
        statement = (
            f"The audit trail is incomplete: {len(empty_days)} cluster-day(s) without events and {len(gaps)} "
            "hour(s) with no or far fewer events than usual. Findings cannot cover those times."
        )
    else:
        statement = "Every hour of the period has audit events at the usual volume."
    return Coverage(
        days_total=days_total,
        days_without_events=empty_days,
        gap_hours=to_table(gaps, limit=60),
        gap_hour_count=len(gaps),
        levels=to_table(rows_of(run, AUDIT_LEVELS_SEEN)),
        levels_seen=list(run.levels_seen),
        not_evaluable=sorted((s for s in statuses if s.status == "not-evaluable"), key=lambda s: s.id),
        errors=sorted((s for s in statuses if s.status == "error"), key=lambda s: s.id),
        needs_configuration=waiting,
        superseded=superseded,
        tune_command=tune_command if waiting else "",
        baseline=baseline,
        first_month=first_month,
        partly_blind=[
            (by_id[b.query_id], "; ".join(b.reasons))
            for b in coverage_from_levels(run.levels_by_resource, catalog)
            if b.query_id in by_id and by_id[b.query_id].status == "ok"
        ],
        integrity=integrity,
        integrity_ok=integrity_ok,
        statement=statement,
    )


def suppressions(run: CatalogRun) -> list[SuppressionRow]:
    rows = [
        SuppressionRow(s.query_id, s.list_name, s.value, s.reason, s.count)
        for r in run.results.values()
        for s in r.suppressed
    ]
    return sorted(rows, key=lambda s: (-s.count, s.query_id, s.value))


def recurring(run: CatalogRun) -> list[RecurringRow]:
    """The recurring patterns with their evidence, in the order the judgement gives (most severe first)."""
    return [
        RecurringRow(
            query_id=p.query_id,
            severity=p.findings[0].severity if p.findings else "info",
            cluster=p.cluster or "—",
            user_name=p.user_name or "—",
            key="; ".join(f"{k}={fmt_value(v)}" for k, v in p.key.items()) or "—",
            evidence=p.evidence,
            count=len(p.findings),
        )
        for p in run.recurring
    ]


def main_charts(run: CatalogRun, zone: str = "UTC") -> dict[str, Chart]:
    """The charts more than one section shows, rendered once; `zone` names the day and hour buckets."""
    out: dict[str, Chart] = {}
    if volume := rows_of(run, DAILY_VOLUME):
        out["volume"] = charts.daily_volume(volume, zone)
    if (per_day := rows_of(run, EVENTS_PER_DAY)) and any(int(r["events"]) for r in per_day):
        out["coverage"] = charts.coverage_per_day(per_day, zone)
    if (heat := rows_of(run, ACTIVITY_HEATMAP)) and sum(int(r["events"]) for r in heat):
        human = sum(int(r["human_events"]) for r in heat)
        column, who = ("human_events", "people") if human else ("events", "all identities")
        out["heatmap"] = charts.heatmap(heat, column, who, zone)
    if top := rows_of(run, TOP_IDENTITIES):
        out["identities"] = charts.top_identities(top)
    return out
