"""Printing results: tables for people, CSV and JSON for tools. Values from logs are printed as plain text."""

from __future__ import annotations

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
        nested = [n for n, t in frame.schema.items() if t.is_nested()]
        if nested:
            import polars as pl

            frame = frame.with_columns(
                [
                    pl.col(n).map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.String)
                    for n in nested
                ]
            )
        sys.stdout.write(frame.write_csv())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for name in frame.columns:
            table.add_column(name, overflow="fold")
        for row in frame.iter_rows():
            table.add_row(*("" if v is None else str(v) for v in row))
        # markup off: a user agent like "[bold]" from a log must print as itself
        Console(markup=False, highlight=False, soft_wrap=False).print(table)
        if frame.height == 0:
            print("(no rows)")
