"""Run the receiver: build the spool, flusher and app, and serve them with uvicorn (TLS, mTLS by its options)."""

from __future__ import annotations

import signal
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from kanalytics.serve.app import ReceiverApp
from kanalytics.serve.config import ServeConfig, read_secret
from kanalytics.serve.flusher import Flusher
from kanalytics.serve.logs import log, set_level
from kanalytics.serve.metrics import Metrics
from kanalytics.serve.spool import Spool

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.outputs.alerts.service import Alerting


def build_app(
    store: Store,
    config: ServeConfig,
    on_commit: Callable[[int], object] | None = None,
    alerting: Alerting | None = None,
) -> ReceiverApp:
    """The ASGI app over `store` (tests and embedding); `serve` runs it. `on_commit` is called after each
    committed flush with the manifest seq before it (evaluation at commit: `kanalytics.api.Archive`), which
    admits the findings to `alerting`; the app counts them in its metrics and runs its delivery thread."""
    config.check()
    store.layout.require_local("kanalytics serve (its spool and alert outbox live in the archive's _state/)")
    spool = Spool(config.spool if config.spool is not None else store.layout.state / "spool")
    metrics = Metrics(spool_bytes=lambda: spool.bytes, spool_age=spool.oldest_age)
    if alerting is not None:
        alerting.observer = metrics
    flusher = Flusher(
        store, spool, metrics, cluster=config.cluster, redact=config.redact,
        flush_events=config.flush_events, flush_seconds=config.flush_seconds, on_commit=on_commit,
    )  # fmt: skip
    token = read_secret(config.token_file, "--token-file")
    firehose_key = read_secret(config.firehose_key_file, "--firehose-key-file") or token
    return ReceiverApp(
        config, spool, flusher, metrics, token=token, firehose_key=firehose_key, alerting=alerting
    )


def serve(
    store: Store,
    config: ServeConfig,
    on_commit: Callable[[int], object] | None = None,
    alerting: Alerting | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; the lifespan shutdown flushes the spool into the archive before exit."""
    import uvicorn

    set_level(config.log_level)
    app = build_app(store, config, on_commit, alerting)
    if app.token is None and config.client_ca is None:
        log("warning", "no --token-file and no --client-ca: any client that reaches the port may send events")
    uv = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=65,
        limit_concurrency=config.max_concurrent,
        # In-flight requests get this long to finish on SIGTERM; one cut off was never acknowledged (retried).
        timeout_graceful_shutdown=10,
        ssl_certfile=str(config.tls_cert) if config.tls_cert else None,
        ssl_keyfile=str(config.tls_key) if config.tls_key else None,
        ssl_ca_certs=str(config.client_ca) if config.client_ca else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if config.client_ca else ssl.CERT_NONE,
    )
    log("info", "listening", host=config.host, port=config.port, tls=config.tls_cert is not None)
    # uvicorn re-raises the signal that stopped it once it has shut down (the lifespan shutdown flushed the
    # spool by then); handled, that stop is a clean exit 0 rather than death by SIGTERM.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stopped)
    uvicorn.Server(uv).run()


def _stopped(signum: int, frame: object) -> None:
    """After uvicorn's shutdown: nothing left to do."""
