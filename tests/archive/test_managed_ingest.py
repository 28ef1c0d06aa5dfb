"""EKS, AKS and GKE exports through ingest: the same archive rows as native input, skipped records counted,
the envelope's cluster as partition key unless --cluster is given, and GKE entries exported as they came."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import kanalytics
from kanalytics.cli import app
from tests.conftest import shared_data
from tests.sources.fixtures import FIXTURES
from tests.sources.test_dispatch import AKS_CLUSTER, EKS_CLUSTER, WRAPPING

GKE_ENTRIES = sorted(p.name for p in FIXTURES.glob("gke_*.json"))


def rows(root: Path) -> dict[str, list[dict[str, Any]]]:
    """The archive's Parquet rows by partition, sorted (file names and order are this run's own)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((root / "events").rglob("*.parquet")):
        partition = str(path.parent.relative_to(root / "events"))
        found.setdefault(partition, []).extend(pq.read_table(path).to_pylist())
    key = lambda row: (row["request_ts"], row["audit_id"], row["stage"], row["event_hash"])  # noqa: E731
    return {partition: sorted(items, key=key) for partition, items in found.items()}


def ingest(root: Path, *paths: Path, **options: Any) -> Any:
    summary = kanalytics.open_archive(root).ingest(list(paths), **options)
    assert (
        summary.read == summary.archived + summary.duplicates + summary.quarantined + summary.records_skipped
    )
    return summary


@pytest.mark.parametrize("name", sorted(WRAPPING))
def test_every_envelope_archives_exactly_the_rows_of_its_native_events(tmp_path: Path, name: str) -> None:
    native = ingest(tmp_path / "native", FIXTURES / "native.jsonl", cluster="c")
    wrapped = ingest(tmp_path / "wrapped", FIXTURES / name, cluster="c")
    skipped = WRAPPING[name][1]
    assert (wrapped.archived, wrapped.quarantined) == (native.archived, 0) == (6, 0)
    assert (wrapped.records_skipped, wrapped.records_skipped_reasons) == (sum(skipped.values()), skipped)
    assert rows(tmp_path / "wrapped") == rows(tmp_path / "native")


def test_the_cluster_comes_from_the_envelope_unless_given(tmp_path: Path) -> None:
    inputs = (FIXTURES / "eks-awslogs.json", FIXTURES / "aks-records.json", FIXTURES / "native.jsonl")
    named = ingest(tmp_path / "named", *inputs)
    assert named.clusters == sorted([EKS_CLUSTER, AKS_CLUSTER, "default"])
    assert named.archived == 18 and named.duplicates == 0  # one partition set per cluster: no cross-dedupe
    by_cluster = {p.split("/")[0] for p in rows(tmp_path / "named")}
    assert by_cluster == {f"cluster={c}" for c in named.clusters}
    given = ingest(tmp_path / "given", *inputs, cluster="prod")
    assert given.clusters == ["prod"]
    assert (given.archived, given.duplicates) == (6, 12)


def test_a_gke_entry_is_exported_as_it_came_and_native_export_has_no_bookkeeping(tmp_path: Path) -> None:
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest([FIXTURES / name for name in GKE_ENTRIES], redact=False)
    entries: list[Any] = []
    for name in GKE_ENTRIES:  # one LogEntry a file, or an array of them as `gcloud logging read` prints
        document = json.loads((FIXTURES / name).read_bytes())
        entries.extend(document if isinstance(document, list) else [document])
    assert (summary.archived, summary.quarantined, summary.clusters) == (len(entries), 0, ["prod-eu"])
    original, native = io.BytesIO(), io.BytesIO()
    assert archive.export(original) == archive.export(native, format="native") == len(entries) == 11
    key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert sorted(map(key, map(json.loads, original.getvalue().splitlines()))) == sorted(map(key, entries))
    events = [json.loads(line) for line in native.getvalue().splitlines()]
    assert all("_kanalytics" not in e and e["kind"] == "Event" for e in events)


def test_an_unknown_export_format_is_a_usage_error(tmp_path: Path) -> None:
    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest([FIXTURES / "native.jsonl"])
    with pytest.raises(kanalytics.errors.UsageError, match="unknown export format 'yaml'"):
        archive.export(io.BytesIO(), format="yaml")


