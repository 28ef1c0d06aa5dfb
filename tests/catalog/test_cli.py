"""The catalog commands through Typer's test runner: output parses, exit codes say what happened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.cli import app
from kanalytics.errors import UsageError

CASE = Path(__file__).resolve().parents[1] / "cases" / "falco-attach-exec-pod" / "fire.jsonl"
PERIOD = ["--from", "2026-10-05", "--to", "2026-10-06"]
runner = CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "archive"
    open_archive(root).ingest([CASE], cluster="test")
    return root


@pytest.fixture(scope="module")
def falco(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """`--config` of a `profile = "falco"` file: falco-attach-exec-pod runs only under Falco's profile (the
    default profile covers it with pod-exec and exec-kube-system-pod)."""
    path = tmp_path_factory.mktemp("cli-config") / "kanalytics.toml"
    path.write_text('profile = "falco"\n', encoding="utf-8")
    return ["--config", str(path)]


def test_query_list_json() -> None:
    result = runner.invoke(app, ["query", "list", "--kind", "detection", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"id", "kind", "severity", "level", "area", "controls"} <= set(rows[0])
    assert all(r["kind"] == "detection" for r in rows)
    assert "falco-attach-exec-pod" in {r["id"] for r in rows}


def test_query_list_by_control() -> None:
    result = runner.invoke(app, ["query", "list", "--control", "pci-dss-4.0:10.2.1.2", "--json"])
    assert result.exit_code == 0, result.output
    assert "falco-attach-exec-pod" in {r["id"] for r in json.loads(result.stdout)}


def test_query_show() -> None:
    result = runner.invoke(app, ["query", "show", "falco-attach-exec-pod"])
    assert result.exit_code == 0, result.output
    assert "falco:Attach/Exec Pod" in result.stdout and "SELECT" in result.stdout


def test_query_run_json(archive: Path, falco: list[str]) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "run",
            "falco-attach-exec-pod",
            "--archive",
            str(archive),
            *PERIOD,
            "--format",
            "json",
            *falco,
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and {r["subresource"] for r in rows} == {"exec", "attach"}


def test_query_run_csv(archive: Path, falco: list[str]) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "run",
            "falco-attach-exec-pod",
            "--archive",
            str(archive),
            *PERIOD,
            "--format",
            "csv",
            *falco,
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("ts,audit_id,user_name")


def test_findings_json(archive: Path, falco: list[str]) -> None:
    result = runner.invoke(app, ["findings", "--archive", str(archive), *PERIOD, "--format", "json", *falco])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]  # FindingsResult.to_json(): findings, recurring, ...
    exec_findings = [f for f in findings if f["query_id"] == "falco-attach-exec-pod"]
    assert len(exec_findings) == 2
    for key in ("query_id", "severity", "audit_id", "ts", "user_name", "source_ip", "verb", "summary"):
        assert key in exec_findings[0]


def test_findings_severity_floor(archive: Path) -> None:
    result = runner.invoke(
        app, ["findings", "--archive", str(archive), *PERIOD, "--severity", "critical", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert all(f["severity"] == "critical" for f in json.loads(result.stdout)["findings"])


def test_unknown_query_is_a_usage_error(archive: Path) -> None:
    result = runner.invoke(app, ["query", "run", "falco-attach-exec-pdo", "--archive", str(archive), *PERIOD])
    assert isinstance(result.exception, UsageError)
    assert "falco-attach-exec-pod" in str(result.exception)


def test_bad_period_is_a_usage_error(archive: Path) -> None:
    result = runner.invoke(
        app, ["findings", "--archive", str(archive), "--from", "2026-10-06", "--to", "2026-10-05"]
    )
    assert isinstance(result.exception, UsageError)


def test_exit_code_through_main(archive: Path) -> None:
    """The real entry point turns the UsageError into a message on stderr and exit code 2."""
    code = "import sys; from kanalytics.cli import main; sys.argv = ['kanalytics', 'query', 'show', 'no-such-query']; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown query id 'no-such-query'" in proc.stderr


def test_query_run_of_a_superseded_rule_says_what_covers_it(archive: Path) -> None:
    result = runner.invoke(app, ["query", "run", "falco-attach-exec-pod", "--archive", str(archive), *PERIOD])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "superseded: covered by pod-exec, exec-kube-system-pod in the default profile" in result.stderr
