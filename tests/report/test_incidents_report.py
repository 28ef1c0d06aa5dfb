"""The report leads with the ranked incidents, and the report, `findings` and `incidents` agree on every count:
the same review queue, the same incidents in the same order, each evidence row linked to the incident it is in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kanalytics import open_archive
from kanalytics.report.api import ReportOutputs
from tests.report.conftest import END, GENERATED_AT, START


@pytest.fixture(scope="module")
def written(report_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportOutputs, str]:
    out = tmp_path_factory.mktemp("incidents-report")
    outputs = open_archive(report_archive).report(
        out, start=START, end=END, formats="html,json", generated_at=GENERATED_AT
    )
    return outputs, outputs.files["html"].read_text(encoding="utf-8")


def test_report_findings_and_incidents_agree_on_counts(
    report_archive: Path, written: tuple[ReportOutputs, str]
) -> None:
    outputs, page = written
    archive = open_archive(report_archive)
    found = archive.findings(start=START, end=END)
    incidents = archive.incidents(start=START, end=END)
    assert outputs.findings == len(found.findings)
    # every non-info finding of the review queue is in exactly one incident
    members = [(f.query_id, f.audit_id) for i in incidents for f in i.findings]
    assert len(members) == sum(1 for f in found.findings if f.severity != "info")
    # the Incidents section lists the same incidents, in the same rank order
    section = page[
        page.index('<section id="incidents"') : page.index("</section>", page.index('id="incidents"'))
    ]
    assert re.findall(r'<tr id="(inc-[0-9a-f]{12})"[^>]*>', section) == [i.id for i in incidents]
    assert f"form {len(incidents)} incident(s)" in section
    to_review = sum(1 for f in found.findings if f.severity != "info")
    assert (
        f"The {to_review} finding(s) to review (above info severity) form {len(incidents)} incident(s)"
        in section
    )
    # incidents.json is what `kanalytics incidents --format json` prints
    assert json.loads(outputs.files["incidents"].read_text(encoding="utf-8")) == json.loads(
        json.dumps(incidents.to_json(archive.incident_verdicts(incidents)))
    )


def test_look_at_these_first_is_the_top_of_the_ranked_incidents(
    report_archive: Path, written: tuple[ReportOutputs, str]
) -> None:
    _, page = written
    incidents = open_archive(report_archive).incidents(start=START, end=END)
    summary = page[page.index("<h3>Look at these first</h3>") : page.index('<section id="incidents"')]
    top = re.findall(r'<ol class="highlights incidents-top">(.*?)</ol>', summary, re.S)[0]
    assert re.findall(r'<li><span class="sev sev-\w+">.*?<a href="#(inc-[0-9a-f]{12})">', top) == [
        i.id for i in incidents.incidents[:5]
    ]
    assert incidents.incidents[0].title in top.replace("&#39;", "'")


def test_every_evidence_row_links_to_an_incident_that_exists(written: tuple[ReportOutputs, str]) -> None:
    _, page = written
    anchors = set(re.findall(r'<tr id="(inc-[0-9a-f]{12})"[^>]*>', page))
    links = re.findall(r'Part of <a href="#(inc-[0-9a-f]{12})">incident #(\d+)</a>', page)
    assert links, "evidence rows name their incident"
    assert {anchor for anchor, _ in links} <= anchors
