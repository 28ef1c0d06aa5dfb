"""Ingest benchmark: kanalytics ingest against plain DuckDB read_json -> COPY parquet, and against gzip -6.

Generates N realistic events with `kanalytics.synth` (1M Metadata-heavy events by default), then prints, from
one run: ingest events/s (the archive's ingest, without the evaluation at commit; `--python-path` also times it
with the columnar conversion off); the time ratio to DuckDB `read_json` -> `COPY ... (FORMAT parquet)` of the same
file, plain and to zstd Parquet partitioned by (cluster, date) like the archive (the issue's target reference);
archive bytes against `gzip -6` of the same JSONL; peak RSS of the ingest process (and its workers); and the
archive size under the alternative row order, to justify the one we chose. Medians over --repeat runs.

    .venv/bin/python benchmarks/ingest.py --events 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# The archive's ingest (parse, redact, map, hash, dedupe, write, manifest), not the evaluation at commit that
# `kanalytics.open_archive(...).ingest` runs after it (benchmarks/evaluation.py measures that).
_INGEST = """
import json, os, resource, sys, time
from kanalytics.archive.api import Store
if sys.argv[3] == "python":
    import kanalytics.archive.convert as convert
    import kanalytics.archive.ingest as ingest
    def python_only(block, redact=True):  # pickled by name: forked workers have this module too
        return convert.convert_block(block, redact, columnar=False)
    ingest.convert_block = python_only
t = time.perf_counter()
summary = Store(sys.argv[1]).ingest([sys.argv[2]], cluster="bench")
seconds = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so it would report the benchmark's own peak.
own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "archived": summary.archived, "rss_kb": own, "worker_rss_kb": workers}))
"""


# Plain `read_json` with default options fails on realistic audit logs (nested bodies differ between events,
# e.g. "JSON transform error ... unknown key privileged"). Two ways a user would make it work:
#   maximum_depth=1: top-level keys become columns, nested objects stay JSON (fast: the strict baseline);
#   sample_size=-1:  infer the full nested schema from every line (what DuckDB's error message suggests).
BASELINES = {"depth1": "records = true, maximum_depth = 1", "full-schema": "sample_size = -1"}


def duckdb_baseline(source: Path, out: Path, options: str) -> float:
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_json('{source}', {options})) TO '{out}' (FORMAT parquet)")
    return time.perf_counter() - started


def duckdb_partitioned(source: Path, out: Path, options: str) -> float:
    """The issue's reference: the same read, to zstd Parquet partitioned like the archive (cluster, date)."""
    import duckdb

    shutil.rmtree(out, ignore_errors=True)
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT *, 'bench' AS cluster, CAST(requestReceivedTimestamp AS DATE) AS date "
        f"FROM read_json('{source}', {options})) TO '{out}' "
        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (cluster, date))"
    )
    return time.perf_counter() - started


def gzip_size(source: Path) -> int:
    buffer = io.BytesIO()
    with open(source, "rb") as raw, gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, 1 << 22)
    return buffer.tell()


