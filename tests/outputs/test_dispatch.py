"""The dispatcher against real local HTTP sinks: delivery, retries, Retry-After, dead letters, a sink that is down,
giving up, Slack's rate, secrets kept out of every record, and the background thread."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanalytics.config import AlertSink, Secret
from kanalytics.outputs.alerts.dispatch import BACKOFF_CAP, Dispatcher, DispatchStats, backoff
from kanalytics.outputs.alerts.model import Alert, Outcome
from tests.outputs.test_alert_sinks import TOKEN, Reply, SinkServer, closed_port, make_alert

NOW = datetime(2024, 5, 1, 12, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeDelivery:
    alert: Alert
    sink: str
    state: str
    attempts: int
    next_at: datetime
    last_status: int | None
    last_response: str
    updated_at: datetime


class FakeOutbox:
    """The outbox's `due` and `mark`, in memory."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], FakeDelivery] = {}
        self.marks: list[tuple[str, str, Outcome, datetime | None]] = []

    def add(self, alert: Alert, *sinks: str) -> None:
        for name in sinks:
            self.rows[(alert.id, name)] = FakeDelivery(alert, name, "pending", 0, alert.created_at, None, "",
                                                       alert.created_at)  # fmt: skip

    def due(self, now: datetime, *, limit: int = 100) -> list[FakeDelivery]:
        rows = [r for r in self.rows.values() if r.state in ("pending", "retrying") and r.next_at <= now]
        return sorted(rows, key=lambda r: r.next_at)[:limit]

    def mark(
        self, alert_id: str, sink: str, outcome: Outcome, *, now: datetime, next_at: datetime | None
    ) -> str:
        self.marks.append((alert_id, sink, outcome, next_at))
        row = self.rows[(alert_id, sink)]
        state = {"delivered": "delivered", "dead": "dead"}.get(outcome.state) or (
            "retrying" if next_at else "dead"
        )
        self.rows[(alert_id, sink)] = replace(
            row, state=state, attempts=row.attempts + 1, next_at=next_at or row.next_at, last_status=outcome.status,
            last_response=outcome.response, updated_at=now,
        )  # fmt: skip
        return state

    def get(self, alert: Alert, sink: str) -> FakeDelivery:
        return self.rows[(alert.id, sink)]


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Observed:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def findings(self, query: str, severity: str, cluster: str, count: int) -> None:
        pass

    def alert(self, sink: str, state: str) -> None:
        self.calls.append((sink, state))


def alert(n: int = 1, **overrides: Any) -> Alert:
    overrides.setdefault("created_at", NOW - timedelta(seconds=30))
    return make_alert(id=f"alert-{n}", **overrides)


def webhook(name: str, url: str, **overrides: Any) -> AlertSink:
    return AlertSink(name=name, type="webhook", url=url, **overrides)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:
        yield c


def dispatcher(outbox: FakeOutbox, sinks: list[AlertSink], client: httpx.Client, **kwargs: Any) -> Dispatcher:
    return Dispatcher(outbox, sinks, hostname="kan-1", link=None, client=client, **kwargs)


def test_delivered_on_200(client: httpx.Client) -> None:
    outbox, observed = FakeOutbox(), Observed()
    with SinkServer() as server:
        outbox.add(alert(), "hook")
        stats = dispatcher(outbox, [webhook("hook", server.url + "/falco")], client, observer=observed,
                           clock=Clock()).run_once()  # fmt: skip
    assert stats == DispatchStats(delivered=1, retrying=0, dead=0)
    row = outbox.get(alert(), "hook")
    assert (row.state, row.attempts, row.last_status, row.last_response) == (
        "delivered",
        1,
        200,
        "HTTP 200: ok",
    )
    assert [r.path for r in server.received] == ["/falco"] and server.received[0].json()["uuid"] == "alert-1"
    assert observed.calls == [("hook", "delivered")]


