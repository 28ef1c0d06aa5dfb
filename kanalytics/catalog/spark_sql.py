"""DuckDB SQL to Spark SQL: how a catalog query (with its macros inlined) becomes a statement Spark runs.

The engine (`kanalytics.catalog.spark_engine`) calls `to_spark_sql` for each query and `register_functions`
once per session; a query whose header says `spark: <reason>` is not portable and is listed with that reason.
"""

from __future__ import annotations

from typing import Any

import sqlglot


class NotPortable(Exception):
    """The query cannot run on Spark; `reason` says why (shown to the user beside the query id)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def to_spark_sql(sql: str) -> str:
    """The Spark SQL of one DuckDB statement (parameters as Spark's `:name` markers)."""
    try:
        return sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE
        )[0]
    except sqlglot.errors.SqlglotError as exc:
        raise NotPortable(f"sqlglot cannot transpile it: {exc}") from None


def register_functions(spark: Any) -> None:
    """Register the catalog's functions (the DuckDB UDFs of `catalog.functions`) in a Spark session."""
