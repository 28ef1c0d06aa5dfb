"""The archive commands as a user runs them: real processes, exit codes, stderr, stdin, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import REPO, make_event


def kanalytics(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "kanalytics", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_ingest_from_stdin_with_json_summary_then_query_and_export(tmp_path: Path) -> None:
    archive = str(tmp_path / "a")
    # Explicit times: make_event's default moves one second per event made in the worker, and this test exports
    # one day, so after 43,200 earlier events the defaults would fall on the next day.
    noon = datetime(2026, 10, 1, 12, tzinfo=UTC)
    events = [make_event(noon + timedelta(seconds=n)) for n in range(3)]
    lines = b"".join(json.dumps(e).encode() + b"\n" for e in events) + b"not json\n"
    result = kanalytics(
        "ingest", "-", "--cluster", "prod", "--json", stdin=lines, env={"KANALYTICS_ARCHIVE": archive}
    )
    assert result.returncode == 3, result.stderr  # something was quarantined
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["archived"], summary["quarantined"]) == (4, 3, 1)

    query = kanalytics(
        "sql", "SELECT cluster, count(*) AS n FROM events GROUP BY 1", "-a", archive, "-f", "json"
    )
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout) == [{"cluster": "prod", "n": 3}]

    out = tmp_path / "out.jsonl.gz"
    exported = kanalytics(
        "export", "-a", archive, "-o", str(out), "--from", "2026-10-01", "--to", "2026-10-02"
    )
    assert exported.returncode == 0 and b"exported 3 event(s)" in exported.stderr

    info = kanalytics("info", "-a", archive, "--json")
    assert json.loads(info.stdout)["events"] == 3


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    missing = kanalytics("info", "-a", str(tmp_path / "nothing"))
    assert missing.returncode == 1
    assert missing.stderr.decode().startswith("error: ") and b"Traceback" not in missing.stderr
    assert b"hint: ingest into it first" in missing.stderr

    bad_sql = kanalytics("sql", "SELECT nope FROM events", "-a", str(tmp_path / "nothing"))
    assert bad_sql.returncode == 1 and b"Traceback" not in bad_sql.stderr

    usage = kanalytics("ingest")
    assert usage.returncode == 2 and b"Missing argument" in usage.stderr

    bad_cluster = kanalytics("ingest", "-", "-a", str(tmp_path / "a"), "--cluster", "../etc", stdin=b"")
    assert bad_cluster.returncode == 2 and b"invalid cluster name" in bad_cluster.stderr


def test_debug_variable_shows_the_traceback(tmp_path: Path) -> None:
    result = kanalytics("info", "-a", str(tmp_path / "nothing"), env={"KANALYTICS_DEBUG": "1"})
    assert result.returncode != 0 and b"Traceback" in result.stderr


def test_every_command_has_help() -> None:
    from typer.main import get_command

    from kanalytics.cli import app

    root = get_command(app)
    names = sorted(root.commands)  # type: ignore[attr-defined]
    assert {"ingest", "export", "sql", "info"} <= set(names)
    for name in names:
        result = kanalytics(name, "--help")
        assert result.returncode == 0, name
        assert b"Usage:" in result.stdout
