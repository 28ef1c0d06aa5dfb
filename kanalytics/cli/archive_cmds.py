"""Archive commands: ingest, export, sql, info."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive
from kanalytics.cli.options import (
    ArchiveOption,
    ClusterFilterOption,
    ConfigOption,
    FormatOption,
    FromOption,
    JsonOption,
    MonthOption,
    OutputFormat,
    SeverityOption,
    ToOption,
)
from kanalytics.cli.output import echo, echo_alerts, number, print_frame, print_json

if TYPE_CHECKING:
    from kanalytics.api import Archive
    from kanalytics.archive.ingest import IngestSummary


class InputFormat(StrEnum):  # kanalytics.sources.documents.SHAPES
    auto = "auto"
    native = "native"
    eks = "eks"
    aks = "aks"
    gke = "gke"


class ExportFormat(StrEnum):  # kanalytics.outputs.formats.EVENT_FORMATS (+ "jsonl" for findings)
    original = "original"
    native = "native"
    jsonl = "jsonl"
    ecs = "ecs"
    splunk_hec = "splunk-hec"
    ocsf = "ocsf"


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(help="Audit log files or folders (.jsonl, .json, .gz, .zst), or '-' for stdin."),
    ],
    archive: ArchiveOption,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Cluster name these events come from (partition key). Default: the cluster an EKS, AKS "
            "or GKE envelope names (log group, resourceId, cluster_name), else 'default'.",
            show_default=False,
        ),
    ] = None,
    input_format: Annotated[
        InputFormat,
        typer.Option(
            "--format",
            help="Input shape: auto detects each document's (native Event/EventList/array, EKS CloudWatch "
            "Logs, AKS diagnostic records, GKE LogEntries); the others force one.",
            case_sensitive=False,
        ),
    ] = InputFormat.auto,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Keep Secret values and TokenReview tokens as they are in the input. Off by default: "
            "the archive would then hold copies of your cluster's secrets.",
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every input file from the start, ignoring how far earlier ingests read them "
            "(the new offsets are still saved).",
        ),
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep running: tail the files and folders, commit a batch every --flush-events events or "
            "--flush-seconds seconds; Ctrl-C (SIGINT) or SIGTERM commits what was read and stops.",
        ),
    ] = False,
    flush_events: Annotated[
        int, typer.Option("--flush-events", min=1, help="With --follow: commit after this many events.")
    ] = 10_000,
    flush_seconds: Annotated[
        float,
        typer.Option("--flush-seconds", min=0.1, help="With --follow: commit a batch at most this old."),
    ] = 30.0,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Ingest audit logs into the archive: dedupe, redact secrets, quarantine bad input.

    Each file is read only past what earlier ingests read of it (offsets in the archive's _state/): a
    rotated, renamed or compressed copy of a file already read is recognised, a truncated or replaced
    file is reported and read again; stdin is always read whole. --full reads everything.

    The new manifest is signed when a signing key is configured (`private_key_path` in the `[signing]`
    section, or $KANALYTICS_SIGNING_KEY).

    Exit code 0 when everything was archived or deduplicated, 3 when some input was quarantined (see
    _quarantine/ in the archive), 1 on errors.
    """
    from kanalytics.sources.files import expand_paths

    arch = open_cli_archive(archive, config)
    if follow:
        _follow(arch, paths, cluster, not no_redact, input_format.value, flush_events, flush_seconds, as_json)
        return
    total = _input_bytes(expand_paths(paths))
    show_progress = sys.stderr.isatty() and total > 50 * 1024 * 1024 and not as_json
    if show_progress:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("reading", total=total)

            def advance(n: int) -> None:
                bar.advance(task, n)
                if bar.tasks[0].completed >= total:  # all read: the files are being written and committed
                    bar.update(task, description="writing", total=None)

            summary = arch.ingest(
                paths,
                cluster=cluster,
                redact=not no_redact,
                progress=advance,
                format=input_format.value,
                incremental=True,
                full=full,
            )
    else:
        summary = arch.ingest(
            paths,
            cluster=cluster,
            redact=not no_redact,
            format=input_format.value,
            incremental=True,
            full=full,
        )
    alerts = _deliver_alerts(arch)
    if as_json:
        print_json({**summary.to_json(), **({"alerts": alerts} if alerts is not None else {})})
    else:
        _print_ingest_summary(summary)
        if alerts is not None:
            echo_alerts(alerts)
    if summary.quarantined:
        raise typer.Exit(3)


