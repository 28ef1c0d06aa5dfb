"""Catalog commands: `query list|show|run` and `findings`, each one call into `kanalytics.catalog`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive, query_progress
from kanalytics.cli.options import (
    ArchiveOption,
    ClusterFilterOption,
    ConfigOption,
    Engine,
    EngineOption,
    FormatOption,
    FromOption,
    JsonOption,
    KindOption,
    LimitOption,
    MonthOption,
    OutputFormat,
    SeverityOption,
    SparkMasterOption,
    ToOption,
)
from kanalytics.cli.output import (
    check_format,
    echo,
    echo_evaluation,
    echo_findings_notes,
    number,
    print_frame,
    print_json,
)
from kanalytics.errors import QueryError, UsageError

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings

query_app = typer.Typer(help="List, show and run the queries of the catalog.", no_args_is_help=True)
app.add_typer(query_app, name="query")


def _catalog(settings: Settings | None = None) -> Catalog:
    from kanalytics.catalog.loader import load_catalog

    return load_catalog(settings=settings)


@query_app.command("list")
def list_queries(
    kind: KindOption = None,
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
    kind_name = kind.value if kind is not None else None
    if control is not None and control not in catalog.controls:
        raise UsageError(f"unknown control {control!r}", hint="control ids look like pci-dss-4.0:10.2.1.2")
    chosen = catalog.queries_for_control(control) if control else list(catalog.queries.values())
    chosen = sorted(
        (q for q in chosen if kind_name is None or q.header.kind == kind_name), key=lambda q: q.id
    )
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
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    cluster: ClusterFilterOption = None,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run one query over a period and print its rows (exit 1 if the query fails)."""
    fmt = OutputFormat.json if as_json else fmt
    result = open_cli_archive(archive, config).run(
        query_id, month=month, start=from_, end=to, clusters=cluster
    )
    if result.status == "error":
        raise QueryError(result.reason)
    if result.status in ("not-evaluable", "needs-configuration", "superseded"):
        echo(f"{result.status.replace('-', ' ')}: {result.reason}", err=True)
        return
    assert result.frame is not None  # status ok always carries rows
    print_frame(result.frame, fmt, title=f"{query_id}: {number(result.rows)} rows")
    for item in result.suppressed:
        echo(f"suppressed {number(item.count)} by {item.list_name} {item.value!r}: {item.reason}", err=True)


@app.command("findings")
def findings_cmd(
    archive: ArchiveOption,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    severity: SeverityOption = None,
    cluster: ClusterFilterOption = None,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    limit: LimitOption = 200,
    config: ConfigOption = None,
    include_recurring: Annotated[
        bool,
        typer.Option(
            "--include-recurring",
            help="List the recurring findings too (medium/low behaviour seen on most baseline days), marked "
            "with their evidence. JSON always carries them under `recurring`.",
        ),
    ] = False,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="Ignore the results stored in the archive, derive every finding again from the events and say "
            "whether they agree with what was stored (exit code 1 if not).",
        ),
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Compute and store now every result of the period that is stale or missing (a changed query, a "
            "late batch, a compaction), print what was done, and list nothing.",
        ),
    ] = False,
    engine: EngineOption = Engine.duckdb,
    spark_master: SparkMasterOption = None,
) -> None:
    """Run every detection and anomaly over a period and print the findings to review, most severe first.

    Findings are read from the results stored in the archive (docs/evaluation.md); stale or missing ones are
    computed first and stored. stderr says how many were stored, refreshed or recomputed.

    Under the default profile, medium/low findings whose pattern recurred on most baseline days are counted
    after the table as recurring behaviour (--include-recurring lists them), and checks waiting for an
    allow-list are named with the command that proposes one. Exit code 1 if any query failed (the findings of
    the others are still printed, the failures named on stderr); queries the archive cannot evaluate are listed
    on stderr too.

    With --engine spark every finding is computed from the events on Apache Spark (nothing stored is read);
    the queries Spark cannot run are listed on stderr ("not run on spark: ID: reason") and under
    `not_portable` in the JSON, and are never counted as passes.
    """
    from kanalytics.catalog.api import RECURRING_MARK
    from kanalytics.catalog.findings import finding_id, json_safe
    from kanalytics.catalog.model import FINDING_TABLE_COLUMNS

    shape = check_format(OutputFormat.json if as_json else fmt)
    if engine is not Engine.duckdb and (refresh or recompute):
        raise typer.BadParameter(
            "--refresh and --recompute work on the results stored in the archive; --engine spark stores nothing"
        )
    if refresh and recompute:
        raise typer.BadParameter(
            "--refresh stores the stale results, --recompute compares them with the events: run one, then the other"
        )
    arch = open_cli_archive(archive, config)
    if refresh:
        stats = arch.refresh(month=month, start=from_, end=to, clusters=cluster)
        if shape == "json":
            print_json(stats.to_json())
        else:
            echo_evaluation(stats.to_json())
        return
    with query_progress("queries", quiet=shape != "table") as progress:
        result = arch.findings(
            month=month, start=from_, end=to, clusters=cluster,
            min_severity=severity.value if severity else None, progress=progress, recompute=recompute,
            engine=engine.value, spark_master=spark_master,
        )  # fmt: skip
    if shape == "json":
        data = result.to_json()  # each finding with its id, which `kanalytics triage set` takes
        listed = [(result.findings, data["findings"])]
        listed += [
            (p.findings, row["findings"]) for p, row in zip(result.recurring, data["recurring"], strict=True)
        ]
        for findings, rows in listed:
            rows[:] = [{"finding_id": finding_id(f), **row} for f, row in zip(findings, rows, strict=True)]
        print_json(json_safe(data))
    else:
        import polars as pl

        columns = [*FINDING_TABLE_COLUMNS, *([RECURRING_MARK] if include_recurring else []), "finding_id"]
        frame = pl.DataFrame(
            [
                {
                    **{c: (str(getattr(f, c)) if getattr(f, c) is not None else None)
                       for c in FINDING_TABLE_COLUMNS},
                    **({RECURRING_MARK: f.evidence.get(RECURRING_MARK)} if include_recurring else {}),
                    "finding_id": finding_id(f),
                }
                for f in result.listing(include_recurring=include_recurring)
            ],
            schema=dict.fromkeys(columns, pl.String),
        )  # fmt: skip
        shown = len(result) + (result.recurring_findings if include_recurring else 0)
        title = f"{number(shown)} findings from {number(result.queries)} queries"
        print_frame(frame, fmt, title=title, limit=limit if shape == "table" else 0)
    echo_findings_notes(
        result,
        recurring_note="listed above, marked" if include_recurring else "--include-recurring lists them",
    )
    for problem in result.not_portable:  # reason: "not run on spark: why" -> "not run on spark: ID: why"
        engine_part, why = problem.reason.split(": ", 1)
        echo(f"{engine_part}: {problem.query_id}: {why}", err=True)
    if result.failed or result.evaluation.get("agrees") is False:
        raise typer.Exit(1)
