"""Splunk HEC: the event envelope, and delivery to a real local collector that checks the protocol as Splunk does.

`Collector` is an HTTP server on 127.0.0.1 that answers like HEC: `/services/collector/event` only, the
`Authorization: Splunk <token>` header (401 code 2/3, 403 code 4), a body of JSON objects back to back each with
`event` (400 code 12), a numeric `time` (400 code 6), `fields` of strings (400 code 15), gzip bodies, and
`{"text":"Success","code":0}`. It can be told to answer the next requests with a scripted status (503, 429,
400) instead; those requests' events are not kept, so counting what it kept proves nothing was lost or doubled.
"""

from __future__ import annotations

import gc
import gzip
import json
import socket
import threading
import time
import traceback
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kanalytics.catalog.model import Finding
from kanalytics.config import HecSettings, Secret
from kanalytics.errors import ConfigError, DeliveryError
from kanalytics.outputs.formats.hec import FIELD_MAX_CHARS, event_payload, finding_payload
from kanalytics.outputs.hec import HecClient
from kanalytics.sources.jsontext import dumps_bytes
from tests.conftest import shared_data

TOKEN = "7d1b2c9e-0a4f-4c35-9a51-5f1e0c2b8d77"
MAX_BODY = 10_000_000


class Collector:
    """What the collector received and what it is told to answer next."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []  # accepted HEC events, in order
        self.requests: list[dict[str, Any]] = []  # every request: time, channel, body size, status answered
        self.script: list[tuple[int, dict[str, Any], dict[str, str]] | None] = []  # None: answer normally
        self.on_request: Any = None  # called at each request (the memory test reads its generator's count)
        self.keep = True  # False: count the accepted events without keeping them
        self.accepted = 0

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.on_request is not None:
            self.on_request()
        length = int(handler.headers.get("Content-Length") or -1)
        if not 0 <= length <= MAX_BODY:
            return 411, {"text": "Content-Length required", "code": 6}, {}
        raw = handler.rfile.read(length)
        with self.lock:
            scripted = self.script.pop(0) if self.script else None
            self.requests.append(
                {
                    "at": time.monotonic(),
                    "channel": handler.headers.get("X-Splunk-Request-Channel"),
                    "bytes": len(raw),
                    "encoding": handler.headers.get("Content-Encoding"),
                }
            )
        if handler.path != "/services/collector/event":
            return 404, {"text": "The requested URL was not found on this server.", "code": 404}, {}
        auth = handler.headers.get("Authorization")
        if auth is None:
            return 401, {"text": "Token is required", "code": 2}, {}
        scheme, _, token = auth.partition(" ")
        if scheme != "Splunk" or not token:
            return 401, {"text": "Invalid authorization", "code": 3}, {}
        if token != TOKEN:
            return 403, {"text": "Invalid token", "code": 4}, {}
        if scripted is not None:
            return scripted
        if handler.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        events, error = parse_batch(raw.decode("utf-8"))
        if error is not None:
            return 400, error, {}
        with self.lock:
            self.accepted += len(events)
            if self.keep:
                self.events += events
        return 200, {"text": "Success", "code": 0}, {}


def parse_batch(text: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """HEC's batch form: JSON objects back to back (whitespace between allowed), each a valid event."""
    decoder = json.JSONDecoder()
    events: list[dict[str, Any]] = []
    at = 0
    for _ in range(MAX_BODY):  # each turn consumes at least one character
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        try:
            obj, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return [], {"text": "Invalid data format", "code": 6, "invalid-event-number": len(events)}
        if not isinstance(obj, dict):
            return [], {"text": "Invalid data format", "code": 6, "invalid-event-number": len(events)}
        if "event" not in obj or obj["event"] is None:
            return [], {"text": "Event field is required", "code": 12, "invalid-event-number": len(events)}
        if obj["event"] in ("", {}):
            return [], {
                "text": "Event field cannot be blank",
                "code": 13,
                "invalid-event-number": len(events),
            }
        if "time" in obj and (isinstance(obj["time"], bool) or not isinstance(obj["time"], int | float)):
            return [], {"text": "Invalid data format", "code": 6, "invalid-event-number": len(events)}
        if any(k in obj and not isinstance(obj[k], str) for k in ("host", "source", "sourcetype", "index")):
            return [], {"text": "Invalid data format", "code": 6, "invalid-event-number": len(events)}
        fields = obj.get("fields", {})
        if not isinstance(fields, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for v in fields.values()
        ):
            return [], {"text": "Error in handling indexed fields", "code": 15}
        events.append(obj)
    if not events:
        return [], {"text": "No data", "code": 5}
    return events, None


