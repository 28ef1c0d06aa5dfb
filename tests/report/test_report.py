"""The report: HTML snapshot, PDF text, escaping of log values, no network fetch, empty and gappy periods."""

from __future__ import annotations

import base64
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import END, GENERATED_AT, IMG_AGENT, MISSING_DAY, SCRIPT_USER, START

import kanalytics
from kanalytics.config import Settings
from kanalytics.report import generate_report
from kanalytics.report.api import ReportOutputs

SNAPSHOT = Path(__file__).parent / "snapshots" / "report.html"
SECTIONS = (
    "Executive summary", "Coverage and completeness", "Findings by severity", "Control mapping",
    "Failed and denied access", "RBAC and permission changes", "Privileged workloads", "Secrets access",
    "Exec, attach, port-forward and impersonation", "Anonymous access", "Behaviour anomalies",
    "Network origins", "Configuration changes", "Suppressions", "Retention and integrity", "Methodology",
)  # fmt: skip


def _no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise AssertionError(f"rendering tried to open a network connection: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return calls


@pytest.fixture(scope="module")
def outputs(report_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> ReportOutputs:
    mp = pytest.MonkeyPatch()
    calls = _no_network(mp)
    try:
        out = tmp_path_factory.mktemp("out")
        result = generate_report(kanalytics.open_archive(report_archive), START, END, out, settings=Settings(),
                                 generated_at=GENERATED_AT)  # fmt: skip
    finally:
        mp.undo()
    assert calls == []
    return result


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def normalise(html: str) -> str:
    html = re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "data:image/svg+xml;base64,CHART", html)
    html = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", html)
    html = re.sub(r"\b[0-9a-f]{12,16}\b", "<hash>", html)
    html = re.sub(r"/[^\s<\"]*?/archive\b", "<archive>", html)
    html = re.sub(
        r"generator\" content=\"kanalytics [^\"]+\"", 'generator" content="kanalytics <version>"', html
    )
    html = re.sub(r"\d+\.\d+\.\d+(\.dev\S*)?(?=<)", "<version>", html)
    return re.sub(r"hashed in \d+\.\d+ s", "hashed in <seconds> s", html)  # verified before rendering


def test_html_matches_snapshot(outputs: ReportOutputs) -> None:
    html = normalise(outputs.files["html"].read_text(encoding="utf-8"))
    if os.environ.get("KANALYTICS_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(html, encoding="utf-8")
    assert html == SNAPSHOT.read_text(encoding="utf-8"), "regenerate with KANALYTICS_UPDATE_SNAPSHOTS=1"


def test_pdf_text_shows_every_section_and_the_incidents(outputs: ReportOutputs) -> None:
    text = _pdf_text(outputs.files["pdf"])
    flat = " ".join(text.split())
    for title in SECTIONS:
        assert title in flat, title
    for incident in ("bob@example.com created mutating admission webhook hook", "carol@example.com",
                     "mallory@example.com", "Page 2 of"):  # fmt: skip
        assert incident in flat, incident


def test_log_values_are_escaped_in_html_and_literal_in_pdf(outputs: ReportOutputs) -> None:
    html = outputs.files["html"].read_text(encoding="utf-8")
    assert SCRIPT_USER not in html and IMG_AGENT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=http://example.invalid/x&gt;" in html
    assert "<img src=http" not in html
    assert html.count("<script") == 1  # the report's own inline script (interactive.js), no other
    flat = " ".join(_pdf_text(outputs.files["pdf"]).split())
    assert SCRIPT_USER in flat


def test_html_references_nothing_remote(outputs: ReportOutputs) -> None:
    html = outputs.files["html"].read_text(encoding="utf-8")
    for attr in re.findall(r"(?:src|href)=\"([^\"]*)\"", html):
        assert attr.startswith(("data:", "#")), attr
    assert "@import" not in html and "url(http" not in html


def test_fetcher_refuses_every_url_but_data() -> None:
    from kanalytics.report.render import RefusingFetcher

    fetcher = RefusingFetcher()
    for url in ("http://example.invalid/x", "https://example.invalid/", "file:///etc/passwd", "ftp://x/y"):
        with pytest.raises(ValueError):
            fetcher(url)
    assert len(fetcher.refused) == 4
    assert fetcher("data:text/plain;base64,aGk=") is not None


def test_chart_labels_from_logs_are_escaped_by_the_svg_writer() -> None:
    from kanalytics.report.charts import top_identities

    chart = top_identities([{"user_name": SCRIPT_USER, "identity_type": "human", "events": 5}])
    svg = base64.b64decode(chart.data_uri.split(",", 1)[1]).decode()
    assert "<script" not in svg
    assert "Date" not in svg  # no timestamp in the metadata: the same data gives the same bytes


def test_exports_hold_every_finding_and_the_run_parameters(outputs: ReportOutputs) -> None:
    import csv
    import json

    rows = list(csv.DictReader(outputs.files["csv"].open(encoding="utf-8")))
    data = json.loads(outputs.files["json"].read_text(encoding="utf-8"))
    assert len(rows) == len(data) == outputs.findings > 0
    run = json.loads(outputs.files["run"].read_text(encoding="utf-8"))
    assert run["manifest_sha256"] and run["period_start"] == START.isoformat()
    assert set(run["outputs"]) == {"html", "pdf", "csv", "json", "incidents"}


def test_missing_day_is_reported(outputs: ReportOutputs) -> None:
    html = outputs.files["html"].read_text(encoding="utf-8")
    assert f"{MISSING_DAY} (prod)" in html
    assert "The audit trail is incomplete" in html


def test_empty_period_says_so_plainly(report_archive: Path, tmp_path: Path) -> None:
    start, end = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC)
    result = generate_report(kanalytics.open_archive(report_archive), start, end, tmp_path, settings=Settings(),
                             formats=["html", "csv"], generated_at=GENERATED_AT)  # fmt: skip
    html = result.files["html"].read_text(encoding="utf-8")
    assert "No audit events were recorded" in html
    assert "an empty report is not a clean report" in html
    assert result.findings == 0
