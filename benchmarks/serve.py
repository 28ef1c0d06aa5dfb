"""Prints what `kanalytics serve` sustains on loopback: events/s acknowledged, ack latency p50/p99 for a
400-event batch (spooled and fsynced), the server's peak RSS, and whether the flusher kept up; then the same
with gzip bodies. Every auditID is unique (a per-send counter is patched into pre-built bodies), so dedupe
does no shortcut; the final SIGTERM flush must archive every acknowledged event.

    .venv/bin/python benchmarks/serve.py [--seconds 60] [--clients 4] [--batch 400]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

TOKEN = "bench-token"


def template(client: int, batch: int) -> bytes:
    """One EventList whose auditIDs hold the marker `RRRRRRRR` (replaced per send by a counter)."""
    items = []
    for n in range(batch):
        items.append(
            {
                "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                "auditID": f"RRRRRRRR-{client:02d}-{n:05d}", "stage": "ResponseComplete",
                "requestURI": f"/api/v1/namespaces/team-{n % 17}/pods/web-{n}", "verb": ("get", "list", "watch")[n % 3],
                "user": {"username": f"system:serviceaccount:team-{n % 17}:deployer", "groups": ["system:authenticated"]},
                "sourceIPs": [f"10.0.{n % 250}.{client + 1}"], "userAgent": "kubectl/v1.31.0 (linux/amd64)",
                "objectRef": {"resource": "pods", "namespace": f"team-{n % 17}", "name": f"web-{n}", "apiVersion": "v1"},
                "responseStatus": {"metadata": {}, "code": 200},
                "requestReceivedTimestamp": "2026-11-30T12:00:00.000000Z",
                "stageTimestamp": "2026-11-30T12:00:00.003000Z",
                "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
            }
        )  # fmt: skip
    return json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}).encode()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(seconds: float, clients: int, batch: int, use_gzip: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        token = Path(tmp, "token")
        token.write_text(TOKEN)
        port = free_port()
        command = [
            sys.executable, "-m", "kanalytics", "serve", "--archive", f"{tmp}/archive", "--listen",
            f"127.0.0.1:{port}", "--token-file", str(token), "--flush-events", "100000", "--flush-seconds", "10",
        ]  # fmt: skip
        log = open(os.environ.get("SERVE_LOG", os.devnull), "ab")  # noqa: SIM115
        server = subprocess.Popen(command, stderr=log)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        latencies: list[float] = []
        acked = [0]
        refused = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client(index: int) -> None:
            body = template(index, batch)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            if use_gzip:
                headers["Content-Encoding"] = "gzip"
            with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
                sends = 0
                while time.monotonic() < stop_at:
                    sends += 1
                    data = body.replace(b"RRRRRRRR", b"%08d" % sends)
                    if use_gzip:
                        data = gzip.compress(data, compresslevel=1)
                    started = time.perf_counter()
                    status = http.post("/audit", content=data).status_code
                    elapsed = time.perf_counter() - started
                    with lock:
                        if status == 200:
                            latencies.append(elapsed)
                            acked[0] += batch
                        else:
                            refused[0] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        metrics = httpx.get(f"{url}/metrics").text
        archived_live = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("kanalytics_events_archived_total ")
        )
        rss = peak_rss_mib(server.pid)
        flush_started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=600)
        flush = time.monotonic() - flush_started
        import kanalytics

        archived = kanalytics.open_archive(f"{tmp}/archive").info().events
        quantiles = statistics.quantiles(latencies, n=100)
        label = "gzip" if use_gzip else "identity"
        print(
            f"{label:8}  {acked[0] / wall:9,.0f} events/s acked   p50 {quantiles[49] * 1000:6.1f} ms   "
            f"p99 {quantiles[98] * 1000:6.1f} ms   peak RSS {rss:5.0f} MiB   503s {refused[0]}   "
            f"archived while running {archived_live / wall:8,.0f} events/s   final flush {flush:5.1f} s   "
            f"archived {archived}/{acked[0]} (exit {code})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=400)
    args = parser.parse_args()
    print(
        f"{args.clients} clients x {args.batch}-event batches for {args.seconds:.0f} s on loopback, {os.cpu_count()} CPUs"
    )
    for use_gzip in (False, True):
        run(args.seconds, args.clients, args.batch, use_gzip)


if __name__ == "__main__":
    main()
