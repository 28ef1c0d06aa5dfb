"""A real `kanalytics serve` subprocess on a free loopback port, and helpers to build webhook bodies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_event

TOKEN = "test-token-5f2c"
START_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event_list(events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events}).encode()


def events(n: int) -> list[dict[str, Any]]:
    return [make_event() for _ in range(n)]


class Receiver:
    """One server process; `start()` waits (bounded) until /healthz answers."""

    def __init__(
        self, tmp: Path, *args: str, scheme: str = "http", client: dict[str, Any] | None = None
    ) -> None:
        self.archive = tmp / "archive"
        self.token_file = tmp / "token"
        self.token_file.write_text(TOKEN + "\n")
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.args = list(args)
        self.client_options = client or {}
        self.stderr_path = tmp / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "kanalytics", "serve", "--archive", str(self.archive),
            "--listen", f"127.0.0.1:{self.port}", "--token-file", str(self.token_file), *self.args,
        ]  # fmt: skip

    def start(self) -> Receiver:
        env = dict(os.environ)
        env.pop("KANALYTICS_CONFIG", None)
        env.pop("KANALYTICS_ARCHIVE", None)
        self.stderr = self.stderr_path.open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log()}")
            try:
                if self.client().get("/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"serve did not answer /healthz within {START_SECONDS}s: {self.log()}")

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **{**self.client_options, **options})

    def post(
        self, body: bytes, *, token: str | None = TOKEN, path: str = "/audit", **headers: str
    ) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        with self.client() as client:
            return client.post(path, content=body, headers=headers)

    def metric(self, name: str) -> float:
        """The value of one sample line (`name` including labels) of /metrics."""
        with self.client() as client:
            text = client.get("/metrics").text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        raise AssertionError(f"{name} not in /metrics:\n{text}")

    def stop(self) -> int:
        """SIGTERM (the final flush), bounded wait; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.stderr.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.stderr.close()

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Receiver] = []

    def make(*args: str, **options: Any) -> Receiver:
        receiver = Receiver(tmp_path, *args, **options)
        started.append(receiver)
        return receiver.start()

    yield make
    for receiver in started:
        if receiver.proc is not None and receiver.proc.poll() is None:
            receiver.kill()


def archived(archive: Path) -> list[str]:
    """Every archived auditID (one per row), sorted."""
    import kanalytics

    frame = kanalytics.open_archive(archive).sql("SELECT audit_id FROM events ORDER BY 1")
    return [str(v) for v in frame["audit_id"].to_list()]
