"""How an s3:// archive's `events` view should read: a pyarrow dataset over the objects in place, or a
verified local cache of the committed files read with read_parquet. Also times the archive commands on S3.

Runs against moto's S3 server on loopback (started and stopped here); prints medians and ratios.
    .venv/bin/python benchmarks/s3_read.py [--events 100000] [--days 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

QUERIES = {
    "count": "SELECT count(*) FROM events",
    "group by verb": "SELECT verb, count(*) FROM events GROUP BY verb ORDER BY verb",
    "filter one user": "SELECT count(*) FROM events WHERE user_name = 'system:kube-scheduler'",
    "bodies scan": "SELECT count(*) FROM events WHERE request_object LIKE '%privileged%'",
}


def median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-findings", action="store_true", help="leave the catalog run out of the timings")
    args = parser.parse_args()

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    work = Path(tempfile.mkdtemp(prefix="kanalytics-s3-bench-"))
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1", KANALYTICS_S3_CACHE=str(work / "cache"), KANALYTICS_EVALUATE_ON_COMMIT="0",
    )  # fmt: skip
    try:
        import boto3

        from kanalytics import synth
        from kanalytics.api import Archive
        from kanalytics.archive import reader

        boto3.client("s3").create_bucket(Bucket="bench")
        month = work / "month.jsonl"
        synth.generate(month, start=date(2026, 3, 1), days=args.days, events=args.events, seed=1)
        local, remote = Archive(work / "local"), Archive("s3://bench/a")
        timings: dict[str, tuple[float, float]] = {}

        def timed(name: str, on_local: Callable[[], object], on_remote: Callable[[], object]) -> None:
            began = time.perf_counter()
            on_local()
            middle = time.perf_counter()
            on_remote()
            timings[name] = (middle - began, time.perf_counter() - middle)

        timed("ingest", lambda: local.ingest([month]), lambda: remote.ingest([month]))
        print(f"{args.events} events over {args.days} days; moto S3 on {host}:{port}")
        print(f"\n{'read (median of ' + str(args.repeat) + ')':<22}{'dataset':>10}{'cache cold':>12}"
              f"{'cache warm':>12}{'local':>10}{'dataset/warm':>14}")  # fmt: skip
        for name, query in QUERIES.items():
            reader.REMOTE_READ = "dataset"
            in_place = median(lambda q=query: remote.sql(q).rows(), args.repeat)
            reader.REMOTE_READ = "cache"
            colds = []
            for _ in range(args.repeat):
                shutil.rmtree(work / "cache", ignore_errors=True)
                began = time.perf_counter()
                remote.sql(query).rows()
                colds.append(time.perf_counter() - began)
            cold = statistics.median(colds)
            warm = median(lambda q=query: remote.sql(q).rows(), args.repeat)
            on_disk = median(lambda q=query: local.sql(q).rows(), args.repeat)
            print(
                f"{name:<22}{in_place:>9.3f}s{cold:>11.3f}s{warm:>11.3f}s{on_disk:>9.3f}s{in_place / warm:>13.1f}x"
            )

        def export(archive: Archive) -> None:
            archive.export(io.BytesIO())

        timed("export", lambda: export(local), lambda: export(remote))
        timed("verify", local.verify, remote.verify)
        if not args.no_findings:
            timed(
                "findings", lambda: local.findings(month="2026-03"), lambda: remote.findings(month="2026-03")
            )
        remote.layout.delete_grace_seconds = 0.0
        timed("compact", lambda: local.compact(older_than="0d"), lambda: remote.compact(older_than="0d"))
        print(f"\n{'command':<12}{'local':>10}{'s3 (moto)':>12}{'ratio':>8}")
        for name, (on_disk, on_s3) in timings.items():
            print(f"{name:<12}{on_disk:>9.2f}s{on_s3:>11.2f}s{on_s3 / on_disk:>7.1f}x")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
