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
    Engine,
    EngineOption,
    FromOption,
    MonthOption,
    SparkMasterOption,
    ToOption,
)
from kanalytics.cli.output import number

# `kanalytics report` over a period without audit events: distinct from an error (1), so cron can tell that the
# audit pipeline, not kanalytics, needs looking at.
EXIT_NO_EVENTS = 4


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
    engine: EngineOption = Engine.duckdb,
    spark_master: SparkMasterOption = None,
) -> None:
    """Write the report for a period (default: the previous complete month in the configured time zone).

    Writes report.html, report.pdf, findings.csv, findings.json and run.json (parameters, versions and the
    archive manifest hash that reproduce the report). Findings are read from the results stored in the archive
    (docs/evaluation.md), stale ones computed first. The archive files the report read are verified first.

    The report is always written, so that an auditor can read what went wrong; the exit code tells cron:
    1 when the archive failed verification (the report says so on its cover) or --recompute disagreed, 4 when
    the period had no audit events in scope (nothing in the report can be read as a pass).

    With --engine spark every query is computed from the events on Apache Spark; the queries Spark cannot run
    are listed here ("not run on spark: ID: reason"), in run.json and in the report's coverage as not evaluated.
    """
    from kanalytics.cli.output import echo_evaluation

    arch = open_cli_archive(archive, config)
    with query_progress("report: queries") as progress:
        outputs = arch.report(out, month=month, start=from_, end=to, clusters=cluster, formats=formats,
                              progress=progress, recompute=recompute, engine=engine.value,
                              spark_master=spark_master)  # fmt: skip
    info = outputs.run_info
    inventory = outputs.findings - outputs.to_review
    typer.echo(f"report for {info['period_start']} to {info['period_end']}: {number(outputs.to_review)} "
               f"finding(s) to review, {number(inventory)} info-severity activities in the inventory, "
               f"{outputs.seconds:.1f} s")  # fmt: skip
    for name, path in outputs.files.items():
        typer.echo(f"  {name:9} {path}")
    evaluation = info.get("evaluation") or {}
    echo_evaluation(evaluation)
    for query_id, reason in (info.get("not_portable") or {}).items():
        engine_part, why = reason.split(": ", 1)
        typer.echo(f"{engine_part}: {query_id}: {why}", err=True)
    verified = outputs.integrity
    if verified is not None:
        typer.echo(f"verified before rendering: {verified.timing}")
    if verified is not None and not verified.ok:
        typer.echo(f"error: {verified.statement} (the report was written and says so on its cover)", err=True)
    if outputs.empty:
        typer.echo(f"error: no audit events in {outputs.scope}: the report was written and says so; nothing in it "
                   "can be read as a pass", err=True)  # fmt: skip
    if evaluation.get("agrees") is False or (verified is not None and not verified.ok):
        raise typer.Exit(1)
    if outputs.empty:
        raise typer.Exit(EXIT_NO_EVENTS)


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
