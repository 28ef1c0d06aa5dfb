"""Sink payloads (Falcosidekick webhook, Alertmanager v2, Slack), requests and one POST against a real local server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from kanalytics._version import __version__
from kanalytics.config import AlertSink, Secret
from kanalytics.errors import ConfigError
from kanalytics.outputs.alerts.model import Alert
from kanalytics.outputs.alerts.sinks import (
    alertmanager_payload,
    build_request,
    send,
    slack_payload,
    webhook_payload,
)
from kanalytics.outputs.http import retry_after

TOKEN = "tok-3f9a1c77e2b04d55"
T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


# -- a real local HTTP sink ---------------------------------------------------------------------------------


@dataclass
class Received:
    at: float  # time.monotonic() when the server read the request
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering


class SinkServer:
    """ThreadingHTTPServer on 127.0.0.1: records every POST and answers from a script (then 200)."""

    def __init__(self, *replies: Reply) -> None:
        self.received: list[Received] = []
        self.script: deque[Reply] = deque(replies)
        self.default = Reply()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                server.received.append(Received(time.monotonic(), self.path, dict(self.headers), body))
                reply = server.script.popleft() if server.script else server.default
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> SinkServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port nothing listens on (a sink that is down: connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:
        yield c


# -- one alert ----------------------------------------------------------------------------------------------


def make_alert(**overrides: Any) -> Alert:
    finding = {
        "severity": "high",
        "query_id": "rbac-cluster-admin-binding",
        "title": "cluster-admin granted",
        "kind": "detection",
        "area": "rbac",
        "ts": T0.isoformat(),
        "cluster": "prod",
        "audit_id": "5f1e7c2a-0d2b-4c61-9a7e-1b2c3d4e5f60",
        "user_name": "alice@example.com",
        "source_ip": "203.0.113.7",
        "verb": "create",
        "resource": "clusterrolebindings",
        "namespace": None,
        "object_name": "ci-admin",
        "summary": "alice@example.com bound cluster-admin to ci-admin",
        "evidence": {},
    }
    values: dict[str, Any] = {
        "id": "0b6d2f5e-8f3c-4a51-b0c9-7d2e1f4a3b21",
        "key": '["rbac-cluster-admin-binding","prod",["alice@example.com"]]',
        "query_id": "rbac-cluster-admin-binding",
        "title": "cluster-admin granted",
        "kind": "detection",
        "severity": "high",
        "area": "rbac",
        "cluster": "prod",
        "dedup": {"user_name": "alice@example.com"},
        "summary": "alice@example.com bound cluster-admin to ci-admin",
        "description": "A ClusterRoleBinding to cluster-admin gives full control of the cluster.",
        "first_ts": T0,
        "last_ts": T0 + timedelta(minutes=5),
        "count": 3,
        "created_at": T0 + timedelta(seconds=30),
        "findings": [finding],
        "mitre": ["T1098"],
        "runbook": "kanalytics findings --query rbac-cluster-admin-binding --from 2024-05-01T11:00:00Z",
    }
    values.update(overrides)
    return Alert(**values)


def sink(type_: str = "webhook", **overrides: Any) -> AlertSink:
    values: dict[str, Any] = {"name": f"my-{type_}", "type": type_}
    if type_ == "slack":
        values["url_secret"] = Secret(env="KA_TEST_SLACK_URL")
    else:
        values["url"] = "http://127.0.0.1:9/hook"
    values.update(overrides)
    return AlertSink(**values)


# -- payloads -----------------------------------------------------------------------------------------------


def test_webhook_payload_is_falcosidekick_shaped() -> None:
    payload = webhook_payload(make_alert(), sink(labels={"team": "platform"}), hostname="kan-1")
    assert list(payload) == [
        "uuid", "output", "priority", "rule", "time", "output_fields", "source", "tags", "hostname",
    ]  # fmt: skip
    assert payload["uuid"] == "0b6d2f5e-8f3c-4a51-b0c9-7d2e1f4a3b21"
    assert payload["output"] == (
        "2024-05-01T12:00:00.123456000Z: Error cluster-admin granted (user=alice@example.com verb=create "
        "resource=clusterrolebindings ns=<NA> name=ci-admin cluster=prod) (3 findings)"
    )
    assert payload["priority"] == "Error"
    assert payload["rule"] == "cluster-admin granted"
    assert payload["time"] == "2024-05-01T12:00:00.123456000Z"
    assert payload["output_fields"] == {
        "ka.auditid": "5f1e7c2a-0d2b-4c61-9a7e-1b2c3d4e5f60",
        "ka.user.name": "alice@example.com",
        "ka.verb": "create",
        "ka.target.resource": "clusterrolebindings",
        "ka.target.namespace": None,
        "ka.target.name": "ci-admin",
        "ka.sourceips": ["203.0.113.7"],
        "kanalytics.query_id": "rbac-cluster-admin-binding",
        "kanalytics.severity": "high",
        "kanalytics.area": "rbac",
        "kanalytics.cluster": "prod",
        "kanalytics.count": 3,
        "kanalytics.summary": "alice@example.com bound cluster-admin to ci-admin",
    }
    assert payload["source"] == "k8s_audit"
    assert payload["tags"] == ["k8s", "rbac", "T1098", "team=platform"]
    assert payload["hostname"] == "kan-1"


@pytest.mark.parametrize(
    ("severity", "priority"),
    [
        ("critical", "Critical"),
        ("high", "Error"),
        ("medium", "Warning"),
        ("low", "Notice"),
        ("info", "Informational"),
    ],
)
def test_severity_maps_to_falco_priority(severity: str, priority: str) -> None:
    assert webhook_payload(make_alert(severity=severity), sink(), hostname="h")["priority"] == priority


def test_webhook_output_is_one_line_and_single_finding_has_no_count() -> None:
    alert = make_alert(count=1, dedup={"user_name": "eve\nFAKE LINE\x1b[2J"})
    output = webhook_payload(alert, sink(), hostname="h")["output"]
    assert "\n" not in output and "\x1b" not in output
    assert "user=eve\\nFAKE LINE\\x1b[2J " in output
    assert not output.endswith("findings)")


def test_alertmanager_payload() -> None:
    alert = make_alert(link="https://grafana.example/d/k")
    records = alertmanager_payload(
        alert, sink("alertmanager", labels={"env": "prod", "alertname": "x"}), link=None
    )
    assert isinstance(records, list) and len(records) == 1
    (record,) = records
    assert record["labels"] == {
        "env": "prod",
        "alertname": "rbac-cluster-admin-binding",  # a sink label never replaces the alert's own
        "rule": "cluster-admin granted",
        "severity": "high",
        "area": "rbac",
        "cluster": "prod",
        "identity": "alice@example.com",
    }
    assert record["annotations"] == {
        "summary": "alice@example.com bound cluster-admin to ci-admin",
        "description": "A ClusterRoleBinding to cluster-admin gives full control of the cluster.",
        "count": "3",
        "runbook": alert.runbook,
    }
    assert record["startsAt"] == "2024-05-01T12:00:00.123456000Z"
    assert record["endsAt"] == "2024-05-01T13:00:30.123456000Z"  # created_at + 1 h
    assert record["generatorURL"] == "https://grafana.example/d/k"
    assert all(isinstance(v, str) for v in [*record["labels"].values(), *record["annotations"].values()])


def test_alertmanager_late_delivery_still_fires_and_bad_label_names_are_fixed() -> None:
    alert = make_alert(cluster=None, dedup={"user_name": None}, findings=[], runbook="")
    sent = T0 + timedelta(hours=5)
    (record,) = alertmanager_payload(alert, sink("alertmanager", labels={"k8s.team": "a", "1x": "b"}), link=None,
                                     sent_at=sent)  # fmt: skip
    assert record["endsAt"] == "2024-05-01T18:00:00.123456000Z"
    assert "cluster" not in record["labels"] and "identity" not in record["labels"]
    assert record["labels"]["k8s_team"] == "a" and record["labels"]["_1x"] == "b"
    assert "runbook" not in record["annotations"] and "generatorURL" not in record


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [f["text"] for f in block.get("fields", [])]
        texts += [e["text"] for e in block.get("elements", [])]
    return texts


def test_slack_payload_blocks() -> None:
    payload = slack_payload(make_alert(), sink("slack"), link="https://grafana.example/d/k?a=1&b=2")
    header, section, context = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "HIGH: cluster-admin granted",
                                                 "emoji": False}}  # fmt: skip
    assert section["text"] == {
        "type": "mrkdwn", "text": "alice@example.com bound cluster-admin to ci-admin", "verbatim": True,
    }  # fmt: skip
    assert [f["text"] for f in section["fields"]] == [
        "*Who*\nalice@example.com",
        "*What*\ncreate clusterrolebindings",
        "*Where*\nci-admin",
        "*When*\n2024-05-01T12:00:00.123456000Z … 2024-05-01T12:05:00.123456000Z",
        "*Cluster*\nprod",
        "*Source IP*\n203.0.113.7",
    ]
    assert [e["text"] for e in context["elements"]] == [
        "query `rbac-cluster-admin-binding`",
        "cluster prod",
        "3 findings",
        "runbook: `kanalytics findings --query rbac-cluster-admin-binding --from 2024-05-01T11:00:00Z`",
        "<https://grafana.example/d/k?a=1&b=2|open>",
    ]
    assert (
        payload["text"] == "[high] cluster-admin granted: alice@example.com bound cluster-admin to ci-admin"
    )


def test_slack_limits_with_a_10000_character_summary() -> None:
    payload = slack_payload(make_alert(summary="x" * 10_000, title="t" * 400), sink("slack"), link=None)
    texts = _texts(payload["blocks"])
    assert all(len(t) <= 3000 for t in texts) and len(payload["text"]) <= 3000
    header, section, _ = payload["blocks"]
    assert len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("…")
    assert 2990 <= len(section["text"]["text"]) <= 3000
    assert section["text"]["text"].endswith(
        f"… ({10_000 - section['text']['text'].index('…')} characters cut)"
    )
    assert len(section["fields"]) <= 10 and all(len(f["text"]) <= 2000 for f in section["fields"])


def test_slack_cut_never_splits_an_escape() -> None:
    text = slack_payload(make_alert(summary="&" * 5000), sink("slack"), link=None)["blocks"][1]["text"][
        "text"
    ]
    head, tail = text.split("…")
    assert len(text) <= 3000 and head.endswith("&amp;") and head.replace("&amp;", "") == ""
    assert tail == f" ({5000 - head.count('&amp;')} characters cut)"


def test_slack_escapes_everything_from_the_logs() -> None:
    evil = "<!channel> & <@U123|boss> <https://evil.example|click>"
    finding = {**make_alert().findings[0], "object_name": "<!here>", "verb": "get>"}
    alert = make_alert(
        dedup={"user_name": evil}, summary=f"{evil} did it", findings=[finding], cluster="<!everyone>"
    )
    body = slack_payload(alert, sink("slack"), link=None)
    encoded = json.dumps(body)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U123", "<https://evil"):
        assert raw not in encoded
    fields = body["blocks"][1]["fields"]
    assert (
        fields[0]["text"]
        == "*Who*\n&lt;!channel&gt; &amp; &lt;@U123|boss&gt; &lt;https://evil.example|click&gt;"
    )
    assert fields[2]["text"] == "*Where*\n&lt;!here&gt;"
    assert body["text"].startswith("[high] cluster-admin granted: &lt;!channel&gt; &amp;")


# -- requests -----------------------------------------------------------------------------------------------


def test_build_request_headers_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KA_TEST_TOKEN", TOKEN + "\n")
    monkeypatch.setenv("KA_TEST_SLACK_URL", "https://hooks.slack.example/services/T0/B0/secretpath")
    alert = make_alert()
    webhook = build_request(alert, sink(token=Secret(env="KA_TEST_TOKEN")), hostname="h", link=None)
    assert webhook.url == "http://127.0.0.1:9/hook"
    assert webhook.headers == {
        "Content-Type": "application/json",
        "User-Agent": f"kanalytics/{__version__}",
        "Authorization": f"Bearer {TOKEN}",
    }
    assert json.loads(webhook.body) == webhook_payload(alert, sink(), hostname="h")
    assert TOKEN not in repr(webhook) and "127.0.0.1" not in repr(webhook)
    for url, expected in [
        ("http://am:9093", "http://am:9093/api/v2/alerts"),
        ("http://am:9093/", "http://am:9093/api/v2/alerts"),
        ("http://am:9093/api/v2/alerts", "http://am:9093/api/v2/alerts"),
    ]:
        assert build_request(alert, sink("alertmanager", url=url), hostname="h", link=None).url == expected
    slack = build_request(alert, sink("slack"), hostname="h", link=None)
    assert slack.url == "https://hooks.slack.example/services/T0/B0/secretpath"
    assert "Authorization" not in slack.headers


def test_build_request_unreadable_secret_names_the_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KA_TEST_SLACK_URL", raising=False)
    with pytest.raises(ConfigError, match=r"sink 'my-slack' URL: \$KA_TEST_SLACK_URL is not set"):
        build_request(make_alert(), sink("slack"), hostname="h", link=None)


def test_body_escapes_bidi_controls() -> None:
    request = build_request(make_alert(summary="file\u202etxt.exe"), sink(), hostname="h", link=None)
    assert b"\\u202e" in request.body and "\u202e".encode() not in request.body
    assert json.loads(request.body)["output_fields"]["kanalytics.summary"] == "file\u202etxt.exe"


# -- one POST -----------------------------------------------------------------------------------------------


def _request(url: str, **headers: str) -> Any:
    return build_request(make_alert(), sink(url=url), hostname="h", link=None).__class__(
        url=url, body=b'{"a":1}', headers={"Content-Type": "application/json", **headers}
    )


def test_send_statuses(client: httpx.Client) -> None:
    replies = [
        Reply(200, b"fine"),
        Reply(503, b"busy"),
        Reply(429, b"", {"Retry-After": "1"}),
        Reply(404, b"no such hook\x1b[31m\r\n" + b"y" * 2000),
        Reply(302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}),
    ]
    with SinkServer(*replies) as server:
        outcomes = [send(client, _request(server.url + "/hook"), timeout=5) for _ in replies]
    assert [(o.state, o.status) for o in outcomes] == [
        ("delivered", 200), ("retry", 503), ("retry", 429), ("dead", 404), ("dead", 302),
    ]  # fmt: skip
    assert outcomes[1].response == "HTTP 503: busy" and outcomes[1].retry_after is None
    assert outcomes[2].retry_after == 1.0
    assert outcomes[3].response == "HTTP 404: no such hook[31m" + "y" * (500 - len("no such hook[31m"))
    assert len(server.received) == 5  # the redirect was not followed
    assert server.received[0].json() == {"a": 1}


def test_send_network_failures_name_the_host_only(client: httpx.Client) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/services/T0/B0/secretpath?key=topsecret"
    outcome = send(client, _request(url, Authorization=f"Bearer {TOKEN}"), timeout=2)
    assert outcome.state == "retry" and outcome.status is None
    assert outcome.response.startswith("ConnectError") and outcome.response.endswith(
        f"(POST to 127.0.0.1:{port})"
    )
    for secret in ("secretpath", "topsecret", TOKEN, "/services"):
        assert secret not in outcome.response


def test_send_timeout_retries(client: httpx.Client) -> None:
    with SinkServer(Reply(200, delay=1.5)) as server:
        started = time.monotonic()
        outcome = send(client, _request(server.url + "/slow"), timeout=0.3)
        elapsed = time.monotonic() - started
    assert outcome.state == "retry" and outcome.response.startswith("ReadTimeout")
    assert elapsed < 1.2


def test_retry_after_forms() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after("120") == 120.0
    assert retry_after("-5") == 0.0
    assert retry_after("999999") == 3600.0
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert retry_after("soon") is None and retry_after(None) is None
