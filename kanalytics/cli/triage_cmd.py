"""`kanalytics triage set|list|show`: analysts' verdicts on findings and incidents, kept in the archive."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from kanalytics.cli import app
from kanalytics.cli.common import open_cli_archive
from kanalytics.cli.options import (
    ArchiveOption,
    ConfigOption,
    FormatOption,
    FromOption,
    JsonOption,
    MonthOption,
    OutputFormat,
    ToOption,
)
from kanalytics.cli.output import check_format, echo, number, print_frame, print_json

if TYPE_CHECKING:
    from kanalytics.archive.dispositions import Disposition

triage_app = typer.Typer(
    help="Dispositions: record and read analysts' verdicts on findings and incidents (docs/triage.md).",
    no_args_is_help=True,
)
app.add_typer(triage_app, name="triage")

TABLE_COLUMNS = ("target", "verdict", "by", "at", "findings", "manifest", "note")


class VerdictChoice(StrEnum):
    benign = "benign"
    true_positive = "true-positive"
    needs_follow_up = "needs-follow-up"


TargetArgument = Annotated[
    str,
    typer.Argument(
        help="A finding id (f-…, `finding_id` in `kanalytics findings --json` or findings.csv) or an incident "
        "id (inc-…, `kanalytics incidents`).",
        metavar="ID",
        show_default=False,
    ),
]


@triage_app.command("set")
def triage_set(
    target: TargetArgument,
    archive: ArchiveOption,
    verdict: Annotated[
        VerdictChoice, typer.Option("--verdict", help="The analyst's verdict.", case_sensitive=False)
    ],
    note: Annotated[
        str,
        typer.Option(
            "--note",
            help="Why, in one line (at most 2,000 characters): e.g. the change ticket.",
            show_default=False,
        ),
    ],
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Who reviewed it (a name or e-mail): the reviewer on record.", show_default=False
        ),
    ],
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Record a verdict on a finding or an incident, in the archive's manifest chain.

    The id is looked up among the findings and incidents of the period (default: the previous complete month
    and the current one; ids carry no date, so give --month or --from/--to for an older one); an unknown id is
    an error. A verdict on an incident covers its member findings. A later `set` on the same id supersedes
    this one in reports; both stay in the history (`kanalytics triage show`).
    """
    recorded = open_cli_archive(archive, config).triage_set(
        target, verdict=verdict.value, note=note, by=by, month=month, start=from_, end=to
    )
    if as_json:
        print_json(recorded.to_json())
        return
    covers = f"covers {number(len(recorded.findings))} finding(s)"
    echo(f"recorded {recorded.target}: {recorded.text()} (manifest {recorded.seq}; {covers})")


@triage_app.command("list")
def triage_list(
    archive: ArchiveOption,
    month: MonthOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    verdict: Annotated[
        VerdictChoice | None,
        typer.Option("--verdict", help="Only this verdict.", case_sensitive=False, show_default=False),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List the verdict in force per finding and incident (the newest recorded), newest first.

    --month/--from/--to select by when the verdict was recorded (default: all). The earlier verdicts of an id
    are in `kanalytics triage show ID`.
    """
    shape = check_format(OutputFormat.json if as_json else fmt)
    found = open_cli_archive(archive, config).dispositions(
        month=month, start=from_, end=to, verdict=verdict.value if verdict else None
    )
    newest_first = sorted(found.values(), key=lambda d: (d.seq or 0, d.at), reverse=True)
    if shape == "json":
        print_json([d.to_json() for d in newest_first])
        return
    _print_table(newest_first, fmt, title=f"{number(len(newest_first))} disposition(s) in force")


@triage_app.command("show")
def triage_show(
    target: TargetArgument,
    archive: ArchiveOption,
    fmt: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show every verdict recorded on a finding or incident, oldest first; the last one is in force.

    Exit code 1 when none was recorded.
    """
    shape = check_format(OutputFormat.json if as_json else fmt)
    history = open_cli_archive(archive, config).triage_history(target)
    if shape == "json":
        print_json([d.to_json() for d in history])
    elif history:
        _print_table(history, fmt, title=f"{target}: {number(len(history))} verdict(s), the last in force")
    if not history:
        echo(
            f"no disposition recorded for {target} (`kanalytics triage set {target} ...` records one)",
            err=True,
        )
        raise typer.Exit(1)


def _print_table(dispositions: list[Disposition], fmt: OutputFormat, *, title: str) -> None:
    import polars as pl

    rows = [
        {
            "target": d.target,
            "verdict": d.verdict,
            "by": d.by,
            "at": d.at.isoformat(),
            "findings": str(len(d.findings)),
            "manifest": str(d.seq),
            "note": d.note,
        }
        for d in dispositions
    ]
    print_frame(pl.DataFrame(rows, schema=dict.fromkeys(TABLE_COLUMNS, pl.String)), fmt, title=title)
