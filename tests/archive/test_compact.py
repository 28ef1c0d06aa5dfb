"""Compaction: fewer files, same rows and query results, kills leave the old files valid, tampered days skipped."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kanalytics.archive.compact import compact_archive, parse_age
from kanalytics.archive.holds import add_hold
from kanalytics.archive.manifest import iter_manifests
from kanalytics.archive.verify import verify_archive
from kanalytics.errors import UsageError
from tests.archive.retention_fixtures import build_archive, data_files, days

NOW = datetime(2025, 2, 1, tzinfo=UTC)
QUERY = (
    "select cluster, date, audit_id, stage, request_ts, user_name, namespace, event_hash "
    "from events order by all"
)


def test_compaction_shrinks_file_count_and_keeps_query_results(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 3), batches=4)
    before = archive.sql(QUERY)
    assert len(data_files(archive)) == 12
    result = compact_archive(archive.layout, now=NOW)
    assert (result.files_before, result.files_after, len(result.compacted)) == (12, 3, 3)
    assert len(data_files(archive)) == 3
    assert archive.sql(QUERY).equals(before)
    assert verify_archive(archive.layout).summary() == "7/7 manifests valid, 3/3 files valid"
    last = list(iter_manifests(archive.layout))[-1]
    assert last.operation == "compact" and len(last.files_removed) == 4 and len(last.files_added) == 1
    assert last.details["old"] == [e.path for e in last.files_removed] and last.details["rows"] == 12
    # The new file is sorted by time and records its rows and time range.
    (new,) = last.files_added
    table = pq.read_table(archive.layout.path(new.path))
    ts = table["request_ts"].to_pylist()
    assert ts == sorted(ts) and new.rows == 12 and new.min_ts == "2025-01-03T12:00:00.000000Z"
    # Nothing left to do on a second run.
    assert compact_archive(archive.layout, now=NOW).compacted == []


def test_recent_days_and_single_file_days_are_left_alone(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 29), 3), batches=2)
    archive.ingest_events([], cluster="c1")
    result = compact_archive(archive.layout, older_than=parse_age("2d"), now=NOW)
    # The horizon is NOW - 2d = 2025-01-30 00:00: only 2025-01-29 ended before it.
    assert [c.partition for c in result.compacted] == ["events/cluster=c1/date=2025-01-29"]
    assert compact_archive(archive.layout, older_than=timedelta(0), now=NOW).files_after == 2  # 01-30, 01-31


def test_level_and_held_partitions(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)], batches=2)
    add_hold(
        archive.layout, cluster="c1", start=date(2025, 1, 1), end=date(2025, 1, 1), reason="r", owner="o"
    )
    result = compact_archive(archive.layout, level=19, now=NOW)
    assert result.compacted[0].held_by == ["H1"] and result.compacted[0].rows == 6
    assert list(iter_manifests(archive.layout))[-1].details["zstd_level"] == 19
    with pytest.raises(UsageError, match="out of range"):
        compact_archive(archive.layout, level=30, now=NOW)
    with pytest.raises(UsageError, match="invalid age"):
        parse_age("two days")


def test_tampered_partition_is_not_laundered(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2), batches=2)
    victim = next((archive.root / "events/cluster=c1/date=2025-01-01").glob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")
    result = compact_archive(archive.layout, now=NOW)
    assert [c.partition for c in result.compacted] == ["events/cluster=c1/date=2025-01-02"]
    assert result.skipped[0]["reason"].startswith("fails verification: events/cluster=c1/date=2025-01-01/")
    assert not verify_archive(archive.layout).ok  # still reported, not hidden under a fresh hash


class Killed(BaseException):
    """Stands in for SIGKILL: no cleanup runs after the hook."""


@pytest.mark.parametrize("step", ["after-write", "after-manifest", "after-publish"])
def test_killed_compaction_keeps_rows_and_verifies(tmp_path: Path, step: str) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 2), batches=3)
    before = archive.sql(QUERY)

    def hook(at: str) -> None:
        if at == step:
            raise Killed(at)

    with pytest.raises(Killed):
        compact_archive(archive.layout, now=NOW, hook=hook)
    report = verify_archive(archive.layout)
    assert report.ok, report.lines()
    if step == "after-write":  # nothing committed: the old files are the archive
        assert archive.sql(QUERY).equals(before) and len(data_files(archive)) == 6
    result = compact_archive(archive.layout, now=NOW)  # recover() finishes or rolls back, then it completes
    assert len(data_files(archive)) == 2
    assert archive.sql(QUERY).equals(before)
    assert verify_archive(archive.layout).ok
    assert result.files_after in (1, 2)


_KILLER = """
import os, signal, sys
from datetime import datetime, timezone
from kanalytics.archive.compact import compact_archive
from kanalytics.archive.layout import Layout
def hook(step):
    if step == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
compact_archive(Layout(__import__("pathlib").Path(sys.argv[1])), now=datetime(2025, 2, 1, tzinfo=timezone.utc),
                hook=hook)
"""


@pytest.mark.parametrize("step", ["after-write", "after-manifest", "after-publish"])
def test_sigkilled_compaction_subprocess(tmp_path: Path, step: str) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)], batches=3)
    before = archive.sql(QUERY)
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(archive.root), step], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert verify_archive(archive.layout).ok
    compact_archive(archive.layout, now=NOW)
    assert len(data_files(archive)) == 1 and archive.sql(QUERY).equals(before)
    assert verify_archive(archive.layout).ok


def test_cli_compact(tmp_path: Path) -> None:
    from kanalytics.cli import app

    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)], batches=3)
    out = CliRunner().invoke(app, ["compact", "--archive", str(archive.root)], standalone_mode=False)
    assert out.exception is None, out.output
    assert out.output.splitlines()[0] == "events/cluster=c1/date=2025-01-01: 3 → 1 files, 9 rows"
    assert out.output.splitlines()[-1].startswith("compacted 1 partitions: 3 → 1 files")
