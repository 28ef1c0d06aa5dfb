"""What every HTTP destination of kanalytics (alert sinks, Splunk's HEC) reads of an answer the same way: how
long the server asked to wait, where a request went (for messages: never the path, query or user info), and the
start of a body, bounded."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

RETRY_AFTER_CAP = 3600.0  # seconds: a longer wait asked for is not honoured as such


def retry_after(
    value: str | None, *, cap: float = RETRY_AFTER_CAP, now: datetime | None = None
) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP-date), at least 0, at most `cap`; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


def netloc(url: str) -> str:
    """The host and port of `url` without user info (an IPv6 host in brackets); "?" when it has none."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "?"
    if not host:
        return "?"
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port is not None else shown


def read_bounded(response: httpx.Response, limit: int, deadline: float | None = None) -> bytes:
    """At most `limit` bytes of a streamed response body, stopping early at `deadline` (time.monotonic())."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk[: limit - len(data)]
        if len(data) >= limit or (deadline is not None and time.monotonic() > deadline):
            break
    return bytes(data)
