"""Evaluation at commit through the commands people run (docs/evaluation.md): `ingest` and the webhook receiver
store results under _findings/, `findings` and `report` read them and say so, `--refresh` and `--recompute` do
what they say, `verify` covers the stored results, and a disagreement between stored and recomputed findings is
reported with a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import kanalytics

CASES = Path(__file__).resolve().parent / "cases"
# A point-in-time detection (attack-tool-ua: a recon tool's user agent) and a windowed one (a burst of denials).
INPUT = [CASES / "attack-tool-ua" / "fire.jsonl", CASES / "authz-denied-burst" / "fire.jsonl"]
PERIOD = ["--from", "2026-10-14", "--to", "2026-10-15"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KANALYTICS_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "kanalytics", *args], capture_output=True, text=True, env=full, timeout=300
    )


def _ingest(archive: Path, env: dict[str, str] | None = None) -> None:
    result = _run("ingest", *map(str, INPUT), "--archive", str(archive), "--cluster", "prod", env=env)
    assert result.returncode == 0, result.stderr


def _findings_json(archive: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = _run("findings", "--archive", str(archive), *PERIOD, "--json", *extra)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_ingest_stores_results_that_findings_then_reads(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    _ingest(archive)
    store = kanalytics.open_archive(archive).store
    files = store.findings_files()
    assert [f.path.split("/")[1:3] for f in files] == [["cluster=prod", "date=2026-10-14"]]
    code, out, _ = _findings_json(archive)
    assert code == 0
    assert out["evaluation"]["refreshed"] == 0 and out["evaluation"]["stored"] > 0
    assert {f["query_id"] for f in out["findings"]} >= {"attack-tool-ua", "authz-denied-burst"}
    verify = _run("verify", "--archive", str(archive))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "2/2 manifests" in verify.stdout  # the ingest and the evaluation that followed it


def test_without_evaluation_at_commit_the_first_read_computes_and_stores(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    _ingest(archive, env={"KANALYTICS_EVALUATE_ON_COMMIT": "0"})
    assert kanalytics.open_archive(archive).store.findings_files() == []
    code, first, _ = _findings_json(archive)
    assert code == 0 and first["evaluation"]["stored"] == 0 and first["evaluation"]["refreshed"] > 0
    code, second, _ = _findings_json(archive)
    assert second["evaluation"]["refreshed"] == 0
    assert second["evaluation"]["stored"] == first["evaluation"]["refreshed"]
    assert second["findings"] == first["findings"]


def test_refresh_and_recompute(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    _ingest(archive, env={"KANALYTICS_EVALUATE_ON_COMMIT": "0"})
    refresh = _run("findings", "--archive", str(archive), *PERIOD, "--refresh")
    assert refresh.returncode == 0 and refresh.stdout == ""
    assert "refreshed" in refresh.stderr and "stored" not in refresh.stderr
    again = _run("findings", "--archive", str(archive), *PERIOD, "--refresh", "--json")
    assert json.loads(again.stdout)["refreshed"] == 0
    code, out, stderr = _findings_json(archive, "--recompute")
    assert code == 0
    assert out["evaluation"]["agrees"] is True and out["evaluation"]["differing_queries"] == []
    assert out["evaluation"]["recomputed"] > 0
    assert "the same as stored" in stderr


def test_a_stored_result_that_disagrees_with_the_events_is_reported(tmp_path: Path) -> None:
    """What `--recompute` is for: stored results that do not match the events (here one finding removed from
    a committed findings file, as a faulty incremental evaluation would) are named, and the exit code is 1."""
    archive = tmp_path / "a"
    _ingest(archive)
    store = kanalytics.open_archive(archive).store
    (entry,) = store.findings_files()
    path = store.path(entry.path)
    table = pq.read_table(path)
    metadata = {
        k.decode(): v.decode()
        for k, v in (table.schema.metadata or {}).items()
        if k.startswith(b"kanalytics")
    }
    keep = pa.array([q != "attack-tool-ua" for q in table["query_id"].to_pylist()])
    store.commit_findings(
        [("prod", "2026-10-14", table.filter(keep).replace_schema_metadata(None), metadata)], [entry.path]
    )
    code, out, stderr = _findings_json(archive, "--recompute")
    assert code == 1
    assert out["evaluation"]["agrees"] is False
    assert out["evaluation"]["differing_queries"] == ["attack-tool-ua"]
    assert "they differ for attack-tool-ua" in stderr
    # Without --recompute the stored (wrong) result is what is read: which is why the report can re-check it.
    code, stored, _ = _findings_json(archive)
    assert "attack-tool-ua" not in {f["query_id"] for f in stored["findings"]}


def test_report_states_where_its_findings_came_from(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    _ingest(archive)
    out = tmp_path / "report"
    result = _run("report", "--archive", str(archive), *PERIOD, "--out", str(out), "--format", "json,html",
                  "--recompute")  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["evaluation"]["agrees"] is True
    assert "recomputed from the events" in run["results"] and "the same as stored" in run["results"]
    assert "the same as stored" in (out / "report.html").read_text()


def test_a_first_per_period_detection_reads_once_per_period(tmp_path: Path) -> None:
    """attack-tool-ua keeps one row per identity, address and agent per UTC day (day-additive storage); read
    over a period it reports the first one only (header first_per_period), as a single run over the period."""
    base = [json.loads(line) for line in INPUT[0].read_text().splitlines() if line.strip()]
    events = []
    for day in range(3):  # the same recon tool on October 14, 15 and 16
        for event in base:
            copy = json.loads(json.dumps(event))
            for key in ("requestReceivedTimestamp", "stageTimestamp"):
                copy[key] = copy[key].replace("2026-10-14", f"2026-10-{14 + day}")
            copy["auditID"] = f"{event['auditID'][:-2]}{day:02d}"
            events.append(copy)
    source = tmp_path / "three-days.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events))
    archive = tmp_path / "a"
    assert _run("ingest", str(source), "--archive", str(archive), "--cluster", "prod").returncode == 0
    result = _run(
        "findings", "--archive", str(archive), "--from", "2026-10-14", "--to", "2026-10-17", "--json"
    )
    found = [f for f in json.loads(result.stdout)["findings"] if f["query_id"] == "attack-tool-ua"]
    assert [f["ts"][:10] for f in found] == ["2026-10-14"]
    one_day = _run(
        "findings", "--archive", str(archive), "--from", "2026-10-15", "--to", "2026-10-16", "--json"
    )
    assert [
        f["ts"][:10] for f in json.loads(one_day.stdout)["findings"] if f["query_id"] == "attack-tool-ua"
    ] == ["2026-10-15"]