@pytest.fixture
def collector() -> Iterator[tuple[Collector, str]]:
    state = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, body, headers = state.answer(self)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def client(url: str, token: str = TOKEN, **options: Any) -> HecClient:
    defaults: dict[str, Any] = {
        "timeout": 5.0,
        "backoff_seconds": 0.05,
        "max_attempts": 4,
        "deadline_seconds": 20,
    }
    return HecClient(url, token, **(defaults | options))


def sample_events() -> list[dict[str, Any]]:
    """Every Event of the Falco trace files (JSON Lines; the one file that is not an Event is left out)."""
    events = []
    for path in sorted(shared_data("falco-traces").glob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines()[:1000]:
            if line.strip():
                obj = json.loads(line)
                if obj.get("kind") == "Event":
                    events.append(obj)
    return events


def two_events() -> list[dict[str, Any]]:
    namespaced = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "11111111-1111-1111-1111-111111111111", "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/prod/secrets/db", "verb": "get",
        "user": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.5"], "userAgent": "kubectl/v1.30.1",
        "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-10-01T12:00:00.123456Z",
        "stageTimestamp": "2026-10-01T12:00:00.126000Z",
    }  # fmt: skip
    cluster_scoped = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "22222222-2222-2222-2222-222222222222", "stage": "ResponseComplete",
        "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "verb": "create",
        "user": {"username": "x" * 300}, "sourceIPs": ["192.0.2.7"],
        "objectRef": {"resource": "clusterrolebindings", "apiGroup": "rbac.authorization.k8s.io"},
        "responseStatus": {"metadata": {}, "code": 403},
        "requestReceivedTimestamp": "2018-10-26T13:42:46.764713Z",
    }  # fmt: skip
    return [namespaced, cluster_scoped]


# -- the envelope -------------------------------------------------------------------------------------------


def test_event_payloads_are_exact() -> None:
    first, second = two_events()
    assert event_payload(first, "prod-eu", HecSettings()) == {
        "time": 1790856000.123456,
        "host": "prod-eu",
        "source": "kanalytics",
        "sourcetype": "kube:apiserver-audit",
        "event": first,
        "fields": {
            "k8s_cluster": "prod-eu", "k8s_verb": "get", "k8s_user": "alice@example.com",
            "k8s_namespace": "prod", "k8s_resource": "secrets", "k8s_response_code": "200",
            "k8s_stage": "ResponseComplete",
        },
    }  # fmt: skip
    options = HecSettings(host="fwd-1", index="k8s_audit", source="kanalytics:prod", sourcetype="k8s:audit")
    payload = event_payload(second, "prod-eu", options)
    assert payload == {
        "time": 1540561366.764713,
        "host": "fwd-1",
        "source": "kanalytics:prod",
        "sourcetype": "k8s:audit",
        "index": "k8s_audit",
        "event": second,
        "fields": {
            "k8s_cluster": "prod-eu", "k8s_verb": "create", "k8s_user": "x" * FIELD_MAX_CHARS,
            "k8s_resource": "clusterrolebindings", "k8s_response_code": "403", "k8s_stage": "ResponseComplete",
        },
    }  # fmt: skip
    assert payload["event"] is second  # unchanged, not a re-encoding
    # The encoded event keeps the microseconds exactly.
    assert dumps_bytes(payload).startswith(b'{"time":1540561366.764713,"host":"fwd-1",')


def test_event_time_falls_back_to_stage_timestamp_then_is_left_to_hec() -> None:
    event = two_events()[0]
    del event["requestReceivedTimestamp"]
    assert event_payload(event, "c1", HecSettings())["time"] == 1790856000.126
    del event["stageTimestamp"]
    event["timestamp"] = "not a time"
    assert "time" not in event_payload(event, "c1", HecSettings())


