"""Printing results: tables for people, CSV and JSON for tools.

Values from logs are attacker-controlled: every string printed goes through `kanalytics.textsafe`, so control
and bidi characters show as `\\x1b` / `<U+202E>` instead of acting on the terminal, and rich markup in them
(`[bold]`, `[link=...]`) prints as itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from kanalytics.errors import UsageError
from kanalytics.textsafe import escape_json_text, visible

if TYPE_CHECKING:
    import polars as pl

    from kanalytics.catalog.api import FindingsResult

FORMATS = ("table", "csv", "json")
MAX_CELL = 48  # widest a table column gets on a terminal; longer cells wrap


def check_format(fmt: Any) -> str:
    fmt = str(getattr(fmt, "value", fmt)).lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {visible(fmt)!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return fmt


def echo(line: str, *, err: bool = False) -> None:
    """One line for people that holds values from logs or disk (file names, reasons): shown visibly."""
    typer.echo(visible(line), err=err)


def error_text(exc: BaseException) -> str:
    """`error: ...` for stderr. Messages quote input (paths, values, DuckDB errors): each line is shown
    visibly; the message's own line breaks (a hint, a list of problems) are kept."""
    return "\n".join(visible(line) for line in f"error: {exc}".split("\n"))


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write(escape_json_text(text) + "\n")


def number(value: int | float) -> str:
    """A count for people: thousands separators (JSON and CSV carry plain numbers)."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def stdout_is_terminal() -> bool:
    from rich.console import Console

    return Console().is_terminal


def print_frame(frame: pl.DataFrame, fmt: Any, *, title: str | None = None, limit: int = 0) -> None:
    """`frame` as JSON, CSV or, for people, a table: on a terminal the columns that fit (cells cut with "…",
    the hidden columns named), tab-separated values when piped. `limit` caps the table's rows (0: all)."""
    fmt = check_format(fmt)
    if fmt == "json":
        print_json(frame.to_dicts())
    elif fmt == "csv":
        from kanalytics.report.exports import write_csv

        # lists and structs as JSON, so a cell is one readable value
        rows = (
            [json.dumps(v, default=str, ensure_ascii=False) if isinstance(v, list | dict) else v for v in row]
            for row in frame.iter_rows()
        )
        write_csv(sys.stdout, frame.columns, rows, lineterminator="\n")
    else:
        shown = frame.head(limit) if limit and frame.height > limit else frame
        if stdout_is_terminal():
            _print_table(shown, title)
        else:
            _print_tsv(shown, title)
        if frame.height == 0:
            print("(no rows)")
        elif shown.height < frame.height:
            echo(
                f"… {number(frame.height - shown.height)} more row(s) not shown (--limit 0 shows all)",
                err=True,
            )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _print_tsv(frame: pl.DataFrame, title: str | None) -> None:
    """Piped tables: one line per row, tab-separated; tabs and newlines in values show as \\x09, \\x0a."""
    if title:
        echo(title, err=True)
    out = sys.stdout
    out.write("\t".join(visible(name) for name in frame.columns) + "\n")
    for row in frame.iter_rows():
        out.write("\t".join(visible(_cell(v)) for v in row) + "\n")


