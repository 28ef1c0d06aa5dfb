"""Findings files: detection results stored as archive data under `_findings/`, through the manifest chain:
round trip, supersession, verify, path checks, retention and holds, recovery after a kill, kept apart from
events and from compaction."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kanalytics.archive import manifest as manifests
from kanalytics.archive.api import Store
from kanalytics.archive.chain import replay, snapshot
from kanalytics.archive.compact import compact_archive
from kanalytics.archive.findings_files import FindingsPart, read_findings_metadata, write_findings
from kanalytics.archive.holds import add_hold
from kanalytics.archive.layout import Partition, relpath_problem
from kanalytics.archive.lock import writer_lock
from kanalytics.archive.manifest import FileEntry, Manifest, encode, iter_manifests, last_manifest
from kanalytics.archive.retention import apply_retention, plan_retention
from kanalytics.archive.verify import verify_archive
from kanalytics.errors import ArchiveError
from tests.archive.retention_fixtures import build_archive, days, settings

D1, D2, D3 = days(date(2025, 1, 1), 3)
TODAY = date(2025, 3, 1)
OLD_POLICY = settings(keep_days=58)  # cutoff 2025-01-02 00:00 UTC: only 2025-01-01 (and earlier) is out


def findings(day: date, count: int = 2, query: str = "exec-into-pod") -> pa.Table:
    start = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return pa.table(
        {
            "query_id": [query] * count,
            "ts": pa.array(
                [start + timedelta(minutes=i) for i in range(count)], pa.timestamp("us", tz="UTC")
            ),
            "summary": [f"finding {i}" for i in range(count)],
        }
    )


def meta(day: date) -> dict[str, str]:
    return {
        "kanalytics.query_hash": "ab" * 32,
        "kanalytics.inputs": f'["events/cluster=c1/date={day}/x.parquet"]',
    }


def store_with_events(root: Path, event_days: list[date] | None = None) -> Store:
    build_archive(root, [D1, D2, D3] if event_days is None else event_days)
    return Store(root)


def test_round_trip_two_parts_through_the_chain_with_metadata(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a")
    committed = store.commit_findings(
        [
            FindingsPart("c1", D1, findings(D1), meta(D1), label="exec-into-pod"),
            ("c1", D2, findings(D2, 3), meta(D2)),
        ]
    )
    assert committed is not None and committed.operation == "evaluate" and committed.seq == 2
    assert committed.details == {
        "findings_added": 2,
        "findings_removed": 0,
        "partitions": ["_findings/cluster=c1/date=2025-01-01", "_findings/cluster=c1/date=2025-01-02"],
    }
    first, second = committed.files_added
    assert first.path.startswith(
        "_findings/cluster=c1/date=2025-01-01/exec-into-pod-"
    ) and first.path.endswith("-0.parquet")
    assert second.path.startswith("_findings/cluster=c1/date=2025-01-02/") and second.path.endswith(
        "-1.parquet"
    )
    assert [(e.kind, e.rows, e.min_ts, e.max_ts) for e in committed.files_added] == [
        ("findings", 2, "2025-01-01T12:00:00.000000Z", "2025-01-01T12:01:00.000000Z"),
        ("findings", 3, "2025-01-02T12:00:00.000000Z", "2025-01-02T12:02:00.000000Z"),
    ]
    # Readers find them from the chain snapshot, by date range (end exclusive) and cluster.
    assert store.findings_files() == [first, second]
    assert store.findings_files(start_date=D2) == [second]
    assert store.findings_files(end_date=D2) == [first]
    assert store.findings_files(clusters=["other"]) == []
    assert snapshot(store.layout).findings_by_partition() == {
        Partition("c1", D1): [first],
        Partition("c1", D2): [second],
    }
    # The rows and the footer metadata come back as written; the file is zstd.
    table = pq.read_table(store.path(second.path))
    assert table.select(["query_id", "ts", "summary"]).equals(findings(D2, 3))
    assert read_findings_metadata(store.layout, second.path) == meta(D2)
    assert pq.ParquetFile(store.path(first.path)).metadata.row_group(0).column(0).compression == "ZSTD"
    assert verify_archive(store.layout).summary() == "2/2 manifests valid, 5/5 files valid"
    assert (store.info().files, store.info().findings_files) == (3, 2)


def test_superseded_results_go_in_the_same_manifest_and_stale_removals_write_nothing(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a")
    old = store.commit_findings([("c1", D1, findings(D1), meta(D1)), ("c1", D2, findings(D2), meta(D2))])
    assert old is not None
    old_d1, old_d2 = old.files_added
    new = store.commit_findings([("c1", D1, findings(D1, 1), {"v": "2"})], remove=[old_d1.path])
    assert new is not None and new.files_removed == [old_d1] and len(new.files_added) == 1
    assert store.findings_files() == [new.files_added[0], old_d2]
    assert not store.layout.path(old_d1.path).exists()  # no reader: deleted at once
    report = verify_archive(store.layout)
    assert (
        report.ok and report.deleted_files == 0 and report.summary() == "3/3 manifests valid, 5/5 files valid"
    )
    # A removal that is no longer live (or is not a findings file) refuses the whole change.
    seq = last_manifest(store.layout).seq  # type: ignore[union-attr]
    events_file = replay(store.layout).live_by_partition()[Partition("c1", D3)][0].path
    for stale in (old_d1.path, events_file):
        with pytest.raises(ArchiveError, match="nothing was written") as caught:
            store.commit_findings([("c1", D3, findings(D3), {})], remove=[stale])
        assert repr(stale) in str(caught.value)
    assert last_manifest(store.layout).seq == seq  # type: ignore[union-attr]
    assert (
        list(store.layout.findings.rglob("*.tmp")) == []
        and not store.layout.findings_dir(Partition("c1", D3)).exists()
    )
    assert store.commit_findings([], remove=[]) is None


def test_rows_outside_the_partitions_day_are_refused(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a")
    with pytest.raises(
        ArchiveError, match=r"c1/2025-01-02: a row's ts 2025-01-01T12:00:00.000000Z is outside"
    ):
        store.commit_findings([("c1", D2, findings(D1), {})])
    assert last_manifest(store.layout).seq == 1  # type: ignore[union-attr]
    assert [p for p in store.layout.findings.rglob("*") if not p.is_dir()] == []  # its temporary file is gone


def test_verify_catches_modified_missing_and_unexpected_findings_files(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a")
    committed = store.commit_findings([("c1", D1, findings(D1), {}), ("c1", D2, findings(D2), {})])
    assert committed is not None
    modified, missing = committed.files_added
    with open(store.layout.path(modified.path), "ab") as handle:
        handle.write(b"x")
    store.layout.path(missing.path).unlink()
    stray = store.layout.findings_dir(Partition("c1", D3))
    stray.mkdir(parents=True)
    (stray / "planted.parquet").write_bytes(b"PAR1")
    report = verify_archive(store.layout)
    assert [p.line() for p in report.problems] == [
        f"File {modified.path} INVALID: hash value doesn't match (size {modified.bytes + 1} != {modified.bytes} "
        "recorded in manifest 2)",
        f"File {missing.path} INVALID: not found",
        "File _findings/cluster=c1/date=2025-01-03/planted.parquet INVALID: present but in no manifest (unexpected file)",
    ]
    assert report.unvalidated_dates == ["2025-01-01", "2025-01-02", "2025-01-03"]
    # Findings files are dated by their partition: a request for one day checks that day's only.
    assert [p.path for p in verify_archive(store.layout, start=D2, end=D2).problems] == [missing.path]


@pytest.mark.parametrize(
    ("relpath", "kind", "problem"),
    [
        ("_findings/cluster=c1/date=2025-01-01/r.parquet", "findings", None),
        ("_findings/cluster=c1/date=2025-01-01/r.parquet", None, None),
        ("_findings/../x", "findings", "is not normalised (empty, '.' or '..' segment)"),
        ("_findings/cluster=c1/date=2025-01-01/../../../x.parquet", "findings",
         "is not normalised (empty, '.' or '..' segment)"),
        ("_findings/r.parquet", "findings", "is not a file directly under _findings/ inside a cluster=/date= partition"),
        ("_findings/cluster=c1/date=2025-01-01/r.json", "findings",
         "is not a file directly under _findings/ inside a cluster=/date= partition"),
        ("_findings/cluster=c1/date=2025-01-01/sub/r.parquet", "findings",
         "is not a file directly under _findings/ inside a cluster=/date= partition"),
        ("_findings/cluster=c1/date=2025-01-01/.r.parquet", "findings",
         "is not a file directly under _findings/ inside a cluster=/date= partition"),
        ("events/cluster=c1/date=2025-01-01/r.parquet", "findings",
         "is not a file directly under _findings/ inside a cluster=/date= partition"),
        ("_findings/cluster=c1/date=2025-01-01/r.parquet", "events",
         "is not a file directly under events/ inside a cluster=/date= partition"),
    ],
)  # fmt: skip
def test_findings_paths_are_checked_like_events_paths(
    relpath: str, kind: str | None, problem: str | None
) -> None:
    assert relpath_problem(relpath, kind) == problem


def test_forged_manifest_naming_a_path_outside_findings_is_refused(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a")
    previous = last_manifest(store.layout)
    assert previous is not None
    forged = Manifest(
        seq=previous.seq + 1,
        created_at="2025-01-05T00:00:00.000000Z",
        operation="evaluate",
        prev_sha256=previous.sha256,
        files_added=[FileEntry("_findings/../x", "0" * 64, 4, kind="findings")],
    )
    store.layout.manifest_file(forged.seq).write_bytes(encode(forged))
    with pytest.raises(
        ArchiveError, match=r"0000000002.json: refusing this manifest: files_added\[0\] path '_findings/../x'"
    ):
        store.findings_files()
    with pytest.raises(ArchiveError, match="refusing this manifest"):
        store.commit_findings([("c1", D1, findings(D1), {})])
    assert [p.line() for p in verify_archive(store.layout).problems] == [
        "Manifest _manifests/0000000002.json INVALID: files_added[0] path '_findings/../x' is not normalised "
        "(empty, '.' or '..' segment): forged or corrupted"
    ]


def test_retention_deletes_findings_with_their_partition_and_findings_only_partitions(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a", [D1, D2])
    earlier = date(2024, 12, 31)  # no events that day: a partition holding findings files only
    committed = store.commit_findings(
        [("c1", D1, findings(D1), {}), ("c1", D2, findings(D2), {}), ("c1", earlier, findings(earlier), {})]
    )
    assert committed is not None
    (events_d1,) = replay(store.layout).live_by_partition()[Partition("c1", D1)]
    plan = plan_retention(store.layout, OLD_POLICY, today=TODAY)
    assert plan.key() == [("c1", "2024-12-31"), ("c1", "2025-01-01")]
    assert [(p.files, p.findings_files, p.events) for p in plan.deletions] == [(1, 1, 0), (2, 1, 3)]
    assert " files=2 (1 findings) size=" in plan.lines()[2]
    result = apply_retention(store.layout, OLD_POLICY, today=TODAY, approved=plan.key())
    assert (result.deleted_partitions, result.deleted_files, result.deleted_findings_files, result.deleted_events) == (
        2, 3, 2, 3,
    )  # fmt: skip
    last = last_manifest(store.layout)
    assert last is not None and last.operation == "retention-delete"
    d1_findings, _, earlier_findings = committed.files_added
    assert last.files_removed == [earlier_findings, events_d1, d1_findings]
    assert [(d["date"], d["files"], d["rows"], d["findings_files"]) for d in last.details["partitions"]] == [
        ("2024-12-31", 1, 0, 1),
        ("2025-01-01", 2, 3, 1),
    ]
    assert store.findings_files() == [committed.files_added[1]]
    assert not store.layout.findings_dir(Partition("c1", D1)).exists()
    assert not store.layout.findings_dir(Partition("c1", earlier)).exists()
    report = verify_archive(store.layout)
    assert report.ok and report.summary().endswith("deleted by policy: 3 files (2024-12-31..2025-01-01)")


def test_a_hold_keeps_the_partitions_events_and_findings(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a", [D1])
    committed = store.commit_findings([("c1", D1, findings(D1), {})])
    assert committed is not None
    add_hold(store.layout, cluster="c1", start=D1, end=D1, reason="case 42", owner="legal")
    plan = plan_retention(store.layout, OLD_POLICY, today=TODAY)
    assert [(p.action, p.files, p.findings_files) for p in plan.partitions] == [("held", 2, 1)]
    assert apply_retention(store.layout, OLD_POLICY, today=TODAY).deleted_files == 0
    assert store.findings_files() == committed.files_added
    assert len(replay(store.layout).live_by_partition()[Partition("c1", D1)]) == 1


_KILLER = """
import os, signal, sys
from datetime import date
import pyarrow as pa
from kanalytics.archive.api import Store
from kanalytics.archive.findings_files import write_findings

