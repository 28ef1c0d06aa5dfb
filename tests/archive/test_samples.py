"""Conformance with real third-party samples in ../shared (skipped when absent): counts and round trips."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import kanalytics
from tests.conftest import shared_data


def _instants(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    for key in ("requestReceivedTimestamp", "stageTimestamp"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key].replace("Z", "+00:00"))
    return out


def _native_events(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        document = json.loads(data)
        return document["items"] if document.get("kind") == "EventList" else [document]
    except json.JSONDecodeError:
        return [json.loads(line) for line in data.splitlines() if line.strip()]


def _round_trip(archive_root: Path, inputs: list[Path], cluster: str) -> tuple[Any, list[dict[str, Any]]]:
    archive = kanalytics.open_archive(archive_root)
    summary = archive.ingest(inputs, cluster=cluster, redact=False)
    out = io.BytesIO()
    archive.export(out)
    return summary, [json.loads(line) for line in out.getvalue().splitlines()]


def _same_events(exported: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    key = lambda e: json.dumps(_instants(e), sort_keys=True, default=str)  # noqa: E731
    assert sorted(map(key, exported)) == sorted(map(key, expected))


def test_falco_traces(tmp_path: Path) -> None:
    folder = shared_data("falco-traces")
    summary, exported = _round_trip(tmp_path / "a", [folder], "minikube")
    assert (summary.read, summary.archived, summary.duplicates, summary.quarantined) == (52, 51, 0, 1)
    assert summary.collisions == 2  # two pairs of different events share an auditID; both kept
    expected = [
        e for f in sorted(folder.glob("*.json")) if f.name != "fal_01_003.json" for e in _native_events(f)
    ]
    _same_events(exported, expected)
    again = kanalytics.open_archive(tmp_path / "a").ingest([folder], cluster="minikube")
    # redaction on: the 6 ConfigMaps holding "aws_secret_access_key = MY-KEY" get new content hashes
    assert (again.archived, again.duplicates, again.quarantined) == (6, 45, 1)


def test_audit2rbac_legacy_timestamps(tmp_path: Path) -> None:
    path = shared_data("audit2rbac", "demo.log")
    summary, exported = _round_trip(tmp_path / "a", [path], "demo")
    assert (summary.archived, summary.quarantined) == (37, 0)
    _same_events(exported, _native_events(path))
    assert all("requestReceivedTimestamp" not in e for e in exported)


def test_single_pretty_printed_events(tmp_path: Path) -> None:
    aks = shared_data("aks-sysdig", "sample_KubeAuditLog_event.json")
    gke = shared_data("gke-khi", "test-log.json")
    assert aks.read_bytes().startswith(b"\xef\xbb\xbf")
    summary, exported = _round_trip(tmp_path / "a", [aks, gke], "c")
    assert (summary.read, summary.archived, summary.quarantined) == (2, 2, 0)
    _same_events(exported, _native_events(aks) + _native_events(gke))
