"""A real HTTP server on 127.0.0.1 that records what alert sinks are sent, with scriptable answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float  # time.time() when the request was read
    path: str
    headers: dict[str, str]
    body: Any


class SinkServer:
    """Answers each POST with the next of `answers` ((status, body, headers); the last one repeats)."""

    def __init__(self, port: int = 0, answers: list[tuple[int, str, dict[str, str]]] | None = None) -> None:
        self.received: list[Received] = []
        self.answers = list(answers or [(200, "{}", {})])
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("content-length") or 0), 10_000_000)
                raw = self.rfile.read(length)
                with sink._lock:
                    sink.received.append(
                        Received(time.time(), self.path, {k.lower(): v for k, v in self.headers.items()},
                                 json.loads(raw) if raw else None)
                    )  # fmt: skip
                    status, body, headers = sink.answers[0] if len(sink.answers) == 1 else sink.answers.pop(0)
                data = body.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> SinkServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.05)
        return list(self.received)


@contextmanager
def sink_server(
    port: int = 0, answers: list[tuple[int, str, dict[str, str]]] | None = None
) -> Iterator[SinkServer]:
    server = SinkServer(port, answers).start()
    try:
        yield server
    finally:
        server.stop()
