"""The archive on an S3-compatible object store (moto's server on loopback): the same results as a local
archive of the same input, and the archive's guarantees (atomic commits, one writer, committed files only)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from kanalytics import synth
from kanalytics.api import Archive
from kanalytics.archive import manifest as manifests
from kanalytics.archive.compact import compact_archive
from kanalytics.archive.layout import Layout
from kanalytics.archive.retention import apply_retention, plan_retention
from kanalytics.archive.s3 import Lease, S3Storage
from kanalytics.archive.verify import verify_archive
from kanalytics.errors import ArchiveLockedError, UsageError

from .conftest import RequestLog, make_bucket
from .retention_fixtures import build_archive, day_events, days, settings

START = date(2026, 3, 1)


@pytest.fixture(scope="module")
def month_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("s3-month") / "audit.jsonl"
    synth.generate(out, start=START, days=3, events=6_000, seed=7)
    return out


@pytest.fixture(scope="module")
def pair(
    s3_env: RequestLog, month_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Archive, Archive]:
    """The same month ingested into a local archive and into s3://same-results/a."""
    make_bucket("same-results")
    local, remote = Archive(tmp_path_factory.mktemp("local") / "a"), Archive("s3://same-results/a")
    got_local = local.ingest([month_file], cluster="demo")
    got_remote = remote.ingest([month_file], cluster="demo")
    assert (got_remote.archived, got_remote.files_written) == (got_local.archived, got_local.files_written)
    assert got_remote.archived == 6_000
    return local, remote


def _export(archive: Archive) -> bytes:
    out = io.BytesIO()
    archive.export(out, start="2026-03-01", end="2026-03-04")
    return out.getvalue()


