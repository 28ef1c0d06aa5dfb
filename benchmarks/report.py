"""Time and peak RSS of `kanalytics report` (HTML + PDF) over one month of N synthetic events.

    .venv/bin/python benchmarks/report.py --events 10000000 [--workdir /tmp/kbench]

Generates a baseline month and the report month (half the events each), ingests them once (reused on the next
run), then renders the report in a child process so its peak RSS is the report's alone.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the report month")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kanalytics-bench-report"))
    args = parser.parse_args()
    import kanalytics
    from kanalytics.synth import generate

    work = args.workdir / f"{args.events}"
    archive = kanalytics.open_archive(work / "archive")
    if not archive.layout.is_archive():
        work.mkdir(parents=True, exist_ok=True)
        log = work / "audit.jsonl.zst"
        t = time.perf_counter()
        generate(log, start=date(2026, 9, 1), days=61, events=args.events * 2, seed=1,
                 incident_window_start=date(2026, 10, 1))  # fmt: skip
        print(f"synth   {time.perf_counter() - t:7.1f} s")
        t = time.perf_counter()
        archive.ingest([log], cluster="demo")
        print(f"ingest  {time.perf_counter() - t:7.1f} s")
    child = (
        "import sys, time; from pathlib import Path; import kanalytics;"
        "from kanalytics.config import Settings; from kanalytics.catalog.period import month_bounds;"
        "from kanalytics.report import generate_report; s = Settings(); a, b = month_bounds('2026-10');"
        "t = time.perf_counter();"
        "o = generate_report(kanalytics.open_archive(sys.argv[1]), a, b, Path(sys.argv[2]), settings=s,"
        " formats=['html', 'pdf', 'csv', 'json']);"
        "print(f'report  {time.perf_counter() - t:7.1f} s, {o.findings} findings')"
    )
    subprocess.run([sys.executable, "-c", child, str(work / "archive"), str(work / "report")], check=True)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"events  {archive.info().events:,} in the archive; report peak RSS {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
