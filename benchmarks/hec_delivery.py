"""Splunk HEC delivery: events/s through `HecClient.send` to a local collector, and the peak memory it holds.

A local HTTP server on 127.0.0.1 plays HEC (reads each body, answers `{"text":"Success","code":0}`); N events
are generated one at a time, so the Python peak (tracemalloc) is what the client holds: about one batch.

    .venv/bin/python benchmarks/hec_delivery.py --events 100000 --batch-events 500
"""

from __future__ import annotations

import argparse
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"text":"Success","code":0}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-events", type=int, default=500)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()

    import httpx  # noqa: F401  (imported before the clock starts: the first import compiles it)

    from kanalytics.config import HecSettings
    from kanalytics.outputs.formats.hec import event_payload
    from kanalytics.outputs.hec import HecClient
    from tests.conftest import make_event

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = HecSettings()

    def payloads() -> Iterator[dict[str, Any]]:
        for _ in range(args.events):
            yield event_payload(make_event(), "bench", options)

    client = HecClient(
        f"http://127.0.0.1:{server.server_address[1]}",
        "00000000-0000-4000-8000-000000000000",
        batch_events=args.batch_events,
        compress=args.gzip,
    )
    started = time.perf_counter()
    stats = client.send(payloads())
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second run for the peak: tracemalloc slows allocation-heavy code several times
    client.send(payloads())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    server.shutdown()
    server.server_close()
    print(f"events          {stats.events}")
    print(f"batches         {stats.batches}")
    print(f"json MB         {stats.bytes / 1e6:.1f}")
    print(f"wire MB         {stats.wire_bytes / 1e6:.1f}")
    print(f"events/s        {stats.events / elapsed:,.0f}  (generating the events included)")
    print(f"peak Python MB  {peak / 1e6:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
