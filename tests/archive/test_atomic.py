"""Atomicity: a writer killed at any moment leaves no partial file visible, and a re-run restores everything."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

import kanalytics
from kanalytics.archive.lock import writer_lock
from kanalytics.errors import ArchiveLockedError
from tests.conftest import REPO, make_event


def _visible_rows(root: Path) -> int:
    # What any reader sees: every committed Parquet file must open and be complete.
    return sum(pq.ParquetFile(p).metadata.num_rows for p in (root / "events").rglob("*.parquet"))


def test_kill_at_random_points_then_rerun(tmp_path: Path) -> None:
    source = tmp_path / "audit.log"
    with open(source, "w") as handle:
        for _ in range(20_000):
            handle.write(json.dumps(make_event()) + "\n")
    root = tmp_path / "a"
    rng = random.Random(7)
    code = "import sys, kanalytics; kanalytics.open_archive(sys.argv[1]).ingest([sys.argv[2]])"
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", code, str(root), str(source)], cwd=REPO)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if root.exists():
            rows = _visible_rows(root)
            assert rows in (0, 20_000)  # never a partial batch of a single-file ingest
    summary = kanalytics.open_archive(root).ingest([source])
    assert summary.archived + summary.duplicates == 20_000
    assert _visible_rows(root) == 20_000
    leftovers = [p for p in root.rglob("*.tmp")]
    assert leftovers == []


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events([make_event()])
    with writer_lock(archive.layout):
        try:
            archive.ingest_events([make_event()])
        except ArchiveLockedError as exc:
            assert str(os.getpid()) in str(exc)
        else:
            raise AssertionError("a second writer was allowed in")
        # readers are never blocked
        assert archive.sql("SELECT count(*) AS n FROM events")["n"][0] == 1


def test_readers_skip_files_removed_by_an_interrupted_change(tmp_path: Path) -> None:
    from kanalytics.archive.manifest import append_manifest, iter_manifests

    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events([make_event() for _ in range(3)])
    archive.ingest_events([make_event() for _ in range(4)])
    first_file = next(iter(iter_manifests(archive.layout))).files_added[0]
    # A change that committed the removal of the first file, then was killed before deleting it:
    append_manifest(archive.layout, "compact", removed=[first_file])
    assert (tmp_path / "a" / first_file.path).exists()
    assert archive.sql("SELECT count(*) AS n FROM events")["n"][0] == 4
    archive.ingest_events([])  # the next writer's recovery finishes the deletion
    assert not (tmp_path / "a" / first_file.path).exists()
