"""The alert outbox: which findings were seen, the alerts they grouped into, and each alert's delivery to each sink.

One SQLite database under the archive's `_state/alerts/` (WAL, a connection per call, a busy timeout), so the
receiver's threads and a CLI process can use it at the same time. Writes are `BEGIN IMMEDIATE` transactions:
two processes admitting the same findings serialise, and the second finds them all seen. Delivery is
at-least-once: a row leaves "pending"/"retrying" only when a send was marked, so a crash between sending and
marking sends again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics.errors import ArchiveError, StorageError
from kanalytics.outputs.alerts.model import MAX_FINDINGS, Alert, Outcome

if TYPE_CHECKING:
    from kanalytics.archive.layout import Layout
    from kanalytics.catalog.model import Finding

OUTBOX_DIR = "alerts"
OUTBOX_FILE = "outbox.sqlite"
SCHEMA_VERSION = 1
STATES = ("pending", "retrying", "delivered", "dead")
OPEN_STATES = ("pending", "retrying")
# How long a call waits for another writer (a receiver thread, a CLI) before it reports the outbox busy.
BUSY_TIMEOUT_SECONDS = 30.0
# The dead-letter record keeps this much of the last response (the status line and the start of the body).
MAX_RESPONSE_CHARS = 2000
# Rows per SQL `IN (...)` list: well under SQLite's variable limit.
_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (fingerprint TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS seen_at ON seen (seen_at);
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    anchor_ts TEXT NOT NULL,  -- the first finding's ts: the group's window is anchor_ts +- window
    created_at TEXT NOT NULL,
    last_ts TEXT NOT NULL,
    body TEXT NOT NULL        -- Alert.to_json(), with the current count, last_ts and findings
);
CREATE INDEX IF NOT EXISTS alerts_key ON alerts (key, anchor_ts);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    sink TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at TEXT NOT NULL,
    last_status INTEGER,
    last_response TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
"""


@dataclass(frozen=True)
class Delivery:
    """One (alert, sink) delivery and where it stands. A "dead" one is the dead-letter record: it keeps the last
    status and response until it is retried or pruned."""

    alert: Alert
    sink: str
    state: str  # "pending" | "retrying" | "delivered" | "dead"
    attempts: int
    next_at: datetime
    last_status: int | None
    last_response: str
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert.id,
            "sink": self.sink,
            "state": self.state,
            "attempts": self.attempts,
            "next_at": self.next_at.isoformat(),
            "last_status": self.last_status,
            "last_response": self.last_response,
            "updated_at": self.updated_at.isoformat(),
            "alert": self.alert.to_json(),
        }


@dataclass
class Admission:
    """What one `Outbox.admit` did with a batch of findings."""

    new: list[Finding] = field(default_factory=list)  # findings not seen before (each counted once, ever)
    alerts: list[Alert] = field(default_factory=list)  # alerts opened (queued for their sinks)
    repeats: int = 0  # new findings that updated an open alert's count instead
    too_old: int = 0  # new findings older than `oldest`: recorded as seen, no alert
    queued: dict[str, int] = field(default_factory=dict)  # sink -> deliveries queued