# -- the CLI ----------------------------------------------------------------------------------------------
def test_cli_summary_counts_skipped_records_with_their_reasons(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ingest", str(FIXTURES / "aks-records.json"), "--archive", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("read 9: archived 6, duplicates 0, quarantined 0, skipped 3 (")
    assert (
        "skipped 3 record(s) that are not audit events (AKS log category cluster-autoscaler: not an audit "
        "category: 1, AKS log category guard: not an audit category: 1, AKS log category kube-apiserver: not "
        "an audit category: 1)"
    ) in lines
    assert "wrote 2 file(s) in 2 partition(s), manifest 1" in lines  # native.jsonl spans two days
    assert [p.name for p in (tmp_path / "events").iterdir()] == [f"cluster={AKS_CLUSTER}"]


def test_cli_forced_format_quarantines_with_the_readers_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["ingest", str(FIXTURES / "native.jsonl"), "--archive", str(tmp_path), "--format", "gke", "--json"],
    )
    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    assert summary["quarantine_reasons"] == {"GKE LogEntry without protoPayload": 6}
    bad = CliRunner().invoke(
        app, ["ingest", str(FIXTURES / "native.jsonl"), "--archive", str(tmp_path), "--format", "x"]
    )
    assert bad.exit_code == 2


def test_cli_export_format_native_and_original(tmp_path: Path) -> None:
    archive = str(tmp_path / "a")
    runner = CliRunner()
    assert (
        runner.invoke(app, ["ingest", str(FIXTURES / "gke_exec.json"), "--archive", archive]).exit_code == 0
    )
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["export", "--archive", archive, "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_bytes()) == json.loads((FIXTURES / "gke_exec.json").read_bytes())
    assert (
        runner.invoke(app, ["export", "--archive", archive, "-o", str(out), "--format", "native"]).exit_code
        == 0
    )
    assert "_kanalytics" not in json.loads(out.read_bytes())


# -- the real samples in ../shared --------------------------------------------------------------------------
def test_aks_event_hub_sample_archives_all_22_events(tmp_path: Path) -> None:
    summary = ingest(tmp_path / "a", shared_data("aks-sysdig", "event.json"))
    assert (summary.read, summary.archived, summary.quarantined, summary.records_skipped) == (22, 22, 0, 0)
    assert summary.clusters == ["KUBETEST"]


def test_gke_samples_are_three_log_entries_and_one_native_event(tmp_path: Path) -> None:
    summary = ingest(tmp_path / "a", shared_data("gke-khi"))
    assert (summary.read, summary.archived, summary.quarantined) == (4, 4, 0)
    assert summary.clusters == ["default", "sample-cluster"]
    by_cluster = {p: len(r) for p, r in rows(tmp_path / "a").items()}
    assert sum(n for p, n in by_cluster.items() if p.startswith("cluster=sample-cluster/")) == 3


@pytest.mark.parametrize(
    ("folder", "archived", "quarantined"),
    [("falco-traces", 51, 1), ("audit2rbac", 37, 0), ("gke-khi", 4, 0), ("aks-sysdig", 24, 0)],
)
def test_every_real_sample_folder_ingests_without_quarantined_audit_records(
    tmp_path: Path, folder: str, archived: int, quarantined: int
) -> None:
    summary = ingest(tmp_path / "a", shared_data(folder), cluster="c")
    assert (summary.archived, summary.quarantined) == (archived, quarantined)
    if quarantined:  # falco's fal_01_003.json, deliberately not an Event
        assert summary.quarantine_reasons == {"not an audit event": 1}  # reasons are counted by their head


def test_batch_schema_drops_the_routing_columns() -> None:
    from kanalytics.archive.convert import BATCH_SCHEMA, CLUSTER_COLUMN, DAY_COLUMN
    from kanalytics.archive.schema import ARROW_SCHEMA

    assert BATCH_SCHEMA.names == [*ARROW_SCHEMA.names, DAY_COLUMN, CLUSTER_COLUMN]
    assert pa.types.is_string(BATCH_SCHEMA.field(CLUSTER_COLUMN).type)
