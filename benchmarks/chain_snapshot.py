"""Prints what reading the committed file set costs readers: the chain replay, the cached snapshot, and the
incremental update after one more manifest, for an archive with thousands of manifests.

Manifests are appended directly (each adds `--files` entries to one day's partition; the files need not
exist for the replay), so the figures isolate the manifest chain from Parquet.

    .venv/bin/python benchmarks/chain_snapshot.py [--manifests 3000] [--files 24]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from kanalytics.archive import chain
from kanalytics.archive.layout import Layout, Partition
from kanalytics.archive.manifest import FileEntry, append_manifest


def _entries(layout: Layout, seq: int, files: int) -> list[FileEntry]:
    partition = Partition("bench", date(2025, 1, 1) + timedelta(days=seq % 365))
    return [
        FileEntry(layout.data_file(partition, f"b{seq:06d}-{i:03d}"), "0" * 64, 1000, rows=100)
        for i in range(files)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", type=int, default=3000)
    parser.add_argument("--files", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        layout = Layout(Path(tmp) / "archive")
        began = time.perf_counter()
        for seq in range(args.manifests):
            append_manifest(layout, "ingest", added=_entries(layout, seq, args.files))
        print(f"wrote {args.manifests} manifests x {args.files} files in {time.perf_counter() - began:.1f} s")

        def timed(label: str, call, repeat: int = 1) -> None:  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            for _ in range(repeat):
                call()
            print(f"{label:<44} {(time.perf_counter() - began) / repeat * 1000:8.1f} ms")

        timed("replay (writers, fresh from disk)", lambda: chain.replay(layout))
        timed("snapshot, first call in a process", lambda: chain.snapshot(layout))
        timed("snapshot, chain unchanged (cached)", lambda: chain.snapshot(layout), repeat=20)
        append_manifest(layout, "ingest", added=_entries(layout, args.manifests, args.files))
        timed("snapshot after one more manifest", lambda: chain.snapshot(layout))
        state = chain.snapshot(layout)
        timed(
            "committed files of one month (pruning)",
            lambda: chain.committed_files(layout, state, date(2025, 3, 1), date(2025, 3, 31)),
        )
        print(f"live files: {len(state.live)}")


if __name__ == "__main__":
    main()
