"""Findings by severity: each event shown once under its most severe check, info checks counted in an inventory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from kanalytics.archive.dispositions import Disposition
from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.loader import load_catalog
from kanalytics.catalog.model import Finding
from kanalytics.config import Settings
from kanalytics.report.evidence import code_spans, finding_sections
from kanalytics.vocabulary import Severity

WHEN = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)


def _finding(
    query_id: str, severity: Severity, audit_id: str | None, user: str = "alice@example.com"
) -> Finding:
    return Finding(query_id=query_id, title=query_id, kind="detection", severity=severity, area="exec", ts=WHEN,
                   audit_id=audit_id, user_name=user, source_ip="10.0.0.1", verb="create", resource="pods",
                   namespace="default", object_name="p", summary=f"{query_id} {audit_id}", cluster="prod")  # fmt: skip


def _run(findings: list[Finding], **header: str) -> Any:
    """A run over `findings`; `header` overrides fields of every query's header (triage, remediation...)."""
    catalog = load_catalog(settings=Settings())
    ids = {f.query_id for f in findings}
    results = {
        q: SimpleNamespace(query=SimpleNamespace(header=catalog.queries[q].header.model_copy(update=header)))
        for q in ids
    }
    return SimpleNamespace(findings=findings, results=results)


def test_an_event_two_checks_raise_is_shown_once_under_the_more_severe_one() -> None:
    findings = [
        _finding("hostpid-pod", "high", "a-1"),
        _finding("hostpid-pod", "high", "a-2"),
        _finding("falco-create-hostpid-pod", "medium", "a-1"),
        _finding("falco-create-hostpid-pod", "medium", "a-3"),
        _finding("falco-clusterrolebinding-created", "info", "a-1"),
        _finding("falco-clusterrolebinding-created", "info", "a-9", user="bob@example.com"),
    ]
    groups, inventory = finding_sections(_run(findings))
    by_id = {g.query_id: g for g in groups}
    assert [g.query_id for g in groups] == ["hostpid-pod", "falco-create-hostpid-pod"]
    high, medium = by_id["hostpid-pod"], by_id["falco-create-hostpid-pod"]
    assert [r.audit_id for r in high.rows] == ["a-1", "a-2"]
    assert high.rows[0].also == ["falco-create-hostpid-pod", "falco-clusterrolebinding-created"]
    assert high.rows[1].also == []
    assert [r.audit_id for r in medium.rows] == ["a-3"]  # a-1 is shown under hostpid-pod only
    assert (medium.count, medium.elsewhere, medium.hidden(20)) == (2, 1, 0)
    # info checks are counted, not listed
    assert [(i.query_id, i.count, i.identities) for i in inventory] == [
        ("falco-clusterrolebinding-created", 2, 2)
    ]


def test_findings_without_an_audit_id_are_never_merged_and_caps_count_what_is_hidden() -> None:
    findings = [_finding("hostpid-pod", "high", None) for _ in range(3)]
    findings += [_finding("falco-create-hostpid-pod", "medium", None)]
    groups, _ = finding_sections(_run(findings), cap=2)
    high = next(g for g in groups if g.query_id == "hostpid-pod")
    assert len(high.rows) == 2 and high.hidden(2) == 1 and high.elsewhere == 0
    assert next(g for g in groups if g.query_id == "falco-create-hostpid-pod").rows


def test_rows_carry_their_finding_id_and_review_and_groups_count_the_reviewed() -> None:
    findings = [_finding("hostpid-pod", "high", f"a-{n}") for n in range(3)]
    review = Disposition(target=finding_id(findings[1]), verdict="benign", note="known maintenance", by="alice",
                         at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC))  # fmt: skip
    (group,), _ = finding_sections(_run(findings), reviews={review.target: review})
    assert [r.finding_id for r in group.rows] == [finding_id(f) for f in findings]
    assert [(r.verdict, r.review) for r in group.rows] == [
        ("", ""),
        ("benign", "benign, reviewed by alice on 2026-11-03: known maintenance"),
        ("", ""),
    ]
    assert group.reviewed == 1


def test_triage_and_remediation_come_from_the_header_with_code_spans_escaped() -> None:
    run = _run([_finding("hostpid-pod", "high", "a-1")], triage="Run `kubectl get pod <name> -o yaml`.",
               remediation="Delete the pod & rotate <secrets>.")  # fmt: skip
    (group,), _ = finding_sections(run)
    assert group.triage == "Run <code>kubectl get pod &lt;name&gt; -o yaml</code>."
    assert group.remediation == "Delete the pod &amp; rotate &lt;secrets&gt;."


def test_code_spans_escape_first_and_leave_an_unpaired_backtick_as_text() -> None:
    assert code_spans("a `<b>` c `d`") == "a <code>&lt;b&gt;</code> c <code>d</code>"
    assert code_spans("it`s <x>") == "it`s &lt;x&gt;"


def test_requests_without_an_object_say_what_they_were_instead_of_dashes() -> None:
    def bare(audit_id: str, **changes: Any) -> Finding:
        return replace(_finding("hostpid-pod", "high", audit_id), resource=None, namespace=None, object_name=None,
                       **changes)  # fmt: skip

    findings = [bare("a-1", evidence={"request_uri": "/version"}), bare("a-2"), bare("a-3", verb=None)]
    (group,), _ = finding_sections(_run(findings))
    assert [(r.verb, r.target, r.extra) for r in group.rows] == [
        ("create", "/version", ""),  # the path is the object, not repeated in the evidence
        ("create", "non-resource request", ""),
        ("", "several requests (see evidence)", ""),
    ]


def test_groups_keep_rows_up_to_the_embed_cap_for_show_all() -> None:
    findings = [_finding("hostpid-pod", "high", f"a-{n}") for n in range(7)]
    (group,), _ = finding_sections(_run(findings), cap=5)
    assert len(group.rows) == 5
    assert (len(group.shown(2)), group.hidden(2)) == (2, 5)  # a medium with cap 2 shows 2 and points to 5
