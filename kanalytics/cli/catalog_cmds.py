"""Catalog commands: `query list|show|run` and `findings`, each one call into `kanalytics.catalog`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kanalytics.cli import app
from kanalytics.cli.options import ArchiveOption, ClusterFilterOption, ConfigOption, FormatOption, JsonOption
from kanalytics.cli.output import check_format, echo, print_frame, print_json
from kanalytics.errors import QueryError, UsageError

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings

query_app = typer.Typer(help="List, show and run the queries of the catalog.", no_args_is_help=True)
app.add_typer(query_app, name="query")

PeriodFrom = Annotated[
    str | None,
    typer.Option(
        "--from", help="Start (inclusive): YYYY-MM-DD or ISO timestamp, in the configured time zone."
    ),
]
PeriodTo = Annotated[
    str | None,
    typer.Option("--to", help="End (exclusive): YYYY-MM-DD or ISO timestamp, in the configured time zone."),
]


def _catalog(settings: Settings | None = None) -> Catalog:
    from kanalytics.catalog.loader import load_catalog

    return load_catalog(settings=settings)


def _period(from_: str | None, to: str | None, settings: Settings) -> tuple[datetime, datetime]:
    from kanalytics.catalog.period import parse_period

    return parse_period(from_, to, tz=settings.zone)


@query_app.command("list")
def list_queries(
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only this kind: metric, detection or anomaly.", show_default=False),
    ] = None,
    control: Annotated[
        str | None,
        typer.Option(
            "--control",
            help="Only queries evidencing this control, e.g. pci-dss-4.0:10.2.1.2.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the catalog's queries: id, kind, severity, audit level needed, area and controls."""
    from kanalytics.config import load_settings

    catalog = _catalog(load_settings(config))
    if kind is not None and kind not in ("metric", "detection", "anomaly"):
        raise UsageError(f"unknown kind {kind!r}", hint="use metric, detection or anomaly")
    if control is not None and control not in catalog.controls:
        raise UsageError(f"unknown control {control!r}", hint="control ids look like pci-dss-4.0:10.2.1.2")
    chosen = catalog.queries_for_control(control) if control else list(catalog.queries.values())
    chosen = sorted((q for q in chosen if kind is None or q.header.kind == kind), key=lambda q: q.id)
    rows = [
        {
            "id": q.id,
            "kind": q.header.kind,
            "severity": q.header.severity,
            "level": q.header.needs_level,
            "area": q.header.area,
            "controls": list(q.header.controls),
        }
        for q in chosen
    ]
    if as_json:
        print_json(rows)
        return
    import polars as pl

    frame = pl.DataFrame(
        [{**r, "controls": _frameworks(r["controls"])} for r in rows],
        schema={
            "id": pl.String,
            "kind": pl.String,
            "severity": pl.String,
            "level": pl.String,
            "area": pl.String,
            "controls": pl.String,
        },
    )
    print_frame(frame, "table", title=f"{len(rows)} queries (catalog {catalog.version})")


def _frameworks(controls: Sequence[str]) -> str:
    """'pci-dss-4.0:10.2.1.2, soc2:CC6.1, soc2:CC7.2' -> '3: pci-dss-4.0 soc2' (query show lists them all)."""
    names = sorted({c.split(":", 1)[0] for c in controls})
    return f"{len(controls)}: {' '.join(names)}" if controls else "-"


@query_app.command("show")
def show_query(
    query_id: Annotated[str, typer.Argument(help="Query id, e.g. falco-attach-exec-pod.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one query: its header, file, version and SQL."""
    from kanalytics.config import load_settings

    query = _catalog(load_settings(config)).get(query_id)
    data: dict[str, Any] = {
        **query.header.model_dump(),
        "path": query.path,
        "version": query.version,
        "sql": query.sql,
    }
    if as_json:
        print_json(data)
        return
    import yaml

    header = {k: v for k, v in query.header.model_dump().items() if v not in (None, [])}
    sys.stdout.write(yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=100))
    sys.stdout.write(f"path: {query.path}\nversion: {query.version}\n\n{query.sql}\n")


@query_app.command("run")
def run_query_cmd(
    query_id: Annotated[str, typer.Argument(help="Query id, e.g. falco-attach-exec-pod.")],
    archive: ArchiveOption,
    from_: PeriodFrom = None,
    to: PeriodTo = None,
    cluster: ClusterFilterOption = None,
    fmt: FormatOption = "table",
    config: ConfigOption = None,
) -> None:
    """Run one query over a period and print its rows (exit 1 if the query fails)."""
    from kanalytics.archive.api import open_archive
    from kanalytics.catalog.findings import to_polars
    from kanalytics.catalog.runner import run_query
    from kanalytics.config import load_settings

    fmt = check_format(fmt)
    settings = load_settings(config)
    catalog = _catalog(settings)
    catalog.get(query_id)  # an unknown id is a usage error before the archive is opened
    start, end = _period(from_, to, settings)
    result = run_query(
        open_archive(archive), query_id, start, end, clusters=cluster, settings=settings, catalog=catalog
    )
    if result.status == "error":
        raise QueryError(result.reason)
    if result.status == "not-evaluable":
        echo(f"not evaluable: {result.reason}", err=True)
        return
    assert result.table is not None  # status ok always carries a table
    print_frame(to_polars(result.table), fmt, title=f"{query_id}: {result.rows} rows")
    for item in result.suppressed:
        echo(f"suppressed {item.count} by {item.list_name} {item.value!r}: {item.reason}", err=True)


@app.command("findings")
def findings_cmd(
    archive: ArchiveOption,
    from_: PeriodFrom = None,
    to: PeriodTo = None,
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity", help="Minimum severity: info, low, medium, high or critical.", show_default=False
        ),
    ] = None,
    cluster: ClusterFilterOption = None,
    fmt: FormatOption = "table",
    config: ConfigOption = None,
) -> None:
    """Run every detection and anomaly over a period and print the findings, most severe first.

    Exit code 1 if any query failed (the findings of the others are still printed).
    """
    from kanalytics.archive.api import open_archive
    from kanalytics.catalog.api import severity_floor
    from kanalytics.catalog.findings import findings_to_json
    from kanalytics.catalog.model import SEVERITY_ORDER
    from kanalytics.catalog.runner import run_catalog
    from kanalytics.config import load_settings

    fmt = check_format(fmt)
    floor = severity_floor(severity)
    settings = load_settings(config)
    start, end = _period(from_, to, settings)
    run = run_catalog(
        open_archive(archive),
        start,
        end,
        clusters=cluster,
        settings=settings,
        catalog=_catalog(settings),
        kinds=("detection", "anomaly"),
    )
    found = [f for f in run.findings if SEVERITY_ORDER[f.severity] >= floor]
    if fmt == "json":
        print_json(findings_to_json(found))
    else:
        import polars as pl

        columns = ("severity", "ts", "query_id", "user_name", "namespace", "object_name", "summary")
        frame = pl.DataFrame(
            [
                {c: (str(getattr(f, c)) if getattr(f, c) is not None else None) for c in columns}
                for f in found
            ],
            schema=dict.fromkeys(columns, pl.String),
        )
        print_frame(frame, fmt, title=f"{len(found)} findings")
    failed = [r for r in run.results.values() if r.status == "error"]
    for result in failed:
        echo(f"error: {result.reason}", err=True)
    if failed:
        raise typer.Exit(1)
