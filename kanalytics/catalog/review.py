"""Which analyst's disposition covers each finding: its own verdict, else that of an incident holding it.

Pure functions over the findings and incidents of a period and the archive's latest dispositions
(`kanalytics.archive.dispositions.latest_dispositions`); the report counts the reviewed exceptions per control
with them, and `kanalytics triage` records the verdicts (docs/triage.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kanalytics.archive.dispositions import Disposition
from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.incidents import Incident
from kanalytics.catalog.model import Finding


def reviews_for(
    findings: Iterable[Finding], incidents: Iterable[Incident], dispositions: Mapping[str, Disposition]
) -> dict[str, Disposition]:
    """Finding id -> the disposition that covers it, for the findings that have one.

    In order: the finding's own disposition; else that of the incident that contains it now (by current
    membership); else the newest incident disposition whose recorded `findings` list it, so a verdict on an
    incident survives the incident id changing when a later batch adds a member (the new member is not covered:
    nobody reviewed it). `findings` should include the incidents' members.
    """
    by_incident = {
        finding_id(member): dispositions[incident.id]
        for incident in incidents
        if incident.id in dispositions
        for member in incident.findings
    }
    recorded: dict[str, Disposition] = {}
    for disposition in sorted(
        (d for d in dispositions.values() if d.target.startswith("inc-")), key=_age
    ):  # newest last, so it wins
        recorded.update(dict.fromkeys(disposition.findings, disposition))
    reviews: dict[str, Disposition] = {}
    for finding in findings:
        fid = finding_id(finding)
        found = dispositions.get(fid) or by_incident.get(fid) or recorded.get(fid)
        if found is not None:
            reviews[fid] = found
    return reviews


def incident_review(
    incident: Incident, dispositions: Mapping[str, Disposition], reviews: Mapping[str, Disposition]
) -> Disposition | None:
    """The verdict on the incident as a whole: its own disposition, else the newest disposition recorded on an
    earlier id of it (an incident disposition that covers some of its members in `reviews`), else None. A
    member's own verdict is a review of that finding, not of the incident."""
    own = dispositions.get(incident.id)
    if own is not None:
        return own
    carried = [
        review
        for member in incident.findings
        if (review := reviews.get(finding_id(member))) is not None and review.target.startswith("inc-")
    ]
    return max(carried, key=_age, default=None)


@dataclass(frozen=True)
class IncidentVerdict:
    """What analysts recorded on one incident: the verdict on it as a whole (`incident_review`)
    and how many of its member findings carry a disposition (their own or the incident's)."""

    disposition: Disposition | None
    reviewed: int

    def to_json(self) -> dict[str, Any]:
        """The keys an incident's JSON gains (`kanalytics incidents --format json`, the report's incidents.json)."""
        d = self.disposition
        return {
            "verdict": d.verdict if d else None,
            "review": d.to_json() if d else None,
            "reviewed": self.reviewed,
        }


def incident_reviews(
    built: list[Incident], dispositions: Mapping[str, Disposition], reviews: Mapping[str, Disposition]
) -> dict[str, IncidentVerdict]:
    """Incident id -> its verdict; `reviews` maps finding ids to the disposition covering them."""
    return {
        i.id: IncidentVerdict(
            incident_review(i, dispositions, reviews), sum(1 for f in i.findings if finding_id(f) in reviews)
        )
        for i in built
    }


def _age(disposition: Disposition) -> tuple[int, str]:
    """Sort key, oldest first: the manifest that committed it, then the time it was recorded."""
    return (disposition.seq or 0, disposition.at.isoformat())
