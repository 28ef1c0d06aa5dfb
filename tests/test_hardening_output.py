"""Output cannot attack the operator: log values reach terminals, CSV, JSON and HTML with control and bidi
characters shown visibly, no rich markup interpreted, no spreadsheet formulas; `sql --safe` reads the
archive's events and nothing else."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.archive.safe_sql import lock_down
from kanalytics.cli import app
from kanalytics.errors import QueryError
from kanalytics.report.exports import write_findings_csv
from kanalytics.report.render import environment
from kanalytics.textsafe import BIDI_CONTROLS, CONTROL_CHARS, csv_cell, escape_json_text, visible
from tests.conftest import REPO

CASE = REPO / "tests" / "cases" / "falco-attach-exec-pod" / "fire.jsonl"
PERIOD = ["--from", "2026-10-05", "--to", "2026-10-06"]
# Clear the screen, retitle the window, forge a line, rich markup, a right-to-left override.
EVIL = "mal\x1b[2J\x1b]0;pwned\x07\nAll files valid [bold red]x[/] \u202eexe.txt\u2066"
EVIL_SHOWN = r"mal\x1b[2J\x1b]0;pwned\x07\nAll files valid [bold red]x[/] <U+202E>exe.txt<U+2066>"
FORMULA = '=HYPERLINK("http://x","y")'
RAW = ("\x1b[2J", "\x1b]0;", "\x07", "\u202e", "\u2066")
runner = CliRunner()


def evil_events() -> list[dict[str, object]]:
    events = []
    for line in CASE.read_text().splitlines():
        event = json.loads(line)
        event["user"]["username"] = EVIL
        event["userAgent"] = EVIL
        event["objectRef"]["name"] = FORMULA
        events.append(event)
    return events


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "archive"
    open_archive(root).ingest_events(evil_events(), cluster="test")
    return root


def assert_harmless(text: str, *, tty: bool = False) -> None:
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} reached the output"
    # A terminal form may carry rich's own colour codes (SGR `ESC[...m`), and nothing else.
    assert re.findall(r"\x1b(?!\[[0-9;]*m)", text) == []
    assert not any(line.lstrip("│┃ ").startswith("All files valid") for line in text.splitlines())
    if tty:
        assert re.search(r"\x1b\[[0-9;]*m", text), "expected the terminal form (rich styles)"


def assert_shown(table: str) -> None:
    """The visible form is in the table (rich wraps cells at spaces, so word by word)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", table)
    for word in EVIL_SHOWN.split(" "):
        assert word in plain
    assert "[bold red]x[/]" in plain  # markup printed as itself


@pytest.mark.parametrize("env", [{}, {"FORCE_COLOR": "1", "COLUMNS": "400"}], ids=["piped", "tty"])
def test_findings_table_shows_controls_bidi_and_markup_as_text(archive: Path, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["findings", "-a", str(archive), *PERIOD, "-f", "table"], env=env)
    assert result.exit_code == 0, result.output
    assert_harmless(result.stdout, tty=bool(env))
    assert_shown(result.stdout)


@pytest.mark.parametrize("env", [{}, {"FORCE_COLOR": "1", "COLUMNS": "400"}], ids=["piped", "tty"])
def test_sql_and_query_run_tables_are_harmless(archive: Path, env: dict[str, str]) -> None:
    sql = runner.invoke(
        app, ["sql", "SELECT user_name, user_agent, object_name FROM events", "-a", str(archive)], env=env
    )
    run = runner.invoke(app, ["query", "run", "pod-exec", "-a", str(archive), *PERIOD], env=env)
    for result in (sql, run):
        assert result.exit_code == 0, result.output
        assert_harmless(result.stdout, tty=bool(env))
    assert_shown(sql.stdout)
    assert "<U+202E>exe.txt" in run.stdout  # its twelve narrow columns fold the cells mid-word