def _iso(moment: datetime) -> str:
    """UTC, always with microseconds: the stored text of a time, so that text order is time order."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Outbox:
    """The outbox database at `path` (created, mode 0600, on first write)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False

    @classmethod
    def at(cls, layout: Layout) -> Outbox:
        """The archive's outbox: `<archive>/_state/alerts/outbox.sqlite`."""
        return cls(cls.path_in(layout))

    @staticmethod
    def path_in(layout: Layout) -> Path:
        # A SQLite database needs a local file system: on an object store the outbox is refused by name.
        layout.require_local("the alert outbox (alerting, `kanalytics alerts`)")
        return layout.state / OUTBOX_DIR / OUTBOX_FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    # -- admitting findings -----------------------------------------------------------------------------
    def admit(
        self,
        findings: Sequence[Finding],
        *,
        fingerprint: Callable[[Finding], str],
        key_of: Callable[[Finding], str],
        alert_of: Callable[[Finding, str], Alert],
        sinks_of: Callable[[Alert], list[str]],
        window: timedelta,
        oldest: datetime,
        now: datetime,
    ) -> Admission:
        """Record `findings` as seen and group the new ones into alerts, in one transaction.

        Findings whose fingerprint was seen (now or by any earlier call) are ignored. The rest, oldest first:
        older than `oldest` are only recorded; one whose key has an alert whose window (|ts - first ts| <
        `window`) holds it updates that alert (count, last_ts, findings); any other opens a new alert, with a
        pending delivery for each of `sinks_of(alert)`. Repeats never queue a delivery again.
        """
        admission = Admission()
        now_text = _iso(now)
        oldest = _utc(oldest)
        with self._write() as db:
            fresh: dict[str, Finding] = {}
            for f in findings:
                fresh.setdefault(fingerprint(f), f)
            prints = list(fresh)
            for start in range(0, len(prints), _CHUNK):
                chunk = prints[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT fingerprint FROM seen WHERE fingerprint IN ({marks})"  # noqa: S608 -- only ?s
                for (seen,) in db.execute(sql, chunk):
                    del fresh[seen]
            db.executemany(
                "INSERT OR IGNORE INTO seen (fingerprint, seen_at) VALUES (?, ?)",
                ((fp, now_text) for fp in fresh),
            )
            ordered = sorted(fresh.values(), key=lambda f: _utc(f.ts or now))
            admission.new = ordered
            # The alerts this admission read or opened, by seq: repeats update them here (the objects in
            # `admission.alerts` too) and each changed one is written once, at the end.
            cache: dict[int, Alert] = {}
            changed: set[int] = set()
            for f in ordered:
                ts = _utc(f.ts or now)
                if ts < oldest:
                    admission.too_old += 1
                    continue
                key = key_of(f)
                seq = self._group_of(db, key, ts, window)
                if seq is not None:
                    if seq not in cache:
                        (body,) = db.execute("SELECT body FROM alerts WHERE seq = ?", (seq,)).fetchone()
                        cache[seq] = Alert.from_json(json.loads(body))
                    _count_into(cache[seq], f, ts, key, alert_of)
                    changed.add(seq)
                    admission.repeats += 1
                    continue
                alert = alert_of(f, key)
                cursor = db.execute(
                    "INSERT INTO alerts (id, key, anchor_ts, created_at, last_ts, body) VALUES (?, ?, ?, ?, ?, ?)",
                    (alert.id, key, _iso(ts), _iso(alert.created_at), _iso(alert.last_ts), _body(alert)),
                )
                assert cursor.lastrowid is not None
                cache[cursor.lastrowid] = alert
                admission.alerts.append(alert)
                for sink in dict.fromkeys(sinks_of(alert)):
                    db.execute(
                        "INSERT INTO deliveries (alert_id, sink, state, attempts, next_at, last_status, "
                        "last_response, updated_at) VALUES (?, ?, 'pending', 0, ?, NULL, '', ?)",
                        (alert.id, sink, now_text, now_text),
                    )
                    admission.queued[sink] = admission.queued.get(sink, 0) + 1
            db.executemany(
                "UPDATE alerts SET last_ts = ?, body = ? WHERE seq = ?",
                ((_iso(cache[seq].last_ts), _body(cache[seq]), seq) for seq in sorted(changed)),
            )
        return admission

    @staticmethod
    def _group_of(db: sqlite3.Connection, key: str, ts: datetime, window: timedelta) -> int | None:
        """The alert of `key` whose window (|ts - its first finding's ts| < window) holds `ts`: the latest that
        began at or before it, else (a finding that arrived late) the earliest that began after it; or None."""
        rows = db.execute(
            "SELECT seq, anchor_ts FROM alerts WHERE key = ? AND anchor_ts > ? AND anchor_ts < ? ORDER BY anchor_ts",
            (key, _iso(ts - window), _iso(ts + window)),
        ).fetchall()
        if not rows:
            return None
        anchor = _iso(ts)
        before = [seq for seq, began in rows if began <= anchor]
        return int(before[-1] if before else rows[0][0])

    # -- delivering ---------------------------------------------------------------------------------------
    def due(self, now: datetime, *, limit: int = 100) -> list[Delivery]:
        """Pending and retrying deliveries whose time has come, longest waiting first."""
        if not self.exists():
            return []
        with self._read() as db:
            rows = db.execute(
                f"{_DELIVERY_SELECT} WHERE d.state IN ('pending', 'retrying') AND d.next_at <= ? "
                "ORDER BY d.next_at, a.seq, d.sink LIMIT ?",
                (_iso(now), max(0, limit)),
            ).fetchall()
        return [_delivery(row) for row in rows]

    def mark(
        self, alert_id: str, sink: str, outcome: Outcome, *, now: datetime, next_at: datetime | None
    ) -> str:
        """Record how a send of `alert_id` to `sink` ended; returns the delivery's new state.

        "delivered" and "dead" outcomes are final; "retry" becomes "retrying" again at `next_at`, or "dead" when
        `next_at` is None (the dispatcher gave up). A delivery already delivered (by another process) stays
        so; one that is gone (pruned meanwhile) returns "missing".
        """
        if outcome.state == "delivered":
            state = "delivered"
        elif outcome.state == "retry" and next_at is not None:
            state = "retrying"
        else:
            state = "dead"
        when = _iso(now)
        with self._write() as db:
            row = db.execute(
                "SELECT state FROM deliveries WHERE alert_id = ? AND sink = ?", (alert_id, sink)
            ).fetchone()
            if row is None:
                return "missing"
            if row[0] == "delivered":
                return "delivered"
            db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, next_at = ?, last_status = ?, "
                "last_response = ?, updated_at = ? WHERE alert_id = ? AND sink = ?",
                (state, _iso(next_at) if state == "retrying" and next_at else when, outcome.status,
                 outcome.response[:MAX_RESPONSE_CHARS], when, alert_id, sink),
            )  # fmt: skip
        return state

    def retry(
        self,
        *,
        alert_ids: Sequence[str] = (),
        sink: str | None = None,
        states: Sequence[str] = ("dead",),
        now: datetime | None = None,
    ) -> int:
        """Put deliveries in `states` (of these alerts, given whole or by an id prefix; of this sink) back to
        pending now, attempts kept; returns how many."""
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise ValueError(f"unknown delivery states {unknown}")
        if not states:
            return 0
        when = _iso(now or datetime.now(UTC))
        where = [f"state IN ({','.join('?' * len(states))})"]
        params: list[Any] = list(states)
        if sink is not None:
            where.append("sink = ?")
            params.append(sink)
        if alert_ids:
            where.append("(" + " OR ".join("alert_id LIKE ? ESCAPE '\\'" for _ in alert_ids) + ")")
            params += [_like_prefix(a) for a in alert_ids]
        if not self.exists():
            return 0
        with self._write() as db:
            condition = " AND ".join(where)  # fixed fragments; the values are bound
            sql = f"UPDATE deliveries SET state = 'pending', next_at = ?, updated_at = ? WHERE {condition}"  # noqa: S608
            changed = db.execute(sql, [when, when, *params]).rowcount
        return int(changed)

    # -- reading ------------------------------------------------------------------------------------------
    def deliveries(
        self, *, state: str | None = None, sink: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Deliveries, newest alert first (then by sink)."""
        where, params = ["1 = 1"], []
        if state is not None:
            where.append("d.state = ?")
            params.append(state)
        if sink is not None:
            where.append("d.sink = ?")
            params.append(sink)
        if not self.exists():
            return []
        with self._read() as db:
            rows = db.execute(
                f"{_DELIVERY_SELECT} WHERE {' AND '.join(where)} ORDER BY a.seq DESC, d.sink LIMIT ?",
                [*params, max(0, limit)],
            ).fetchall()
        return [_delivery(row) for row in rows]

    def alerts(self, *, limit: int = 100) -> list[Alert]:
        """Alerts, newest first, with their current counts."""
        if not self.exists():
            return []
        with self._read() as db:
            rows = db.execute(
                "SELECT body FROM alerts ORDER BY seq DESC LIMIT ?", (max(0, limit),)
            ).fetchall()
        return [Alert.from_json(json.loads(body)) for (body,) in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """(sink, state) -> how many deliveries."""
        if not self.exists():
            return {}
        with self._read() as db:
            rows = db.execute("SELECT sink, state, COUNT(*) FROM deliveries GROUP BY sink, state").fetchall()
        return {(sink, state): int(n) for sink, state, n in sorted(rows)}

    # -- housekeeping -------------------------------------------------------------------------------------
    def prune(self, *, before: datetime) -> int:
        """Forget fingerprints seen before `before`, delivered and dead deliveries last updated before it, and
        alerts made before it that no open delivery needs; returns how many rows went. Keep seen fingerprints
        at least as long as findings can be re-evaluated (40 days), or they alert again."""
        if not self.exists():
            return 0
        cut = _iso(before)
        with self._write() as db:
            gone = db.execute("DELETE FROM seen WHERE seen_at < ?", (cut,)).rowcount
            gone += db.execute(
                "DELETE FROM deliveries WHERE state IN ('delivered', 'dead') AND updated_at < ?", (cut,)
            ).rowcount
            gone += db.execute(
                "DELETE FROM alerts WHERE created_at < ? AND last_ts < ? AND id NOT IN "
                "(SELECT alert_id FROM deliveries)",
                (cut, cut),
            ).rowcount
        return int(gone)

    # -- the database -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue up behind the busy timeout)."""
        with self._connection(create=True) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._connection(create=False) as db:
            yield db

    @contextlib.contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        """A connection of its own (threads and processes share the file, not a connection). Reads never
        create the file: they open it `mode=rw` and callers check `exists()` first."""
        db: sqlite3.Connection | None = None
        try:
            if create and not self.path.is_file():
                self._create_file()
                self._ready = False
            uri = f"{self.path.resolve().as_uri()}?mode=rw"
            db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            db.execute("PRAGMA synchronous = FULL")  # a queued alert survives a power cut, not only a crash
            if not self._ready:
                self._check_version(db)
                self._ready = True
            yield db
        except sqlite3.Error as exc:
            error = self._error(exc)
            if error is None:
                raise  # not a condition of the file: a bug
            raise error from None
        except OSError as exc:
            storage = StorageError.from_os_error(exc, str(self.path))
            if storage is None:
                raise
            raise storage from None
        finally:
            if db is not None:
                db.close()

    def _create_file(self) -> None:
        """A new outbox, whole: made under a temporary name (mode 0600, WAL, the schema) and linked into place,
        so that no process ever opens a half-made one (switching an open file to WAL fails, not waits, while
        another process holds it). The loser of a race keeps the winner's file. SQLite gives the -wal and -shm
        files the database file's mode, so alert contents (identities, addresses) stay the owner's."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600))
        try:
            db = sqlite3.connect(tmp, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):  # not executescript: it would commit first
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                db.execute("COMMIT")
            finally:
                db.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass
            except OSError as exc:  # a file system without hard links: a rename (a narrower race) instead
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP) or self.path.exists():
                    raise
                os.replace(tmp, self.path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def _check_version(self, db: sqlite3.Connection) -> None:
        """Refuse an outbox this version cannot read (a newer schema, or not an outbox at all)."""
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        row = (
            db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if "meta" in tables else None
        )
        version = row[0] if row else None
        if version != str(SCHEMA_VERSION):
            raise ArchiveError(
                f"the alert outbox {self.path} has schema version {version!r}; this kanalytics reads version "
                f"{SCHEMA_VERSION}",
                hint="run the kanalytics version that made it, or move the file aside (a new outbox is made; "
                "alerts already delivered are not re-sent, but findings already seen may alert again)",
            )

    def _error(self, exc: sqlite3.Error) -> ArchiveError | None:
        """The error for people for a condition of the file (busy, unwritable, corrupt); None for any other
        (a bug)."""
        name = str(getattr(exc, "sqlite_errorname", ""))
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return ArchiveError(
                f"the alert outbox {self.path} is busy: {exc}",
                hint="another kanalytics process holds it (kanalytics serve, an ingest); re-run when it is done",
            )
        if name.startswith(
            ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_FULL", "SQLITE_IOERR")
        ):
            return ArchiveError(
                f"cannot use the alert outbox {self.path}: {exc}",
                hint="check that its folder exists and is writable by this user and that the disk has space",
            )
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return ArchiveError(
                f"the alert outbox {self.path} is unreadable ({exc})",
                hint=f"move it aside (mv {self.path} {self.path}.corrupt) and re-run: a new outbox is made. "
                "Alerts already delivered will not be re-sent, queued ones are lost, and findings already seen "
                "would alert again if they are evaluated again within the alert age limit",
            )
        return None


_DELIVERY_SELECT = (
    "SELECT a.body, d.sink, d.state, d.attempts, d.next_at, d.last_status, d.last_response, d.updated_at "
    "FROM deliveries d JOIN alerts a ON a.id = d.alert_id"
)


def _count_into(
    alert: Alert, finding: Finding, ts: datetime, key: str, alert_of: Callable[[Finding, str], Alert]
) -> None:
    alert.count += 1
    alert.first_ts = min(alert.first_ts, ts)
    alert.last_ts = max(alert.last_ts, ts)
    if len(alert.findings) < MAX_FINDINGS:
        # alert_of is the one place a finding becomes alert JSON: take its shape for the one added.
        alert.findings.extend(alert_of(finding, key).findings[:1])
        alert.findings.sort(key=lambda item: _sort_ts(item.get("ts")))


def _body(alert: Alert) -> str:
    return json.dumps(alert.to_json(), default=str)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    body, sink, state, attempts, next_at, last_status, last_response, updated_at = row
    return Delivery(
        alert=Alert.from_json(json.loads(body)),
        sink=sink,
        state=state,
        attempts=int(attempts),
        next_at=_time(next_at),
        last_status=None if last_status is None else int(last_status),
        last_response=last_response,
        updated_at=_time(updated_at),
    )


def _sort_ts(value: Any) -> str:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return _iso(datetime.fromisoformat(value))
    return ""


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"
