"""Alerts (docs/alerts.md): what each step from a committed batch to a delivered alert costs.

    .venv/bin/python benchmarks/alerts.py [--events 200000] [--days 7] [--batches 5] [--workdir /tmp/kbench-alerts]

Builds an archive of `--events` synthetic events over the `--days` UTC days ending today (`kanalytics.synth`,
evaluated once, reused on the next run), with a webhook sink on a local HTTP server. Then, per batch of 1,000
events of the current minute (999 routine reads and one cluster-admin binding, which `privileged-role-binding`
alerts on), the medians of `--batches` batches of:

- ingest alone (the commit, the reference),
- evaluation at commit of the batch (`catalog.evaluate.ensure` of the days it touched),
- alert admission: the touched days' findings read from the stored results after allow-lists and the
  recurrence judgement, and admitted to the outbox (dedupe, grouping),
- delivery of the queued alert to the sink,

each with its ratio to ingest alone. The receiver adds up to `--flush-seconds` (30 s by default) before all of
this; tests/serve/test_alert_latency.py measures that end to end.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CASE = Path(__file__).resolve().parents[1] / "tests" / "cases" / "privileged-role-binding" / "fire.jsonl"


def _stamp(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def batch(now: datetime, n: int = 1000) -> list[dict[str, Any]]:
    binding = json.loads(CASE.read_text().splitlines()[0])
    binding["requestObject"]["roleRef"]["name"] = "cluster-admin"
    events = []
    for i in range(n - 1):
        ts = now - timedelta(milliseconds=n - i)
        events.append({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": str(uuid.uuid4()),
            "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/apps/pods", "verb": "list",
            "user": {"username": "system:serviceaccount:apps:reader", "groups": ["system:serviceaccounts"]},
            "sourceIPs": ["10.0.3.7"], "userAgent": "reader/1.0",
            "objectRef": {"resource": "pods", "namespace": "apps", "apiVersion": "v1"},
            "responseStatus": {"metadata": {}, "code": 200}, "requestReceivedTimestamp": _stamp(ts),
            "stageTimestamp": _stamp(ts + timedelta(milliseconds=2)),
        })  # fmt: skip
    event = copy.deepcopy(binding)
    event["auditID"] = str(uuid.uuid4())
    event["user"]["username"] = f"user-{uuid.uuid4().hex[:8]}@example.com"  # a new identity: a new alert
    event["requestReceivedTimestamp"], event["stageTimestamp"] = _stamp(now), _stamp(now)
    return [*events, event]


class _Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).received += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kbench-alerts"))
    args = parser.parse_args()

    import kanalytics
    from kanalytics.catalog import evaluate
    from kanalytics.config import parse_settings
    from kanalytics.synth import generate

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = parse_settings(
        {
            "alerts": {
                "sinks": [
                    {"name": "bench", "type": "webhook", "url": f"http://127.0.0.1:{server.server_port}/"}
                ]
            }
        },
        origin="benchmark",
    )
    today = datetime.now(UTC).date()
    work = args.workdir / f"{args.events}-{today.isoformat()}"
    archive = kanalytics.open_archive(work / "archive", config=settings)
    if not archive.layout.is_archive():
        work.mkdir(parents=True, exist_ok=True)
        log = work / "audit.jsonl.zst"
        first = today - timedelta(days=args.days - 1)
        generate(
            log, start=first, days=args.days, events=args.events, seed=3, scenarios=()
        )  # background only
        archive.store.ingest([str(log)], cluster="bench")
        began = time.perf_counter()
        archive.refresh(start=first, end=today + timedelta(days=1))
        print(
            f"built: {args.events:,} events over {args.days} days, evaluated in {time.perf_counter() - began:.1f} s"
        )

    steps: dict[str, list[float]] = {"ingest": [], "evaluate": [], "admit": [], "deliver": []}
    alerts = 0
    for _ in range(args.batches):
        events = batch(datetime.now(UTC))
        since = archive._committed_seq()
        began = time.perf_counter()
        archive.store.ingest_events(events, cluster="bench")
        steps["ingest"].append(time.perf_counter() - began)
        parts = evaluate.committed_parts(archive.store, since)
        began = time.perf_counter()
        evaluate.ensure(archive.store, archive.catalog, archive.settings, parts)
        steps["evaluate"].append(time.perf_counter() - began)
        began = time.perf_counter()
        admitted = archive.alerting.after_commit(parts)
        steps["admit"].append(time.perf_counter() - began)
        began = time.perf_counter()
        archive.alerting.deliver(seconds=10)
        steps["deliver"].append(time.perf_counter() - began)
        alerts += admitted.queued.get("bench", 0)
    server.shutdown()
    base = statistics.median(steps["ingest"])
    print(f"{args.batches} batches of 1,000 events; {alerts} alert(s) queued, {_Sink.received} delivered")
    for name, times in steps.items():
        median = statistics.median(times)
        print(f"  {name:<9} median {median * 1000:8.1f} ms   {median / base:6.2f}x ingest")
    total = sum(statistics.median(t) for t in steps.values())
    print(f"  commit to delivered alert (after the flush): {total:.2f} s")


if __name__ == "__main__":
    main()
