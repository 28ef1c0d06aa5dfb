"""Build the `ReportContext` from a catalog run: summary, coverage, findings, controls and methodology.

Only small, aggregated tables reach Python (metric results and the findings list); events stay in DuckDB.
Every count of findings here is the review queue (`run.findings`); recurring behaviour (`run.recurring`) is
counted and listed on its own, with its evidence, like suppressions.
"""

from __future__ import annotations

import re
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
    Integrity,
    IntegrityRange,
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
    from collections.abc import Mapping
    from datetime import date

    from kanalytics.archive.chain import ChainState
    from kanalytics.archive.dispositions import Disposition
    from kanalytics.archive.verify import Problem, VerifyReport
    from kanalytics.catalog.loader import Catalog
    from kanalytics.report.context import Chart

# Problems listed per manifest range (the rest counted): `kanalytics verify` lists every one.
PROBLEMS_PER_RANGE = 5
_MANIFEST_PATH = re.compile(r"\A_manifests/(\d{10})\.(?:json|sig)\Z")


@dataclass
class Totals:
    """The headline figures of one period, from the metric results (None when the metric did not run)."""

    events: int
    identities: int
    denied: int
    findings: int  # to review: above info severity (info findings are the activity inventory)
    by_severity: dict[str, int]


def totals(run: CatalogRun) -> Totals:
    identity = rows_of(run, IDENTITY_SUMMARY)
    severity = Counter(f.severity for f in run.findings)
    return Totals(
        events=sum(int(r["events"]) for r in identity),
        identities=sum(int(r["identities"]) for r in identity),
        denied=sum(int(r["denied"]) for r in identity),
        findings=sum(1 for f in run.findings if f.severity != "info"),
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


def summary(
    run: CatalogRun,
    previous: CatalogRun | None,
    previous_label: str,
    reviews: Mapping[str, Disposition] | None = None,
) -> ExecutiveSummary:
    """Headline figures and findings by severity against the previous period, judged as this one is (its
    stored results; `api._previous_run`), and how many findings to review carry a disposition (`reviews`,
    finding id -> disposition). A previous period without events shows "no data", never a drop from zero."""
    from kanalytics.catalog.findings import finding_id

    now = totals(run)
    before = totals(previous) if previous is not None else None
    if before is not None and before.events == 0:
        before = None

    def delta(label: str, attr: str) -> Delta:
        return Delta(label, getattr(now, attr), getattr(before, attr) if before else None)

    to_review = [f for f in run.findings if f.severity != "info"]
    identity_rows = rows_of(run, IDENTITY_SUMMARY)
    return ExecutiveSummary(
        events=delta("Audit events", "events"),
        identities=delta("Identities", "identities"),
        denied=delta("Denied requests (401/403)", "denied"),
        findings=delta("Findings to review", "findings"),
        by_severity=[
            Delta(s, now.by_severity[s], before.by_severity[s] if before else None) for s in SEVERITIES
        ],
        # ties in events are ordered by name here, so the same archive always gives the same table
        identity_types=to_table(
            sorted(identity_rows, key=lambda r: (-int(r["events"]), str(r["identity_type"])))
        ),
        highlights=[],
        previous_label=previous_label,
        empty=now.events == 0,
        to_review=len(to_review),
        inventory=len(run.findings) - len(to_review),
        reviewed=sum(1 for f in to_review if finding_id(f) in (reviews or {})),
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
    verified: Integrity,
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
        integrity=f"{verified.statement} ({verified.timing})",
        integrity_ok=verified.ok,
        statement=statement,
    )


def integrity(report: VerifyReport, state: ChainState, seconds: float, dates: tuple[date, date]) -> Integrity:
    """The verification in the report's terms: each run of consecutive manifests with the same outcome as one
    line ("manifests #1–#212: 412 files, all match"), a failing run with its problems (capped). `state` is the
    chain the report read; `dates` the UTC dates whose files `report` hashed (first, last inclusive)."""
    from kanalytics.archive.layout import dated_partition

    first, last = dates
    files: Counter[int] = Counter()
    for relpath, (_, seq) in state.live.items():
        partition = dated_partition(relpath)  # undated files (dispositions) are hashed by every verify
        if partition is None or first <= partition.date <= last:
            files[seq] += 1
    known = {m.seq for m in state.manifests}
    problems: dict[int, list[str]] = {}
    unattributed: list[str] = []
    for problem in report.problems:
        owner = _problem_seq(problem, state)
        if owner is not None and owner in known:
            problems.setdefault(owner, []).append(problem.line())
        else:
            unattributed.append(problem.line())
    ranges: list[IntegrityRange] = []
    for manifest in state.manifests:
        found = problems.get(manifest.seq, [])
        current = ranges[-1] if ranges else None
        if current is None or current.ok == bool(found) or current.last != manifest.seq - 1:
            current = IntegrityRange(manifest.seq, manifest.seq, 0)
            ranges.append(current)
        current.last, current.files = manifest.seq, current.files + files[manifest.seq]
        _add_capped(current, found)
    return Integrity(
        ok=report.ok, seconds=round(seconds, 3), files_hashed=report.files_total,
        bytes_hashed=report.bytes_hashed, dates=f"{first.isoformat()} to {last.isoformat()}",
        statement=report.statement(), ranges=ranges, unattributed=unattributed[:PROBLEMS_PER_RANGE],
        unattributed_more=max(0, len(unattributed) - PROBLEMS_PER_RANGE),
    )  # fmt: skip


def _problem_seq(problem: Problem, state: ChainState) -> int | None:
    """The manifest a problem belongs to: the one that committed the file, or the manifest (or its signature)
    itself; None for a file no manifest commits (unexpected) or a problem of the whole chain."""
    if problem.subject == "File":
        live = state.live.get(problem.path)
        return live[1] if live is not None else None
    match = _MANIFEST_PATH.match(problem.path)
    return int(match[1]) if match else None


def _add_capped(target: IntegrityRange, lines: list[str]) -> None:
    room = max(0, PROBLEMS_PER_RANGE - len(target.problems))
    target.problems.extend(lines[:room])
    target.more += len(lines) - len(lines[:room])


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