def test_findings_csv_cells_are_neutralised(archive: Path) -> None:
    result = runner.invoke(app, ["findings", "-a", str(archive), *PERIOD, "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert_harmless(result.stdout)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # exec and attach, by pod-exec (falco-attach-exec-pod is superseded by it in the default profile; the
    # archive's first month runs no anomaly)
    assert len(rows) == 2
    assert {r["object_name"] for r in rows} == {"'" + FORMULA}
    assert {r["user_name"] for r in rows} == {EVIL_SHOWN}


def test_sql_csv_uses_the_same_writer(archive: Path) -> None:
    query = (
        "SELECT user_name, object_name, source_ips, response_code, -1.5 AS score, ' @x' AS lead FROM events"
    )
    result = runner.invoke(app, ["sql", query, "-a", str(archive), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert_harmless(result.stdout)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["user_name", "object_name", "source_ips", "response_code", "score", "lead"]
    assert rows[1] == [EVIL_SHOWN, "'" + FORMULA, '["10.0.0.5"]', "101", "-1.5", "' @x"]


def test_json_output_escapes_bidi_and_decodes_to_the_original(archive: Path) -> None:
    for args in (["sql", "SELECT user_name FROM events", "-f", "json"], ["findings", *PERIOD, "-f", "json"]):
        result = runner.invoke(app, [*args, "-a", str(archive)])
        assert result.exit_code == 0, result.output
        assert_harmless(result.stdout)
        assert "\\u202e" in result.stdout and "\\u2066" in result.stdout
        data = json.loads(result.stdout)
        rows = data["findings"] if isinstance(data, dict) else data  # findings: FindingsResult.to_json()
        assert {row["user_name"] for row in rows} == {EVIL}  # lossless


def test_report_csv_and_json_files(archive: Path, tmp_path: Path) -> None:
    from kanalytics.report.exports import write_findings_json

    start, end = _period()
    findings = open_archive(archive).findings(start=start, end=end).findings
    # The archive has no baseline (its first month), so no anomaly ran: one scored copy stands for them.
    findings = [*findings, dataclasses.replace(findings[0], score=2.0)]
    write_findings_csv(findings, tmp_path / "f.csv")
    write_findings_json(findings, tmp_path / "f.json")
    text = (tmp_path / "f.csv").read_text(encoding="utf-8")
    assert_harmless(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["object_name"] for r in rows} == {"'" + FORMULA} and {r["user_name"] for r in rows} == {
        EVIL_SHOWN
    }
    assert {r["score"] for r in rows} == {"", "2.0"}  # numbers are not prefixed
    data = (tmp_path / "f.json").read_text(encoding="utf-8")
    assert "\u202e" not in data and {f["user_name"] for f in json.loads(data)} == {EVIL}


def _period() -> tuple[object, object]:
    from datetime import UTC, datetime

    return datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 6, tzinfo=UTC)


def test_html_makes_bidi_and_controls_visible_in_text_attributes_and_markup() -> None:
    from markupsafe import Markup

    template = environment().from_string('<p title="{{ x }}">{{ x }}</p>{{ m }}')
    html = template.render(x="a\u202eb\x1bc<d>\n", m=Markup("<i>e\u2067f</i>"))
    assert html == (
        '<p title="a&lt;U+202E&gt;b\\x1bc&lt;d&gt;\n">a&lt;U+202E&gt;b\\x1bc&lt;d&gt;\n</p><i>e&lt;U+2067&gt;f</i>'
    )


def test_csv_cell_follows_owasp() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+1", "-x", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\uff1d1")] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "\\t=1",
        "\\r=1",
        "'  =1",
        "'\uff1d1",
    ]  # fmt: skip  (a leading TAB or CR is shown as text, `\t`, which no spreadsheet evaluates)
    assert [csv_cell(v) for v in (-3, 2.5, None, True, "a=b")] == [-3, 2.5, "", "True", "a=b"]


def test_every_control_and_bidi_character_is_made_visible_and_json_stays_lossless() -> None:
    dangerous = "".join(map(chr, sorted(CONTROL_CHARS | BIDI_CONTROLS)))
    shown = visible(dangerous)
    assert not any(ord(c) in CONTROL_CHARS | BIDI_CONTROLS for c in shown)
    assert shown.startswith(r"\x00\x01") and r"\t\n\x0b\x0c\r" in shown and "<U+202E>" in shown
    encoded = escape_json_text(json.dumps(dangerous, ensure_ascii=False))
    assert not any(ord(c) in CONTROL_CHARS | BIDI_CONTROLS for c in encoded)
    assert json.loads(encoded) == dangerous


def test_verify_prints_hostile_file_names_visibly(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    open_archive(root).ingest_events(evil_events(), cluster="test")
    (root / "_manifests" / "x\nAll files valid\x1b[2J\u202e").write_text("planted")
    result = runner.invoke(app, ["verify", "-a", str(root)])
    assert result.exit_code != 0  # the planted file is a problem
    assert_harmless(result.stdout)
    assert r"_manifests/x\nAll files valid\x1b[2J<U+202E> INVALID" in result.stdout


def test_info_prints_the_archive_path_visibly(tmp_path: Path) -> None:
    root = tmp_path / "evil\x1b]0;pwned\x07\u202e"
    open_archive(root).ingest_events(evil_events(), cluster="test")
    result = runner.invoke(app, ["info", "-a", str(root)])
    assert result.exit_code == 0, result.output
    assert_harmless(result.stdout)
    assert r"evil\x1b]0;pwned\x07<U+202E>" in result.stdout


def kanalytics(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kanalytics", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "KANALYTICS_DEBUG": ""},
        timeout=120,
    )


def test_error_messages_echoing_input_are_visible(archive: Path) -> None:
    result = kanalytics("sql", 'SELECT * FROM "t\x1b]0;pwned\x07\u202e"', "-a", str(archive))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: query failed: Catalog Error: Table with name t\\x1b]0;pwned\\x07<U+202E>"
    )
    assert_harmless(result.stderr)


