"""The alert outbox: findings seen once, grouped per key and window, queued per sink, delivered, retried, pruned.

Against a real SQLite file under a real archive layout; two processes admit at once through it.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kanalytics.archive.layout import Layout
from kanalytics.catalog.model import Finding
from kanalytics.errors import ArchiveError
from kanalytics.outputs.alerts.model import MAX_FINDINGS, Alert, Outcome
from kanalytics.outputs.alerts.outbox import Admission, Outbox

# -- findings and the admit callbacks (a stand-in for the pipeline's own; the CLI tests use them too) ----------
T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
WINDOW = timedelta(minutes=60)


def finding(
    minutes: float, *, user: str = "alice", cluster: str = "c1", query: str = "exec-into-pod", n: int = 0
) -> Finding:
    """A finding `minutes` after T0; (query, minutes, user, cluster, n) make its audit id, so equal arguments
    are the same finding."""
    return Finding(
        query_id=query, title="Exec into a pod", kind="detection", severity="high", area="workloads",
        ts=T0 + timedelta(minutes=minutes), audit_id=f"{query}-{minutes}-{user}-{cluster}-{n}", user_name=user,
        source_ip="10.0.0.5", verb="create", resource="pods", namespace="default", object_name="web-1",
        summary=f"{user} execed into web-1", cluster=cluster, evidence={"command": "sh"},
    )  # fmt: skip


def fingerprint(f: Finding) -> str:
    return f"{f.query_id}|{f.cluster}|{f.audit_id}"


def key_of(f: Finding) -> str:
    return json.dumps([f.query_id, f.cluster, {"user_name": f.user_name}], sort_keys=True)


def alert_of(f: Finding, key: str) -> Alert:
    assert f.ts is not None
    data: dict[str, Any] = json.loads(json.dumps(f.to_json(), default=str))
    return Alert(
        id=str(uuid.uuid4()), key=key, query_id=f.query_id, title=f.title, kind=f.kind, severity=f.severity,
        area=f.area, cluster=f.cluster, dedup={"user_name": f.user_name}, summary=f.summary, description="",
        first_ts=f.ts, last_ts=f.ts, count=1, created_at=NOW, findings=[data],
    )  # fmt: skip


def admit(
    outbox: Outbox,
    findings: list[Finding],
    *,
    sinks: tuple[str, ...] = ("hook",),
    oldest: datetime = T0 - timedelta(days=1),
    now: datetime = NOW,
) -> Admission:
    return outbox.admit(
        findings, fingerprint=fingerprint, key_of=key_of, alert_of=alert_of, sinks_of=lambda _: list(sinks),
        window=WINDOW, oldest=oldest, now=now,
    )  # fmt: skip


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox.at(Layout(tmp_path / "archive"))


def _alerts_by_first(outbox: Outbox) -> list[Alert]:
    return sorted(outbox.alerts(), key=lambda a: a.first_ts)


# -- the file -----------------------------------------------------------------------------------------------------
def test_the_outbox_lives_under_state_with_owner_only_files(outbox: Outbox, tmp_path: Path) -> None:
    assert outbox.path == tmp_path / "archive" / "_state" / "alerts" / "outbox.sqlite"
    assert outbox.deliveries() == [] and outbox.counts() == {} and outbox.due(NOW) == []
    assert not outbox.path.exists()  # reading an archive without alerts creates nothing
    admit(outbox, [finding(0)])
    assert stat.S_IMODE(outbox.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(outbox.path) as db:  # WAL, and the schema version recorded
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("1",)
        wal = [p for p in outbox.path.parent.iterdir() if p.name.endswith(("-wal", "-shm"))]
        assert wal and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in wal)


def test_a_corrupt_outbox_is_an_error_naming_the_file_and_what_to_do(outbox: Outbox) -> None:
    outbox.path.parent.mkdir(parents=True)
    outbox.path.write_bytes(b"this is not an sqlite database, it is junk " * 200)
    for call in (
        lambda: admit(outbox, [finding(0)]),
        outbox.deliveries,
        outbox.counts,
        lambda: outbox.due(NOW),
    ):
        with pytest.raises(ArchiveError) as caught:
            call()
        text = str(caught.value)
        assert f"the alert outbox {outbox.path} is unreadable" in text
        assert f"mv {outbox.path} {outbox.path}.corrupt" in text
        assert "already delivered will not be re-sent" in text and "would alert again" in text


def test_an_outbox_moved_aside_is_made_again_by_the_next_write(outbox: Outbox) -> None:
    admit(outbox, [finding(0)])
    outbox.path.rename(outbox.path.with_name("outbox.sqlite.corrupt"))
    assert outbox.deliveries() == [] and not outbox.path.exists()  # reads never create it
    got = admit(outbox, [finding(0)])  # the same running process: its findings are new to the new file
    assert (len(got.alerts), outbox.counts()) == (1, {("hook", "pending"): 1})
    assert sorted(p.name for p in outbox.path.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_an_outbox_of_another_schema_version_is_refused(outbox: Outbox) -> None:
    admit(outbox, [finding(0)])
    with sqlite3.connect(outbox.path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(ArchiveError, match=r"schema version '99'; this kanalytics reads version 1"):
        Outbox(outbox.path).deliveries()


# -- admitting ----------------------------------------------------------------------------------------------------
def test_findings_seen_before_are_ignored(outbox: Outbox) -> None:
    batch = [finding(0), finding(1, user="bob")]
    first = admit(outbox, batch)
    assert (len(first.new), len(first.alerts), first.queued) == (2, 2, {"hook": 2})
    again = admit(outbox, [*batch, *batch])  # also duplicates inside one batch
    assert again == Admission(new=[], alerts=[], repeats=0, too_old=0, queued={})
    within = admit(Outbox(outbox.path), [finding(5, n=1), finding(5, n=1)])  # a new one, twice in its batch
    assert (len(within.new), within.repeats) == (1, 1)
    assert [a.count for a in outbox.alerts()] == [1, 2]


def test_findings_of_one_key_within_the_window_group_into_one_alert(outbox: Outbox) -> None:
    got = admit(outbox, [finding(0), finding(20), finding(59)])
    assert (len(got.alerts), got.repeats, got.queued) == (1, 2, {"hook": 1})
    [alert] = outbox.alerts()
    assert (alert.count, alert.first_ts, alert.last_ts) == (3, T0, T0 + timedelta(minutes=59))
    assert [f["ts"] for f in alert.findings] == [(T0 + timedelta(minutes=m)).isoformat() for m in (0, 20, 59)]
    later = admit(outbox, [finding(61)])  # outside the first alert's window: a second alert, queued
    assert (len(later.alerts), later.repeats, later.queued) == (1, 0, {"hook": 1})
    assert [(a.count, a.first_ts) for a in _alerts_by_first(outbox)] == [
        (3, T0), (1, T0 + timedelta(minutes=61))
    ]  # fmt: skip
    assert outbox.counts() == {("hook", "pending"): 2}  # repeats never queued a delivery


def test_an_alert_keeps_at_most_max_findings_and_counts_them_all(outbox: Outbox) -> None:
    admit(outbox, [finding(0, n=i) for i in range(MAX_FINDINGS + 5)])
    [alert] = outbox.alerts()
    assert (alert.count, len(alert.findings)) == (MAX_FINDINGS + 5, MAX_FINDINGS)


def test_other_keys_and_clusters_are_separate_alerts(outbox: Outbox) -> None:
    got = admit(outbox, [
        finding(0), finding(1, user="bob"), finding(2, cluster="c2"), finding(3, query="secret-read"), finding(4),
    ])  # fmt: skip
    assert (len(got.alerts), got.repeats) == (4, 1)
    assert sorted((a.query_id, a.cluster, a.dedup["user_name"], a.count) for a in outbox.alerts()) == [
        ("exec-into-pod", "c1", "alice", 2), ("exec-into-pod", "c1", "bob", 1),
        ("exec-into-pod", "c2", "alice", 1), ("secret-read", "c1", "alice", 1),
    ]  # fmt: skip


def test_findings_out_of_order_group_as_if_in_order(outbox: Outbox) -> None:
    got = admit(outbox, [finding(61), finding(30), finding(0)])  # newest first in the batch
    assert [f.ts for f in got.new] == [T0 + timedelta(minutes=m) for m in (0, 30, 61)]
    assert [(a.first_ts, a.count) for a in _alerts_by_first(outbox)] == [
        (T0, 2), (T0 + timedelta(minutes=61), 1)
    ]  # fmt: skip
    # A late finding, earlier than the second alert but within its window, joins it (not a third alert) and
    # becomes its first finding.
    late = admit(outbox, [finding(50, user="alice", n=7)])
    assert (late.alerts, late.repeats) == ([], 1)
    first, second = _alerts_by_first(outbox)
    assert (first.count, second.count) == (3, 1)  # 50 is in the first alert's window [0, 60): it wins
    early = admit(outbox, [finding(62 - 59.5, n=8)])  # within the first alert's window too
    assert early.repeats == 1
    lone = admit(outbox, [finding(-70)])  # before both windows: its own alert, the open group unchanged
    assert len(lone.alerts) == 1
    assert admit(outbox, [finding(100)]).repeats == 1  # still counted into the 61-minute alert
    assert [(a.first_ts, a.count) for a in _alerts_by_first(outbox)] == [
        (T0 - timedelta(minutes=70), 1), (T0, 4), (T0 + timedelta(minutes=61), 2)
    ]  # fmt: skip


def test_a_late_finding_becomes_the_alerts_first(outbox: Outbox) -> None:
    admit(outbox, [finding(30)])
    admit(outbox, [finding(10)])
    [alert] = outbox.alerts()
    assert (alert.count, alert.first_ts, alert.last_ts) == (
        2,
        T0 + timedelta(minutes=10),
        T0 + timedelta(minutes=30),
    )
    assert [f["ts"] for f in alert.findings] == [(T0 + timedelta(minutes=m)).isoformat() for m in (10, 30)]


def test_findings_older_than_the_age_limit_are_seen_but_do_not_alert(outbox: Outbox) -> None:
    got = admit(outbox, [finding(0), finding(-1, user="bob"), finding(-30)], oldest=T0)
    assert (len(got.new), got.too_old, len(got.alerts), got.repeats) == (3, 2, 1, 0)
    assert admit(outbox, [finding(-1, user="bob")], oldest=T0 - timedelta(days=9)).new == []  # seen
    assert [a.count for a in outbox.alerts()] == [1]


def test_each_alert_is_queued_for_each_of_its_sinks(outbox: Outbox) -> None:
    got = outbox.admit(
        [finding(0), finding(1, query="secret-read")], fingerprint=fingerprint, key_of=key_of, alert_of=alert_of,
        sinks_of=lambda a: ["hook", "pager", "hook"] if a.query_id == "secret-read" else ["hook"],
        window=WINDOW, oldest=T0 - timedelta(days=1), now=NOW,
    )  # fmt: skip
    assert got.queued == {"hook": 2, "pager": 1}
    due = outbox.due(NOW)
    assert sorted((d.alert.query_id, d.sink, d.state, d.attempts, d.next_at) for d in due) == [
        ("exec-into-pod", "hook", "pending", 0, NOW), ("secret-read", "hook", "pending", 0, NOW),
        ("secret-read", "pager", "pending", 0, NOW),
    ]  # fmt: skip
    assert outbox.due(NOW - timedelta(seconds=1)) == []
    assert len(outbox.due(NOW, limit=2)) == 2


# -- delivering ---------------------------------------------------------------------------------------------------
def test_a_delivery_retries_then_is_delivered(outbox: Outbox) -> None:
    [alert] = admit(outbox, [finding(0)]).alerts
    later = NOW + timedelta(seconds=30)
    state = outbox.mark(
        alert.id, "hook", Outcome("retry", 503, "503 Service Unavailable"), now=NOW, next_at=later
    )
    assert state == "retrying"
    assert outbox.due(NOW + timedelta(seconds=29)) == []
    [due] = outbox.due(later)
    assert (due.state, due.attempts, due.last_status, due.last_response, due.updated_at) == (
        "retrying", 1, 503, "503 Service Unavailable", NOW
    )  # fmt: skip
    assert (
        outbox.mark(alert.id, "hook", Outcome("delivered", 200, "200 OK"), now=later, next_at=None)
        == "delivered"
    )
    assert outbox.due(later + timedelta(days=1)) == []
    assert outbox.counts() == {("hook", "delivered"): 1}
    # A late mark from another sender (at-least-once: both sent) does not undo the delivery.
    assert (
        outbox.mark(alert.id, "hook", Outcome("retry", None, "timeout"), now=later, next_at=later)
        == "delivered"
    )
    assert (
        outbox.mark("no-such-alert", "hook", Outcome("delivered", 200, ""), now=later, next_at=None)
        == "missing"
    )


def test_a_refused_delivery_is_a_dead_letter_with_its_response(outbox: Outbox) -> None:
    one, two = admit(outbox, [finding(0), finding(0, user="bob")]).alerts
    body = "400 Bad Request: " + "x" * 5000
    assert outbox.mark(one.id, "hook", Outcome("dead", 400, body), now=NOW, next_at=None) == "dead"
    # A retryable failure with no next time is the dispatcher giving up: dead too.
    assert (
        outbox.mark(two.id, "hook", Outcome("retry", 502, "502 Bad Gateway"), now=NOW, next_at=None) == "dead"
    )
    dead = {d.alert.id: d for d in outbox.deliveries(state="dead")}
    assert (dead[one.id].last_status, dead[one.id].last_response) == (400, body[:2000])
    assert (dead[two.id].last_status, dead[two.id].attempts) == (502, 1)
    assert outbox.due(NOW + timedelta(days=30)) == []
    assert outbox.counts() == {("hook", "dead"): 2}


def test_retry_puts_dead_deliveries_back_to_pending(outbox: Outbox) -> None:
    got = outbox.admit(
        [finding(0), finding(0, user="bob"), finding(0, user="carol")], fingerprint=fingerprint, key_of=key_of,
        alert_of=alert_of, sinks_of=lambda _: ["hook", "pager"], window=WINDOW, oldest=T0, now=NOW,
    )  # fmt: skip
    a, b, c = got.alerts
    for alert in (a, b):
        for sink in ("hook", "pager"):
            outbox.mark(alert.id, sink, Outcome("dead", 404, "404 Not Found"), now=NOW, next_at=None)
    outbox.mark(c.id, "hook", Outcome("retry", 500, "500"), now=NOW, next_at=NOW + timedelta(hours=1))
    later = NOW + timedelta(minutes=5)
    assert outbox.retry(alert_ids=[a.id[:8]], sink="pager", now=later) == 1  # an id prefix, one sink
    assert outbox.retry(alert_ids=["%"], now=later) == 0  # LIKE wildcards in an id are literal
    [back] = [d for d in outbox.deliveries(state="pending", sink="pager") if d.alert.id != c.id]
    assert (back.alert.id, back.attempts, back.next_at, back.last_status) == (a.id, 1, later, 404)
    assert [d.alert.id for d in outbox.deliveries(state="dead")] == [b.id, b.id, a.id]  # a's hook too
    assert outbox.retry(now=later) == 3  # every other dead one
    assert outbox.retry(now=later) == 0
    assert outbox.retry(states=("dead", "retrying"), now=later) == 1  # c's retrying delivery, now
    assert outbox.counts() == {("hook", "pending"): 3, ("pager", "pending"): 3}
    assert len(outbox.due(later)) == 6


def test_listings_are_newest_first_with_current_counts(outbox: Outbox) -> None:
    admit(outbox, [finding(0)], sinks=("b", "a"))
    admit(outbox, [finding(0, user="bob")], sinks=("a",))
    admit(outbox, [finding(5)], sinks=("a",))  # a repeat of the first
    assert [(a.dedup["user_name"], a.count) for a in outbox.alerts()] == [("bob", 1), ("alice", 2)]
    assert [(d.alert.dedup["user_name"], d.sink, d.alert.count) for d in outbox.deliveries()] == [
        ("bob", "a", 1), ("alice", "a", 2), ("alice", "b", 2)
    ]  # fmt: skip
    assert [d.sink for d in outbox.deliveries(sink="b")] == ["b"]
    assert len(outbox.deliveries(limit=1)) == 1 and len(outbox.alerts(limit=1)) == 1


# -- housekeeping -------------------------------------------------------------------------------------------------
def test_prune_forgets_old_fingerprints_and_finished_deliveries(outbox: Outbox) -> None:
    old, _bob = admit(outbox, [finding(0), finding(0, user="bob")]).alerts
    outbox.mark(old.id, "hook", Outcome("delivered", 200, ""), now=NOW, next_at=None)
    later = NOW + timedelta(days=41)
    fresh = admit(outbox, [finding(60 * 24 * 41, user="carol")], now=later, oldest=later - timedelta(days=1))
    outbox.mark(fresh.alerts[0].id, "hook", Outcome("dead", 410, "410 Gone"), now=later, next_at=None)
    gone = outbox.prune(before=later - timedelta(days=40))
    assert gone == 2 + 1 + 1  # two fingerprints, old's delivery, old's alert; bob's is still pending
    assert sorted(a.dedup["user_name"] for a in outbox.alerts()) == ["bob", "carol"]
    assert outbox.counts() == {("hook", "pending"): 1, ("hook", "dead"): 1}  # the dead letter is recent
    assert len(admit(outbox, [finding(0)], now=later, oldest=T0).new) == 1  # forgotten: new again
    assert admit(outbox, [finding(60 * 24 * 41, user="carol")], now=later).new == []  # kept


def test_threads_sharing_one_outbox_alert_once(outbox: Outbox) -> None:
    batches = [[finding(m, user=f"u{m % 4}") for m in range(start, start + 20)] for start in (0, 10, 20, 30)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        admissions = list(pool.map(lambda batch: admit(outbox, batch), batches * 2))
    assert sum(len(a.alerts) for a in admissions) == 4
    assert sum(len(a.new) for a in admissions) == 50  # minutes 0-49, each once
    assert sorted(a.count for a in outbox.alerts()) == [12, 12, 13, 13]


# -- two processes at once ----------------------------------------------------------------------------------------
def _admit_in_process(path: str, start: Any, results: Any) -> None:
    outbox = Outbox(Path(path))
    start.wait(timeout=30)
    total = 0
    for i in range(0, 60, 2):  # thirty transactions each, interleaving with the other process
        batch = [finding(m, user=f"u{m % 3}") for m in range(i, i + 2)]
        total += len(admit(outbox, batch, sinks=("hook", "pager")).alerts)
    results.put(total)


def test_two_processes_admitting_the_same_findings_alert_once(tmp_path: Path) -> None:
    path = tmp_path / "archive" / "_state" / "alerts" / "outbox.sqlite"
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_admit_in_process, args=(str(path), start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    alive = [w for w in workers if w.is_alive()]
    for worker in alive:
        worker.kill()
    assert not alive and [w.exitcode for w in workers] == [0, 0]
    opened = results.get(timeout=5) + results.get(timeout=5)
    outbox = Outbox(path)
    # 60 minutes of findings for three identities: one alert each (minutes 0-59 are one window).
    assert opened == 3 and len(outbox.alerts()) == 3
    assert sorted(a.count for a in outbox.alerts()) == [20, 20, 20]
    assert outbox.counts() == {("hook", "pending"): 3, ("pager", "pending"): 3}
