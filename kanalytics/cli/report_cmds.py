"""Report commands: `report` (the monthly evidence pack) and `demo` (synthetic month, end to end)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive, query_progress
from kanalytics.cli.options import (
    ArchiveOption,
    ClusterFilterOption,
    ConfigOption,
    FromOption,
    MonthOption,
    ToOption,
)
from kanalytics.cli.output import number


@app.command()
def report(
    archive: ArchiveOption,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    cluster: ClusterFilterOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report files.")] = Path("report"),
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated outputs: html,pdf,csv,json.")
    ] = "html,pdf,csv,json",
    config: ConfigOption = None,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="Ignore the results stored in the archive, derive every finding again from the events, and "
            "state in the report (methodology) and here whether they agree with what was stored (exit code 1 if "
            "not; the report shows the recomputed findings).",
        ),
    ] = False,
) -> None:
    """Write the report for a period (default: the previous complete month in the configured time zone).

    Writes report.html, report.pdf, findings.csv, findings.json and run.json (parameters, versions and the
    archive manifest hash that reproduce the report). Findings are read from the results stored in the archive
    (docs/evaluation.md), stale ones computed first.
    """
    from kanalytics.cli.output import echo_evaluation

    arch = open_cli_archive(archive, config)
    with query_progress("report: queries") as progress:
        outputs = arch.report(out, month=month, start=from_, end=to, clusters=cluster, formats=formats,
                              progress=progress, recompute=recompute)  # fmt: skip
    info = outputs.run_info
    typer.echo(f"report for {info['period_start']} to {info['period_end']}: {number(outputs.findings)} "
               f"finding(s), {outputs.seconds:.1f} s")  # fmt: skip
    for name, path in outputs.files.items():
        typer.echo(f"  {name:9} {path}")
    evaluation = info.get("evaluation") or {}
    echo_evaluation(evaluation)
    if evaluation.get("agrees") is False:
        raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo.")] = Path("kanalytics-demo"),
    events: Annotated[int, typer.Option("--events", help="Synthetic events over the two months.")] = 400_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 0,
) -> None:
    """Generate a synthetic month with incidents (after a baseline month), ingest it and write its report."""
    from kanalytics.report.demo import run_demo

    result = run_demo(out, events=events, seed=seed)
    typer.echo(f"{number(result.events)} synthetic events, {len(result.incidents)} injected incident(s)")
    for step, seconds in result.seconds.items():
        typer.echo(f"  {step:7} {seconds:6.1f} s")
    typer.echo(f"archive  {result.archive}")
    typer.echo(
        f"config   {result.config} (allow-lists with reasons; edit and re-run to see suppressions change)"
    )
    for name, path in result.files.items():
        typer.echo(f"  {name:9} {path}")
    typer.echo(f"open {result.files.get('html', out)} in a browser")
    # The next commands reproduce the report only with the demo's archive and configuration.
    typer.echo("next, to query the demo archive with the report's configuration:")
    typer.echo(f"  export KANALYTICS_ARCHIVE={shlex.quote(str(result.archive))} "
               f"KANALYTICS_CONFIG={shlex.quote(str(result.config))}")  # fmt: skip
    typer.echo("  kanalytics findings --month 2026-10")
