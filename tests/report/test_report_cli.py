"""`kanalytics report` exit codes as cron sees them: 0 for a clean month, 4 (with a plain message) for a
period without audit events, whose report is written and says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.cli import app
from kanalytics.cli.report_cmds import EXIT_NO_EVENTS
from tests.conftest import stolen_token

pytestmark = pytest.mark.usefixtures("no_fsync")

runner = CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report-cli") / "archive"
    open_archive(root).ingest_events(stolen_token(datetime(2026, 10, 10, 20, tzinfo=UTC)), cluster="c1")
    return root


def report(archive: Path, out: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["report", "--archive", str(archive), "--out", str(out), "--format", "html,csv",
                                 *args])  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def test_a_month_with_events_exits_0_and_says_how_long_verification_took(
    archive: Path, tmp_path: Path
) -> None:
    code, out, err = report(archive, tmp_path, "--month", "2026-10")
    assert code == 0, err
    assert ": 2 finding(s) to review, 0 info-severity activities in the inventory, " in out
    assert "verified before rendering: 2 files (" in out and "error:" not in err


def test_an_empty_month_says_so_and_exits_4(archive: Path, tmp_path: Path) -> None:
    code, out, err = report(archive, tmp_path, "--month", "2026-12")
    assert code == EXIT_NO_EVENTS == 4
    assert (
        ": 0 finding(s) to review, 0 info-severity activities in the inventory, " in out
    )  # none from nothing
    assert (
        "error: no audit events in 1 December 2026 – 31 December 2026 (UTC), all clusters: the report was "
        "written and says so; nothing in it can be read as a pass"
    ) in err
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No audit events were recorded in this period: nothing below can be read as a pass." in html
    assert (tmp_path / "findings.csv").read_text(encoding="utf-8").count("\n") == 1  # the header only


def test_an_empty_cluster_filter_names_the_cluster(archive: Path, tmp_path: Path) -> None:
    code, _, err = report(archive, tmp_path, "--month", "2026-10", "--cluster", "c2")
    assert code == EXIT_NO_EVENTS
    assert "no audit events in 1 October 2026 – 31 October 2026 (UTC), cluster c2:" in err
