"""The whole portable catalog (detections and anomalies) over the demo month on DuckDB and on Spark local[2].

Generates the demo's traffic (`kanalytics.synth`: baseline September, incidents October; --events scales it),
ingests it, then runs `runner.run_catalog` over October with the demo configuration, --runs times per engine,
in this process. Spark's session is started anew for each run, so its start is measured. Prints per phase
(session start, registration of views and tables, queries, the runner's own bookkeeping), medians, the ratio,
and how many queries gave the same rows and findings on both (the differing ones by id).

    .venv/bin/python benchmarks/spark_vs_duckdb.py --events 400000 --runs 3
    .venv/bin/python benchmarks/spark_vs_duckdb.py --archive kanalytics-demo/archive --config kanalytics-demo/kanalytics.toml
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

KINDS = ("detection", "anomaly")


def build(out: Path, events: int) -> tuple[Path, Path]:
    from kanalytics.archive.api import Store
    from kanalytics.report.demo import DEMO_BASELINE_START, DEMO_CLUSTER, DEMO_DAYS
    from kanalytics.synth import generate

    log = out / "audit.jsonl.zst"
    generate(log, start=DEMO_BASELINE_START, days=DEMO_DAYS, events=events, seed=0, cluster=DEMO_CLUSTER,
             incident_window_start=date(2026, 10, 1))  # fmt: skip
    config = out / "kanalytics.toml"
    config.write_bytes(resources.files("kanalytics.report").joinpath("demo_config.toml").read_bytes())
    Store(out / "archive").ingest([log], cluster=DEMO_CLUSTER)
    return out / "archive", config


def rows(result: Any) -> list[str]:
    from kanalytics.catalog.findings import json_safe

    if result.table is None:
        return []
    return sorted(json.dumps(json_safe(r), sort_keys=True, default=str) for r in result.table.to_pylist())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=400_000, help="synthetic events over the two months")
    parser.add_argument("--runs", type=int, default=3, help="runs per engine (the median is printed)")
    parser.add_argument("--archive", type=Path, help="an existing archive (skips generation)")
    parser.add_argument("--config", type=Path, help="its kanalytics.toml (with --archive)")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--spark-master", default="local[2]")
    args = parser.parse_args()

    from kanalytics.archive.api import Store
    from kanalytics.catalog.findings import finding_id
    from kanalytics.catalog.loader import load_catalog
    from kanalytics.catalog.period import month_bounds
    from kanalytics.catalog.runner import NOT_RUN_ON, run_catalog
    from kanalytics.catalog.spark_engine import SparkEngine
    from kanalytics.config import load_settings

    with tempfile.TemporaryDirectory(prefix="kanalytics-spark-bench-") as tmp:
        if args.archive:
            root, config = args.archive, args.config
        else:
            began = time.perf_counter()
            root, config = build(Path(tmp), args.events)
            print(f"generated and ingested {args.events:,} events in {time.perf_counter() - began:.1f} s")
        settings = load_settings(config)
        catalog = load_catalog(settings=settings)
        store = Store(root)
        start, end = month_bounds(args.month, settings.zone)
        phases: dict[str, dict[str, list[float]]] = {"duckdb": {}, "spark": {}}

        def note(engine: str, phase: str, seconds: float) -> None:
            phases[engine].setdefault(phase, []).append(seconds)

        duck = spark = None
        for _ in range(args.runs):
            began = time.perf_counter()
            duck = run_catalog(store, start, end, settings=settings, catalog=catalog, kinds=KINDS)
            total = time.perf_counter() - began
            queries = sum(r.seconds for r in duck.results.values())
            note("duckdb", "session start", 0.0)
            note("duckdb", "registration + bookkeeping", total - queries)
            note("duckdb", "queries", queries)
            note("duckdb", "total", total)
        for _ in range(args.runs):
            began = time.perf_counter()
            engine = SparkEngine.start(args.spark_master)
            try:
                spark = run_catalog(store, start, end, settings=settings, catalog=catalog, kinds=KINDS,
                                    engine=engine)  # fmt: skip
            finally:
                engine.stop()
            total = time.perf_counter() - began
            note("spark", "session start", engine.seconds["session"])
            note(
                "spark",
                "registration + bookkeeping",
                total - engine.seconds["session"] - engine.seconds["queries"],
            )
            note("spark", "queries", engine.seconds["queries"])
            note("spark", "total", total)
        assert duck is not None and spark is not None

    print(
        f"\n{args.month}, {len(duck.results)} detections and anomalies, median of {args.runs} run(s) (seconds)"
    )
    print(f"{'phase':28} {'duckdb':>9} {'spark':>9} {'ratio':>7}")
    for phase in ("session start", "registration + bookkeeping", "queries", "total"):
        d, s = (statistics.median(phases[e][phase]) for e in ("duckdb", "spark"))
        ratio = f"{s / d:6.1f}x" if d > 0 else "      -"
        print(f"{phase:28} {d:9.2f} {s:9.2f} {ratio}")

    same, differ, not_run, skipped = 0, [], [], 0
    for qid, d_result in sorted(duck.results.items()):
        s_result = spark.results[qid]
        if s_result.status == "not-evaluable" and s_result.reason.startswith(NOT_RUN_ON):
            not_run.append(f"{qid}: {s_result.reason}")
            continue
        if d_result.status != "ok":
            skipped += 1  # gated the same way on both (needs configuration, superseded, no baseline)
        d_ids = sorted(finding_id(f) for f in duck.findings if f.query_id == qid)
        s_ids = sorted(finding_id(f) for f in spark.findings if f.query_id == qid)
        if (d_result.status, rows(d_result), d_ids) == (s_result.status, rows(s_result), s_ids):
            same += 1
        else:
            differ.append(f"{qid}: duckdb {d_result.status} {len(d_ids)} findings, spark {s_result.status} "
                          f"{len(s_ids)} findings {s_result.reason[:200]}")  # fmt: skip
    print(
        f"\nidentical on both engines: {same} of {len(duck.results)} ({skipped} of them gated alike, not run)"
    )
    for line in not_run:
        print(f"  not run on spark: {line}")
    for line in differ:
        print(f"  DIFFERS {line}")
    print(f"findings: duckdb {len(duck.findings)}, spark {len(spark.findings)}")


if __name__ == "__main__":
    main()