store, step = Store(sys.argv[1]), sys.argv[2]
def hook(at):
    if at == step:
        os.kill(os.getpid(), signal.SIGKILL)
parts = [("c1", date(2025, 1, d), pa.table({"summary": ["new"]}), {"v": "2"}) for d in (1, 2)]
write_findings(store, parts, [sys.argv[3]], hook=hook)
"""


@pytest.mark.parametrize("step", ["after-write", "after-manifest"])
def test_recover_finishes_or_rolls_back_a_killed_evaluate(tmp_path: Path, step: str) -> None:
    store = store_with_events(tmp_path / "a", [D1, D2])
    old = store.commit_findings([("c1", D1, findings(D1), {"v": "1"})])
    assert old is not None
    (superseded,) = old.files_added
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(store.root), step, superseded.path], check=False
    )
    assert proc.returncode == -signal.SIGKILL
    temporary = sorted(p.name for p in store.layout.findings.rglob(".*.tmp"))
    assert len(temporary) == 2
    report = verify_archive(store.layout)
    assert report.ok, report.lines()
    if step == "after-write":  # not committed: readers still see the old result; the next writer rolls back
        assert store.findings_files() == [superseded]
        with writer_lock(store.layout):
            assert manifests.recover(store.layout) == {
                "rolled_forward": 0,
                "rolled_back": 2,
                "deleted": 0,
                "deferred": 0,
            }
        assert store.findings_files() == [superseded] and store.layout.path(superseded.path).is_file()
    else:  # committed: readers read the new files by their temporary names; the next writer publishes them
        live = store.findings_files()
        assert [e.rows for e in live] == [1, 1] and superseded not in live
        assert [read_findings_metadata(store.layout, e.path) for e in live] == [{"v": "2"}, {"v": "2"}]
        assert all(store.path(e.path).name.endswith(".tmp") for e in live)
        with writer_lock(store.layout):
            assert manifests.recover(store.layout) == {
                "rolled_forward": 2,
                "rolled_back": 0,
                "deleted": 1,
                "deferred": 0,
            }
        assert all(store.path(e.path) == store.layout.path(e.path) for e in live)
        assert not store.layout.path(superseded.path).exists()
    assert list(store.layout.findings.rglob(".*.tmp")) == []
    assert verify_archive(store.layout).ok


def test_events_readers_and_compaction_never_touch_findings(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [D1, D2], batches=2)
    store = Store(archive.root)
    # A findings table shaped like events: if the events view read it, the counts would change.
    as_events = archive.sql("select * from events where date = '2025-01-01'").to_arrow()
    committed = store.commit_findings(
        [("c1", D1, findings(D1), {}), ("c1", D1, as_events.drop_columns(["cluster", "date"]), {})]
    )
    assert committed is not None
    assert archive.sql("select count(*) as n from events")["n"][0] == 12
    assert store.sql("select count(*) as n from events")["n"][0] == 12
    before = {e.path: store.layout.path(e.path).read_bytes() for e in committed.files_added}
    result = compact_archive(store.layout, now=datetime(2025, 2, 1, tzinfo=UTC))
    assert [c.partition for c in result.compacted] == [
        "events/cluster=c1/date=2025-01-01",
        "events/cluster=c1/date=2025-01-02",
    ]
    assert all(not e.path.startswith("_findings/") for m in iter_manifests(store.layout) if m.operation == "compact"
               for e in [*m.files_added, *m.files_removed])  # fmt: skip
    assert store.findings_files() == committed.files_added
    assert {e.path: store.layout.path(e.path).read_bytes() for e in committed.files_added} == before
    assert verify_archive(store.layout).ok and archive.sql("select count(*) as n from events")["n"][0] == 12


def test_write_findings_takes_a_layout_too(tmp_path: Path) -> None:
    store = store_with_events(tmp_path / "a", [D1])
    committed = write_findings(store.layout, [FindingsPart("c1", D1, findings(D1, 0))])
    assert committed is not None and [(e.rows, e.min_ts) for e in committed.files_added] == [(0, None)]
    assert read_findings_metadata(store.layout, committed.files_added[0].path) == {}