def _deliver_alerts(arch: Archive) -> dict[str, Any] | None:
    """With sinks configured: one bounded delivery pass of what the commit queued (the rest stays in the
    outbox for the next run, `kanalytics serve` or `kanalytics alerts retry`), and what alerting did."""
    delivered = arch.alerting.deliver(seconds=15.0)
    if delivered is None:
        return None
    return {**arch.alerting.admitted.to_json(), "delivery": dataclasses.asdict(delivered)}


def _follow(
    arch: Archive,
    paths: list[str],
    cluster: str | None,
    redact: bool,
    input_format: str,
    flush_events: int,
    flush_seconds: float,
    as_json: bool,
) -> None:
    """`ingest --follow`: batches until SIGINT/SIGTERM, which end the current batch (committed), then exit."""
    import signal

    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    quarantined = 0

    def on_batch(summary: IngestSummary) -> None:
        nonlocal quarantined
        quarantined += summary.quarantined
        if as_json:
            print_json(summary.to_json())
        else:
            _print_ingest_summary(summary)

    # Alerts of each batch are delivered from a thread of their own: a sink that is down never holds up a batch.
    arch.alerting.start(log=lambda level, message: echo(f"alerts: {message}", err=True))
    try:
        batches = arch.follow(
            paths,
            stop=lambda: bool(stopping),
            on_batch=on_batch,
            cluster=cluster,
            redact=redact,
            format=input_format,
            flush_events=flush_events,
            flush_seconds=flush_seconds,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        arch.alerting.stop()
    echo(f"stopped following after {batches} batch(es)", err=True)
    if quarantined:
        raise typer.Exit(3)


def _input_bytes(files: list[str]) -> int:
    total = 0
    for name in files:
        if name != "-":
            with contextlib.suppress(OSError):  # unreadable or gone: ingest names it
                total += Path(name).stat().st_size
    return total


def _print_ingest_summary(summary: IngestSummary) -> None:
    offsets = summary.incremental
    if offsets is not None:
        for reset in offsets.resets:
            echo(f"warning: {reset}", err=True)
        if offsets.nothing_new() and not summary.read:
            typer.echo(f"nothing new in {offsets.files} file(s) ({summary.seconds:.1f} s)")
            return
    skipped = f", skipped {number(summary.records_skipped)}" if summary.records_skipped else ""
    typer.echo(
        f"read {number(summary.read)}: archived {number(summary.archived)}, duplicates "
        f"{number(summary.duplicates)}, quarantined {number(summary.quarantined)}{skipped} "
        f"({summary.seconds:.1f} s)"
    )
    if summary.records_skipped:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary.records_skipped_reasons.items()))
        echo(f"skipped {summary.records_skipped} record(s) that are not audit events ({reasons})")
    if summary.files_written:
        typer.echo(
            f"wrote {summary.files_written} file(s) in {len(summary.partitions)} partition(s), "
            f"manifest {summary.manifest_seq}"
        )
    if summary.redacted:
        typer.echo(f"redacted secret values in {summary.redacted} event(s)")
    if summary.collisions:
        typer.echo(
            f"warning: {summary.collisions} event(s) reuse an auditID+stage with different content; "
            "kept both (see the trail-integrity detections)"
        )
    if summary.quarantined:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary.quarantine_reasons.items()))
        echo(
            f"quarantined {summary.quarantined} record(s) in {summary.quarantine_file} ({reasons})",
            err=True,
        )
    if summary.unreadable:
        echo(
            f"could not read {len(summary.unreadable)} input path(s), each quarantined as one record "
            f"(check permissions, then ingest them again): {_listed(summary.unreadable)}",
            err=True,
        )
    if summary.skipped:
        counts = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items()))
        echo(
            f"skipped {sum(summary.skipped.values())} path(s) in input folders ({counts}): "
            f"{_listed(summary.skipped_examples)}",
            err=True,
        )


def _listed(paths: list[str], shown: int = 10) -> str:
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more (see --json)" if more > 0 else "")