def test_finding_payload_is_exact() -> None:
    finding = Finding(
        query_id="secret-read-by-human", title="A person read a Secret", kind="detection", severity="high",
        area="secrets", ts=datetime(2026, 10, 1, 12, 5, tzinfo=UTC),
        audit_id="11111111-1111-1111-1111-111111111111", user_name="alice@example.com", source_ip="10.0.0.5",
        verb="get", resource="secrets", namespace="prod", object_name="db",
        summary="alice@example.com read Secret prod/db", cluster="prod-eu",
        evidence={"seen": datetime(2026, 9, 30, tzinfo=UTC), "count": 3},
    )  # fmt: skip
    assert finding_payload(finding, HecSettings(index="k8s_findings")) == {
        "time": 1790856300.0,
        "host": "prod-eu",
        "source": "kanalytics",
        "sourcetype": "kanalytics:finding",
        "index": "k8s_findings",
        "event": {
            "severity": "high", "query_id": "secret-read-by-human", "title": "A person read a Secret",
            "kind": "detection", "area": "secrets", "ts": "2026-10-01T12:05:00+00:00", "cluster": "prod-eu",
            "audit_id": "11111111-1111-1111-1111-111111111111", "user_name": "alice@example.com",
            "source_ip": "10.0.0.5", "verb": "get", "resource": "secrets", "namespace": "prod",
            "object_name": "db", "summary": "alice@example.com read Secret prod/db", "score": None,
            "baseline": None, "evidence": {"seen": "2026-09-30T00:00:00+00:00", "count": 3},
        },
        "fields": {
            "k8s_cluster": "prod-eu", "k8s_verb": "get", "k8s_user": "alice@example.com",
            "k8s_namespace": "prod", "k8s_resource": "secrets", "finding_query": "secret-read-by-human",
            "finding_severity": "high", "finding_kind": "detection", "finding_area": "secrets",
        },
    }  # fmt: skip
    json.dumps(finding_payload(finding, HecSettings()), allow_nan=False)  # JSON-safe as it is


# -- delivery -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_all_samples_arrive_intact_in_several_batches(
    collector: tuple[Collector, str], compress: bool
) -> None:
    state, url = collector
    events = sample_events()
    assert len(events) == 51
    payloads = [event_payload(e, "minikube", HecSettings()) for e in events]
    stats = client(url, batch_events=7, compress=compress).send(iter(payloads))
    assert (stats.events, stats.batches, stats.retries) == (51, 8, 0)
    assert len(state.requests) == 8
    assert {r["encoding"] for r in state.requests} == ({"gzip"} if compress else {None})
    assert stats.wire_bytes == sum(r["bytes"] for r in state.requests)
    encoded = [dumps_bytes(p) for p in payloads]
    assert stats.bytes == sum(len(e) + 1 for e in encoded) - 8  # one newline between the events of a batch
    # One channel, a uuid, for the whole run (indexer acknowledgement needs it).
    channels = {r["channel"] for r in state.requests}
    assert len(channels) == 1 and str(uuid.UUID(channels.pop()))
    received = [p["event"] for p in state.events]
    assert received == events  # every event, in order, unchanged
    assert Counter(e["auditID"] for e in received) == Counter(e["auditID"] for e in events)
    assert all(
        isinstance(p["time"], float) and p["fields"]["k8s_cluster"] == "minikube" for p in state.events
    )


def test_batches_respect_batch_bytes(collector: tuple[Collector, str]) -> None:
    state, url = collector
    payloads = [event_payload(e, "minikube", HecSettings()) for e in sample_events()]
    sizes = [len(dumps_bytes(p)) for p in payloads]
    limit = 4096
    stats = client(url, batch_bytes=limit).send(payloads)
    assert stats.events == 51 and len(state.events) == 51
    # Greedy packing: a batch takes events while the body (newline-separated) stays within the limit; an event
    # larger than the limit goes alone.
    expected: list[int] = []
    for size in sizes:
        if expected and expected[-1] + 1 + size <= limit:
            expected[-1] += 1 + size
        else:
            expected.append(size)
    assert [r["bytes"] for r in state.requests] == expected
    assert stats.batches == len(expected) and any(size > limit for size in sizes)


