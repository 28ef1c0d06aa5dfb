"""Which disposition covers a finding: its own, its incident's now, or one recorded on the incident's old id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kanalytics.archive.dispositions import Disposition
from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.incidents import build_incidents
from kanalytics.catalog.model import Finding
from kanalytics.catalog.review import incident_review, reviews_for

T0 = datetime(2026, 10, 25, 20, 0, tzinfo=UTC)
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ATTACKER = "45.155.205.233"


def finding(query_id: str, minutes: int, user: str = "mallory@acme.example") -> Finding:
    ts = T0 + timedelta(minutes=minutes)
    return Finding(
        query_id=query_id, title=query_id, kind="detection", severity="high", area="activity", ts=ts,
        audit_id=f"{query_id}-{minutes}", user_name=user, source_ip=ATTACKER, verb="create", resource="pods",
        namespace="default", object_name=None, summary=query_id, cluster="c1", evidence={},
    )  # fmt: skip


def disposition(target: str, verdict: str, seq: int, findings: tuple[str, ...] = ()) -> Disposition:
    covered = findings or ((target,) if target.startswith("f-") else ())
    return Disposition(target, verdict, f"note {seq}", "alice", AT + timedelta(hours=seq), covered, seq)  # type: ignore[arg-type]


A, B, C = finding("exec", 0), finding("escape", 10), finding("persist", 20)
LONE = finding("secrets-list", 0, user="bob@acme.example")


def test_an_incident_verdict_covers_its_members_and_a_findings_own_verdict_wins() -> None:
    (incident, lone) = build_incidents([A, B, LONE])
    assert [finding_id(f) for f in incident.findings] == [finding_id(A), finding_id(B)]
    on_incident = disposition(incident.id, "true-positive", 1)  # recorded without members: current ones count
    own = disposition(finding_id(B), "benign", 2)
    dispositions = {incident.id: on_incident, own.target: own}

    reviews = reviews_for([A, B, LONE], [incident, lone], dispositions)

    assert reviews == {finding_id(A): on_incident, finding_id(B): own}
    assert incident_review(incident, dispositions, reviews) == on_incident
    assert incident_review(lone, dispositions, reviews) is None


def test_an_incident_verdict_survives_the_incident_id_changing() -> None:
    (before,) = build_incidents([A, B])
    recorded = disposition(before.id, "true-positive", 3, (finding_id(A), finding_id(B)))
    (after,) = build_incidents([A, B, C])  # a later batch added C: a new incident id
    assert after.id != before.id

    reviews = reviews_for([A, B, C], [after], {before.id: recorded})

    assert reviews == {finding_id(A): recorded, finding_id(B): recorded}  # C was never reviewed
    assert incident_review(after, {before.id: recorded}, reviews) == recorded


def test_the_newest_recorded_incident_verdict_wins_and_member_verdicts_are_not_the_incidents() -> None:
    (incident,) = build_incidents([A, B])
    old = disposition("inc-000000000001", "needs-follow-up", 4, (finding_id(A), finding_id(B)))
    new = disposition("inc-000000000002", "benign", 5, (finding_id(A),))
    own = {finding_id(f): disposition(finding_id(f), "benign", 6 + i) for i, f in enumerate((A, B))}

    reviews = reviews_for([A, B], [incident], {old.target: old, new.target: new})
    assert reviews == {finding_id(A): new, finding_id(B): old}
    assert incident_review(incident, {old.target: old, new.target: new}, reviews) == new

    only_own = reviews_for([A, B], [incident], own)
    assert only_own == own
    assert incident_review(incident, own, only_own) is None


def test_nothing_recorded_reviews_nothing() -> None:
    incidents = build_incidents([A, B, LONE])
    assert reviews_for([A, B, LONE], incidents, {}) == {}
