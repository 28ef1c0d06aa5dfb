"""Trend: the previous month's findings are judged as this month's are (stored results, same rules), so the
executive summary compares findings by severity: this period, previous, change; "no data" without events."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kanalytics import open_archive
from tests.conftest import secrets_listed, stolen_token

pytestmark = pytest.mark.usefixtures("no_fsync")

GENERATED_AT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def two_months(root: Path) -> Path:
    """September: the stolen token (high 1, low 1). October: it again and the secrets listing (high 2, low 1).
    Two ingests, each evaluated at commit: four manifests."""
    arch = open_archive(root)
    arch.ingest_events(stolen_token(datetime(2026, 9, 10, 20, tzinfo=UTC)), cluster="c1")
    october = stolen_token(datetime(2026, 10, 10, 20, tzinfo=UTC)) + secrets_listed(
        datetime(2026, 10, 11, 9, tzinfo=UTC)
    )
    arch.ingest_events(october, cluster="c1")
    return root


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_months(tmp_path_factory.mktemp("trend") / "archive")


def severity_rows(html: str) -> dict[str, tuple[str, str, str]]:
    """The "Findings by severity" table: severity -> (this period, previous, change) as displayed."""
    table = html[html.index("<h3>Findings by severity</h3>") : html.index("<h3>Identity types</h3>")]
    rows = re.findall(
        r'<tr data-severity="(\w+)"><td>.*?</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td>'
        r'<td class="num"[^>]*>([^<]*)</td></tr>',
        table,
    )
    return {s: (now, before, change) for s, now, before, change in rows}


def test_findings_by_severity_are_compared_with_the_previous_month(archive: Path, tmp_path: Path) -> None:
    arch = open_archive(archive)
    outputs = arch.report(tmp_path, month="2026-10", formats="html", generated_at=GENERATED_AT)
    rows = severity_rows(outputs.files["html"].read_text(encoding="utf-8"))
    assert rows == {
        "critical": ("0", "0", "● 0 (unchanged)"),
        "high": ("2", "1", "▲ +1 (+100%)"),
        "medium": ("0", "0", "● 0 (unchanged)"),
        "low": ("1", "1", "● 0 (+0%)"),
        "info": ("0", "0", "● 0 (unchanged)"),
    }
    # the previous column is what `kanalytics findings` says of September
    september = arch.findings(month="2026-09").findings
    assert sorted(f.severity for f in september) == ["high", "low"]
    assert "previous" in outputs.phases and "not compared" not in outputs.files["html"].read_text(
        encoding="utf-8"
    )


def test_a_previous_month_without_events_shows_no_data(archive: Path, tmp_path: Path) -> None:
    outputs = open_archive(archive).report(
        tmp_path, month="2026-09", formats="html", generated_at=GENERATED_AT
    )
    rows = severity_rows(outputs.files["html"].read_text(encoding="utf-8"))
    assert rows["high"] == ("1", "—", "—") and rows["low"] == ("1", "—", "—")
    assert "the previous period (no data in the archive)" in outputs.files["html"].read_text(encoding="utf-8")
