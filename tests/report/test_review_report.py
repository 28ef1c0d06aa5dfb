"""Dispositions in the report: a verdict recorded with `triage set` (through the API) is shown with its
incident and finding, counted in the summary, and carried into findings.csv/json and incidents.json with the
finding's id, incident, triage and remediation."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kanalytics import open_archive
from kanalytics.catalog.findings import finding_id
from kanalytics.report.api import ReportOutputs
from kanalytics.report.exports import CSV_COLUMNS, REVIEW_COLUMNS
from tests.conftest import secrets_listed, stolen_token

pytestmark = pytest.mark.usefixtures("no_fsync")

GENERATED_AT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReportOutputs, dict[str, str]]:
    """October: the stolen-token incident (2 findings) judged benign as a whole; the secrets listing (its own
    incident) not reviewed. Returns the archive, the report outputs and the ids used."""
    root = tmp_path_factory.mktemp("review") / "archive"
    arch = open_archive(root)
    events = stolen_token(datetime(2026, 10, 10, 20, tzinfo=UTC)) + secrets_listed(
        datetime(2026, 10, 11, 9, tzinfo=UTC)
    )
    arch.ingest_events(events, cluster="c1")
    incidents = arch.incidents(month="2026-10").incidents
    token = next(i for i in incidents if len(i.findings) == 2)
    listing = next(i for i in incidents if len(i.findings) == 1)
    arch.triage_set(token.id, verdict="benign", note="known maintenance", by="alice", month="2026-10")
    outputs = arch.report(
        root.parent / "out", month="2026-10", formats="html,csv,json", generated_at=GENERATED_AT
    )
    ids = {"token": token.id, "listing": listing.id, "listing_finding": finding_id(listing.findings[0])}
    return root, outputs, ids


def test_the_summary_counts_the_reviewed_findings(
    reviewed: tuple[Path, ReportOutputs, dict[str, str]],
) -> None:
    _, outputs, _ = reviewed
    html = outputs.files["html"].read_text(encoding="utf-8")
    assert "2 of 3 findings to review were reviewed" in html


def test_each_incident_shows_its_verdict_narrative_and_id(
    reviewed: tuple[Path, ReportOutputs, dict[str, str]],
) -> None:
    _, outputs, ids = reviewed
    html = outputs.files["html"].read_text(encoding="utf-8")
    section = html[
        html.index('<section id="incidents"') : html.index("</section>", html.index('id="incidents"'))
    ]
    rows = dict(re.findall(r'<tr id="(inc-[0-9a-f]{12})"[^>]*>(.*?)</tr>', section, re.S))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert (
        f"<strong>Reviewed:</strong> benign, reviewed by alice on {today}: known maintenance"
        in rows[ids["token"]]
    )
    assert "2 of 2 finding(s) reviewed" in rows[ids["token"]]
    assert "<strong>Not reviewed</strong> · 0 of 1 finding(s) reviewed" in rows[ids["listing"]]
    for incident, row in rows.items():
        assert f'id <span class="mono">{incident}</span>' in row
        assert '<ul class="narrative small"><li>' in row  # every incident's narrative, one line or more
    marks = re.findall(
        r'<tr id="(inc-[0-9a-f]{12})" data-severity="(\w+)" data-identity="([^"]*)" data-cluster="([^"]*)">',
        section,
    )
    assert sorted(m[0] for m in marks) == sorted(ids[k] for k in ("token", "listing"))
    assert {m[0]: (m[2], m[3]) for m in marks}[ids["token"]] == (
        "system:serviceaccount:payments:payments-api",
        "c1",
    )


def test_incidents_come_first_in_the_summary(reviewed: tuple[Path, ReportOutputs, dict[str, str]]) -> None:
    _, outputs, _ = reviewed
    html = outputs.files["html"].read_text(encoding="utf-8")
    summary = html[html.index('<section id="summary"') : html.index('<section id="incidents"')]
    assert summary.index("Look at these first") < summary.index('<div class="kpis">')
    assert summary.index('<ol class="highlights incidents-top">') < summary.index(
        "<h3>Findings by severity</h3>"
    )


def test_exports_carry_each_findings_review(reviewed: tuple[Path, ReportOutputs, dict[str, str]]) -> None:
    root, outputs, ids = reviewed
    with outputs.files["csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and CSV_COLUMNS[-len(REVIEW_COLUMNS) :] == REVIEW_COLUMNS
    by_incident: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_incident.setdefault(row["incident_id"], []).append(row)
    assert {r["verdict"] for r in by_incident[ids["token"]]} == {"benign"}
    assert {(r["reviewed_by"], r["review_note"]) for r in by_incident[ids["token"]]} == {
        ("alice", "known maintenance")
    }
    (listing,) = by_incident[ids["listing"]]
    assert (
        listing["finding_id"] == ids["listing_finding"] and listing["verdict"] == listing["reviewed_by"] == ""
    )
    header = open_archive(root).catalog.queries[listing["query_id"]].header
    assert (listing["triage"], listing["remediation"]) == (header.triage.strip(), header.remediation.strip())
    data = json.loads(outputs.files["json"].read_text(encoding="utf-8"))
    assert sorted((f["incident_id"], f["verdict"]) for f in data) == sorted(
        [(ids["token"], "benign"), (ids["token"], "benign"), (ids["listing"], None)]
    )
    incidents = {i["id"]: i for i in json.loads(outputs.files["incidents"].read_text(encoding="utf-8"))}
    assert incidents[ids["token"]]["verdict"] == "benign" and incidents[ids["token"]]["reviewed"] == 2
    assert incidents[ids["token"]]["review"]["note"] == "known maintenance"
    assert incidents[ids["listing"]]["verdict"] is None and incidents[ids["listing"]]["reviewed"] == 0


def test_archive_controls_counts_the_reviewed_exceptions_as_the_report_does(
    reviewed: tuple[Path, ReportOutputs, dict[str, str]],
) -> None:
    root, _, _ = reviewed
    frame = open_archive(root).controls(month="2026-10")
    with_exceptions = frame.filter(frame["exceptions"] > 0)
    assert with_exceptions.height > 0
    # the token incident's verdict covers its two findings; the secrets listing is not reviewed
    assert frame["reviewed"].max() == 2
    assert (with_exceptions["reviewed"] <= with_exceptions["exceptions"]).all()
