"""The report in zero configuration: checks waiting for a list are named with the command that helps, recurring
behaviour is listed with its evidence instead of counted as findings, and the anomalies say what baseline they
had ("first month: no baseline" or how many baseline days). The archive is tests/catalog/test_zero_config.py's.
"""

from __future__ import annotations

import csv
import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kanalytics import open_archive
from kanalytics.catalog.loader import load_catalog
from kanalytics.report.api import ReportOutputs
from tests.catalog.test_zero_config import OCT, POD, TUNE, _events

GENERATED_AT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
EVIDENCE = "seen on 20 of 30 baseline days (2026-09-01 to 2026-09-20)"


def _report(root: Path, clusters: tuple[str, ...], out: Path) -> tuple[ReportOutputs, str]:
    arch = open_archive(root)
    for cluster in clusters:
        arch.ingest_events(_events(cluster), cluster=cluster)
    outputs = arch.report(out, month="2026-10", formats="html,csv,json", generated_at=GENERATED_AT)
    text = html.unescape(re.sub(r"<[^>]+>", " ", outputs.files["html"].read_text(encoding="utf-8")))
    return outputs, re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def with_baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportOutputs, str]:
    root = tmp_path_factory.mktemp("zero-report")
    return _report(root / "archive", ("c1", "c2"), root / "out")


def test_coverage_names_the_checks_that_need_configuration(with_baseline: tuple[ReportOutputs, str]) -> None:
    _, text = with_baseline
    coverage = text.split("Coverage and completeness")[2]  # after the contents and the summary
    section = coverage.split("Checks that need configuration", 1)[1].split("Findings by severity", 1)[0]
    assert f"{TUNE} proposes entries from the baseline for you to review" in section
    for qid, key in (
        ("falco-create-disallowed-namespace", "allowlists.query_lists.falco-create-disallowed-namespace"),
        ("falco-disallowed-k8s-user", "allowlists.query_lists.falco-disallowed-k8s-user"),
        ("suspicious-image-pull", "allowlists.trusted_registries"),
    ):
        assert re.search(
            rf"{qid} .*? {re.escape(key)} ⚙ needs configuration needs {re.escape(key)} \(", section
        )
    assert section.count("⚙ needs configuration") == 5
    summary = text.split("Executive summary", 2)[2].split("Coverage and completeness", 1)[0]
    assert "Checks that need configuration" in summary  # one of the three things to look at first


def test_recurring_behaviour_is_listed_with_its_evidence_not_counted(
    with_baseline: tuple[ReportOutputs, str],
) -> None:
    outputs, text = with_baseline
    section = text.split("Recurring behaviour", 2)[2].split("Retention and integrity", 1)[0]
    assert f"{POD} c1 bob@example.com namespace=kube-system {EVIDENCE} 3" in section
    assert outputs.recurring == 3
    # The tiles count the review queue; the check's area row shows its recurring findings apart.
    assert f"Findings to review {outputs.to_review} " in text
    assert re.search(rf"{POD} .*?MEDIUM 0 \+3 recurring", text)
    # findings.csv and findings.json keep every finding, the recurring ones marked in their evidence.
    with outputs.files["csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == outputs.findings + outputs.recurring
    marked = [r for r in rows if "recurring" in json.loads(r["evidence"])]
    assert [r["query_id"] for r in marked] == [POD] * 3
    assert {json.loads(r["evidence"])["recurring"] for r in marked} == {EVIDENCE}
    data = json.loads(outputs.files["json"].read_text(encoding="utf-8"))
    assert len(data) == len(rows) and sum("recurring" in f["evidence"] for f in data) == 3


def test_anomalies_say_how_many_baseline_days_they_had(with_baseline: tuple[ReportOutputs, str]) -> None:
    _, text = with_baseline
    statement = (
        "judged against 30 baseline days (of the 30 before the period); no baseline yet for c2: its anomalies "
        "are judged from the next period on"
    )
    assert f"Baseline for anomalies {statement}" in text  # coverage
    assert f"Baseline: {statement}." in text  # the anomalies area


def test_first_month_says_no_baseline_wherever_anomalies_are_judged(tmp_path: Path) -> None:
    outputs, text = _report(tmp_path / "archive", ("c2",), tmp_path / "out")
    statement = (
        "first month: no baseline (the archive has no events in the 30 days before the period); anomalies are "
        "judged from the next period on"
    )
    assert f"Baseline for anomalies {statement}" in text
    assert f"Baseline: {statement}." in text
    # anomalies are not evaluable for want of a baseline, never counted among the audit-level gaps (this
    # archive is Metadata only, so the checks that read bodies are)
    level_gap = text.split("Checks not evaluable at this audit level", 1)[1].split("<", 1)[0][:300]
    anomalies = [q.id for q in load_catalog().queries.values() if q.header.kind == "anomaly"]
    assert level_gap.startswith(" : ") and not any(a in level_gap for a in anomalies)
    coverage = text.split("Coverage and completeness")[2].split("Findings by severity", 1)[0]
    assert coverage.count("? not evaluable no baseline yet: ") == 9  # each anomaly of the catalog
    assert outputs.recurring == 0 and OCT.year == 2026
