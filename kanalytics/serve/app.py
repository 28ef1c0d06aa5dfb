"""The ASGI application: the audit webhook, the Firehose endpoint, health, readiness and metrics.

Every intake request is answered 200 only after its batch is in the spool and fsynced. Work that blocks
(decompressing, parsing, redacting, fsync) runs in worker threads so that the event loop keeps answering
health checks and 503s while a big batch is being spooled.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from kanalytics.serve import intake
from kanalytics.serve.config import ServeConfig
from kanalytics.serve.flusher import Flusher
from kanalytics.serve.logs import log
from kanalytics.serve.metrics import CONTENT_TYPE, Metrics
from kanalytics.serve.spool import Spool
from kanalytics.sources import jsontext

if TYPE_CHECKING:
    from kanalytics.outputs.alerts.service import Alerting

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

AUDIT_PATHS = ("/audit", "/")
_FIREHOSE_IDS = 10_000  # request ids remembered for Firehose retries (dedupe covers the rest)


class _Refused(Exception):
    def __init__(
        self, status: int, reason: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
    ):
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers or []


class ReceiverApp:
    def __init__(
        self,
        config: ServeConfig,
        spool: Spool,
        flusher: Flusher,
        metrics: Metrics,
        *,
        token: bytes | None,
        firehose_key: bytes | None,
        alerting: Alerting | None = None,
    ) -> None:
        self.config, self.spool, self.flusher, self.metrics = config, spool, flusher, metrics
        # Delivery of alerts runs in a thread of its own: a sink that is down never holds up intake or a flush.
        self.alerting = alerting
        self.token, self.firehose_key = token, firehose_key
        self._firehose_seen: OrderedDict[str, None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.flusher.start()
                if self.alerting is not None:
                    self.alerting.start(log=_log_delivery)
                log(
                    "info",
                    "receiver started",
                    spool=str(self.spool.directory),
                    spooled_bytes=self.spool.bytes,
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # The last batches go into the archive before the process exits (SIGTERM, Ctrl-C).
                await asyncio.to_thread(self.flusher.stop)
                if self.alerting is not None:  # after the last flush, so its alerts get one try
                    await asyncio.to_thread(self.alerting.stop)
                log("info", "receiver stopped", spooled_bytes=self.spool.bytes)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path, method = scope["path"], scope["method"]
        endpoint = path if path in ("/audit", "/firehose", "/healthz", "/readyz", "/metrics") else "other"
        if path == "/":
            endpoint = "/audit"
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        status = 500
        try:
            if method == "GET" and path == "/healthz":
                status = await _reply(send, 200, b'{"status":"alive"}\n')
            elif method == "GET" and path == "/readyz":
                status = await self._readyz(send)
            elif method == "GET" and path == "/metrics":
                status = await _reply(send, 200, self.metrics.text(), content_type=CONTENT_TYPE.encode())
            elif method == "POST" and path in AUDIT_PATHS:
                status = await self._audit(headers, receive, send)
            elif method == "POST" and path == "/firehose":
                status = await self._firehose(headers, receive, send)
            elif path in (*AUDIT_PATHS, "/firehose", "/healthz", "/readyz", "/metrics"):
                status = await _reply(send, 405, _error(f"{method} is not allowed on {path}"))
            else:
                status = await _reply(send, 404, _error(f"no endpoint {path}"))
        except _Refused as refused:
            self.metrics.rejected.labels(reason=refused.reason).inc()
            status = await _reply(send, refused.status, _error(refused.message), extra=refused.headers)
        except OSError as exc:  # disk full, spool unwritable: not acknowledged, the API server retries
            self.metrics.rejected.labels(reason="unavailable").inc()
            log("error", "cannot spool the batch", path=path, error=f"{type(exc).__name__}: {exc}")
            status = await _reply(
                send, 500, _error(f"cannot write the spool: {exc.strerror or exc}; retry later")
            )
        finally:
            seconds = time.perf_counter() - started
            self.metrics.requests.labels(endpoint=endpoint, code=str(status)).inc()
            self.metrics.duration.labels(endpoint=endpoint).observe(seconds)
            log("debug", "request", method=method, path=path, status=status, seconds=round(seconds, 4))

    # -- intake -------------------------------------------------------------------------------------------
    async def _audit(self, headers: dict[str, bytes], receive: Receive, send: Send) -> int:
        self._check_bearer(headers)
        body = await self._body(headers, receive, "/audit")
        encoding = headers.get("content-encoding", b"").decode("latin-1")
        try:
            batch = await asyncio.to_thread(self._spool_audit, body, encoding)
        except intake.Malformed as exc:
            self.metrics.rejected.labels(reason="malformed").inc()
            return await _reply(send, 400, _error(f"{exc}; the body was quarantined"))
        return await _reply(
            send, 200, jsontext.dumps_bytes({"events": batch.events, "quarantined": batch.problems})
        )

    def _spool_audit(self, body: bytes, encoding: str) -> intake.Batch:
        """Decode and spool one webhook body (in a worker thread); a malformed body is spooled as a problem."""
        try:
            data = intake.decompress(body, encoding, self.config.max_body_bytes)
            batch = intake.audit_batch(
                data, redact=self.config.redact, max_event_bytes=self.config.max_event_bytes
            )
        except intake.TooLarge:
            raise _Refused(413, "too_large", self._too_large("decompressed body")) from None
        except intake.Malformed as exc:
            self.spool.append(*intake.problem_entry(f"webhook request: {exc}", body))
            self.flusher.nudge()
            raise
        self._append(batch)
        return batch

    async def _firehose(self, headers: dict[str, bytes], receive: Receive, send: Send) -> int:
        request_id = headers.get("x-amz-firehose-request-id", b"").decode("latin-1")
        try:
            self._check_firehose_key(headers)
            body = await self._body(headers, receive, "/firehose")
            encoding = headers.get("content-encoding", b"").decode("latin-1")
            if request_id and request_id in self._firehose_seen:  # a retry of a delivery already spooled
                return await _reply(send, 200, _firehose_answer(request_id))
            await asyncio.to_thread(self._spool_firehose, body, encoding)
        except _Refused as refused:
            self.metrics.rejected.labels(reason=refused.reason).inc()
            answer = _firehose_answer(request_id, refused.message)
            return await _reply(send, refused.status, answer, extra=refused.headers)
        except intake.Malformed as exc:
            self.metrics.rejected.labels(reason="malformed").inc()
            return await _reply(send, 400, _firehose_answer(request_id, f"{exc}; the body was quarantined"))
        if request_id:
            self._firehose_seen[request_id] = None
            while len(self._firehose_seen) > _FIREHOSE_IDS:
                self._firehose_seen.popitem(last=False)
        return await _reply(send, 200, _firehose_answer(request_id))

    def _spool_firehose(self, body: bytes, encoding: str) -> None:
        try:
            data = intake.decompress(body, encoding, self.config.max_body_bytes)
            _, batch = intake.firehose_batch(
                data, redact=self.config.redact, max_event_bytes=self.config.max_event_bytes
            )
        except intake.TooLarge:
            raise _Refused(413, "too_large", self._too_large("decompressed body")) from None
        except intake.Malformed as exc:
            self.spool.append(*intake.problem_entry(f"Firehose request: {exc}", body))
            self.flusher.nudge()
            raise
        self._append(batch)

    def _append(self, batch: intake.Batch) -> None:
        for entry in batch.entries:
            self.spool.append(*entry)
        self.metrics.received.inc(batch.events)
        self.flusher.nudge()

    async def _body(self, headers: dict[str, bytes], receive: Receive, endpoint: str) -> bytes:
        """The request body, refusing (before reading it) when the spool is full or the body too large."""
        if self.spool.bytes >= self.config.spool_high_water_bytes:
            raise _Refused(
                503, "spool_full",
                f"the spool holds {self.spool.bytes} bytes, over its high-water mark; retry later",
                [(b"retry-after", str(self.config.retry_after_seconds).encode())],
            )  # fmt: skip
        limit = self.config.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refused(413, "too_large", self._too_large("body"))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Refused(499, "disconnected", "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(413, "too_large", self._too_large("body"))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self.metrics.size.labels(endpoint=endpoint).observe(size)
        return b"".join(chunks)

    def _too_large(self, what: str) -> str:
        return (
            f"the {what} is over the limit of {self.config.max_body_bytes} bytes: lower the API server's "
            "--audit-webhook-batch-max-size or raise --max-body-bytes"
        )

    # -- auth ---------------------------------------------------------------------------------------------
    def _check_bearer(self, headers: dict[str, bytes]) -> None:
        if self.token is None:
            return
        value = headers.get("authorization", b"")
        scheme, _, given = value.partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            raise _Refused(
                401,
                "unauthorized",
                "missing bearer token",
                [(b"www-authenticate", b'Bearer realm="kanalytics"')],
            )
        if not hmac.compare_digest(given.strip(), self.token):
            raise _Refused(403, "forbidden", "the bearer token is not the one configured")

    def _check_firehose_key(self, headers: dict[str, bytes]) -> None:
        if self.firehose_key is None:
            return
        given = headers.get("x-amz-firehose-access-key")
        if not given:
            raise _Refused(401, "unauthorized", "missing X-Amz-Firehose-Access-Key")
        if not hmac.compare_digest(given, self.firehose_key):
            raise _Refused(403, "forbidden", "the Firehose access key is not the one configured")

    # -- health -------------------------------------------------------------------------------------------
    async def _readyz(self, send: Send) -> int:
        problems = []
        if not self.spool.writable():
            problems.append(f"spool {self.spool.directory} is not writable")
        if self.spool.bytes >= self.config.spool_high_water_bytes:
            problems.append("spool over its high-water mark")
        if not self.flusher.keeping_up():
            problems.append(f"flusher not keeping up: {self.flusher.last_error or 'oldest batch too old'}")
        body = jsontext.dumps_bytes({"ready": not problems, "problems": problems})
        return await _reply(send, 503 if problems else 200, body)


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    *,
    content_type: bytes = b"application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> int:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


def _log_delivery(level: str, message: str) -> None:
    log(level, message, component="alerts")


def _error(message: str) -> bytes:
    return jsontext.dumps_bytes({"error": message})


def _firehose_answer(request_id: str, error: str | None = None) -> bytes:
    answer: dict[str, Any] = {"requestId": request_id, "timestamp": int(time.time() * 1000)}
    if error is not None:
        answer["errorMessage"] = error
    return jsontext.dumps_bytes(answer)
