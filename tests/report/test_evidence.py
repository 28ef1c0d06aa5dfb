"""Findings by severity: each event shown once under its most severe check, info checks counted in an inventory."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from kanalytics.catalog.loader import load_catalog
from kanalytics.catalog.model import Finding
from kanalytics.config import Settings
from kanalytics.report.evidence import finding_sections

WHEN = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)


def _finding(query_id: str, severity: str, audit_id: str | None, user: str = "alice@example.com") -> Finding:
    return Finding(query_id=query_id, title=query_id, kind="detection", severity=severity, area="x", ts=WHEN,
                   audit_id=audit_id, user_name=user, source_ip="10.0.0.1", verb="create", resource="pods",
                   namespace="default", object_name="p", summary=f"{query_id} {audit_id}", cluster="prod")  # fmt: skip


def _run(findings: list[Finding]) -> Any:
    catalog = load_catalog(settings=Settings())
    ids = {f.query_id for f in findings}
    results = {q: SimpleNamespace(query=catalog.queries[q]) for q in ids}
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
