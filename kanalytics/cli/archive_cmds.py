"""Archive commands: ingest, export, sql, info."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    ToOption,
)
from kanalytics.cli.output import echo, number, print_frame, print_json

if TYPE_CHECKING:
    from kanalytics.archive.ingest import IngestSummary


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(help="Audit log files or folders (.jsonl, .json, .gz, .zst), or '-' for stdin."),
    ],
    archive: ArchiveOption,
    cluster: Annotated[
        str, typer.Option("--cluster", help="Cluster name these events come from (partition key).")
    ] = "default",
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Keep Secret values and TokenReview tokens as they are in the input. Off by default: "
            "the archive would then hold copies of your cluster's secrets.",
        ),
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Ingest audit logs into the archive: dedupe, redact secrets, quarantine bad input.

    The new manifest is signed when a signing key is configured (`private_key_path` in the `[signing]`
    section, or $KANALYTICS_SIGNING_KEY).

    Exit code 0 when everything was archived or deduplicated, 3 when some input was quarantined (see
    _quarantine/ in the archive), 1 on errors.
    """
    from kanalytics.sources.files import expand_paths

    arch = open_cli_archive(archive, config)
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

            summary = arch.ingest(paths, cluster=cluster, redact=not no_redact, progress=advance)
    else:
        summary = arch.ingest(paths, cluster=cluster, redact=not no_redact)
    if as_json:
        print_json(summary.to_json())
    else:
        _print_ingest_summary(summary)
    if summary.quarantined:
        raise typer.Exit(3)


def _input_bytes(files: list[str]) -> int:
    total = 0
    for name in files:
        if name != "-":
            with contextlib.suppress(OSError):  # unreadable or gone: ingest names it
                total += Path(name).stat().st_size
    return total


def _print_ingest_summary(summary: IngestSummary) -> None:
    typer.echo(
        f"read {number(summary.read)}: archived {number(summary.archived)}, duplicates "
        f"{number(summary.duplicates)}, quarantined {number(summary.quarantined)} ({summary.seconds:.1f} s)"
    )
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
        Path, typer.Option("--out", "-o", help="Output JSON Lines file ('-' for stdout; .gz/.zst compress).")
    ],
    cluster: ClusterFilterOption = None,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    config: ConfigOption = None,
) -> None:
    """Export archived events back to audit Events (JSON Lines), as they were ingested."""
    from kanalytics.archive.reader import open_output

    arch = open_cli_archive(archive, config)
    arch.period(month=month, start=from_, end=to)  # a bad or reversed period fails before the file is opened
    if str(out) == "-":
        count = arch.export(sys.stdout.buffer, month=month, start=from_, end=to, clusters=cluster)
    else:
        with open_output(out) as handle:
            count = arch.export(handle, month=month, start=from_, end=to, clusters=cluster)
    echo(f"exported {number(count)} event(s)" + ("" if str(out) == "-" else f" to {out}"), err=True)


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
        ("events", number(summary.events)),
        ("bytes", number(summary.bytes)),
        ("quarantined", number(summary.quarantined)),
        ("manifests", number(summary.manifests)),
        ("last manifest", summary.last_manifest_sha256 or "-"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        echo(f"{key:<{width}}  {value}")  # cluster names come from folder names on disk
