"""Report commands: `report` (the monthly evidence pack) and `demo` (synthetic month, end to end)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.options import ArchiveOption, ClusterFilterOption, ConfigOption


@app.command()
def report(
    archive: ArchiveOption,
    month: Annotated[
        str | None, typer.Option("--month", help="Month to report, YYYY-MM, in the configured time zone.")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Start (inclusive): date or ISO timestamp, configured zone.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="End (exclusive): date or ISO timestamp, configured zone.")
    ] = None,
    cluster: ClusterFilterOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report files.")] = Path("report"),
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated outputs: html,pdf,csv,json.")
    ] = "html,pdf,csv,json",
    config: ConfigOption = None,
) -> None:
    """Write the report for a period (default: the previous complete month in the configured time zone).

    Writes report.html, report.pdf, findings.csv, findings.json and run.json (parameters, versions and the
    archive manifest hash that reproduce the report).
    """
    import kanalytics
    from kanalytics.config import load_settings
    from kanalytics.report import generate_report, parse_formats, resolve_period

    settings = load_settings(config)
    start, end = resolve_period(settings, month, from_, to)
    outputs = generate_report(kanalytics.open_archive(archive), start, end, out, settings=settings,
                              clusters=cluster, formats=parse_formats(formats))  # fmt: skip
    typer.echo(f"report for {start.isoformat()} to {end.isoformat()}: {outputs.findings} finding(s), "
               f"{outputs.seconds:.1f} s")  # fmt: skip
    for name, path in outputs.files.items():
        typer.echo(f"  {name:5} {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo.")] = Path("kanalytics-demo"),
    events: Annotated[int, typer.Option("--events", help="Synthetic events over the two months.")] = 400_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 0,
) -> None:
    """Generate a synthetic month with incidents (after a baseline month), ingest it and write its report."""
    from kanalytics.report.demo import run_demo

    result = run_demo(out, events=events, seed=seed)
    typer.echo(f"{result.events:,} synthetic events, {len(result.incidents)} injected incident(s)")
    for step, seconds in result.seconds.items():
        typer.echo(f"  {step:7} {seconds:6.1f} s")
    typer.echo(f"archive  {result.archive}")
    typer.echo(
        f"config   {result.config} (allow-lists with reasons; edit and re-run to see suppressions change)"
    )
    for name, path in result.files.items():
        typer.echo(f"  {name:5} {path}")
    typer.echo(f"open {result.files.get('html', out)} in a browser")