# -- sql --safe ----------------------------------------------------------------------------------------
def test_cli_safe_runs_a_select_and_refuses_a_file_read_with_exit_1(archive: Path) -> None:
    ok = kanalytics("sql", "SELECT count(*) AS n FROM events", "-a", str(archive), "--safe", "-f", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == [{"n": 2}]
    refused = kanalytics("sql", "SELECT * FROM read_csv('/etc/passwd')", "-a", str(archive), "--safe")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (
        'error: query failed: Permission Error: Cannot access file "/etc/passwd" - file system operations are '
        "disabled by configuration\n"
        "  hint: --safe runs one SELECT over the `events` view and nothing else; drop --safe for the full DuckDB\n"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", 'Cannot access file "/etc/passwd"'),
        ("SELECT * FROM read_text('/etc/hostname')", 'Cannot access file "/etc/hostname"'),
        ("SELECT * FROM glob('/etc/*')", 'Cannot access file "/etc/*"'),
        ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "https://example.com/x.parquet"),
        ("SELECT * FROM read_parquet('{events}/../../secret.parquet')", "Cannot access file"),
        ("SELECT * FROM query('COPY (SELECT 1) TO ''/tmp/x.csv''')", "Expected a single SELECT statement"),
        ("COPY (SELECT 1) TO '{tmp}/x.csv'", "this query has: COPY"),
        ("EXPORT DATABASE '{tmp}/db'", "this query has: EXPORT"),
        ("INSTALL httpfs", "this query has: INSTALL"),
        ("LOAD httpfs", "this query has: LOAD"),
        ("ATTACH '{tmp}/x.db'", "this query has: ATTACH"),
        ("SET enable_external_access = true", "this query has: SET"),
        ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp}/x.csv'", "this query has: EXPLAIN"),
        ("SELECT 1; COPY (SELECT 1) TO '{tmp}/x.csv'", "this query has: SELECT, COPY"),
        ("CREATE TABLE t AS SELECT 1", "this query has: CREATE"),
    ],
)
def test_safe_refuses_files_writes_extensions_network_and_settings(
    archive: Path, tmp_path: Path, query: str, message: str
) -> None:
    secret = tmp_path / "secret.parquet"
    duckdb.sql(f"COPY (SELECT 42 AS answer) TO '{secret}'")
    statement = query.format(tmp=tmp_path, events=archive / "events")
    with pytest.raises(QueryError, match=re.escape(message)):
        open_archive(archive).sql(statement, safe=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.parquet"]  # nothing written


def test_without_safe_sql_is_the_owners_full_duckdb(archive: Path, tmp_path: Path) -> None:
    """What docs/sql-safety.md says the default can do: read another file and write one."""
    other = tmp_path / "other.csv"
    other.write_text("a\n7\n")
    arch = open_archive(archive)
    assert arch.sql(f"SELECT a FROM read_csv('{other}')").to_dicts() == [{"a": 7}]
    arch.sql(f"COPY (SELECT count(*) AS n FROM events) TO '{tmp_path / 'out.csv'}'")
    assert (tmp_path / "out.csv").read_text() == "n\n2\n"


def test_lock_down_alone_stops_writes_and_other_files(archive: Path, tmp_path: Path) -> None:
    """The second layer holds even if a non-SELECT got past the statement check."""
    con = open_archive(archive).connect()
    lock_down(con, open_archive(archive).layout)
    assert con.sql("SELECT count(*) FROM events").fetchall() == [(2,)]
    for statement in (
        f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'",
        "INSTALL httpfs",
        f"ATTACH '{tmp_path / 'x.db'}'",
        "SELECT * FROM read_csv('/etc/passwd')",
    ):
        with pytest.raises(duckdb.PermissionException):
            con.execute(statement)
    for statement in ("SET enable_external_access = true", "SET lock_configuration = false"):
        with pytest.raises(duckdb.InvalidInputException, match="the configuration has been locked"):
            con.execute(statement)
    assert list(tmp_path.iterdir()) == []
