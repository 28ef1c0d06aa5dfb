"""Printing results: tables for people, CSV and JSON for tools.

Values from logs are attacker-controlled: every string printed goes through `kanalytics.textsafe`, so control
and bidi characters show as `\\x1b` / `<U+202E>` instead of acting on the terminal, and rich markup in them
(`[bold]`, `[link=...]`) prints as itself.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from kanalytics.errors import UsageError
from kanalytics.textsafe import escape_json_text, visible

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("table", "csv", "json")


def check_format(fmt: str) -> str:
    fmt = fmt.lower()
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


def print_frame(frame: pl.DataFrame, fmt: str, *, title: str | None = None) -> None:
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
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=None if title is None else Text(visible(title)), show_lines=False)
        for index, name in enumerate(frame.columns):
            table.add_column(Text(visible(name)), overflow="fold", no_wrap=index == 0)
        for row in frame.iter_rows():
            # Text, not str: rich parses neither markup nor emoji codes in it
            table.add_row(*(Text("" if v is None else visible(str(v))) for v in row))
        # Piped output is not squeezed into 80 columns: it is read in a pager or a file.
        width = None if sys.stdout.isatty() else 200
        Console(markup=False, highlight=False, emoji=False, soft_wrap=False, width=width).print(table)
        if frame.height == 0:
            print("(no rows)")
