"""Catalog benchmark: the whole query catalog over a month in the archive, against the same SQL over raw JSONL.

Generates a baseline month and a month with incidents (`kanalytics.synth`), ingests them, then times every
query of the catalog over the incident month twice, in the same process: once through the archive (partition
pruning, typed Parquet columns) and once over a DuckDB view that maps the raw JSONL to the same `events`
columns. Prints both totals, the ratio, and the slowest queries. Medians over --repeat runs.

    .venv/bin/python benchmarks/queries.py --events 1000000      # the issue's figure is for 10M a month
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

# The same columns as the archive's schema, computed from raw Events on the fly.
RAW_EVENTS_VIEW = """
CREATE OR REPLACE VIEW events AS
SELECT
    j->>'auditID' AS audit_id, j->>'stage' AS stage, j->>'level' AS level, j->>'verb' AS verb,
    j->>'requestURI' AS request_uri,
    j->>'$.user.username' AS user_name, j->>'$.user.uid' AS user_uid,
    CAST(j->'$.user.groups' AS VARCHAR[]) AS user_groups,
    j->>'$.impersonatedUser.username' AS impersonated_user,
    CAST(j->'$.impersonatedUser.groups' AS VARCHAR[]) AS impersonated_groups,
    CAST(j->'sourceIPs' AS VARCHAR[]) AS source_ips, j->>'userAgent' AS user_agent,
    j->>'$.objectRef.resource' AS resource, j->>'$.objectRef.subresource' AS subresource,
    j->>'$.objectRef.namespace' AS namespace, j->>'$.objectRef.name' AS object_name,
    j->>'$.objectRef.uid' AS object_uid, j->>'$.objectRef.apiGroup' AS api_group,
    j->>'$.objectRef.apiVersion' AS api_version,
    CAST(j->>'$.responseStatus.code' AS INTEGER) AS response_code, j->>'$.responseStatus.reason' AS response_reason,
    CAST(j->>'requestReceivedTimestamp' AS TIMESTAMPTZ) AS request_ts,
    CAST(j->>'stageTimestamp' AS TIMESTAMPTZ) AS stage_ts,
    j->>'$.annotations."authorization.k8s.io/decision"' AS authz_decision,
    j->>'$.annotations."authorization.k8s.io/reason"' AS authz_reason,
    CAST(j->'annotations' AS VARCHAR) AS annotations, CAST(j->'$.user.extra' AS VARCHAR) AS user_extra,
    CAST(j->'requestObject' AS VARCHAR) AS request_object, CAST(j->'responseObject' AS VARCHAR) AS response_object,
    CAST(j->'responseStatus' AS VARCHAR) AS response_status, NULL::VARCHAR AS extra,
    unhex(md5(CAST(j AS VARCHAR))) AS event_hash,
    'bench' AS cluster, CAST(CAST(j->>'requestReceivedTimestamp' AS TIMESTAMPTZ) AS DATE) AS date
FROM read_ndjson_objects($source) AS t(j)
"""


def run_over_archive(archive, start: datetime, end: datetime, catalog) -> tuple[float, dict[str, float]]:
    from kanalytics.catalog.runner import run_catalog

    began = time.perf_counter()
    run = run_catalog(archive.store, start, end, catalog=catalog)
    return time.perf_counter() - began, {qid: r.seconds for qid, r in run.results.items()}


def run_over_raw(source: Path, start: datetime, end: datetime, catalog) -> tuple[float, dict[str, float]]:
    import duckdb

    from kanalytics.catalog.runner import Session
    from kanalytics.config import Settings

    began = time.perf_counter()
    con = duckdb.connect()
    # A view cannot take parameters; the path is our own temporary file.
    con.execute(RAW_EVENTS_VIEW.replace("$source", "'" + str(source).replace("'", "''") + "'"))
    session = Session(con, start, end, Settings())
    seconds = {q.id: session.run(q).seconds for q in sorted(catalog.queries.values(), key=lambda q: q.id)}
    con.close()
    return time.perf_counter() - began, seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the incident month")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-raw", action="store_true", help="only time the archive (raw JSON is slow)")
    args = parser.parse_args()

    import kanalytics
    from kanalytics.catalog.loader import load_catalog
    from kanalytics.synth import generate

    work = args.workdir or Path(tempfile.mkdtemp(prefix="kanalytics-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "events.jsonl"
    if not source.exists():
        # a baseline month (September) and the month under review (October), as a real monthly run has
        generate(source, start=date(2026, 9, 1), days=61, events=args.events * 2, seed=1, cluster="bench",
                 incident_window_start=date(2026, 10, 1))  # fmt: skip
    archive = kanalytics.open_archive(work / "archive")
    if not archive.layout.is_archive():
        began = time.perf_counter()
        archive.ingest([source], cluster="bench")
        print(f"ingested {args.events * 2:,} events in {time.perf_counter() - began:.0f} s")
    catalog = load_catalog()
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)

    archive_runs, raw_runs = [], []
    last_archive: dict[str, float] = {}
    last_raw: dict[str, float] = {}
    for attempt in range(args.repeat):
        total, last_archive = run_over_archive(archive, start, end, catalog)
        archive_runs.append(total)
        line = f"run {attempt + 1}: archive {total:.1f} s"
        if not args.skip_raw:
            total, last_raw = run_over_raw(source, start, end, catalog)
            raw_runs.append(total)
            line += f", raw JSONL {total:.1f} s"
        print(line, flush=True)
    archive_s = statistics.median(archive_runs)
    print()
    print(
        f"queries                      {len(catalog.queries)} ({args.events:,} events in the month, "
        f"{args.events * 2:,} with the baseline)"
    )
    print(f"catalog over the archive     {archive_s:.1f} s median (target <= 30 s at 10M events)")
    if raw_runs:
        raw_s = statistics.median(raw_runs)
        print(f"same SQL over raw JSONL      {raw_s:.1f} s median")
        print(f"speed-up                     {raw_s / archive_s:.0f}x (target >= 50x)")
    print("slowest queries over the archive:")
    for qid, seconds in sorted(last_archive.items(), key=lambda kv: -kv[1])[:8]:
        raw = f"  (raw {last_raw[qid]:.1f} s)" if qid in last_raw else ""
        print(f"  {seconds:6.2f} s  {qid}{raw}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
