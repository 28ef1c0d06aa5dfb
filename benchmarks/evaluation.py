"""Evaluation at commit (docs/evaluation.md): what it costs, and what reading stored results saves.

    .venv/bin/python benchmarks/evaluation.py --events 1000000 [--workdir /tmp/kbench-eval] [--report]

Generates a baseline month and a report month of N events each (`kanalytics.synth`) and ingests them with
evaluation at commit off (reused on the next run). Then, in this process, with medians of --repeat runs where a
run is cheap:

- ingest alone, and the evaluation at commit of that whole ingest (storing every result): their ratio is what
  `ingest` with `evaluation.on_commit` costs against ingest alone;
- small batches as the webhook flusher commits them (1,000 events): ingest alone and ingest + evaluation, per
  batch, on an archive of one day;
- one DuckDB scan of the report month's archive (every column of every file: `max(COLUMNS(*))`), the reference;
- `findings` for the month read from the stored results, and the catalog recomputed from the events for the
  month (`findings --recompute`'s work), each as a ratio to the scan;
- with --report, `report` (HTML + PDF + CSV + JSON) in a child process: time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

_REPORT_CHILD = """
import json, sys, time
from pathlib import Path
import kanalytics
began = time.perf_counter()
out = kanalytics.open_archive(sys.argv[1]).report(month="2026-10", out=Path(sys.argv[2]),
                                                   formats=["html", "pdf", "csv", "json"])
seconds = time.perf_counter() - began
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "findings": out.findings, "rss_mib": rss, "phases": out.phases}))
"""
MONTH = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def _median(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events in each of the two months")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kbench-eval"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--batches", type=int, default=10, help="1,000-event batches for the small-batch figure"
    )
    parser.add_argument("--report", action="store_true", help="also time the report in a child process")
    args = parser.parse_args()

    import kanalytics
    from kanalytics.catalog import evaluate
    from kanalytics.config import parse_settings
    from kanalytics.synth import generate

    off = parse_settings({"evaluation": {"on_commit": False}}, origin="benchmark")
    work = args.workdir / str(args.events)
    archive = kanalytics.open_archive(work / "archive", config=off)
    timings_file = work / "ingest.json"
    if not archive.layout.is_archive():
        work.mkdir(parents=True, exist_ok=True)
        log = work / "audit.jsonl.zst"
        generate(log, start=date(2026, 9, 1), days=61, events=args.events * 2, seed=1,
                 incident_window_start=date(2026, 10, 1))  # fmt: skip
        began = time.perf_counter()
        archive.ingest([log], cluster="demo")
        ingest_seconds = time.perf_counter() - began
        began = time.perf_counter()
        timings_file.write_text(json.dumps({"ingest": ingest_seconds}))
        rows = evaluate.ensure(archive.store, archive.catalog, archive.settings, start=datetime(2026, 8, 1, tzinfo=UTC),
                                end=MONTH[1])  # fmt: skip
        evaluate_seconds = time.perf_counter() - began
        timings_file.write_text(json.dumps({"ingest": ingest_seconds, "evaluate": evaluate_seconds,
                                            "results": rows.stats.refreshed}))  # fmt: skip
        log.unlink()
    timings = json.loads(timings_file.read_text())
    events = archive.info().events
    print(f"archive            {events:,} events (two months), {timings['results']:,} results stored")
    print(f"ingest alone       {timings['ingest']:8.1f} s")
    print(f"evaluate at commit {timings['evaluate']:8.1f} s   ingest+evaluation / ingest alone: "
          f"{(timings['ingest'] + timings['evaluate']) / timings['ingest']:.2f}x")  # fmt: skip

    _small_batches(args.workdir / "small", args.batches, args.repeat)

    con = archive.store.connect(*MONTH)
    scan = _median(lambda: con.sql("SELECT max(COLUMNS(*)) FROM events").fetchall(), args.repeat)
    con.close()
    print(f"one scan of the month (every column)     {scan:8.2f} s")
    on = parse_settings({}, origin="benchmark")
    reader = kanalytics.open_archive(work / "archive", config=on)
    found = [0]

    def read() -> None:
        found[0] = len(reader.findings(start=MONTH[0], end=MONTH[1]))

    findings = _median(read, args.repeat)
    print(
        f"findings (stored results, {found[0]:,} to review) {findings:8.2f} s   {findings / scan:6.1f}x the scan"
    )
    rows = evaluate.ensure(reader.store, reader.catalog, on, start=MONTH[0], end=MONTH[1], read=True)
    print(f"  raw stored findings of the month: {sum(len(v) for v in rows.findings.values()):,}")
    began = time.perf_counter()
    evaluate.ensure(reader.store, reader.catalog, on, start=MONTH[0], end=MONTH[1], read=True, recompute=True)
    recompute = time.perf_counter() - began
    print(f"catalog recomputed from the events       {recompute:8.2f} s   {recompute / scan:6.1f}x the scan")

    if args.report:
        result = subprocess.run([sys.executable, "-c", _REPORT_CHILD, str(work / "archive"), str(work / "report")],
                                capture_output=True, text=True)  # fmt: skip
        if result.returncode:
            sys.exit(f"report failed:\n{result.stderr[-3000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        phases = ", ".join(f"{k} {v:.1f}" for k, v in figures["phases"].items())
        print(f"report             {figures['seconds']:8.1f} s, peak RSS {figures['rss_mib']:,.0f} MiB, "
              f"{figures['findings']:,} findings ({phases})")  # fmt: skip


def _small_batches(root: Path, batches: int, repeat: int) -> None:
    """Per 1,000-event batch: ingest alone against ingest + evaluation at commit (one day of one cluster)."""
    import shutil

    import kanalytics
    from kanalytics.config import parse_settings
    from kanalytics.sources.files import read_inputs
    from kanalytics.synth import generate

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = root / "day.jsonl"
    generate(log, start=date(2026, 10, 1), days=1, events=1_000 * batches * 2, seed=2,
             incident_window_start=date(2026, 10, 1))  # fmt: skip
    lines = log.read_text(encoding="utf-8").splitlines()
    del read_inputs
    figures = {}
    for name, settings in (("alone", {"evaluation": {"on_commit": False}}), ("evaluated", {})):
        archive = kanalytics.open_archive(root / name, config=parse_settings(settings, origin="benchmark"))
        archive.ingest_events(
            [json.loads(line) for line in lines[: 1_000 * batches]], cluster="c"
        )  # warm day
        times = []
        for n in range(batches):
            batch = [json.loads(line) for line in lines[1_000 * (batches + n) : 1_000 * (batches + n + 1)]]
            began = time.perf_counter()
            archive.ingest_events(batch, cluster="c")
            times.append(time.perf_counter() - began)
        figures[name] = statistics.median(times)
    print(
        f"1,000-event batch: ingest alone {figures['alone']:.3f} s, with evaluation at commit "
        f"{figures['evaluated']:.3f} s   {figures['evaluated'] / figures['alone']:.2f}x (median of {batches})"
    )
    del repeat


if __name__ == "__main__":
    main()
