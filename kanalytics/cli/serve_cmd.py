"""The `kanalytics serve` command: argument parsing around `kanalytics.serve.serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive
from kanalytics.cli.options import ArchiveOption, ConfigOption

_FILE = {"show_default": False, "dir_okay": False}


@app.command("serve")
def serve(
    archive: ArchiveOption,
    config: ConfigOption = None,
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to listen on; plain HTTP only on a loopback address.")
    ] = "127.0.0.1:8443",
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM server certificate (chain).", **_FILE)
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.", **_FILE)
    ] = None,
    client_ca: Annotated[
        Path | None,
        typer.Option(
            "--client-ca", help="PEM CA bundle: require client certificates it signed (mTLS).", **_FILE
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File holding the bearer token clients must send.", **_FILE),
    ] = None,
    firehose_key_file: Annotated[
        Path | None,
        typer.Option(
            "--firehose-key-file",
            help="File holding the X-Amz-Firehose-Access-Key for POST /firehose (default: the bearer token).",
            **_FILE,
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow plain HTTP on a non-loopback address (behind a TLS proxy)."),
    ] = False,
    spool: Annotated[
        Path | None,
        typer.Option("--spool", help="Spool directory (default: ARCHIVE/_state/spool).", show_default=False),
    ] = None,
    flush_events: Annotated[
        int, typer.Option("--flush-events", help="Flush the spool into the archive at this many events.")
    ] = 50_000,
    flush_seconds: Annotated[
        float, typer.Option("--flush-seconds", help="Flush at least this often (seconds) while events wait.")
    ] = 30.0,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", help="Largest request body (after gzip decoding): 413 above.")
    ] = 12 * 1024 * 1024,
    max_event_bytes: Annotated[
        int, typer.Option("--max-event-bytes", help="Largest single Event; larger ones are quarantined.")
    ] = 1024 * 1024,
    spool_high_water: Annotated[
        int,
        typer.Option("--spool-high-water", help="Spool bytes above which intake answers 503 + Retry-After."),
    ] = 1024 * 1024 * 1024,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Cluster name of every event (default: 'default').")
    ] = None,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep Secret values and tokens (see docs/redaction.md).")
    ] = False,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug (one line per request), info, warning or error.")
    ] = "info",
) -> None:
    """Receive the API server's audit webhook (and Kinesis Firehose) and archive it; see docs/serve.md.

    Answers 200 only once a batch is on disk (spooled and fsynced); flushes the spool into the archive every
    --flush-events events or --flush-seconds seconds and on SIGTERM. Health: /healthz, /readyz; /metrics.
    Each flush is evaluated as it commits, and its findings alert the configured [[alerts.sinks]] from a
    thread of their own (docs/alerts.md).
    """
    from kanalytics.errors import UsageError
    from kanalytics.serve import ServeConfig
    from kanalytics.serve import serve as run
    from kanalytics.serve.config import parse_listen

    if log_level not in ("debug", "info", "warning", "error"):
        raise UsageError(f"--log-level {log_level!r}: expected debug, info, warning or error")
    host, port = parse_listen(listen)
    settings = ServeConfig(
        host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, client_ca=client_ca, token_file=token_file,
        firehose_key_file=firehose_key_file, insecure=insecure, spool=spool, max_body_bytes=max_body_bytes,
        max_event_bytes=max_event_bytes, spool_high_water_bytes=spool_high_water, flush_events=flush_events,
        flush_seconds=flush_seconds, cluster=cluster, redact=not no_redact, log_level=log_level,
    )  # fmt: skip
    arch = open_cli_archive(archive, config)
    run(arch.store, settings, on_commit=arch.evaluate_commits, alerting=arch.alerting)
