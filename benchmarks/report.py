"""Time and peak RSS of `kanalytics report` (HTML + PDF + CSV + JSON) over one month of N synthetic events.

    .venv/bin/python benchmarks/report.py --events 10000000 [--workdir /tmp/kbench] [--allowlists both]

Generates (with `kanalytics.synth`) a baseline month and the report month, N events each, so the anomalies
have their baseline; ingests them once (reused on the next run). Then renders the report in a child process per
configuration, so each peak RSS is that report's alone: without allow-lists (every background finding: the
thousands-of-findings case) and with the demo configuration's allow-lists (what a tuned deployment sees).
Prints the total and per-phase time, peak RSS, findings and PDF pages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

# Runs in the child: one report, then one JSON line with its figures (the child's own peak RSS).
_CHILD = """
import json, resource, sys, time
from pathlib import Path
import kanalytics
from kanalytics.catalog.period import month_bounds
from kanalytics.config import Settings, load_settings
settings = load_settings(Path(sys.argv[3])) if sys.argv[3] else Settings()
start, end = month_bounds("2026-10", settings.zone)
began = time.perf_counter()
out = kanalytics.open_archive(sys.argv[1], config=settings).report(
    start=start, end=end, out=Path(sys.argv[2]), formats=["html", "pdf", "csv", "json"])
seconds = time.perf_counter() - began
from pypdf import PdfReader
pages = len(PdfReader(str(out.files["pdf"])).pages)
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so it would include the parent's ingest.
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "findings": out.findings, "pages": pages, "rss_mib": rss,
                  "phases": out.phases}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the report month")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kanalytics-bench-report"))
    parser.add_argument(
        "--allowlists", choices=("none", "demo", "both"), default="both",
        help="report without allow-lists, with the demo configuration's, or both (default)",
    )  # fmt: skip
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
        log.unlink()  # the archive holds the events; the log is only an input
    print(f"events  {archive.info().events:,} in the archive (two months)")
    demo_config = Path(__file__).resolve().parents[1] / "kanalytics" / "report" / "demo_config.toml"
    variants = {"none": "", "demo": str(demo_config)}
    for name in ("none", "demo") if args.allowlists == "both" else (args.allowlists,):
        child = [
            sys.executable,
            "-c",
            _CHILD,
            str(work / "archive"),
            str(work / f"report-{name}"),
            variants[name],
        ]
        result = subprocess.run(child, capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"report with allow-lists={name} failed:\n{result.stderr[-3000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        phases = ", ".join(f"{k} {v:.1f}" for k, v in figures["phases"].items())
        print(f"report  allow-lists={name:4} {figures['seconds']:6.1f} s, peak RSS {figures['rss_mib']:,.0f} MiB, "
              f"{figures['findings']:,} findings, {figures['pages']} pages ({phases})")  # fmt: skip


if __name__ == "__main__":
    main()
