"""Benchmark `kanalytics.synth.generate`: events/s and bytes/event for N events over 31 days (median of runs)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import date
from pathlib import Path

from kanalytics.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--suffix", default=".jsonl", help=".jsonl, .jsonl.gz or .jsonl.zst")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    rates, sizes = [], []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"synth{args.suffix}"
            result = generate(out, start=date(2026, 10, 1), days=args.days, events=args.events, seed=run)
            rates.append(result.events_per_second)
            sizes.append(result.bytes_per_event)
            print(f"run {run}: {result.events:,} events in {result.seconds:.2f} s = {result.events_per_second:,.0f}/s, "
                  f"{result.bytes_per_event:,.0f} B/event, {result.file_bytes / 1e6:,.1f} MB on disk")  # fmt: skip
            out.unlink()
    print(f"median: {statistics.median(rates):,.0f} events/s, {statistics.median(sizes):,.0f} B/event")


if __name__ == "__main__":
    main()
