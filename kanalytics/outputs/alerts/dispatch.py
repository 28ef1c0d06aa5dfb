"""Deliver the outbox's due alerts to their sinks: retries with backoff, dead letters, Slack's rate, a thread.

At-least-once: a delivery is marked only after its POST ended, so a crash between the two re-sends it. A sink that
is down costs one timeout per pass: its other deliveries of that pass are marked for retry without being sent.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from kanalytics.config import AlertSink
from kanalytics.errors import ConfigError
from kanalytics.outputs.alerts.model import Alert, Observer, Outcome
from kanalytics.outputs.alerts.sinks import build_request, send

BACKOFF_BASE = 2.0  # seconds before the first retry; doubled each attempt
BACKOFF_CAP = 600.0
BACKOFF_JITTER = 0.2  # ± this fraction, so that deliveries failed together do not retry together
SLACK_INTERVAL = 1.0  # Slack accepts about one message per second per incoming webhook
BATCH = 100  # deliveries taken from the outbox per pass
PASS_SECONDS = 30.0  # how long one pass of the background thread may take
IDLE_SECONDS = 1.0  # how long the thread sleeps between passes unless nudged


class Delivery(Protocol):
    """One (alert, sink) delivery as the outbox returns it."""

    @property
    def alert(self) -> Alert: ...
    @property
    def sink(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class Outbox(Protocol):
    """What the dispatcher needs of the outbox (kanalytics/outputs/alerts/outbox.py)."""

    def due(self, now: datetime, *, limit: int = 100) -> Sequence[Delivery]: ...

    def mark(
        self, alert_id: str, sink: str, outcome: Outcome, *, now: datetime, next_at: datetime | None
    ) -> str: ...


@dataclass(frozen=True)
class DispatchStats:
    """What one pass did: deliveries delivered, left to retry and given up."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0


def backoff(attempts: int, *, rng: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after `attempts` earlier failed ones: 2 s doubling, ±20%, at most 10 min."""
    base = BACKOFF_BASE * 2.0 ** min(attempts, 30)
    return min(BACKOFF_CAP, base * (1 + BACKOFF_JITTER * (2 * rng() - 1)))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Sends due deliveries (`run_once`), or keeps doing so in a daemon thread (`start`/`nudge`/`stop`)."""

    def __init__(
        self,
        outbox: Outbox,
        sinks: Sequence[AlertSink],
        *,
        hostname: str,
        link: str | None,
        observer: Observer | None = None,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = _utcnow,
        log: Callable[[str, str], None] | None = None,
    ) -> None:
        self._outbox = outbox
        self._sinks = {sink.name: sink for sink in sinks}
        self._hostname = hostname
        self._link = link
        self._observer = observer
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(follow_redirects=False)
        self._clock = clock
        self.log = log
        self._last_sent: dict[str, float] = {}  # Slack sink -> time.monotonic() of its last POST
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass -------------------------------------------------------------------------------------------

    def run_once(self, *, deadline: float | None = None) -> DispatchStats:
        """Send the due deliveries, oldest first, until done or `deadline` (a time.monotonic() value). Deliveries
        left over (the deadline, Slack's rate) stay due for the next pass."""
        counts = {"delivered": 0, "retrying": 0, "dead": 0}
        failed: dict[str, Outcome] = {}  # sink -> the failure that short-circuits it for this pass
        later: list[Delivery] = []  # Slack deliveries that must wait their turn; sent after everything else
        for delivery in self._outbox.due(self._clock(), limit=BATCH):
            if self._past(deadline):
                break
            sink = self._sinks.get(delivery.sink)
            if (
                sink is not None
                and sink.type == "slack"
                and delivery.sink not in failed
                and self._wait(sink) > 0
            ):
                later.append(delivery)
                continue
            counts[self._deliver(delivery, sink, failed)] += 1
        for delivery in later:
            sink = self._sinks[delivery.sink]
            if delivery.sink not in failed:
                wait = self._wait(sink)
                if deadline is not None and time.monotonic() + wait > deadline:
                    break
                if wait > 0 and self._stopping.wait(wait):
                    break
            counts[self._deliver(delivery, sink, failed)] += 1
        return DispatchStats(**counts)

    def _past(self, deadline: float | None) -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def _wait(self, sink: AlertSink) -> float:
        last = self._last_sent.get(sink.name)
        return 0.0 if last is None else max(0.0, last + SLACK_INTERVAL - time.monotonic())

    def _deliver(self, delivery: Delivery, sink: AlertSink | None, failed: dict[str, Outcome]) -> str:
        """Send one delivery (unless its sink is gone or failed earlier in this pass) and record how it ended."""
        if sink is None:
            outcome = Outcome("dead", None, f"sink {delivery.sink} is not configured")
        elif sink.name in failed:
            earlier = failed[sink.name]
            outcome = Outcome(
                "retry", None, f"not sent: the sink failed earlier in this pass ({earlier.response})"
            )
        else:
            outcome = self._attempt(delivery.alert, sink)
            if outcome.state == "retry":
                failed[sink.name] = outcome
        return self._record(delivery, sink, outcome)

    def _attempt(self, alert: Alert, sink: AlertSink) -> Outcome:
        try:
            request = build_request(
                alert, sink, hostname=self._hostname, link=self._link, sent_at=self._clock()
            )
        except ConfigError as exc:  # a secret that cannot be read now may be readable later
            return Outcome("retry", None, exc.message)
        if sink.type == "slack":
            self._last_sent[sink.name] = time.monotonic()
        return send(self._client, request, timeout=sink.timeout_seconds)

    def _record(self, delivery: Delivery, sink: AlertSink | None, outcome: Outcome) -> str:
        now = self._clock()
        next_at: datetime | None = None
        if outcome.state == "retry":
            assert sink is not None
            if now - delivery.alert.created_at > timedelta(hours=sink.give_up_hours):
                attempts = delivery.attempts + 1
                outcome = Outcome(
                    "dead",
                    outcome.status,
                    f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}: {outcome.response}",
                )
            else:
                delay = max(outcome.retry_after or 0.0, backoff(delivery.attempts))
                next_at = now + timedelta(seconds=delay)
        self._outbox.mark(delivery.alert.id, delivery.sink, outcome, now=now, next_at=next_at)
        state = {"delivered": "delivered", "retry": "retried", "dead": "dead"}[outcome.state]
        if self._observer is not None:
            self._observer.alert(delivery.sink, state)
        if outcome.state == "dead" and self.log is not None:
            self.log(
                "warning", f"alert {delivery.alert.id} to sink {delivery.sink} is dead: {outcome.response}"
            )
        return {"delivered": "delivered", "retry": "retrying", "dead": "dead"}[outcome.state]

    # -- the background thread ------------------------------------------------------------------------------

    def start(self) -> None:
        """Run passes in a daemon thread: after each, wait up to a second or until `nudge`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="kanalytics-alerts", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """New alerts are queued: start a pass now rather than at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (after the POST in flight, if any) and wait up to `timeout` seconds for it."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._thread = None
        if self._own_client and self._thread is None:
            self._client.close()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            busy = False
            try:
                stats = self.run_once(deadline=time.monotonic() + PASS_SECONDS)
                busy = stats.delivered + stats.retrying + stats.dead >= BATCH  # more may be due: go on
            except Exception as exc:  # a failing pass is logged and retried; the thread must live on
                if self.log is not None:
                    self.log("error", f"alert delivery pass failed: {type(exc).__name__}: {exc}")
            if not busy:
                self._wake.wait(IDLE_SECONDS)
