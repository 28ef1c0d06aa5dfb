"""`kanalytics export --format ecs|splunk-hec|ocsf [--findings]` over an archive of the real samples: one document per
archived event (or finding) per line, in the format's shape, streamed to a file or stdout; wrong combinations are
usage errors (exit 2) that say what to give instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kanalytics
from kanalytics.cli import app
from tests.conftest import make_event, shared_data
from tests.outputs.ocsf_validation import validate

runner = CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], int]:
    """The falco-traces samples ingested into one archive: its path, its auditIDs, and how many findings it has."""
    samples = sorted(shared_data("falco-traces").glob("*.json"))
    root = tmp_path_factory.mktemp("export") / "archive"
    arch = kanalytics.open_archive(root)
    arch.ingest(samples, cluster="lab")
    ids = [str(v) for v in arch.sql("SELECT audit_id FROM events ORDER BY request_ts, audit_id")["audit_id"]]
    found = arch.findings(start="2000-01-01", end="2100-01-01")
    return root, ids, len(found.findings)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("fmt", "audit_id_of"),
    [
        ("ecs", lambda d: d["kubernetes"]["audit"]["auditID"]),
        ("splunk-hec", lambda d: d["event"]["auditID"]),
        ("ocsf", lambda d: d["api"]["request"]["uid"]),
    ],
)
def test_every_archived_event_is_exported_in_the_format(
    archive: tuple[Path, list[str], int], tmp_path: Path, fmt: str, audit_id_of: Any
) -> None:
    root, ids, _ = archive
    out = tmp_path / f"events.{fmt}.jsonl"
    result = runner.invoke(
        app, ["export", "--archive", str(root), "--from", "2000-01-01", "--to", "2100-01-01", "--format", fmt,
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"exported {len(ids)} event(s) to {out}" in result.output
    documents = lines(out)
    assert sorted(audit_id_of(d) for d in documents) == sorted(ids)
    if fmt == "ecs":
        assert {d["orchestrator"]["cluster"]["name"] for d in documents} == {"lab"}
        assert {d["event"]["dataset"] for d in documents} == {"kubernetes.audit_logs"}
    if fmt == "splunk-hec":
        assert {d["sourcetype"] for d in documents} == {"kube:apiserver-audit"}
        assert {d["host"] for d in documents} == {"lab"}
    if fmt == "ocsf":
        assert [p for d in documents for p in validate(d)] == []
        assert {d["class_uid"] for d in documents} == {6003}


@pytest.mark.parametrize("fmt", ["jsonl", "ecs", "splunk-hec", "ocsf"])
def test_findings_are_exported_in_the_format(archive: tuple[Path, list[str], int], fmt: str) -> None:
    root, _, count = archive
    assert count > 0
    result = runner.invoke(
        app, ["export", "--archive", str(root), "--from", "2000-01-01", "--to", "2100-01-01", "--findings",
              "--format", fmt, "--out", "-"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == count
    if fmt == "ocsf":
        assert {d["class_uid"] for d in documents} == {2004}
        assert [p for d in documents for p in validate(d)] == []
    if fmt == "ecs":
        assert {d["event"]["kind"] for d in documents} == {"alert"}
    if fmt == "jsonl":
        assert all(d["query_id"] and d["severity"] for d in documents)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "ecs"], "give --out FILE"),
        (["--findings", "--format", "native", "--out", "-"], "--format native is for events"),
        (["--format", "jsonl", "--out", "-"], "--format jsonl is for --findings"),
        (["--severity", "high", "--out", "-"], "--severity filters findings"),
        (["--hec", "--format", "ecs"], "--hec sends Splunk HEC events"),
    ],
)
def test_wrong_combinations_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["export", "--archive", str(tmp_path / "a"), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_hec_delivery_without_a_collector_configured_says_what_to_set(tmp_path: Path) -> None:
    kanalytics.open_archive(tmp_path / "a").ingest_events([make_event()], cluster="c")
    result = runner.invoke(app, ["export", "--archive", str(tmp_path / "a"), "--hec", "--month", "2026-10"])
    assert result.exit_code == 1
    assert "[exports.splunk_hec] url and token" in str(result.exception)


def test_an_unknown_findings_format_fails_before_the_catalog_runs(tmp_path: Path) -> None:
    import io

    from kanalytics.errors import UsageError

    with pytest.raises(UsageError, match="unknown findings format 'xml'"):
        kanalytics.open_archive(tmp_path / "none").export_findings(
            io.BytesIO(), month="2026-10", format="xml"
        )