def alternative_order_sizes(archive: Path) -> dict[str, int]:
    """Archive bytes as written, and if the same rows were ordered by time only or by identity over the day."""
    import pyarrow.parquet as pq

    from kanalytics.archive.fileformat import ROW_GROUP_ROWS, parquet_writer
    from kanalytics.archive.schema import ARROW_SCHEMA

    files = sorted((archive / "events").rglob("*.parquet"))
    orders = {
        "time": [("request_ts", "ascending")],
        "identity/resource/verb/time": [
            ("user_name", "ascending"),
            ("resource", "ascending"),
            ("verb", "ascending"),
            ("request_ts", "ascending"),
        ],
    }
    sizes = {"hour/identity/resource/verb/time (chosen)": sum(f.stat().st_size for f in files)}
    for name, order in orders.items():
        total = 0
        for path in files:
            table = pq.read_table(path, schema=ARROW_SCHEMA).sort_by(order)
            sink = io.BytesIO()
            writer = parquet_writer(sink)
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            writer.close()
            total += sink.tell()
        sizes[name] = total
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--python-path",
        action="store_true",
        help="also time ingest with the columnar path off (the old path)",
    )
    args = parser.parse_args()

    from kanalytics.synth import generate

    work = args.workdir or Path(tempfile.mkdtemp(prefix="kanalytics-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "events.jsonl"
    started = time.perf_counter()
    if not source.exists():
        generate(source, start=date(2026, 10, 1), days=args.days, events=args.events, seed=1, cluster="bench")
    print(
        f"generated {args.events:,} events ({source.stat().st_size / 1e6:,.0f} MB) in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    size = source.stat().st_size

    ingest_runs, python_runs, rss = [], [], []
    duck_runs: dict[str, list[float]] = {name: [] for name in BASELINES}
    partitioned_runs: dict[str, list[float]] = {name: [] for name in BASELINES}
    for attempt in range(args.repeat):
        results = {}
        for path in ("columnar", "python") if args.python_path else ("columnar",):
            archive = (
                work / f"archive-{attempt}" if path == "columnar" else work / f"archive-python-{attempt}"
            )
            shutil.rmtree(archive, ignore_errors=True)
            out = subprocess.run(
                [sys.executable, "-c", _INGEST, str(archive), str(source), path],
                capture_output=True,
                text=True,
                check=True,
            )
            results[path] = json.loads(out.stdout.strip().splitlines()[-1])
        result = results["columnar"]
        ingest_runs.append(result["seconds"])
        if "python" in results:
            python_runs.append(results["python"]["seconds"])
        rss.append(max(result["rss_kb"], result["worker_rss_kb"]) / 1024)
        for name, options in BASELINES.items():
            duck_runs[name].append(duckdb_baseline(source, work / f"duckdb-{name}.parquet", options))
            partitioned_runs[name].append(duckdb_partitioned(source, work / f"duckdb-{name}-parts", options))
        print(
            f"run {attempt + 1}: kanalytics {result['seconds']:.1f} s"
            + (f" (Python path only: {python_runs[-1]:.1f} s)" if python_runs else "")
            + ", "
            + ", ".join(f"duckdb {name} {runs[-1]:.1f} s" for name, runs in duck_runs.items())
            + ", "
            + ", ".join(
                f"partitioned zstd {name} {runs[-1]:.1f} s" for name, runs in partitioned_runs.items()
            )
            + f", peak RSS {rss[-1]:.0f} MB",
            flush=True,
        )
    ingest_s = statistics.median(ingest_runs)
    duck_s = {name: statistics.median(runs) for name, runs in duck_runs.items()}
    archive = work / "archive-0"
    sizes = alternative_order_sizes(archive)
    actual = next(iter(sizes.values()))
    packed = gzip_size(source)
    duck_bytes = (work / "duckdb-depth1.parquet").stat().st_size
    print()
    print(f"events                      {args.events:,} ({size / args.events:,.0f} bytes/event)")
    print(f"ingest                      {ingest_s:.1f} s median = {args.events / ingest_s:,.0f} events/s")
    if python_runs:
        python_s = statistics.median(python_runs)
        print(
            f"... Python path only         {python_s:.1f} s median; columnar / it = {ingest_s / python_s:.2f}x"
        )
    for name, seconds in duck_s.items():
        print(
            f"duckdb {name:<12} -> COPY {seconds:.1f} s median; kanalytics / it = {ingest_s / seconds:.2f}x"
        )
    for name, runs in partitioned_runs.items():
        seconds = statistics.median(runs)
        print(
            f"duckdb {name:<12} -> COPY partitioned zstd {seconds:.1f} s median; kanalytics / it = "
            f"{ingest_s / seconds:.2f}x (target <= 1.0)"
        )
    print(f"gzip -6 of the JSONL        {packed / 1e6:,.1f} MB")
    print(
        f"archive                     {actual / 1e6:,.1f} MB = {actual / packed:.2f}x gzip (target <= 0.45)"
    )
    print(f"duckdb's own parquet        {duck_bytes / 1e6:,.1f} MB = {duck_bytes / packed:.2f}x gzip")
    for name, size_bytes in sizes.items():
        print(f"row order {name:<42} {size_bytes / 1e6:,.1f} MB = {size_bytes / packed:.2f}x gzip")
    print(f"peak RSS (max process)      {max(rss):,.0f} MB (target <= 1024)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