@app.command()
def export(
    archive: ArchiveOption,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output JSON Lines file ('-' for stdout; .gz/.zst compress).",
            show_default=False,
        ),
    ] = None,
    cluster: ClusterFilterOption = None,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    export_format: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            help="original: each record as it was ingested (a GKE LogEntry as it came); native: audit Events "
            "only; ecs: Elastic Common Schema; splunk-hec: Splunk HTTP Event Collector events; ocsf: OCSF API "
            "Activity (findings: Detection Finding); jsonl: findings as `findings --json` lists them. Default: "
            "original for events, jsonl for findings.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    findings: Annotated[
        bool, typer.Option("--findings", help="Export the period's findings to review instead of its events.")
    ] = False,
    severity: SeverityOption = None,
    hec: Annotated[
        bool,
        typer.Option(
            "--hec",
            help="Send to the Splunk HTTP Event Collector of [exports.splunk_hec] (url, token) instead of a "
            "file; implies --format splunk-hec.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Export archived events (or, with --findings, findings) as JSON Lines: as ingested, or for a SIEM.

    Formats for Elastic (ecs), Splunk (splunk-hec, or --hec to deliver) and Security Lake (ocsf) are described
    in docs/exports/. Events stream one partition at a time, whatever the period.
    """
    from kanalytics.archive.reader import open_output

    chosen = export_format.value if export_format else ("jsonl" if findings else "original")
    if hec:
        if out is not None or export_format not in (None, ExportFormat.splunk_hec):
            raise typer.BadParameter(
                "--hec sends Splunk HEC events to the collector: give no --out or --format"
            )
    elif out is None:
        raise typer.BadParameter("give --out FILE ('-' for stdout), or --hec to send to Splunk")
    if findings and chosen in ("original", "native"):
        raise typer.BadParameter(
            f"--format {chosen} is for events; findings export as jsonl, ecs, splunk-hec or ocsf"
        )
    if not findings and chosen == "jsonl":
        raise typer.BadParameter("--format jsonl is for --findings; events export as original or native")
    if severity is not None and not findings:
        raise typer.BadParameter("--severity filters findings: add --findings")
    arch = open_cli_archive(archive, config)
    arch.period(month=month, start=from_, end=to)  # a bad or reversed period fails before the file is opened
    what = "finding(s)" if findings else "event(s)"
    minimum = severity.value if severity else None
    if hec:
        stats = arch.send_to_hec(
            findings=findings, month=month, start=from_, end=to, clusters=cluster, min_severity=minimum
        )
        echo(
            f"sent {number(stats.events)} {what} to Splunk HEC in {number(stats.batches)} batch(es)"
            + (f", {number(stats.retries)} retried" if stats.retries else ""),
            err=True,
        )
        return
    assert out is not None

    def write(handle: IO[bytes]) -> int:
        if findings:
            return arch.export_findings(
                handle,
                month=month,
                start=from_,
                end=to,
                clusters=cluster,
                min_severity=minimum,
                format=chosen,
            )
        return arch.export(handle, month=month, start=from_, end=to, clusters=cluster, format=chosen)

    if str(out) == "-":
        count = write(sys.stdout.buffer)
    else:
        with open_output(out) as handle:
            count = write(handle)
    echo(f"exported {number(count)} {what}" + ("" if str(out) == "-" else f" to {out}"), err=True)


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="SQL over the view `events` (DuckDB dialect), or '-' to read it from stdin.")
    ],
    archive: ArchiveOption,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    cluster: ClusterFilterOption = None,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    config: ConfigOption = None,
    safe: Annotated[
        bool,
        typer.Option(
            "--safe",
            help="Allow one SELECT that reads the archive's events and nothing else: no other file, no "
            "writes, no extensions, no network (docs/sql-safety.md).",
        ),
    ] = False,
) -> None:
    """Run SQL over the archive's `events` view; --month/--from/--to prune partitions before it runs.

    Without --safe this is the full DuckDB, as the user running it: a statement can read and write any file
    that user can, install and load extensions, and fetch URLs. On a terminal the table shows the columns
    that fit; piped, it is tab-separated.
    """
    if query == "-":
        query = sys.stdin.read()
    frame = open_cli_archive(archive, config).sql(
        query, month=month, start=from_, end=to, clusters=cluster, safe=safe
    )
    print_frame(frame, OutputFormat.json if as_json else fmt)


@app.command()
def info(archive: ArchiveOption, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Summarise the archive: clusters, dates, partitions, files, events, bytes, manifests."""
    summary = open_cli_archive(archive, config).info()
    if as_json:
        print_json(summary.to_json())
        return
    rows = [
        ("archive", summary.root),
        ("clusters", ", ".join(summary.clusters) or "-"),
        ("dates", f"{summary.first_date} .. {summary.last_date}" if summary.first_date else "-"),
        ("partitions", number(summary.partitions)),
        ("files", number(summary.files)),
        ("findings files", number(summary.findings_files)),
        ("events", number(summary.events)),
        ("bytes", number(summary.bytes)),
        ("quarantined", number(summary.quarantined)),
        ("manifests", number(summary.manifests)),
        ("last manifest", summary.last_manifest_sha256 or "-"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        echo(f"{key:<{width}}  {value}")  # cluster names come from folder names on disk
