"""Alerting for one archive: admit a commit's findings into the outbox, deliver what is due, try a sink.

`Alerting.after_commit` is called by the archive façade after each committed and evaluated batch (an ingest, a
webhook flush); the receiver also runs the dispatcher in a thread of its own (`start`/`stop`), so a sink that is
down never blocks a flush. A one-shot command (`kanalytics ingest`) delivers with `deliver(seconds)` instead.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.config import Settings
from kanalytics.errors import UsageError
from kanalytics.outputs.alerts import pipeline
from kanalytics.outputs.alerts.model import Alert, Observer, Outcome

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import Finding
    from kanalytics.catalog.results import Part
    from kanalytics.outputs.alerts.dispatch import Dispatcher, DispatchStats
    from kanalytics.outputs.alerts.listing import DeliveryListing
    from kanalytics.outputs.alerts.outbox import Admission, Outbox

# Seen findings are remembered this long (longer than any re-evaluation reaches back).
REMEMBER = timedelta(days=40)
# How often a long-running process (the receiver, `ingest --follow`) forgets what is older than that, in seconds.
PRUNE_EVERY = 6 * 3600.0


@dataclass
class CommitAlerts:
    """What one commit did to alerting: findings to review it added, alerts it opened, repeats it counted."""

    findings: int = 0
    alerts: int = 0
    repeats: int = 0
    too_old: int = 0
    queued: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def add(self, other: CommitAlerts) -> None:
        self.findings += other.findings
        self.alerts += other.alerts
        self.repeats += other.repeats
        self.too_old += other.too_old
        for sink, n in other.queued.items():
            self.queued[sink] = self.queued.get(sink, 0) + n


class Alerting:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        catalog: Catalog,
        *,
        observer: Observer | None = None,
        hostname: str | None = None,
    ) -> None:
        self.store, self.settings, self.catalog = store, settings, catalog
        self.observer = observer
        self.hostname = hostname or socket.gethostname()
        self._outbox: Outbox | None = None
        self._dispatcher: Dispatcher | None = None
        # What every commit of this process admitted (the ingest command prints it).
        self.admitted = CommitAlerts()
        self._log: Callable[[str, str], None] | None = None
        self._pruned = -PRUNE_EVERY  # the first commit of the process prunes

    @property
    def enabled(self) -> bool:
        """Sinks configured, or someone counting findings (the receiver's metrics)."""
        return bool(self.settings.alerts.sinks) or self.observer is not None

    @property
    def outbox(self) -> Outbox:
        from kanalytics.outputs.alerts.outbox import Outbox

        if self._outbox is None:
            self._outbox = Outbox.at(self.store.layout)
        return self._outbox

    # -- admission ----------------------------------------------------------------------------------------
    def after_commit(self, parts: Iterable[Part], *, now: datetime | None = None) -> CommitAlerts:
        """Admit the findings of the (cluster, day) parts a commit touched; nudge the dispatcher."""
        parts = list(parts)
        if not parts or not self.enabled:
            return CommitAlerts()
        found = pipeline.commit_findings(self.store, self.catalog, self.settings, parts)
        result = self.admit(found, now=now)
        self.admitted.add(result)
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self.prune(now=now)
            self._pruned = time.monotonic()
        if self._dispatcher is not None and any(result.queued.values()):
            self._dispatcher.nudge()
        return result

    def admit(self, findings: Sequence[Finding], *, now: datetime | None = None) -> CommitAlerts:
        now = now or datetime.now(UTC)
        keys = pipeline.keying(findings, catalog=self.catalog, settings=self.settings, now=now)
        config = self.settings.alerts
        admission: Admission = self.outbox.admit(
            findings, fingerprint=pipeline.fingerprint, key_of=keys.key_of, alert_of=keys.alert_of,
            sinks_of=keys.sinks_of, window=timedelta(minutes=config.window_minutes),
            oldest=now - timedelta(minutes=config.max_age_minutes), now=now,
        )  # fmt: skip
        if self.observer is not None:
            counted: Counter[tuple[str, str, str]] = Counter()
            identities: Counter[tuple[str, str]] = Counter()
            for f in admission.new:
                counted[(f.query_id, f.severity, f.cluster or "")] += 1
                identities[(f.user_name or "(none)", f.severity)] += 1
            for (query, severity, cluster), n in sorted(counted.items()):
                self.observer.findings(query, severity, cluster, n)
            for (identity, severity), n in sorted(identities.items()):
                self.observer.identity(identity, severity, n)
            for sink, n in sorted(admission.queued.items()):
                for _ in range(n):
                    self.observer.alert(sink, "queued")
        return CommitAlerts(
            findings=len(admission.new), alerts=len(admission.alerts), repeats=admission.repeats,
            too_old=admission.too_old, queued=dict(admission.queued),
        )  # fmt: skip

    # -- delivery -----------------------------------------------------------------------------------------
    def dispatcher(self) -> Dispatcher:
        from kanalytics.outputs.alerts.dispatch import Dispatcher

        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                self.outbox, self.settings.alerts.sinks, hostname=self.hostname,
                link=self.settings.alerts.link, observer=self.observer, log=self._log,
            )  # fmt: skip
        return self._dispatcher

    def deliver(self, seconds: float = 15.0) -> DispatchStats | None:
        """One delivery pass of what is due, for at most `seconds` (one-shot commands); None without sinks."""
        if not self.settings.alerts.sinks:
            return None
        # run_once's deadline is a time.monotonic() value, not a duration
        return self.dispatcher().run_once(deadline=time.monotonic() + seconds)

    def start(self, log: Callable[[str, str], None] | None = None) -> None:
        """Deliver in a background thread (the receiver) until `stop`; `log(level, message)` hears of failures."""
        if self.settings.alerts.sinks:
            self._log = log
            self._dispatcher = None  # made again with the log (and the observer the receiver set)
            self.dispatcher().start()

    def stop(self, final_seconds: float = 5.0) -> None:
        """Stop the delivery thread, then give what the last batches queued one pass of `final_seconds`
        (the receiver's shutdown: its final flush may have just queued alerts). The rest stays queued."""
        if self._dispatcher is None:
            return
        self._dispatcher.stop()
        self._dispatcher = None
        if final_seconds > 0 and self.settings.alerts.sinks:
            last = self.dispatcher()
            try:
                last.run_once(deadline=time.monotonic() + final_seconds)
            finally:
                last.stop()
                self._dispatcher = None

    def prune(self, *, now: datetime | None = None) -> int:
        return self.outbox.prune(before=(now or datetime.now(UTC)) - REMEMBER)

    # -- the outbox, for `kanalytics alerts list|retry` ------------------------------------------------------
    def deliveries(
        self, *, state: str | None = None, sink: str | None = None, limit: int = 100
    ) -> DeliveryListing:
        """The outbox's deliveries (of one state, of one sink), newest alert first, and the counts of all."""
        from kanalytics.outputs.alerts.listing import list_deliveries

        return list_deliveries(self.store.layout, state=state, sink=sink, limit=limit)

    def retry(
        self, *, alert_ids: Sequence[str] = (), sink: str | None = None, all_failed: bool = False
    ) -> int:
        """Dead deliveries (with `all_failed`, retrying ones too) back to pending; returns how many. The next
        delivery pass sends them (`deliver`, or the receiver's thread)."""
        from kanalytics.outputs.alerts.listing import retry

        return retry(self.store.layout, alert_ids=alert_ids, sink=sink, all_failed=all_failed)

    # -- trying a sink ------------------------------------------------------------------------------------
    def test(self, sink_name: str) -> Outcome:
        """Send one test alert straight to the sink named `sink_name` (not through the outbox)."""
        import httpx

        from kanalytics.outputs.alerts.sinks import build_request, send

        sinks = {sink.name: sink for sink in self.settings.alerts.sinks}
        if sink_name not in sinks:
            configured = ", ".join(sorted(sinks)) or "none"
            raise UsageError(
                f"no alert sink named {sink_name!r} (configured: {configured})",
                hint="sinks are [[alerts.sinks]] entries of kanalytics.toml (docs/alerts.md)",
            )
        sink = sinks[sink_name]
        request = build_request(test_alert(), sink, hostname=self.hostname, link=self.settings.alerts.link)
        with httpx.Client(follow_redirects=False) as client:
            return send(client, request, timeout=sink.timeout_seconds)


def test_alert(now: datetime | None = None) -> Alert:
    """The alert `kanalytics alerts test` sends: plainly a test, with every field a real alert has."""
    now = now or datetime.now(UTC)
    summary = "A test alert sent by `kanalytics alerts test`: the sink is reachable."
    finding: dict[str, Any] = {
        "query_id": "kanalytics-test", "title": "kanalytics test alert", "kind": "detection",
        "severity": "info", "area": "integrity", "ts": now.isoformat(), "cluster": "test",
        "audit_id": "00000000-0000-0000-0000-000000000000", "user_name": "kanalytics-test", "source_ip": None,
        "verb": "get", "resource": "namespaces", "namespace": None, "object_name": "kanalytics-test",
        "summary": summary,
    }  # fmt: skip
    return Alert(
        id=str(uuid.uuid4()), key='["kanalytics-test"]', query_id="kanalytics-test",
        title="kanalytics test alert", kind="detection", severity="info", area="integrity", cluster="test",
        dedup={"user_name": "kanalytics-test"}, summary=summary,
        description="Sent on request to check the sink; nothing happened in any cluster.",
        first_ts=now, last_ts=now, count=1, created_at=now, findings=[finding],
        runbook="Nothing to do: this was a test.",
    )  # fmt: skip
