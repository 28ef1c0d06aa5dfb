"""Prints what baseline-aware judgement (catalog/recurrence.py) costs and moves on a real archive: the time of
`run_catalog` over the period against the time of `judge_recurrence`, and how many medium/low findings became
recurring behaviour, per query.

The archive is only read. Defaults: the 2M-event synthetic archive (September baseline, October period) with
an empty configuration (`profile = "default"`).

    .venv/bin/python benchmarks/recurrence.py [--archive /tmp/sig/s1/arch] [--month 2026-10] [--config FILE]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from kanalytics import open_archive
from kanalytics.catalog.model import Finding
from kanalytics.catalog.period import month_bounds
from kanalytics.catalog.recurrence import JUDGED_SEVERITIES, judge_recurrence
from kanalytics.catalog.runner import run_catalog
from kanalytics.vocabulary import FINDING_KINDS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--archive", default="/tmp/sig/s1/arch")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument(
        "--config", default="/tmp/sig/s1/empty.toml", help="kanalytics.toml (default: an empty one)"
    )
    args = parser.parse_args()
    opened = open_archive(args.archive, config=args.config)
    archive, settings, catalog = opened.store, opened.settings, opened.catalog
    start, end = month_bounds(args.month, settings.timezone)

    began = time.perf_counter()
    run = run_catalog(
        archive, start, end, settings=settings, catalog=catalog, kinds=FINDING_KINDS, keep_tables=False
    )
    catalog_seconds = time.perf_counter() - began
    began = time.perf_counter()
    judged = judge_recurrence(archive, run, settings=settings, catalog=catalog)
    judge_seconds = time.perf_counter() - began

    def judged_count(findings: list[Finding]) -> int:
        return sum(f.kind == "detection" and f.severity in JUDGED_SEVERITIES for f in findings)

    moved = [f for p in judged.recurring for f in p.findings]
    queries = sorted(
        {f.query_id for f in run.findings if f.kind == "detection" and f.severity in JUDGED_SEVERITIES}
    )
    print(f"archive {args.archive}, period {args.month}, profile {settings.profile}")
    print(f"baseline days with events: {judged.baseline_days_with_events}")
    print(f"run_catalog (detections + anomalies): {catalog_seconds:.1f} s, {len(run.findings)} findings")
    shape = Counter(f"{f.kind} {f.severity}" for f in run.findings)
    print("  by kind and severity: " + ", ".join(f"{k} {n}" for k, n in sorted(shape.items())))
    print(
        f"judge_recurrence: {judge_seconds:.1f} s ({100 * judge_seconds / catalog_seconds:.0f}% extra), "
        f"{len(queries)} detections re-run over the baseline"
    )
    print(
        f"medium/low detection findings: {judged_count(run.findings)} before, {judged_count(judged.findings)} after; "
        f"{len(moved)} moved into {len(judged.recurring)} recurring patterns"
    )
    before = Counter(f.query_id for f in run.findings if f.query_id in queries)
    after = Counter(f.query_id for f in moved)
    for query_id in queries:
        print(f"  {query_id:45} {before[query_id]:6} findings, {after[query_id]:6} recurring")


if __name__ == "__main__":
    main()
