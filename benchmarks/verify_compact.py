"""Prints verify throughput (GB/s of Parquet hashed) and compaction time and size gain for a month of small files.

A month of hourly webhook flushes (one ingest per hour, so one small file per partition per hour) is built in a
temporary folder; then `verify` hashes every file, `compact` merges each day, and the same query is run before
and after to show the rows did not change.

    .venv/bin/python benchmarks/verify_compact.py [--days 30] [--flushes 24] [--events 500]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kanalytics
from kanalytics.archive.compact import compact_archive
from kanalytics.archive.verify import verify_archive

USERS = [f"user{i}@example.com" for i in range(40)] + [
    "system:serviceaccount:kube-system:replicaset-controller"
]
NAMESPACES = ["default", "payments", "web", "kube-system", "monitoring", "batch"]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
RESOURCES = ["pods", "deployments", "configmaps", "secrets", "services", "leases"]


def event(rng: random.Random, ts: datetime) -> dict[str, Any]:
    ns, resource, verb = rng.choice(NAMESPACES), rng.choice(RESOURCES), rng.choice(VERBS)
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": str(uuid.UUID(int=rng.getrandbits(128))),
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/{ns}/{resource}",
        "verb": verb,
        "user": {"username": rng.choice(USERS), "groups": ["system:authenticated"]},
        "sourceIPs": [f"10.0.{rng.randrange(4)}.{rng.randrange(250)}"],
        "userAgent": "kubectl/v1.30.1 (linux/amd64) kubernetes/abc",
        "objectRef": {
            "resource": resource,
            "namespace": ns,
            "name": f"obj-{rng.randrange(500)}",
            "apiVersion": "v1",
        },
        "responseStatus": {"metadata": {}, "code": rng.choice([200, 200, 200, 201, 403, 404])},
        "requestReceivedTimestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "stageTimestamp": (ts + timedelta(milliseconds=rng.randrange(1, 80))).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        ),
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--flushes", type=int, default=24, help="ingests (files) per day")
    parser.add_argument("--events", type=int, default=500, help="events per flush")
    parser.add_argument("--level", type=int, default=None, help="zstd level for compaction")
    args = parser.parse_args()
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        archive = kanalytics.open_archive(Path(tmp) / "a")
        t0 = time.perf_counter()
        for hour in range(args.days * args.flushes):
            base = start + timedelta(hours=hour * 24 / args.flushes)
            span = 3600 * 24 / args.flushes
            events = [event(rng, base + timedelta(seconds=rng.random() * span)) for _ in range(args.events)]
            archive.ingest_events(events, cluster="bench")
        built = time.perf_counter() - t0
        info = archive.info()
        print(
            f"built {info.events} events in {info.files} files over {info.partitions} days in {built:.1f} s"
        )

        t0 = time.perf_counter()
        report = verify_archive(archive.layout)
        seconds = time.perf_counter() - t0
        assert report.ok, report.lines()
        print(
            f"verify: {report.bytes_hashed / 1e6:.1f} MB hashed in {seconds:.2f} s = "
            f"{report.bytes_hashed / 1e9 / seconds:.2f} GB/s (chain + stat + SHA-256 of {report.files_total} files)"
        )

        query = "select count(*) as n, count(distinct event_hash) as d, sum(response_code) as s from events"
        before = archive.sql(query)
        result = compact_archive(archive.layout, older_than=timedelta(0), level=args.level)
        after = archive.sql(query)
        assert before.equals(after), (before, after)
        print(
            f"compact: {result.files_before} → {result.files_after} files, "
            f"{result.bytes_before / 1e6:.1f} → {result.bytes_after / 1e6:.1f} MB "
            f"({(1 - result.bytes_after / result.bytes_before) * 100:.0f}% smaller) in {result.seconds:.1f} s; "
            f"query results identical ({before['n'][0]} rows)"
        )
        t0 = time.perf_counter()
        report = verify_archive(archive.layout)
        seconds = time.perf_counter() - t0
        print(
            f"verify after compaction: {report.summary()} in {seconds:.2f} s = "
            f"{report.bytes_hashed / 1e9 / seconds:.2f} GB/s"
        )


if __name__ == "__main__":
    main()