def _keys(bucket: str, prefix: str) -> list[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def test_ingest_export_and_dedupe_match_a_local_archive(
    pair: tuple[Archive, Archive], month_file: Path
) -> None:
    local, remote = pair
    exported = _export(remote)
    assert exported == _export(local)
    assert exported.count(b"\n") == 6_000
    again = remote.ingest([month_file], cluster="demo")
    assert (again.archived, again.duplicates, again.manifest_seq) == (0, 6_000, None)


def test_findings_match_a_local_archive(pair: tuple[Archive, Archive]) -> None:
    local, remote = pair

    def rows(archive: Archive) -> list[tuple[str, str]]:
        result = archive.findings(start="2026-03-01", end="2026-03-04")
        return sorted((f.query_id, repr(sorted(f.to_json().items()))) for f in result.findings)

    expected = rows(local)
    assert expected  # the synthetic month carries incidents
    assert rows(remote) == expected
    assert _keys("same-results", "a/_findings/")  # stored as archive data, through the chain


def test_sql_reads_the_same_rows_through_both_read_paths(
    pair: tuple[Archive, Archive], monkeypatch: pytest.MonkeyPatch
) -> None:
    local, remote = pair
    query = "SELECT verb, count(*) AS n FROM events WHERE namespace IS NOT NULL GROUP BY verb ORDER BY verb"
    expected = local.sql(query).rows()
    assert remote.sql(query).rows() == expected
    monkeypatch.setattr("kanalytics.archive.reader.REMOTE_READ", "dataset")
    assert remote.sql(query).rows() == expected


def test_verify_passes_then_names_an_object_overwritten_behind_the_archive(s3_env: RequestLog) -> None:
    make_bucket("verify-me")
    archive = build_archive("s3://verify-me/x", days(date(2026, 1, 1), 2))  # type: ignore[arg-type]
    report = archive.verify()
    assert report.ok and report.files_total == report.files_valid == 2
    victim = _keys("verify-me", "x/events/cluster=c1/date=2026-01-02/")[0]
    boto3.client("s3").put_object(Bucket="verify-me", Key=victim, Body=b"not the committed file")
    report = archive.verify()
    assert not report.ok
    assert [p.line() for p in report.problems] == [
        f"File {victim[2:]} INVALID: hash value doesn't match (size 22 != "
        f"{next(e.bytes for e, _ in _live(archive) if e.path == victim[2:])} recorded in manifest 1)"
    ]


def _live(archive: Archive) -> list[tuple[Any, int]]:
    from kanalytics.archive.chain import replay

    return list(replay(archive.layout).live.values())


def test_retention_deletes_exactly_the_planned_partitions(
    s3_env: RequestLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket("retain")
    archive = build_archive("s3://retain/r", days(date(2025, 1, 1), 4))  # type: ignore[arg-type]
    policy = settings(keep_days=59)  # cutoff 2025-01-03 00:00 UTC
    plan = plan_retention(archive.layout, policy, today=date(2025, 3, 3))
    assert ([(p.date, p.action) for p in plan.partitions], plan.kept) == (
        [("2025-01-01", "delete"), ("2025-01-02", "delete")],
        2,
    )
    planned = sorted(p.date for p in plan.deletions)
    assert planned == ["2025-01-01", "2025-01-02"]
    # Within the grace period the committed deletion leaves the objects for a later writer run...
    result = apply_retention(archive.layout, policy, today=date(2025, 3, 3))
    assert (result.deleted_partitions, result.deleted_files, result.deferred_files) == (2, 2, 2)
    assert len(_keys("retain", "r/events/")) == 4
    report = archive.verify()
    assert report.ok and report.deleted_files == 2 and report.deleted_dates == planned
    # ...which deletes them once it has passed; verify still accounts for them as deleted by policy.
    archive.layout.delete_grace_seconds = 0.0
    assert manifests.purge_removed(archive.layout) == 0
    left = [k.split("/")[3] for k in _keys("retain", "r/events/")]
    assert left == ["date=2025-01-03", "date=2025-01-04"]
    report = archive.verify()
    assert report.ok and report.deleted_dates == planned and report.files_total == 2


def test_compaction_keeps_the_same_rows(s3_env: RequestLog) -> None:
    make_bucket("compact")
    archive = build_archive("s3://compact/c", days(date(2025, 5, 1), 2), batches=3)  # type: ignore[arg-type]
    before = _export_all(archive)
    archive.layout.delete_grace_seconds = 0.0
    result = compact_archive(archive.layout, older_than=__import__("datetime").timedelta(days=1))
    assert [(c.files_before, c.files_after, c.rows) for c in result.compacted] == [(3, 1, 9), (3, 1, 9)]
    assert _export_all(archive) == before
    assert len(_keys("compact", "c/events/")) == 2  # the old files are gone (grace 0)
    assert archive.verify().ok


def _export_all(archive: Archive) -> list[bytes]:
    out = io.BytesIO()
    archive.store.export(out)
    return sorted(out.getvalue().splitlines())


def test_two_writers_racing_for_one_seq_exactly_one_commits(s3_env: RequestLog, tmp_path: Path) -> None:
    """Both read the chain before either commits (a writer whose lease expired, say): the conditional put of
    manifest 2 lets exactly one through; the loser's upload is removed and nothing of it is visible."""
    make_bucket("race")
    archive = build_archive("s3://race/w", [date(2026, 2, 1)])  # type: ignore[arg-type]
    first, second = Layout("s3://race/w"), Layout("s3://race/w")
    previous = manifests.last_manifest(first)
    entries = []
    for layout, name in ((first, "one"), (second, "two")):
        relpath = f"events/cluster=c1/date=2026-02-01/{name}.parquet"
        staged = layout.tmp_path(relpath)
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(b"PAR1 not read")
        entries.append(manifests.FileEntry(relpath, "0" * 64, staged.stat().st_size))
    real = manifests.last_manifest
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifests, "last_manifest", lambda layout: previous)
        manifests.append_manifest(first, "ingest", added=[entries[0]])
        with pytest.raises(ArchiveLockedError, match="another writer committed manifest seq 2 first"):
            manifests.append_manifest(second, "ingest", added=[entries[1]])
    assert real(first).seq == 2 and [e.path for e in real(first).files_added] == [entries[0].path]
    assert not [k for k in _keys("race", "w/events/") if k.endswith("two.parquet")]
    assert [k.rsplit("/", 1)[1] for k in _keys("race", "w/_manifests/")] == [
        "0000000001.json",
        "0000000002.json",
    ]
    del archive


def test_concurrent_ingests_one_at_a_time(s3_env: RequestLog) -> None:
    make_bucket("writers")
    errors: list[BaseException] = []
    done: list[int] = []
    barrier = threading.Barrier(2)

    def ingest(day: date) -> None:
        archive = Archive("s3://writers/z")
        barrier.wait()
        try:
            done.append(archive.store.ingest_events(day_events(day, 50), cluster="c1").manifest_seq or 0)
        except ArchiveLockedError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(d,)) for d in days(date(2026, 4, 1), 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(done) == list(range(1, len(done) + 1)) and len(done) + len(errors) == 2
    assert all("is being written by another process" in str(e) for e in errors)
    assert verify_archive(Layout("s3://writers/z")).ok


def test_the_lease_is_taken_over_only_after_it_expired(s3_env: RequestLog) -> None:
    make_bucket("leases")
    storage = S3Storage.from_url("s3://leases/l")
    dead = Lease(storage, "_state/writer.lease", seconds=1.0)
    dead.acquire()
    dead._stop.set()  # a writer killed without releasing: its lease is no longer renewed
    with pytest.raises(ArchiveLockedError, match="being written by another process"):
        Lease(storage, "_state/writer.lease", seconds=1.0).acquire()
    time.sleep(1.2)
    taker = Lease(storage, "_state/writer.lease", seconds=30.0)
    taker.acquire()
    taker.release()
    assert storage.head("_state/writer.lease") is None


def test_a_writer_killed_after_its_upload_leaves_nothing_visible(s3_env: RequestLog) -> None:
    make_bucket("killed")
    archive = build_archive("s3://killed/k", [date(2026, 6, 1)])  # type: ignore[arg-type]
    before = _export_all(archive)
    script = (
        "import os, sys\n"
        "from datetime import date\n"
        "from kanalytics.archive import s3\n"
        "s3.S3Storage.put_if_absent = lambda self, key, data: os._exit(9)\n"
        "sys.path.insert(0, '.')\n"
        "from tests.archive.retention_fixtures import day_events\n"
        "import kanalytics\n"
        "kanalytics.open_archive('s3://killed/k').store.ingest_events(day_events(date(2026, 6, 2), 5), cluster='c1')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=dict(os.environ), cwd=Path(__file__).parents[2], timeout=120
    )
    assert proc.returncode == 9
    orphans = [k for k in _keys("killed", "k/events/") if "date=2026-06-02" in k]
    assert len(orphans) == 1  # uploaded, never committed
    assert _export_all(archive) == before
    assert [k.rsplit("/", 1)[1] for k in _keys("killed", "k/_manifests/")] == ["0000000001.json"]
    report = archive.verify()
    assert [p.line() for p in report.problems] == [
        f"File {orphans[0][2:]} INVALID: present but in no manifest (unexpected file)"
    ]


def test_reading_one_day_of_30_lists_only_manifests(
    s3_env: RequestLog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    make_bucket("listing")
    archive = build_archive("s3://listing/m", days(date(2026, 1, 1), 30))  # type: ignore[arg-type]
    archive.store.ingest_events(
        [e for d in days(date(2026, 1, 1), 30) for e in day_events(d, 2, hour=15)], cluster="c1"
    )
    fresh = Archive("s3://listing/m")  # a new process's view: nothing cached in the chain snapshot
    from kanalytics.archive import chain

    chain._remote_cache.clear()
    monkeypatch.setenv("KANALYTICS_S3_CACHE", str(tmp_path / "cold-cache"))
    s3_env.clear()
    query = "SELECT count(*) AS n FROM events"
    assert fresh.sql(query, start="2026-01-15", end="2026-01-15T23:00:00").rows() == [(5,)]
    lists = s3_env.lists("listing")
    assert lists and all(prefix.startswith("m/_manifests/") for prefix in lists)
    gets = [path for method, path, _ in s3_env.requests if method == "GET" and "/events/" in path]
    assert gets and all("date=2026-01-15" in path for path in gets)
    assert len(gets) == 2  # the day's two committed files, each fetched once


def test_missing_boto3_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(UsageError) as caught:
        Layout("s3://any-bucket/p")
    assert "pip install 'kanalytics[s3]'" in str(caught.value)


def test_credentials_never_show_in_reprs_or_errors(s3_env: RequestLog) -> None:
    storage = S3Storage.from_url("s3://no-such-bucket-here/p")
    assert "testing" not in repr(storage) + repr(storage.settings)
    with pytest.raises(Exception) as caught:
        storage.read_bytes("_manifests/0000000001.json")
    assert "testing" not in str(caught.value)
