"""The shapes alerting passes around: an Alert, the HTTP request a sink makes of it, and how a send ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

# How many of an alert's findings it carries (the first ones; `count` says how many there were).
MAX_FINDINGS = 10


@dataclass
class Alert:
    """One alert: the first finding of a dedup key in its window, and the count of those that followed.

    `key` is (query_id, cluster, dedup values) as canonical JSON; `dedup` maps the query's `dedup_by` columns
    (default `user_name`) to their values. `findings` are finding JSON objects (`Finding.to_json()` made JSON-safe,
    evidence included), at most MAX_FINDINGS, oldest first. Times are UTC.
    """

    id: str  # uuid4, also the webhook payload's `uuid`
    key: str
    query_id: str
    title: str
    kind: str  # detection | anomaly | incident
    severity: str
    area: str
    cluster: str | None
    dedup: dict[str, str | None]
    summary: str
    description: str
    first_ts: datetime
    last_ts: datetime
    count: int
    created_at: datetime
    findings: list[dict[str, Any]] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    mitre: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    # What the on-call runs next (a kanalytics command over the alert's window) and a link back, if configured.
    runbook: str = ""
    link: str | None = None
    incident: str | None = None  # the incident id when alerts are per incident

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for name in ("first_ts", "last_ts", "created_at"):
            data[name] = getattr(self, name).isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        values = dict(data)
        for name in ("first_ts", "last_ts", "created_at"):
            values[name] = datetime.fromisoformat(values[name]).astimezone(UTC)
        return cls(**values)


@dataclass(frozen=True)
class Request:
    """One HTTP POST a sink makes of an alert. `headers` may hold a secret: never log or print them."""

    url: str
    body: bytes
    headers: dict[str, str]

    def __repr__(self) -> str:  # the URL may be a secret too (Slack)
        return f"Request(<{len(self.body)} bytes>)"


@dataclass(frozen=True)
class Outcome:
    """How one send ended. "delivered": 2xx. "retry": 5xx, 429 or a network error, again after `retry_after`
    seconds when the server said so (Retry-After). "dead": any other status (4xx, 3xx): the request will not
    succeed as it is; `response` keeps the status line and the start of the body for the dead-letter record."""

    state: Literal["delivered", "retry", "dead"]
    status: int | None
    response: str
    retry_after: float | None = None


class Observer(Protocol):
    """Who counts what alerting does (the receiver's Prometheus metrics). States: "queued" (an alert was queued
    for the sink), "delivered", "retried" (a send failed and will be retried), "dead" (given up)."""

    def findings(self, query: str, severity: str, cluster: str, count: int) -> None: ...

    def identity(self, identity: str, severity: str, count: int) -> None: ...

    def alert(self, sink: str, state: str) -> None: ...
