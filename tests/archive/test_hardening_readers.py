"""Readers see exactly the committed state: never a file no manifest committed, never a hole during a change.

A file copied into a partition is not read (and the report's integrity statement says verification failed);
a change killed after its manifest leaves readers the new state in full; a reader that opened the old state
keeps its files until it is done, and the next writer deletes them.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kanalytics.api import Archive
from kanalytics.archive import chain, signing
from kanalytics.archive.compact import compact_archive
from kanalytics.archive.retention import apply_retention, retention_status
from kanalytics.archive.verify import verify_archive
from kanalytics.config import Settings
from kanalytics.errors import ArchiveError
from tests.archive.retention_fixtures import build_archive, data_files, days, settings
from tests.conftest import REPO

NOW = datetime(2025, 2, 1, tzinfo=UTC)
COUNT = "SELECT count(*) AS n FROM events"


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(signing.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv(signing.VERIFY_KEY_ENV, raising=False)
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)


def count(archive: Archive) -> int:
    return int(archive.sql(COUNT)["n"][0])


def inject_copy(archive: Archive) -> Path:
    """Copy a committed Parquet file under a new name into its partition, as a tamperer would."""
    source = data_files(archive)[0]
    copy = source.with_name("injected.parquet")
    shutil.copy(source, copy)
    return copy


def test_injected_file_is_not_read_and_the_integrity_statement_says_so(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2))
    assert count(archive) == 6
    copy = inject_copy(archive)
    assert count(archive) == 6  # the copy's 3 rows are not counted
    assert archive.info().events == 6 and archive.info().files == 2
    report = verify_archive(archive.layout)
    rel = copy.relative_to(archive.root).as_posix()
    assert [p.line() for p in report.problems] == [
        f"File {rel} INVALID: present but in no manifest (unexpected file)"
    ]
    period = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    status = retention_status(archive, Settings(), period=period)
    assert status.verification_ok is False
    assert status.verification == (
        "VERIFICATION FAILED (1 problem): 1/1 manifests valid, 2/2 files valid; could not be validated: "
        "2025-01-01. Figures in this report may rest on altered or missing data; run `kanalytics verify` "
        "before relying on them."
    )
    copy.unlink()
    status = retention_status(archive, Settings(), period=period)
    assert status.verification_ok is True
    assert status.verification == (
        "Verified: 1/1 manifests valid, 2/2 files valid (file hashes checked for 2025-01-01 to 2025-01-31); "
        "signatures not checked (the archive is unsigned or no public key is configured)."
    )
    status = retention_status(archive, Settings())
    assert status.verification is not None and status.verification.startswith(
        "Manifest chain verified, data files NOT verified (not hashed): 1/1 manifests valid (files not hashed)"
    )


def test_report_marks_a_failed_verification(tmp_path: Path) -> None:
    from kanalytics.report.api import generate_report

    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2))
    inject_copy(archive)
    outputs = generate_report(
        archive, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC), tmp_path / "out",
        settings=Settings(), formats=["html"],
    )  # fmt: skip
    html = outputs.files["html"].read_text(encoding="utf-8")
    assert html.count("VERIFICATION FAILED (1 problem)") >= 2  # the notes up front and the integrity rows
    assert "files not hashed" not in html


def test_events_without_any_manifest_are_refused_not_globbed(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    shutil.rmtree(archive.layout.manifests)
    with pytest.raises(ArchiveError, match="no manifest commits them"):
        count(archive)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after the hook runs."""


def _kill_at(step: str):  # type: ignore[no-untyped-def]
    def hook(at: str) -> None:
        if at == step:
            raise Killed(at)

    return hook


def test_compaction_killed_after_its_manifest_leaves_readers_every_row(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2), batches=3)
    with pytest.raises(Killed):
        compact_archive(archive.layout, now=NOW, hook=_kill_at("after-manifest"))
    # The new file is committed under its temporary name, the old ones are removed by the manifest: readers
    # read the new file, not the old ones, and no partition goes missing.
    assert count(archive) == 18
    assert archive.sql("SELECT count(DISTINCT date) AS n FROM events")["n"][0] == 2
    assert verify_archive(archive.layout).ok
    archive.ingest_events([], cluster="c1")  # the next writer finishes the change
    assert count(archive) == 18 and len(data_files(archive)) == 4  # 1 compacted + 3 not yet compacted


def test_a_reader_keeps_the_old_files_through_compaction_and_retention(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2), batches=3)
    old = {p.name for p in data_files(archive)}
    con = archive.connect()  # a reader that resolved the old state (six files)
    compact_archive(archive.layout, now=NOW)
    assert {p.name for p in data_files(archive)} >= old  # not deleted under the reader
    assert con.execute(COUNT).fetchone() == (18,)
    assert count(archive) == 18  # a new reader reads the two compacted files only
    report = verify_archive(archive.layout)
    assert report.ok and len(report.notes) == 7  # six old files kept for readers, plus the unsigned note
    assert report.notes[0].startswith("the archive is unsigned")
    assert all(
        "still present until no reader can need it (the next writer run" in n for n in report.notes[1:]
    )
    apply_retention(archive.layout, settings(keep_days=10), today=date(2025, 3, 1))
    assert con.execute(COUNT).fetchone() == (18,)  # still the old state, whole
    assert count(archive) == 0
    del con
    gc.collect()
    archive.ingest_events([], cluster="c1")  # no reader left: the next writer deletes what was removed
    assert data_files(archive) == [] and not (archive.root / "events/cluster=c1/date=2025-01-01").exists()
    report = verify_archive(archive.layout)
    assert report.ok and report.deleted_files == 2 and len(report.notes) == 1


