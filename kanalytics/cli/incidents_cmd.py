"""`kanalytics incidents`: the period's findings correlated into ranked incidents, one call into the façade."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive, query_progress
from kanalytics.cli.options import (
    ArchiveOption,
    ClusterFilterOption,
    ConfigOption,
    FormatOption,
    FromOption,
    JsonOption,
    LimitOption,
    MonthOption,
    OutputFormat,
    Severity,
    ToOption,
)
from kanalytics.cli.output import check_format, echo, echo_findings_notes, number, print_frame, print_json

if TYPE_CHECKING:
    from kanalytics.catalog.incidents import Incident, IncidentsResult

NARRATED = 3  # how many of the top incidents the table form tells in full
TABLE_COLUMNS = ("rank", "severity", "title", "start", "end", "identities", "addresses", "findings")

MinSeverityOption = Annotated[
    Severity | None,
    typer.Option(
        "--min-severity",
        help="Only incidents at least this severe (their own severity, raised for a sequence).",
        case_sensitive=False,
        show_default=False,
    ),
]


@app.command("incidents")
def incidents_cmd(
    archive: ArchiveOption,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    cluster: ClusterFilterOption = None,
    min_severity: MinSeverityOption = None,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    limit: LimitOption = 50,
    config: ConfigOption = None,
) -> None:
    """Correlate the period's findings into incidents and print them, most urgent first.

    Findings that share an identity, a public address, a target object or a credential chain within the
    window (`[incidents] window_minutes`, default 2 h) are one incident; a sequence across ATT&CK tactics
    raises its severity (docs/incidents.md). The table ends with the narrative of the top incidents; JSON is
    the list of incidents. Exit code 1 if any query failed (named on stderr), like `findings`.
    """
    shape = check_format(OutputFormat.json if as_json else fmt)
    arch = open_cli_archive(archive, config)
    with query_progress("queries", quiet=shape != "table") as progress:
        result = arch.incidents(
            month=month, start=from_, end=to, clusters=cluster,
            min_severity=min_severity.value if min_severity else None, progress=progress,
        )  # fmt: skip
    if shape == "json":
        print_json(result.to_json(arch.incident_verdicts(result)))
    else:
        _print_table(result, fmt, limit if shape == "table" else 0)
        if shape == "table":
            _print_narratives(result.incidents[:NARRATED])
    found = result.findings
    if found is None:
        return
    echo_findings_notes(
        found,
        recurring_note="they take no part in incidents; `kanalytics findings --include-recurring` lists them",
    )
    if found.failed:
        raise typer.Exit(1)


def _print_table(result: IncidentsResult, fmt: OutputFormat, limit: int) -> None:
    import polars as pl

    incidents = result.incidents

    rows = [
        {
            "rank": str(rank),
            "severity": incident.severity,
            "title": incident.title,
            "start": incident.start.isoformat(),
            "end": incident.end.isoformat(),
            "identities": ", ".join(incident.identities),
            "addresses": ", ".join(incident.source_ips),
            "findings": str(len(incident.findings)),
        }
        for rank, incident in enumerate(incidents, start=1)
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(TABLE_COLUMNS, pl.String))
    found = list(result.findings or ())
    info = sum(1 for f in found if f.severity == "info")
    title = f"{number(len(incidents))} incidents from {number(len(found) - info)} findings"
    if info:
        title += f" ({number(info)} info findings are inventory and take no part)"
    print_frame(frame, fmt, title=title, limit=limit)


def _print_narratives(incidents: list[Incident]) -> None:
    for rank, incident in enumerate(incidents, start=1):
        echo("")
        echo(f"#{rank} {incident.severity.upper()} {incident.title} [{incident.id}]")
        for line in incident.narrative:
            echo(f"  {line}")