def test_at_most_one_batch_is_held(collector: tuple[Collector, str]) -> None:
    state, url = collector
    pulled = 0
    seen_at_requests: list[int] = []
    state.on_request = lambda: seen_at_requests.append(pulled)

    def payloads() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for event in sample_events()[:12]:
            pulled += 1
            yield event_payload(event, "c1", HecSettings())

    client(url, batch_events=5).send(payloads())
    # The 6th event makes the first batch go; the 11th the second; the end of input the last.
    assert seen_at_requests == [6, 11, 12]


def test_sent_batches_are_not_kept(collector: tuple[Collector, str]) -> None:
    """Memory stays at one batch: what was sent is freed without waiting for the cyclic GC (httpx keeps a finished
    request, and a bytes body in it, in a reference cycle)."""
    state, url = collector
    state.keep = False
    filler = "x" * 1000
    payloads = ({"event": {"n": n, "filler": filler}} for n in range(4000))  # ~4 MB in 40 batches of 100 kB
    hec = client(url, batch_events=100, batch_bytes=200_000)
    hec.send([{"event": "warm-up"}])
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        stats = hec.send(payloads)
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        gc.enable()
    assert (stats.batches, state.accepted) == (40, 4001)
    assert after - before < 1_000_000  # with the bodies kept until a GC run: over 4 MB


def test_server_busy_is_retried_without_losing_or_doubling_events(collector: tuple[Collector, str]) -> None:
    state, url = collector
    busy = (503, {"text": "Server is busy", "code": 9}, {})
    state.script = [None, busy, busy, None, None]  # the second batch is refused twice, then accepted
    events = sample_events()[:5]
    stats = client(url, batch_events=2).send(event_payload(e, "c1", HecSettings()) for e in events)
    assert (stats.events, stats.batches, stats.retries) == (5, 3, 2)
    assert len(state.requests) == 5
    assert [p["event"]["auditID"] for p in state.events] == [e["auditID"] for e in events]


def test_retry_after_is_honoured(collector: tuple[Collector, str]) -> None:
    state, url = collector
    state.script = [(429, {"text": "Too many requests", "code": 9}, {"Retry-After": "1"})]
    stats = client(url, backoff_seconds=0.01).send([event_payload(two_events()[0], "c1", HecSettings())])
    assert (stats.events, stats.retries) == (1, 1)
    assert len(state.requests) == 2
    assert state.requests[1]["at"] - state.requests[0]["at"] >= 0.95  # waited what it was asked, not 0.01 s


def test_invalid_data_format_stops_with_the_batch_and_code(collector: tuple[Collector, str]) -> None:
    state, url = collector
    state.script = [None, (400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 0}, {})]
    events = sample_events()[:6]
    with pytest.raises(DeliveryError) as caught:
        client(url, batch_events=2).send(event_payload(e, "c1", HecSettings()) for e in events)
    assert str(caught.value) == (
        f"Splunk HEC at {url}/services/collector/event refused batch 2 (events 3-4): "
        "HTTP 400, HEC code 6 'Invalid data format'\n"
        "  hint: check that the URL reaches HEC directly, not a proxy that rewrites bodies; "
        "the first 2 event(s) were delivered: sending again sends them twice"
    )
    assert (caught.value.status, caught.value.code) == (400, 6)
    assert len(state.requests) == 2  # not retried, and the third batch was never sent
    assert len(state.events) == 2


def test_bad_token_error_never_shows_the_token(collector: tuple[Collector, str]) -> None:
    state, url = collector
    secret = "f00dfeed-0000-4000-8000-5ecre7700000"
    hec = client(url, token=secret)
    with pytest.raises(DeliveryError) as caught:
        hec.send([event_payload(two_events()[0], "c1", HecSettings())])
    error = caught.value
    assert (error.status, error.code) == (403, 4)
    assert "HEC code 4 'Invalid token'" in str(error) and "[exports.splunk_hec] token" in str(error)
    shown = [str(error), repr(error), repr(hec), "".join(traceback.format_exception(error))]
    assert not [text for text in shown if secret in text]
    assert len(state.requests) == 1  # a refused token is not retried


