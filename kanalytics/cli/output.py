"""Printing results: tables for people, CSV and JSON for tools. Values from logs are printed as plain text."""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, Any

from kanalytics.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("table", "csv", "json")


def check_format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return fmt


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def print_frame(frame: pl.DataFrame, fmt: str, *, title: str | None = None) -> None:
    fmt = check_format(fmt)
    if fmt == "json":
        print_json(frame.to_dicts())
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(frame.columns)
        for row in frame.iter_rows():
            # lists and structs as JSON, so a cell is one readable value
            writer.writerow(
                "" if v is None else json.dumps(v, default=str) if isinstance(v, list | dict) else v
                for v in row
            )
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for index, name in enumerate(frame.columns):
            table.add_column(name, overflow="fold", no_wrap=index == 0)
        for row in frame.iter_rows():
            table.add_row(*("" if v is None else str(v) for v in row))
        # markup off: a user agent like "[bold]" from a log must print as itself
        # Piped output is not squeezed into 80 columns: it is read in a pager or a file.
        width = None if sys.stdout.isatty() else 200
        Console(markup=False, highlight=False, soft_wrap=False, width=width).print(table)
        if frame.height == 0:
            print("(no rows)")
