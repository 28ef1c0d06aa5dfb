"""DuckDB SQL to Spark SQL: how a catalog query (with its macros inlined) becomes a statement Spark runs.

The engine (`kanalytics.catalog.spark_engine`) calls `to_spark_sql` for each query and each shared view and
`register_functions` once per session; a query whose header says `spark: <reason>` is not portable and is
listed with that reason.

sqlglot does the dialect translation (read="duckdb", write="spark"); this module adds what it cannot know:
the catalog's macros (Spark 3.5 has no SQL macros, so each call is replaced by the macro's body with the
arguments substituted, recursively) and the rewrites whose DuckDB meaning sqlglot's generic translation does
not keep (`spark_rewrites`). Every rewrite is held to "Spark returns the rows DuckDB returns" by
tests/catalog/test_spark_portability.py, not merely to "Spark parses it".
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from kanalytics.catalog.spark_rewrites import bind_frame_bounds, output_columns, rewrite
from kanalytics.errors import KanalyticsError

if TYPE_CHECKING:
    from kanalytics.catalog.model import Macro, View

# Session settings a Spark session needs for DuckDB's semantics (the engine sets them when it builds the
# session; `register_functions` sets the runtime ones again): UTC like the runner's DuckDB session; size(NULL)
# NULL as DuckDB's len(NULL), not -1; no ANSI mode, so that an index past a list's end is NULL as in DuckDB.
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.sizeOfNull": "false",
    "spark.sql.ansi.enabled": "false",
}
# A macro calling macros: deeper than this is a cycle (the loader refuses cycles, so this only bounds a bug).
_MAX_DEPTH = 32


class NotPortable(KanalyticsError):
    """The query cannot run on Spark; `reason` says why (shown to the user beside the query id)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            reason, hint="run it with the DuckDB engine, or mark it `spark: <reason>` in its header"
        )
        self.reason = reason


def to_spark_sql(
    sql: str,
    macros: Mapping[str, Macro] | None = None,
    views: Mapping[str, View] | None = None,
    *,
    params: Mapping[str, object] | None = None,
) -> str:
    """The Spark SQL of one DuckDB statement: the catalog's macros inlined (`macros`: id -> Macro, default the
    built-in ones; `views` the shared views it may select from, default the built-in ones), parameters as
    Spark's `:name` markers (bind them with `spark.sql(text, args=...)`). `params`, the values the statement
    will run with, folds parameters in window frame bounds, where Spark takes only literals (the anomalies'
    baseline windows); without them such a statement transpiles but Spark refuses it."""
    bodies = _macro_bodies(macros)
    columns_of = _columns(views)
    try:
        tree: exp.Expression = sqlglot.parse_one(sql, read="duckdb")  # type: ignore[assignment]
    except sqlglot.errors.SqlglotError as exc:
        raise NotPortable(f"sqlglot cannot parse it: {_first_line(exc)}") from None
    tree = inline_macros(tree, bodies)
    tree = rewrite(tree, columns_of)
    if params:
        tree = bind_frame_bounds(tree, params)
    try:
        return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise NotPortable(f"sqlglot cannot write it for Spark: {_first_line(exc)}") from None


def inline_macros(
    tree: exp.Expression, bodies: Mapping[str, tuple[list[str], exp.Expression]]
) -> exp.Expression:
    """`tree` with every call of a macro replaced by the macro's body (in parentheses), its parameters
    replaced by the call's arguments; repeated until no macro call is left (macros call macros)."""
    for _ in range(_MAX_DEPTH):
        found = False

        def substitute(node: exp.Expression) -> exp.Expression:
            nonlocal found
            name = _call_name(node)
            if name is None or name not in bodies:
                return node
            parameters, body = bodies[name]
            args = list(node.expressions) if isinstance(node, exp.Anonymous) else _args_of(node)
            if len(args) != len(parameters):
                raise NotPortable(
                    f"macro {name} is called with {len(args)} argument(s), not {len(parameters)}"
                )
            found = True
            values = dict(zip(parameters, args, strict=True))

            def bind(inner: exp.Expression) -> exp.Expression:
                if isinstance(inner, exp.Column) and not inner.table and inner.name in values:
                    return values[inner.name].copy()
                return inner

            return exp.Paren(this=body.copy().transform(bind))

        tree = tree.transform(substitute)
        if not found:
            return tree
    raise NotPortable(f"macros nest deeper than {_MAX_DEPTH} calls")


def _columns(views: Mapping[str, View] | None) -> Any:
    """Relation name -> its columns: `events` from the archive schema, each shared view from its SELECT."""
    from kanalytics.archive.schema import COLUMN_NAMES, PARTITION_COLUMNS

    if views is None:
        from kanalytics.catalog.loader import load_shared_sql

        views = load_shared_sql()[1]
    known: dict[str, list[str] | None] = {"events": [*COLUMN_NAMES, *PARTITION_COLUMNS]}
    for view in views.values():  # creation order: a view after the views it reads
        known[view.id] = output_columns(view.sql, known.get)
    return known.get


def _call_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return None


def _args_of(node: exp.Expression) -> list[exp.Expression]:
    return [v for v in node.args.values() if isinstance(v, exp.Expression)]


def _macro_bodies(macros: Mapping[str, Macro] | None) -> Mapping[str, tuple[list[str], exp.Expression]]:
    if macros is None:
        return _builtin_bodies()
    return {m.id: (list(m.header.parameters), _parse_body(m.id, m.sql)) for m in macros.values()}


@lru_cache(maxsize=1)
def _builtin_bodies() -> Mapping[str, tuple[list[str], exp.Expression]]:
    from kanalytics.catalog.loader import load_shared_sql

    macros, _ = load_shared_sql()
    return _macro_bodies(macros)


def _parse_body(macro_id: str, body: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(body, read="duckdb")  # type: ignore[return-value]
    except sqlglot.errors.SqlglotError as exc:
        raise NotPortable(f"sqlglot cannot parse macro {macro_id}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def register_functions(spark: Any) -> None:
    """Register the catalog's functions (the DuckDB UDFs of `catalog.functions`) in a Spark session, as
    pandas UDFs over the same pure-Python judges, and set the runtime settings of SESSION_CONF."""
    from kanalytics.catalog.spark_functions import register

    for key, value in SESSION_CONF.items():
        if key != "spark.sql.session.timeZone" or spark.conf.get(key) != value:
            spark.conf.set(key, value)
    register(spark)