def _print_table(frame: pl.DataFrame, title: str | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(markup=False, highlight=False, emoji=False, soft_wrap=False)
    cells = [[visible(_cell(v)) for v in row] for row in frame.iter_rows()]
    natural = [
        max([len(visible(name)), *(len(row[i]) for row in cells)]) for i, name in enumerate(frame.columns)
    ]
    # A column is at most MAX_CELL wide (a longer cell wraps onto more lines; an address or a name never does);
    # the columns that do not fit the terminal at those widths are left out and named.
    widths = [min(MAX_CELL, w) for w in natural]
    fitted, used = 0, 1
    for width in widths:
        if fitted and used + width + 3 > console.width:
            break
        fitted, used = fitted + 1, used + width + 3
    table = Table(title=None if title is None else Text(visible(title)), show_lines=False)
    for name, width in zip(frame.columns[:fitted], widths[:fitted], strict=True):
        table.add_column(Text(visible(name)), overflow="fold", min_width=min(width, 12), max_width=width)
    for row in cells:
        table.add_row(*(Text(value) for value in row[:fitted]))  # Text: rich parses no markup in it
    console.print(table)
    hidden = frame.columns[fitted:]
    if hidden:
        names = ", ".join(visible(h) for h in hidden[:8]) + (", …" if len(hidden) > 8 else "")
        echo(f"{len(hidden)} column(s) not shown ({names}): select fewer columns or use -f csv", err=True)


def echo_findings_notes(result: FindingsResult, *, recurring_note: str) -> None:
    """On stderr, what a findings result leaves out and why: checks waiting for configuration, Falco rules the
    default profile replaces, recurring behaviour (`recurring_note` says where it is listed), checks not
    evaluable and failed ones. `findings` and `incidents` print the same notes."""
    if result.needs_configuration:
        ids = ", ".join(p.query_id for p in result.needs_configuration)
        echo(
            f"{number(len(result.needs_configuration))} check(s) need configuration and did not run ({ids}): "
            f"`{result.tune_command}` proposes allow-list entries from the baseline; "
            "`kanalytics findings --json` gives each one's reason",
            err=True,
        )
    if result.superseded:
        echo(
            f"{number(len(result.superseded))} Falco-parity check(s) are covered by native ones in the default "
            'profile and did not run; profile = "falco" runs Falco\'s rules exactly',
            err=True,
        )
    if result.recurring:
        echo(
            f"{number(result.recurring_findings)} findings in {number(len(result.recurring))} patterns shown as "
            f"recurring behaviour (seen on most baseline days); {recurring_note}",
            err=True,
        )
    for problem in result.not_evaluable:
        echo(f"not evaluable: {problem.query_id}: {problem.reason}", err=True)
    for problem in result.failed:
        echo(f"error: {problem.reason}", err=True)
    echo_evaluation(result.evaluation)


def echo_evaluation(evaluation: Mapping[str, Any]) -> None:
    """On stderr, where the results came from (stored in the archive, refreshed now, recomputed) and, after a
    recompute, whether they agree with what was stored."""
    if not evaluation:
        return
    parts = [
        f"{number(evaluation.get(k, 0))} {k}"
        for k in ("stored", "refreshed", "recomputed")
        if evaluation.get(k)
    ]
    echo(
        f"results (one query x cluster x day): {', '.join(parts) or 'none to compute, all current'}", err=True
    )
    if evaluation.get("not_stored"):
        echo(f"note: {evaluation['not_stored']}", err=True)
    if "agrees" in evaluation:
        if evaluation["agrees"]:
            echo(
                f"recomputed from the events: {number(evaluation['recomputed_findings'])} raw findings, the same "
                "as stored",
                err=True,
            )
        else:
            echo(
                f"recomputed from the events: {number(evaluation['recomputed_findings'])} raw findings, stored "
                f"{number(evaluation['stored_findings'])}; they differ for "
                f"{', '.join(evaluation['differing_queries'])}",
                err=True,
            )


def echo_alerts(alerts: Mapping[str, Any]) -> None:
    """What alerting did after a commit (stderr): new findings, alerts queued per sink, and how delivery went."""
    delivery = alerts.get("delivery") or {}
    queued = alerts.get("queued") or {}
    per_sink = ", ".join(f"{sink}: {number(n)}" for sink, n in sorted(queued.items()))
    line = (
        f"alerts: {number(alerts.get('findings', 0))} new finding(s), "
        f"{number(sum(queued.values()))} alert(s) queued" + (f" ({per_sink})" if per_sink else "")
    )
    if alerts.get("repeats"):
        line += f", {number(alerts['repeats'])} repeat(s) counted into open alerts"
    if alerts.get("too_old"):
        line += f", {number(alerts['too_old'])} too old to alert"
    echo(line, err=True)
    if delivery:
        echo(
            f"delivery: {number(delivery.get('delivered', 0))} delivered, {number(delivery.get('retrying', 0))} "
            f"to retry, {number(delivery.get('dead', 0))} failed (kanalytics alerts list)",
            err=True,
        )
