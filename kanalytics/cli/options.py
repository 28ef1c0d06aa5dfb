"""Options shared by several commands, defined once so their names, defaults and help never drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ArchiveOption = Annotated[
    Path,
    typer.Option(
        "--archive",
        "-a",
        envvar="KANALYTICS_ARCHIVE",
        help="Archive directory (default: $KANALYTICS_ARCHIVE).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="KANALYTICS_CONFIG", help="kanalytics.toml to use.", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")]
ClusterFilterOption = Annotated[
    list[str] | None,
    typer.Option("--cluster", help="Only these clusters (repeatable). Default: all.", show_default=False),
]
FromOption = Annotated[
    str | None,
    typer.Option("--from", help="Start (inclusive): YYYY-MM-DD or an ISO timestamp; dates are UTC midnight."),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="End (exclusive): YYYY-MM-DD or an ISO timestamp; dates are UTC midnight."),
]
FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Output format: table, csv or json.", case_sensitive=False)
]
