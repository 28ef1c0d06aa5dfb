"""Deliver HEC events to a Splunk HTTP Event Collector: batches, retries with backoff, errors that name the batch.

A batch is HEC's batch form, JSON objects back to back (not a JSON array), POSTed to
`<url>/services/collector/event` with `Authorization: Splunk <token>` and an `X-Splunk-Request-Channel` (one
uuid per client, so that a token with indexer acknowledgement on accepts the requests). 5xx (HEC's 503 "Server
is busy"), 429 and network errors are retried with exponential backoff, Retry-After honoured, within
`max_attempts` and `deadline_seconds` per batch; any other answer (4xx: a bad token, an index the token may not
write to) stops at once with the HEC code and what to do. At most one batch is held in memory. The token is
only ever in the Authorization header: never in a message, a repr or an exception's chain.
"""

from __future__ import annotations

import gzip
import json
import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from kanalytics.config import read_secret
from kanalytics.errors import ConfigError, DeliveryError
from kanalytics.outputs.http import netloc, read_bounded, retry_after
from kanalytics.sources.jsontext import dumps_bytes
from kanalytics.textsafe import visible

if TYPE_CHECKING:
    import httpx

    from kanalytics.config import HecSettings

COLLECTOR_PATH = "/services/collector/event"
# What is read of an answer: HEC's answers are one small JSON object; anything longer is cut.
MAX_ANSWER_BYTES = 64 * 1024
# A Retry-After longer than this is not waited for (the batch gives up instead, naming the wait asked for).
MAX_RETRY_AFTER_SECONDS = 600.0
# HEC's error codes (Splunk's "Troubleshoot HTTP Event Collector" table) and what the operator does about each.
HEC_CODES: dict[int, tuple[str, str]] = {
    1: ("Token disabled", "enable the token in Splunk (Settings > Data inputs > HTTP Event Collector)"),
    2: ("Token is required", "set [exports.splunk_hec] token in kanalytics.toml"),
    3: ("Invalid authorization", "check [exports.splunk_hec] token: it must be the HEC token's value"),
    4: (
        "Invalid token",
        "check [exports.splunk_hec] token: Splunk does not know it (a HEC token, not a login)",
    ),
    5: ("No data", "nothing was sent; report this as a kanalytics bug"),
    6: ("Invalid data format", "check that the URL reaches HEC directly, not a proxy that rewrites bodies"),
    7: (
        "Incorrect index",
        "add the index to the token's allowed indexes in Splunk, or change [exports.splunk_hec] index",
    ),
    8: ("Internal server error", "Splunk failed: see splunkd.log on the HEC host"),
    9: ("Server is busy", "Splunk's indexing queue is full: retry later or raise its capacity"),
    10: ("Data channel is missing", "the token needs a channel; report this as a kanalytics bug"),
    11: ("Invalid data channel", "the token's acknowledgement channel was refused: retry later"),
    12: ("Event field is required", "an event had no `event`; report this as a kanalytics bug"),
    13: ("Event field cannot be blank", "an event had an empty `event`; report this as a kanalytics bug"),
    14: ("ACK is disabled", "turn indexer acknowledgement on for the token, or do not ask for acks"),
    15: ("Error in handling indexed fields", "check the token's indexed-field limits in Splunk"),
    16: ("Query string authorization is not enabled", "send the token as a header (kanalytics does)"),
}
# A header value without spaces or controls, so that it cannot split the header (nor be echoed by httpx's error).
_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass
class HecStats:
    """What one `send` delivered. `bytes`: the JSON of the delivered batches; `wire_bytes`: what was POSTed for
    them (gzip-compressed when on)."""

    events: int = 0
    batches: int = 0
    retries: int = 0
    bytes: int = 0
    wire_bytes: int = 0


