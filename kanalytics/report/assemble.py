"""Put the report sections together into one `ReportContext` (the cover, retention and appendix parts here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.report import areas, build, controls, evidence, incidents
from kanalytics.report.context import Cover, ReportContext, Retention
from kanalytics.report.metrics import EVENTS_PER_DAY, rows_of

if TYPE_CHECKING:
    from kanalytics.archive.dispositions import Disposition
    from kanalytics.archive.retention import RetentionStatus
    from kanalytics.catalog.incidents import Incident
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun
    from kanalytics.catalog.review import IncidentVerdict
    from kanalytics.config import Settings
    from kanalytics.report.context import Integrity


def assemble(
    run: CatalogRun,
    previous: CatalogRun | None,
    catalog: Catalog,
    settings: Settings,
    status: RetentionStatus,
    info: dict[str, Any],
    *,
    archive: str,
    integrity: Integrity,
    incident_list: list[Incident] | None = None,
    reviews: Mapping[str, Disposition] | None = None,
    incident_verdicts: Mapping[str, IncidentVerdict] | None = None,
) -> ReportContext:
    """The report's context; `incident_list` are the run's ranked incidents (built here when not given),
    `integrity` the verification run before rendering, `reviews` finding id -> the disposition covering it and
    `incident_verdicts` incident id -> its verdict (`incidents.incident_reviews`)."""
    zone = settings.zone
    start, end = run.start.astimezone(zone), run.end.astimezone(zone)
    clusters = run.clusters or sorted({str(r["cluster"]) for r in rows_of(run, EVENTS_PER_DAY)})
    period_label = _period_label(start, end)
    cover = Cover(
        organisation=settings.report.organisation,
        title=f"Kubernetes audit log review: {_title_period(start, end)}",
        clusters=clusters,
        period_label=period_label,
        period_start=start.isoformat(),
        period_end=end.isoformat(),
        period_start_utc=run.start.isoformat(),
        period_end_utc=run.end.isoformat(),
        timezone=settings.timezone,
        generated_at=str(info["generated_at"]),
        kanalytics_version=str(info["kanalytics_version"]),
        catalog_version=run.catalog_version,
        manifest_seq=status.last_manifest_seq,
        manifest_sha256=status.last_manifest_sha256,
        archive=archive,
    )
    previous_label = (
        _period_label(previous.start.astimezone(zone), previous.end.astimezone(zone))
        if previous is not None
        else "the previous period (no data in the archive)"
    )
    from kanalytics.catalog.runner import tune_command

    coverage = build.coverage(
        run,
        integrity,
        catalog,
        window_days=settings.baseline.days,
        tune_command=tune_command(run.start, settings),
    )
    if incident_list is None:
        incident_list = incidents.run_incidents(run, catalog, settings)
    incident_views, incident_of = incidents.incident_views(incident_list, catalog, incident_verdicts)
    groups, inventory = evidence.finding_sections(run, incident_of=incident_of, reviews=reviews)
    summary = build.summary(run, previous, previous_label, reviews)
    summary.highlights = build.highlights(coverage)
    charts = build.main_charts(run, settings.timezone)
    notes = []
    if not integrity.ok:  # the archive failed verification: say so first, never bury it
        notes.append(integrity.statement)
    if summary.empty:
        notes.append(
            "No audit events were recorded for this period and scope. Every check below is therefore "
            "without evidence; an empty report is not a clean report."
        )
    elif coverage.days_without_events:
        notes.append(f"Audit data is missing for {len(coverage.days_without_events)} cluster-day(s) of this "
                     "period; see Coverage.")  # fmt: skip
    methodology = sorted((build.query_status(r) for r in run.results.values()), key=lambda q: (q.kind, q.id))
    sections = areas.build_areas(run, charts, settings.timezone)
    recurring = Counter({p.query_id: 0 for p in run.recurring})
    for pattern in run.recurring:
        recurring[pattern.query_id] += len(pattern.findings)
    for section in sections:
        for query in section.queries:
            query.recurring = recurring.get(query.id, 0)
        if section.id == "anomalies":
            section.note = f"Baseline: {coverage.baseline}."
    return ReportContext(
        cover=cover,
        summary=summary,
        coverage=coverage,
        charts=charts,
        findings=groups,
        inventory=inventory,
        finding_total=len(run.findings),
        recurring_total=sum(recurring.values()),
        controls=controls.control_tables(run, catalog, list(settings.report.frameworks), reviews=reviews),
        areas=sections,
        suppressions=build.suppressions(run),
        recurring=build.recurring(run),
        retention=_retention(status, integrity),
        methodology=methodology,
        overrides=list(catalog.overrides),
        parameters=_parameters(info),
        row_cap=evidence.HTML_ROWS_PER_FINDING,
        notes=notes,
        incidents=incident_views,
        incident_window_minutes=settings.incidents.window_minutes,
        integrity=integrity,
    )


def _period_label(start: datetime, end: datetime) -> str:
    last = end - timedelta(microseconds=1)
    if start.time() == end.time() == datetime.min.time():
        return f"{start:%-d %B %Y} – {last:%-d %B %Y}"
    return f"{start:%-d %B %Y %H:%M} – {end:%-d %B %Y %H:%M} (end exclusive)"


def _title_period(start: datetime, end: datetime) -> str:
    last = end - timedelta(microseconds=1)
    whole_month = (
        start.day == 1 and start.time() == datetime.min.time() and (last + timedelta(days=1)).day == 1
    )
    if whole_month and (start.year, start.month) == (last.year, last.month):
        return f"{start:%B %Y}"
    return _period_label(start, end)


def _retention(status: RetentionStatus, integrity: Integrity) -> Retention:
    return Retention(
        available=True,
        oldest_date=status.oldest_date or "—",
        newest_date=status.newest_date or "—",
        policy=status.policy or "No retention policy configured: nothing is deleted automatically.",
        floor_days=str(status.floor_days) if status.floor_days else "—",
        holds=list(status.holds),
        deletions=list(status.deletions),
        verification=integrity.statement,
    )


def _parameters(info: dict[str, Any]) -> dict[str, str]:
    keys = ("archive", "period_start", "period_end", "timezone", "profile", "clusters", "formats", "config",
            "settings_sha256", "manifest_seq", "manifest_sha256", "catalog_version", "kanalytics_version",
            "results", "reproduce")  # fmt: skip
    return {k: "—" if info.get(k) is None else (", ".join(info[k]) if isinstance(info[k], list) else str(info[k]))
            for k in keys}  # fmt: skip
