"""Incremental ingest benchmark: a month of rotated files, first ingest against no-op re-ingest and a 1% append.

Writes N synthetic events (`kanalytics.synth`) split over --files rotated files as logrotate leaves them
(audit.log.29.gz ... audit.log.2.gz compressed, audit.log.1 and the active audit.log plain), then times:
the first full ingest; a no-op re-ingest (nothing changed); an append of 1% new lines to audit.log and its
ingest; and, for comparison, the same no-op re-ingest without offsets (every line re-parsed and dropped by
dedupe). Medians over --repeat runs, except the first ingest.

    .venv/bin/python benchmarks/incremental_ingest.py --events 400000 --files 30 --repeat 3
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import kanalytics
from kanalytics.synth import generate


def write_rotated(lines: list[bytes], folder: Path, files: int) -> None:
    """Oldest lines in the highest-numbered file, as logrotate with delaycompress leaves a folder."""
    per_file = -(-len(lines) // files)
    for index in range(files):
        part = b"".join(lines[index * per_file : (index + 1) * per_file])
        number = files - 1 - index
        if number == 0:
            (folder / "audit.log").write_bytes(part)
        elif number == 1:
            (folder / "audit.log.1").write_bytes(part)
        else:
            with gzip.open(folder / f"audit.log.{number}.gz", "wb", compresslevel=6) as packed:
                packed.write(part)


def timed(archive: kanalytics.Archive, folder: Path, incremental: bool = True) -> tuple[float, int]:
    started = time.perf_counter()
    summary = archive.ingest([folder], cluster="bench", incremental=incremental)
    return time.perf_counter() - started, summary.read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kanalytics-incr-") as tmp:
        root = Path(tmp)
        source = root / "month.jsonl"
        generate(source, start=date(2026, 10, 1), days=30, events=args.events, scenarios=["none"])
        lines = source.read_bytes().splitlines(keepends=True)
        slice_size = max(1, len(lines) // 100)
        appends = [
            lines[len(lines) - (i + 1) * slice_size : len(lines) - i * slice_size] for i in range(args.repeat)
        ]
        base = lines[: len(lines) - args.repeat * slice_size]
        folder = root / "logs"
        folder.mkdir()
        write_rotated(base, folder, args.files)
        archive = kanalytics.open_archive(root / "archive")

        first, first_read = timed(archive, folder)
        noop = [timed(archive, folder) for _ in range(args.repeat)]
        appended = []
        for chunk in reversed(appends):  # oldest slice first, as a writer would append them
            with open(folder / "audit.log", "ab") as active:
                active.write(b"".join(chunk))
            appended.append(timed(archive, folder))
        dedupe_only = timed(archive, folder, incremental=False)

    noop_s = statistics.median(t for t, _ in noop)
    append_s = statistics.median(t for t, _ in appended)
    print(f"{len(base):,} events in {args.files} rotated files ({args.files - 2} .gz)")
    print(f"first full ingest         {first:8.3f} s  read {first_read:,}")
    print(
        f"no-op re-ingest           {noop_s:8.3f} s  read {noop[0][1]:,}  ({noop_s / first:.4f} of the first)"
    )
    print(
        f"append 1% ({slice_size:,} lines)   {append_s:8.3f} s  read {appended[0][1]:,}  "
        f"({append_s / first:.4f} of the first)"
    )
    print(
        f"re-ingest without offsets {dedupe_only[0]:8.3f} s  read {dedupe_only[1]:,}  "
        f"({dedupe_only[0] / first:.4f} of the first; what every nightly run cost before)"
    )


if __name__ == "__main__":
    main()