class HecClient:
    """A Splunk HTTP Event Collector at `url` (`https://splunk.example.com:8088`; the collector path is added).

    `batch_events` / `batch_bytes`: a batch is sent when the next event would exceed either (an event larger
    than `batch_bytes` goes alone). `max_attempts` / `deadline_seconds`: how long one batch is retried.
    `verify`: TLS verification, or the path of the CA bundle that signed the HEC certificate.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        batch_events: int = 500,
        batch_bytes: int = 1_000_000,
        timeout: float = 10.0,
        max_attempts: int = 8,
        deadline_seconds: float = 300.0,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        compress: bool = False,
        verify: bool | str = True,
        channel: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or netloc(url) == "?":
            raise ConfigError(
                f"Splunk HEC url {_shown(url)!r} is not an http(s) URL",
                hint="set [exports.splunk_hec] url, e.g. https://splunk.example.com:8088",
            )
        if not _TOKEN.fullmatch(token):
            raise ConfigError(
                "the Splunk HEC token is empty or holds spaces or control characters",
                hint="put only the token's value (a uuid) in the file or variable [exports.splunk_hec] token names",
            )
        if batch_events < 1 or batch_bytes < 1 or max_attempts < 1 or timeout <= 0:
            raise ConfigError("HEC batch_events, batch_bytes, max_attempts and timeout must be positive")
        path = parts.path.rstrip("/")
        if not path.endswith(COLLECTOR_PATH):
            path = path.removesuffix("/services/collector") + COLLECTOR_PATH
        # User info is dropped: httpx would send it as Basic auth in place of the token.
        self.url = urlunsplit((parts.scheme, netloc(url), path, "", ""))
        self.shown_url = self.url
        self._token = token
        self.batch_events = batch_events
        self.batch_bytes = batch_bytes
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.deadline_seconds = deadline_seconds
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.compress = compress
        self.verify = verify
        self.channel = channel or str(uuid.uuid4())
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: HecSettings, **options: Any) -> HecClient:
        """The client `[exports.splunk_hec]` describes; the token is read from its file or variable now."""
        if settings.url is None or settings.token is None:
            raise ConfigError(
                "direct delivery to Splunk needs [exports.splunk_hec] url and token",
                hint='e.g. url = "https://splunk.example.com:8088" and token = { env = "SPLUNK_HEC_TOKEN" }',
            )
        token = read_secret(settings.token, "[exports.splunk_hec] token")
        return cls(
            settings.url,
            token,
            batch_events=settings.batch_events,
            batch_bytes=settings.batch_bytes,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"HecClient({self.shown_url!r}, batch_events={self.batch_events}, batch_bytes={self.batch_bytes})"
        )

    def send(self, payloads: Iterable[dict[str, Any]]) -> HecStats:
        """POST `payloads` (HEC events, e.g. from `formats.hec.event_payload`) in batches, as they come.

        Raises DeliveryError on the first batch that is refused or still failing at its deadline; the events of
        earlier batches are in Splunk (the error says how many), so running again sends those twice."""
        import httpx

        stats = HecStats()
        batch: list[bytes] = []
        size = 0
        # httpx 0.28 takes a CA bundle as an SSLContext (a path string is deprecated).
        verify = (
            ssl.create_default_context(cafile=self.verify) if isinstance(self.verify, str) else self.verify
        )
        with httpx.Client(timeout=self.timeout, verify=verify, follow_redirects=False) as client:
            for payload in payloads:
                data = dumps_bytes(payload)
                if batch and (len(batch) >= self.batch_events or size + 1 + len(data) > self.batch_bytes):
                    self._deliver(client, batch, stats)
                    batch, size = [], 0
                batch.append(data)
                size += len(data) + 1
            if batch:
                self._deliver(client, batch, stats)
        return stats

    def _deliver(self, client: httpx.Client, batch: list[bytes], stats: HecStats) -> None:
        import httpx

        body = b"\n".join(batch)
        wire = gzip.compress(body, compresslevel=6) if self.compress else body
        headers = {
            "Authorization": f"Splunk {self._token}",
            "X-Splunk-Request-Channel": self.channel,
            "Content-Type": "application/json",
        }
        if self.compress:
            headers["Content-Encoding"] = "gzip"
        number = stats.batches + 1
        where = f"batch {number} (events {stats.events + 1}-{stats.events + len(batch)})"
        started = time.monotonic()
        status: int | None = None
        code: int | None = None
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                status, answer, retry_after = self._post(client, wire, headers)
            except httpx.TransportError as exc:  # refused, reset, timed out, TLS: the server may come back
                status, code, last = None, None, f"{type(exc).__name__}: {visible(str(exc))[:200]}"
            else:
                if 200 <= status < 300:
                    stats.events += len(batch)
                    stats.batches += 1
                    stats.bytes += len(body)
                    stats.wire_bytes += len(wire)
                    return
                code, text = _hec_answer(answer)
                last = _answer_text(status, code, text)
                if status != 429 and status < 500:
                    raise DeliveryError(
                        f"Splunk HEC at {self.shown_url} refused {where}: {last}",
                        hint=_refusal_hint(status, code, delivered=stats.events),
                        status=status,
                        code=code,
                    )
            wait = min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)
            if retry_after is not None:
                wait = retry_after
            elapsed = time.monotonic() - started
            if attempt == self.max_attempts or elapsed + wait > self.deadline_seconds:
                raise DeliveryError(
                    f"Splunk HEC at {self.shown_url} did not accept {where} after {attempt} attempt(s) in "
                    f"{elapsed:.0f} s: last answer {last}"
                    + (f" (it asked to wait {wait:.0f} s)" if retry_after is not None else ""),
                    hint=f"check that Splunk is up and HEC is enabled on that port; {_delivered(stats.events)}",
                    status=status,
                    code=code,
                )
            stats.retries += 1
            self._sleep(wait)

    def _post(
        self, client: httpx.Client, wire: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, float | None]:
        """One POST: (status, the start of the answer, Retry-After in seconds if given)."""
        # The body goes as a one-shot stream with its length: httpx keeps a finished request (and so a bytes
        # body) in a reference cycle until the cyclic GC runs, many batches later; a finished generator holds
        # nothing, so memory stays at one batch.
        headers = headers | {"Content-Length": str(len(wire))}
        with client.stream("POST", self.url, content=_once(wire), headers=headers) as response:
            answer = read_bounded(response, MAX_ANSWER_BYTES)
            wait = retry_after(response.headers.get("Retry-After"), cap=MAX_RETRY_AFTER_SECONDS)
            return response.status_code, answer, wait


def _once(data: bytes) -> Iterator[bytes]:
    yield data


def _hec_answer(answer: bytes) -> tuple[int | None, str]:
    """HEC's `{"text": ..., "code": N}`, or (None, the start of whatever else came back)."""
    try:
        data = json.loads(answer)
    except ValueError:
        return None, answer.decode("utf-8", "replace")
    if isinstance(data, dict) and isinstance(data.get("code"), int):
        return data["code"], str(data.get("text", ""))
    return None, answer.decode("utf-8", "replace")


def _answer_text(status: int, code: int | None, text: str) -> str:
    shown = visible(text)[:200]
    if code is None:
        return f"HTTP {status} {shown!r}" if shown else f"HTTP {status}"
    return f"HTTP {status}, HEC code {code} {shown!r}"


def _refusal_hint(status: int, code: int | None, *, delivered: int) -> str:
    if code in HEC_CODES:
        what = HEC_CODES[code][1]
    elif status == 413:
        what = "the batch is larger than HEC's max_content_length: lower [exports.splunk_hec] batch_bytes"
    elif status == 404:
        what = f"check [exports.splunk_hec] url: nothing answers {COLLECTOR_PATH} there (is HEC enabled?)"
    elif 300 <= status < 400:
        what = "the URL redirects: give the final HEC URL (the token is not sent to a redirect)"
    else:
        what = "check [exports.splunk_hec] url and token"
    return f"{what}; {_delivered(delivered)}"


def _delivered(events: int) -> str:
    if not events:
        return "no event was delivered"
    return f"the first {events} event(s) were delivered: sending again sends them twice"


def _shown(url: str) -> str:
    """`url` without user info, query or fragment, for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, netloc(url), parts.path, "", ""))