def test_503_then_200_is_delivered_on_the_second_pass(client: httpx.Client) -> None:
    outbox, clock = FakeOutbox(), Clock()
    with SinkServer(Reply(503, b"try later")) as server:
        outbox.add(alert(), "hook")
        d = dispatcher(outbox, [webhook("hook", server.url)], client, clock=clock)
        assert d.run_once() == DispatchStats(retrying=1)
        row = outbox.get(alert(), "hook")
        assert (row.state, row.attempts, row.last_response) == ("retrying", 1, "HTTP 503: try later")
        assert NOW + timedelta(seconds=1.6) <= row.next_at <= NOW + timedelta(seconds=2.4)  # 2 s ± 20%
        assert d.run_once() == DispatchStats()  # not due yet: nothing sent
        clock.now = row.next_at
        assert d.run_once() == DispatchStats(delivered=1)
    row = outbox.get(alert(), "hook")
    assert (row.state, row.attempts) == ("delivered", 2) and len(server.received) == 2


@pytest.mark.parametrize("seconds", [1, 30])
def test_retry_after_is_honoured(client: httpx.Client, seconds: int) -> None:
    outbox = FakeOutbox()
    with SinkServer(Reply(429, b"", {"Retry-After": str(seconds)})) as server:
        outbox.add(alert(), "hook")
        dispatcher(outbox, [webhook("hook", server.url)], client, clock=Clock()).run_once()
    row = outbox.get(alert(), "hook")
    assert row.state == "retrying" and row.last_status == 429
    assert row.next_at >= NOW + timedelta(seconds=seconds)


def test_404_is_dead_with_the_response(client: httpx.Client) -> None:
    outbox, observed, logged = FakeOutbox(), Observed(), []
    with SinkServer(Reply(404, b"no such hook")) as server:
        outbox.add(alert(), "hook")
        stats = dispatcher(outbox, [webhook("hook", server.url)], client, clock=Clock(), observer=observed,
                           log=lambda level, message: logged.append((level, message))).run_once()  # fmt: skip
    assert stats == DispatchStats(dead=1)
    row = outbox.get(alert(), "hook")
    assert (row.state, row.last_status, row.last_response) == ("dead", 404, "HTTP 404: no such hook")
    assert observed.calls == [("hook", "dead")]
    assert logged == [("warning", "alert alert-1 to sink hook is dead: HTTP 404: no such hook")]


def test_a_down_sink_is_retried_and_does_not_block_a_healthy_one(client: httpx.Client) -> None:
    outbox = FakeOutbox()
    with SinkServer(*[Reply(200, delay=3.0)] * 3) as hanging, SinkServer() as healthy:
        for n in (1, 2, 3):
            outbox.add(alert(n), "slow", "down", "ok")
        sinks = [
            webhook("slow", hanging.url, timeout_seconds=0.5),
            webhook("down", f"http://127.0.0.1:{closed_port()}/"),
            webhook("ok", healthy.url),
        ]
        started = time.monotonic()
        stats = dispatcher(outbox, sinks, client, clock=Clock()).run_once()
        elapsed = time.monotonic() - started
        assert len(hanging.received) == 1  # one timeout, then its other deliveries wait without being sent
    assert stats == DispatchStats(delivered=3, retrying=6, dead=0)
    assert elapsed < 2.0, elapsed  # not 3 x 0.5 s of timeouts, nor the hanging server's 3 s
    assert len(healthy.received) == 3
    for n in (1, 2, 3):
        assert outbox.get(alert(n), "ok").state == "delivered"
        assert outbox.get(alert(n), "down").state == "retrying"
    assert outbox.get(alert(1), "slow").last_response.startswith("ReadTimeout")
    assert outbox.get(alert(2), "slow").last_response.startswith(
        "not sent: the sink failed earlier in this pass"
    )
    assert outbox.get(alert(1), "down").last_response.startswith("ConnectError")


