"""Options shared by several commands, defined once so their names, defaults, choices and help never drift.

One period rule for every command: `--from` is inclusive, `--to` exclusive, `--month YYYY-MM` is the whole
month; dates are midnight in the configured time zone (`timezone` in kanalytics.toml; UTC when none is set).
"""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kanalytics.vocabulary import QUERY_KINDS, SEVERITIES

PERIOD_RULE = (
    "Dates are midnight in the configured time zone (UTC when none is configured); --from is inclusive, "
    "--to exclusive."
)

ArchiveOption = Annotated[
    str,  # not Path: a Path folds the `//` of s3://bucket/prefix
    typer.Option(
        "--archive",
        "-a",
        envvar="KANALYTICS_ARCHIVE",
        help="Archive directory or s3://bucket/prefix (default: $KANALYTICS_ARCHIVE).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="KANALYTICS_CONFIG", help="kanalytics.toml to use.", show_default=False
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of text (every command has it).")
]
ClusterFilterOption = Annotated[
    list[str] | None,
    typer.Option("--cluster", help="Only these clusters (repeatable). Default: all.", show_default=False),
]
MonthOption = Annotated[
    str | None,
    typer.Option("--month", help="The whole month YYYY-MM (instead of --from/--to).", show_default=False),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start (inclusive): YYYY-MM-DD (midnight in the configured time zone; UTC when none is "
        "configured) or an ISO timestamp.",
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="End (exclusive): the same forms as --from.", show_default=False),
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
]

Severity = Enum("Severity", {s: s for s in reversed(SEVERITIES)}, type=str)  # type: ignore[misc]
Kind = Enum("Kind", {k: k for k in QUERY_KINDS}, type=str)  # type: ignore[misc]

SeverityOption = Annotated[
    Severity | None,
    typer.Option("--severity", help="Minimum severity.", case_sensitive=False, show_default=False),
]
KindOption = Annotated[
    Kind | None,
    typer.Option("--kind", help="Only this kind of query.", case_sensitive=False, show_default=False),
]
LimitOption = Annotated[
    int,
    typer.Option("--limit", help="Show at most this many rows in table form (0: all); CSV and JSON get all."),
]


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="Where the catalog runs: duckdb (in process; reads the results stored in the archive) or spark "
        "(Apache Spark, computed from the events; needs pip install 'kanalytics[spark]'; see docs/spark.md).",
        case_sensitive=False,
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: the Spark master (default local[2]; spark://host:7077, yarn, k8s://...) or a "
        "Spark Connect URL sc://host:15002.",
        show_default=False,
    ),
]