def test_a_reader_of_a_killed_commit_survives_the_rename(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)], batches=3)
    with pytest.raises(Killed):
        compact_archive(archive.layout, now=NOW, hook=_kill_at("after-manifest"))
    con = archive.connect()  # reads the committed file under its temporary name
    archive.ingest_events([], cluster="c1")  # recovery publishes it while the reader is open
    assert con.execute(COUNT).fetchone() == (9,)
    del con
    gc.collect()
    archive.ingest_events([], cluster="c1")
    assert list(archive.root.rglob("*.tmp")) == [] and len(data_files(archive)) == 1


def test_ingest_dedupes_against_committed_files_only(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 2)])
    other = build_archive(tmp_path / "b", [date(2025, 1, 1)])
    # A stranger's file copied into the partition must not make genuine new events look like duplicates.
    target = archive.root / "events/cluster=c1/date=2025-01-01"
    target.mkdir(parents=True)
    shutil.copy(data_files(other)[0], target / "planted.parquet")
    from tests.archive.retention_fixtures import day_events

    summary = archive.ingest_events(day_events(date(2025, 1, 1)), cluster="c1")
    assert (summary.archived, summary.duplicates) == (3, 0)


def test_snapshot_is_cached_and_extended_as_the_chain_grows(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2), batches=2)
    first = chain.snapshot(archive.layout)
    assert chain.snapshot(archive.layout) is first  # unchanged chain: no re-parse
    archive.ingest_events([], cluster="c1")
    from tests.archive.retention_fixtures import day_events

    archive.ingest_events(day_events(date(2025, 1, 3)), cluster="c1")
    grown = chain.snapshot(archive.layout)
    assert grown is not first and len(grown.manifests) == 3 and len(first.manifests) == 2
    assert grown.live == chain.replay(archive.layout).live


_COMPACTOR = """
import sys
from datetime import date, datetime, timezone
import itertools
import kanalytics
import tests.conftest
from kanalytics.archive.compact import compact_archive
from tests.archive.retention_fixtures import day_events, days
tests.conftest._counter = itertools.count(10**6)  # audit IDs unlike the test process's: no duplicates
archive = kanalytics.open_archive(sys.argv[1])
for round in range(int(sys.argv[2])):
    for _ in range(2):  # one manifest adds 3 events to each of the 3 days
        archive.ingest_events([e for d in days(date(2025, 1, 1), 3) for e in day_events(d)], cluster="c1")
    compact_archive(archive.layout, now=datetime(2025, 2, 1, tzinfo=timezone.utc))  # one manifest per day
"""


@pytest.mark.slow
def test_queries_during_compaction_never_fail_nor_see_a_hole(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 3), batches=2)
    writer = subprocess.Popen([sys.executable, "-c", _COMPACTOR, str(archive.root), "15"], cwd=REPO)
    failures: list[str] = []
    holes: list[object] = []
    queries, last = 0, 0
    per_day = "SELECT date, count(*) FROM events GROUP BY date ORDER BY date"
    try:
        while writer.poll() is None:
            try:
                con = archive.connect()
                # Every committed state holds the same number of rows on each of the 3 days, and a connection
                # sees one state however long it is used: a missing partition, a file read twice or a
                # file deleted under the reader would break one of these.
                first = con.execute(per_day).fetchall()
                time.sleep(0.02)
                again = con.execute(per_day).fetchall()
                con.close()
                del con
                counts = [n for _, n in first]
                if first != again or len(counts) != 3 or len(set(counts)) != 1 or sum(counts) < last:
                    holes.append((first, again))
                last = sum(counts)
            except Exception as exc:
                failures.append(str(exc))
            queries += 1
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert queries > 20 and failures == [] and holes == []
    assert count(archive) == 18 + 15 * 18
    assert verify_archive(archive.layout).ok


_KILLER = """
import os, signal, sys
from datetime import datetime, timezone
from kanalytics.archive.compact import compact_archive
from kanalytics.archive.layout import Layout
def hook(step):
    if step == "after-manifest":
        os.kill(os.getpid(), signal.SIGKILL)
compact_archive(Layout(__import__("pathlib").Path(sys.argv[1])), now=datetime(2025, 2, 1, tzinfo=timezone.utc),
                hook=hook)
"""


@pytest.mark.slow
def test_sigkilled_compaction_after_its_manifest_hides_no_partition(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 4), batches=3)
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(archive.root)], check=False, cwd=REPO)
    assert proc.returncode == -signal.SIGKILL
    assert count(archive) == 36  # before the next writer runs
    assert archive.sql("SELECT count(DISTINCT date) AS n FROM events")["n"][0] == 4
    assert verify_archive(archive.layout).ok
