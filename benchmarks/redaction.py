"""Redaction cost: microseconds per event of `redact_event`, and convert throughput with redaction on and off.

Generates N synthetic events with `kanalytics.synth` (Metadata-heavy, as real clusters are), then prints the
median over --repeat runs of: redact_event alone (us/event), and `convert_block` (parse, redact, map, hash)
in events/s with redaction off and on.

    .venv/bin/python benchmarks/redaction.py --events 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import orjson


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from kanalytics.archive.convert import convert_block
    from kanalytics.archive.redact import redact_event
    from kanalytics.sources.files import Block
    from kanalytics.synth import generate

    source = Path(tempfile.mkdtemp(prefix="kanalytics-redaction-")) / "events.jsonl"
    generate(source, start=date(2026, 10, 1), days=3, events=args.events, seed=1, cluster="bench")
    data = source.read_bytes()
    lines = data.splitlines()

    per_event, rates = [], {False: [], True: []}
    for _ in range(args.repeat):
        events = [orjson.loads(line) for line in lines]
        started = time.perf_counter()
        for event in events:
            redact_event(event)
        per_event.append((time.perf_counter() - started) / len(events) * 1e6)
        for redact in (False, True):
            started = time.perf_counter()
            convert_block(Block("bench", 1, data), redact=redact)
            rates[redact].append(len(lines) / (time.perf_counter() - started))
    print(f"{len(lines):,} events, median of {args.repeat}")
    print(f"redact_event: {statistics.median(per_event):.1f} us/event")
    print(f"convert_block, redaction off: {statistics.median(rates[False]):,.0f} events/s")
    print(f"convert_block, redaction on:  {statistics.median(rates[True]):,.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
