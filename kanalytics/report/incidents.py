"""The report's incidents: the review queue correlated and ranked (what "Look at these first" shows), and the
incident each finding belongs to, so that evidence rows link to it.

The incidents are built by `kanalytics.catalog.incidents` from the same findings the report counts, so the report,
`kanalytics findings` and `kanalytics incidents` agree on every count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kanalytics.catalog.attack import TACTIC_TITLES
from kanalytics.catalog.incidents import configured_incidents
from kanalytics.catalog.review import IncidentVerdict
from kanalytics.report.context import IncidentView
from kanalytics.report.tables import fmt_ts

if TYPE_CHECKING:
    from kanalytics.catalog.incidents import Incident
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import CatalogRun
    from kanalytics.config import Settings

# Incidents shown in the executive summary; the Incidents section lists them all.
SUMMARY_INCIDENTS = 5


def run_incidents(run: CatalogRun, catalog: Catalog, settings: Settings) -> list[Incident]:
    """The ranked incidents of the run's review queue, exactly as `kanalytics incidents` builds them."""
    return configured_incidents(run.findings, catalog=catalog, settings=settings)


def incident_views(
    built: list[Incident], catalog: Catalog, verdicts: Mapping[str, IncidentVerdict] | None = None
) -> tuple[list[IncidentView], dict[int, IncidentView]]:
    """The incidents as displayed, ranked, with their verdicts, and a map from each member finding
    (`id(finding)` of the objects in `run.findings`) to its incident."""
    titles = {q.id: q.header.title for q in catalog.queries.values()}
    verdicts = verdicts or {}
    views = [_view(rank, i, titles, verdicts.get(i.id)) for rank, i in enumerate(built, start=1)]
    member_of = {id(f): view for view, incident in zip(views, built, strict=True) for f in incident.findings}
    return views, member_of


def _view(
    rank: int, incident: Incident, titles: dict[str, str], verdict: IncidentVerdict | None
) -> IncidentView:
    checks = list(dict.fromkeys(f.query_id for f in incident.findings))
    disposition = verdict.disposition if verdict else None
    return IncidentView(
        rank=rank,
        id=incident.id,
        severity=incident.severity,
        title=incident.title,
        start=fmt_ts(incident.start),
        end=fmt_ts(incident.end),
        identities=list(incident.identities),
        source_ips=list(incident.source_ips),
        clusters=list(incident.clusters),
        tactics=[TACTIC_TITLES[t] for t in incident.tactics],
        narrative=list(incident.narrative),
        count=len(incident.findings),
        checks=[(q, titles.get(q, q)) for q in checks],
        verdict=disposition.verdict if disposition else "",
        review=disposition.text() if disposition else "",
        reviewed=verdict.reviewed if verdict else 0,
    )
