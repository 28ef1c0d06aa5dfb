"""Integrity before rendering: the report verifies the manifest chain and hashes the files it read, states
the result per manifest range with its timing, and a tampered archive says so on the cover in red, with a
non-zero exit from `kanalytics report` (the report is still written, for the auditor)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.cli import app
from kanalytics.errors import IntegrityError
from tests.report.test_trend import two_months

pytestmark = pytest.mark.usefixtures("no_fsync")

GENERATED_AT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four manifests: #1 September's events (1 file), #2 their findings (1), #3 October's events (2 files,
    10 and 11 October), #4 the findings of the days since (31)."""
    return two_months(tmp_path_factory.mktemp("integrity") / "archive")


@pytest.fixture
def archive(built: Path, tmp_path: Path) -> Path:
    """A copy per test: tests tamper with it."""
    return Path(shutil.copytree(built, tmp_path / "archive"))


def october_events_file(archive: Path) -> Path:
    (path,) = (archive / "events" / "cluster=c1" / "date=2026-10-11").glob("*.parquet")
    return path


def alter_rows(path: Path) -> None:
    """Rewrite a committed Parquet file with every user name changed: still readable, no longer committed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    index = table.schema.get_field_index("user_name")
    field = table.schema.field(index)
    table = table.set_column(index, field, pa.array(["mallory@acme.example"] * table.num_rows, field.type))
    pq.write_table(table, path)


def test_a_clean_archive_is_verified_per_manifest_range(archive: Path, tmp_path: Path) -> None:
    outputs = open_archive(archive).report(tmp_path / "out", month="2026-10", formats="html,json",
                                           generated_at=GENERATED_AT)  # fmt: skip
    verified = outputs.integrity
    assert verified is not None and verified.ok
    assert [r.text for r in verified.ranges] == ["manifests #1–#4: 35 files, all match"]
    assert verified.files_hashed == 35 and verified.dates == "2026-09-01 to 2026-10-31"
    assert outputs.phases["verify"] >= verified.seconds > 0
    html = outputs.files["html"].read_text(encoding="utf-8")
    assert "ARCHIVE VERIFICATION FAILED" not in html and "files not hashed" not in html
    assert '<li class="ok">manifests #1–#4: 35 files, all match' in html
    assert re.search(r"35 files \(0\.\d MB\) hashed in \d+\.\d\d s", html)


def test_a_tampered_file_puts_a_red_banner_on_the_cover_and_fails_the_cli(
    archive: Path, tmp_path: Path
) -> None:
    alter_rows(october_events_file(archive))
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "--archive", str(archive), "--month", "2026-10", "--out", str(out),
                                 "--format", "html"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "VERIFICATION FAILED (1 problem)" in result.stderr
    assert "the report was written and says so on its cover" in result.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    cover = html[html.index('<section class="cover"') : html.index("</section>")]
    banner = re.search(r'<div class="integrity-failed" role="alert" style="([^"]*)">(.*?)</div>', cover, re.S)
    assert banner is not None and "color: #7b0000" in banner[1] and "border: 2px solid #c00000" in banner[1]
    assert (
        "ARCHIVE VERIFICATION FAILED: 1 problem(s) in the files this report was computed from." in banner[2]
    )
    assert "34/35 files valid; could not be validated: 2026-10-11" in banner[2]
    retention = html[html.index('<section id="retention"') :]
    assert re.findall(r'<li class="(ok|failed)">(?:<strong>)?([^<]*)', retention) == [
        ("ok", "manifests #1–#2: 2 files, all match"),
        ("failed", "manifest #3: 2 files, 1 problem"),
        ("ok", "manifest #4: 31 files, all match"),
    ]
    name = october_events_file(archive).name
    assert f"File events/cluster=c1/date=2026-10-11/{name} INVALID: hash value doesn&#39;t match" in retention
    # the note at the top of the summary says it too, before anything else
    summary = html[html.index('<section id="summary"') :]
    assert summary.index("VERIFICATION FAILED") < summary.index("Look at these first")


def test_a_file_that_cannot_be_read_any_more_is_named_as_an_integrity_failure(
    archive: Path, tmp_path: Path
) -> None:
    path = october_events_file(archive)
    with path.open("ab") as handle:
        handle.write(b"x")  # the Parquet footer is no longer at the end: no reader can open it
    result = runner.invoke(app, ["report", "--archive", str(archive), "--month", "2026-10", "--out",
                                 str(tmp_path / "out"), "--format", "html"])  # fmt: skip
    # the CLI's error boundary (kanalytics.cli.main) prints it on stderr and exits with its code, 1
    assert isinstance(result.exception, IntegrityError) and result.exception.exit_code == 1
    message = str(result.exception)
    assert message.startswith("archive verification FAILED: 4/4 manifests valid, 34/35 files valid")
    assert f"{path.name} INVALID: hash value doesn't match (size" in message
    assert "No report was written" in message and not (tmp_path / "out" / "report.html").exists()