def test_gives_up_after_give_up_hours(client: httpx.Client) -> None:
    outbox, clock, observed = FakeOutbox(), Clock(), Observed()
    down = webhook("down", f"http://127.0.0.1:{closed_port()}/", give_up_hours=24)
    outbox.add(alert(), "down")
    d = dispatcher(outbox, [down], client, clock=clock, observer=observed)
    d.run_once()
    assert outbox.get(alert(), "down").state == "retrying"
    clock.now = alert().created_at + timedelta(hours=24, seconds=1)
    d.run_once()
    row = outbox.get(alert(), "down")
    assert (row.state, row.attempts) == ("dead", 2)
    assert row.last_response.startswith("gave up after 2 attempts: ConnectError")
    assert observed.calls == [("down", "retried"), ("down", "dead")]


def test_slack_sends_at_most_one_message_a_second(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = FakeOutbox()
    with SinkServer() as slack, SinkServer() as other:
        monkeypatch.setenv("KA_TEST_SLACK", slack.url + "/services/T0/B0/x")
        sinks = [
            AlertSink(name="chat", type="slack", url_secret=Secret(env="KA_TEST_SLACK")),
            webhook("o", other.url),
        ]
        for n in (1, 2):
            outbox.add(alert(n), "chat", "o")
        started = time.monotonic()
        stats = dispatcher(outbox, sinks, client, clock=Clock()).run_once(deadline=time.monotonic() + 5)
        elapsed = time.monotonic() - started
    assert stats == DispatchStats(delivered=4)
    first, second = slack.received
    assert second.at - first.at >= 0.95, second.at - first.at
    assert elapsed < 2.5
    assert max(r.at for r in other.received) < second.at  # the other sink did not wait for Slack's turn
    assert "blocks" in first.json()


def test_slack_wait_is_bounded_by_the_deadline(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = FakeOutbox()
    with SinkServer() as slack:
        monkeypatch.setenv("KA_TEST_SLACK", slack.url + "/services/T0/B0/x")
        for n in (1, 2):
            outbox.add(alert(n), "chat")
        d = dispatcher(outbox, [AlertSink(name="chat", type="slack", url_secret=Secret(env="KA_TEST_SLACK"))],
                       client, clock=Clock())  # fmt: skip
        started = time.monotonic()
        stats = d.run_once(deadline=time.monotonic() + 0.3)
        assert time.monotonic() - started < 0.5
        assert stats == DispatchStats(delivered=1) and len(slack.received) == 1
        assert outbox.get(alert(2), "chat").state == "pending"  # left for the next pass, not marked
        time.sleep(1.0)
        assert d.run_once() == DispatchStats(delivered=1)


def test_token_is_sent_as_bearer_and_never_recorded(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KA_TEST_TOKEN", TOKEN)
    port = closed_port()
    monkeypatch.setenv("KA_TEST_SLACK", f"http://127.0.0.1:{port}/services/T0/B0/slacksecret")
    outbox, logged = FakeOutbox(), []
    token = Secret(env="KA_TEST_TOKEN")
    with SinkServer() as up:
        sinks = [
            webhook("up", up.url, token=token),
            webhook("down", f"http://127.0.0.1:{port}/hook?key=querysecret", token=token),
            AlertSink(name="chat", type="slack", url_secret=Secret(env="KA_TEST_SLACK")),
        ]
        outbox.add(alert(), "up", "down", "chat")
        dispatcher(outbox, sinks, client, clock=Clock(), log=lambda lv, msg: logged.append(msg)).run_once()
    assert up.received[0].headers["Authorization"] == f"Bearer {TOKEN}"
    records = json.dumps([[m[0], m[1], repr(m[2]), m[2].response] for m in outbox.marks]) + json.dumps(logged)
    for secret in (TOKEN, "slacksecret", "querysecret", "/services/"):
        assert secret not in records
    assert outbox.get(alert(), "down").last_response.endswith(f"(POST to 127.0.0.1:{port})")


def test_unconfigured_sink_is_dead_and_unreadable_secret_retries(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KA_TEST_MISSING", raising=False)
    outbox = FakeOutbox()
    outbox.add(alert(), "gone", "chat")
    sinks = [AlertSink(name="chat", type="slack", url_secret=Secret(env="KA_TEST_MISSING"))]
    stats = dispatcher(outbox, sinks, client, clock=Clock()).run_once()
    assert stats == DispatchStats(retrying=1, dead=1)
    assert outbox.get(alert(), "gone").last_response == "sink gone is not configured"
    row = outbox.get(alert(), "chat")
    assert (row.state, row.last_response) == ("retrying", "sink 'chat' URL: $KA_TEST_MISSING is not set")


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert [backoff(n, rng=lambda: 0.5) for n in range(4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff(0, rng=lambda: 0.0) == pytest.approx(1.6) and backoff(0, rng=lambda: 1.0) == pytest.approx(
        2.4
    )
    assert backoff(50, rng=lambda: 1.0) == BACKOFF_CAP


class FlakyOutbox(FakeOutbox):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def due(self, now: datetime, *, limit: int = 100) -> list[FakeDelivery]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        return super().due(now, limit=limit)


def test_thread_survives_a_failing_pass_and_delivers_on_nudge(client: httpx.Client) -> None:
    outbox, logged = FlakyOutbox(), []
    with SinkServer() as server:
        d = dispatcher(outbox, [webhook("hook", server.url)], client,
                       log=lambda level, message: logged.append((level, message)))  # fmt: skip
        d.start()
        try:
            deadline = time.monotonic() + 5
            while not logged and time.monotonic() < deadline:
                time.sleep(0.02)
            outbox.add(alert(created_at=datetime.now(UTC) - timedelta(seconds=1)), "hook")
            d.nudge()
            while not server.received and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            d.stop(timeout=5)
    assert logged == [("error", "alert delivery pass failed: RuntimeError: database is locked")]
    assert len(server.received) == 1
    assert not any(t.name == "kanalytics-alerts" for t in threading.enumerate())


def test_against_the_real_outbox(tmp_path: Path, client: httpx.Client) -> None:
    outbox_module = pytest.importorskip("kanalytics.outputs.alerts.outbox")
    from kanalytics.catalog.model import Finding

    finding = Finding(
        query_id="rbac-cluster-admin-binding", title="cluster-admin granted", kind="detection", severity="high",
        area="rbac", ts=NOW - timedelta(minutes=1), audit_id="a-1", user_name="alice", source_ip="203.0.113.7",
        verb="create", resource="clusterrolebindings", namespace=None, object_name="ci-admin", summary="s",
        cluster="prod",
    )  # fmt: skip
    outbox = outbox_module.Outbox(tmp_path / "outbox.sqlite")
    admitted = outbox.admit(
        [finding], fingerprint=lambda f: "fp-1", key_of=lambda f: "key-1",
        alert_of=lambda f, key: alert(key=key), sinks_of=lambda a: ["hook"],
        window=timedelta(hours=1), oldest=NOW - timedelta(days=1), now=NOW,
    )  # fmt: skip
    assert admitted.queued == {"hook": 1}
    clock = Clock()
    with SinkServer(Reply(503, b"busy")) as server:
        d = dispatcher(outbox, [webhook("hook", server.url)], client, clock=clock)
        assert d.run_once() == DispatchStats(retrying=1)
        (row,) = outbox.deliveries()
        assert (row.state, row.attempts, row.last_response) == ("retrying", 1, "HTTP 503: busy")
        clock.now = row.next_at
        assert d.run_once() == DispatchStats(delivered=1)
    (row,) = outbox.deliveries()
    assert (row.state, row.attempts, row.last_status) == ("delivered", 2, 200)
    assert server.received[-1].json()["uuid"] == "alert-1"
