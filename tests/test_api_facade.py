"""The façade `kanalytics.open_archive`: one period rule, one timestamp dtype, failures reported, keys carried."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import kanalytics
from kanalytics import docgen
from kanalytics.api import Archive, NothingMatchedWarning, TruncatedWarning
from kanalytics.archive import signing
from kanalytics.cli import app
from kanalytics.config import Settings, parse_settings
from kanalytics.errors import UsageError
from tests.conftest import make_event


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    arch = kanalytics.open_archive(tmp_path / "a", config=Settings())
    arch.ingest_events(
        [make_event(ts=datetime(2026, 10, d, 12, tzinfo=UTC), user={"username": "alice", "groups": []})
         for d in (1, 2, 3)],
        cluster="prod",
    )  # fmt: skip
    return arch


def test_dates_as_string_date_and_datetime_mean_the_same(archive: Archive) -> None:
    as_text = archive.events(start="2026-10-02", end="2026-10-03")
    as_date = archive.events(start=date(2026, 10, 2), end=date(2026, 10, 3))
    as_dt = archive.events(start=datetime(2026, 10, 2, tzinfo=UTC), end=datetime(2026, 10, 3, tzinfo=UTC))
    assert as_text.height == as_date.height == as_dt.height == 1


def test_dates_are_midnight_in_the_configured_zone(tmp_path: Path) -> None:
    arch = kanalytics.open_archive(tmp_path / "a", config=parse_settings({"timezone": "Europe/Berlin"}))
    assert arch.period(start="2026-10-02", end="2026-10-03") == (
        datetime(2026, 10, 1, 22, tzinfo=UTC),
        datetime(2026, 10, 2, 22, tzinfo=UTC),
    )


def test_reversed_period_is_an_error_everywhere(archive: Archive) -> None:
    for call in (
        lambda: archive.events(start="2026-10-03", end="2026-10-01"),
        lambda: archive.sql("SELECT 1", start="2026-10-03", end="2026-10-03"),
        lambda: archive.findings(start="2026-10-03", end="2026-10-01"),
        lambda: archive.verify(start="2026-10-03", end="2026-10-01"),
    ):
        with pytest.raises(UsageError, match="at or before it starts"):
            call()


def test_one_timestamp_dtype_so_frames_concatenate(archive: Archive) -> None:
    events = archive.sql("SELECT request_ts AS ts FROM events")
    findings = archive.findings_frame(month="2026-10").select("ts")
    assert events.schema["ts"] == pl.Datetime("us", "UTC") == findings.schema["ts"]
    assert pl.concat([events, findings]).height == 3 + findings.height


def test_events_and_timeline_warn_when_cut_at_the_limit(archive: Archive) -> None:
    with pytest.warns(TruncatedWarning, match="stopped at limit=2"):
        assert archive.events(limit=2).height == 2
    with pytest.warns(TruncatedWarning):
        assert archive.timeline(user="alice", limit=1).height == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert archive.events(limit=3).height == 3 and archive.events(limit=None).height == 3


def test_nothing_matched_is_said(archive: Archive) -> None:
    with pytest.warns(NothingMatchedWarning, match="no events of cluster 'nosuch' \\(clusters: prod\\)"):
        archive.sql("SELECT count(*) AS n FROM events", clusters=["nosuch"])
    with pytest.warns(NothingMatchedWarning, match="no data files in 2030-01-01"):
        archive.verify(start="2030-01-01")


def test_findings_report_failed_queries(archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "q" / "detections"
    folder.mkdir(parents=True)
    model = Path(docgen.__file__).resolve().parents[1] / "queries/detections/integrity-audit-id-conflict.sql"
    header = model.read_text(encoding="utf-8").split("--- */")[0]
    header = header.replace("id: integrity-audit-id-conflict", "id: broken")
    (folder / "broken.sql").write_text(header + "--- */\nSELECT nope FROM events\n", encoding="utf-8")
    arch = kanalytics.open_archive(
        archive.root, config=parse_settings({"query_paths": [str(tmp_path / "q")]})
    )
    result = arch.findings(month="2026-10")
    assert [p.query_id for p in result.failed] == ["broken"] and not result.ok
    assert "nope" in result.failed[0].reason


def test_open_archive_signs_with_the_configured_key(tmp_path: Path) -> None:
    private, public = signing.generate_keypair(tmp_path / "keys")
    arch = kanalytics.open_archive(
        tmp_path / "a", config=parse_settings({"signing": {"private_key_path": str(private)}})
    )
    arch.ingest_events([make_event()], cluster="c1")
    # the ingest and its evaluation at commit, both signed
    assert sorted(p.name for p in arch.layout.manifests.glob("*.sig")) == ["0000000001.sig", "0000000002.sig"]
    assert arch.verify(public_key=public).ok
    unsigned = kanalytics.open_archive(tmp_path / "b", config=Settings())
    unsigned.ingest_events([make_event()], cluster="c1")
    assert list(unsigned.layout.manifests.glob("*.sig")) == []  # no process-wide signer leaks across archives


def test_cli_period_options_are_shared_and_reversed_fails(archive: Archive) -> None:
    runner = CliRunner()
    for command in (["sql", "SELECT 1"], ["findings"], ["export", "-o", "-"], ["verify"], ["report"]):
        result = runner.invoke(
            app, [*command, "-a", str(archive.root), "--from", "2026-10-03", "--to", "2026-10-01"]
        )
        assert result.exit_code == 1, (command, result.output)
        assert "at or before it starts" in str(result.exception)
        assert "--month" in runner.invoke(app, [command[0], "--help"]).output


def test_sql_reads_the_query_from_stdin_and_tsv_when_piped(archive: Archive) -> None:
    result = CliRunner().invoke(
        app, ["sql", "-", "-a", str(archive.root)], input="SELECT count(*) AS n, 'x' AS s FROM events"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "n\ts\n3\tx\n"


def test_docs_api_is_fresh() -> None:
    committed = (Path(docgen.__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == docgen.api_reference(), "docs/api.md is stale: run `python -m kanalytics.docgen`"