def test_collector_checks_the_protocol(collector: tuple[Collector, str]) -> None:
    """The local collector refuses what Splunk refuses, so the tests above can fail."""
    state, url = collector
    cases = [
        ({"time": 1.5, "fields": {}}, 12),  # no `event`
        ({"event": {"a": 1}, "time": "2026-10-01"}, 6),  # `time` not a number
        ({"event": {"a": 1}, "fields": {"code": 200}}, 15),  # an indexed field that is not a string
    ]
    for payload, code in cases:
        with pytest.raises(DeliveryError) as caught:
            client(url).send([payload])
        assert caught.value.code == code
    with pytest.raises(DeliveryError) as caught:
        client(url.replace("http://", "http://user:pw@") + "/other/path?x=1").send([{"event": "x"}])
    assert caught.value.code == 404 or caught.value.status == 404
    assert "user" not in str(caught.value) and "pw" not in str(caught.value)
    assert state.events == []


def test_an_unreachable_collector_gives_up_after_max_attempts() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        client(f"http://127.0.0.1:{port}", max_attempts=3, backoff_seconds=0.01).send([{"event": "x"}])
    message = str(caught.value)
    assert message.startswith(
        f"Splunk HEC at http://127.0.0.1:{port}/services/collector/event did not accept"
    )
    assert "batch 1 (events 1-1) after 3 attempt(s)" in message and "ConnectError" in message
    assert "no event was delivered" in message and TOKEN not in message
    assert caught.value.status is None
    assert time.monotonic() - started < 10


def test_collector_url_and_token_are_checked() -> None:
    assert HecClient("https://splunk.example.com:8088/", TOKEN).url == (
        "https://splunk.example.com:8088/services/collector/event"
    )
    assert HecClient("https://splunk.example.com:8088/services/collector", TOKEN).url == (
        "https://splunk.example.com:8088/services/collector/event"
    )
    with pytest.raises(ConfigError) as caught:
        HecClient("https://splunk.example.com:8088", "abc\r\nX-Injected: yes")
    assert "abc" not in str(caught.value) and "Injected" not in str(caught.value)
    with pytest.raises(ConfigError):
        HecClient("ftp://splunk.example.com", TOKEN)


def test_client_from_settings_reads_the_token_file(collector: tuple[Collector, str], tmp_path: Path) -> None:
    state, url = collector
    token_file = tmp_path / "hec-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    settings = HecSettings(url=url, token=Secret(file=str(token_file)), batch_events=3)
    hec = HecClient.from_settings(settings, backoff_seconds=0.01)
    assert TOKEN not in repr(hec)
    stats = hec.send(event_payload(e, "c1", settings) for e in sample_events()[:7])
    assert (stats.events, stats.batches, len(state.events)) == (7, 3, 7)
    with pytest.raises(ConfigError):
        HecClient.from_settings(HecSettings(url=url))


def test_archive_sends_its_events_to_hec(
    collector: tuple[Collector, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole path: the real samples ingested, read back from the archive and delivered (kanalytics export
    --hec), every event once, with the audit sourcetype and the cluster as host."""
    from kanalytics.api import open_archive
    from kanalytics.config import EvaluationSettings, ExportSettings, Settings

    state, url = collector
    monkeypatch.setenv("KANALYTICS_TEST_HEC_TOKEN", TOKEN)
    hec = HecSettings(url=url, token=Secret(env="KANALYTICS_TEST_HEC_TOKEN"), batch_events=10, index="k8s")
    settings = Settings(
        exports=ExportSettings(splunk_hec=hec), evaluation=EvaluationSettings(on_commit=False)
    )
    arch = open_archive(tmp_path / "a", config=settings)
    arch.ingest(sorted(shared_data("falco-traces").glob("*.json")), cluster="minikube")
    stats = arch.send_to_hec(start="2018-01-01", end="2022-01-01")
    expected = Counter(e["auditID"] for e in sample_events())
    assert stats.events == sum(expected.values()) == len(state.events)
    assert Counter(p["event"]["auditID"] for p in state.events) == expected
    assert {(p["sourcetype"], p["host"], p["index"]) for p in state.events} == {
        ("kube:apiserver-audit", "minikube", "k8s")
    }
    assert stats.batches == len(state.requests) == -(-stats.events // 10)
