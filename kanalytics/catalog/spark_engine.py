"""The catalog's queries on Apache Spark: the `events` view, the allow-list tables and the shared views registered
in a Spark session, each query transpiled (`spark_sql.to_spark_sql`) and its rows handed back as Arrow.

`SparkEngine` is a `runner.QueryEngine`: the runner keeps its DuckDB connection for the period's bookkeeping
(audit levels seen, baseline days, which anomaly days can be judged) and asks the engine only for each query's
rows, then casts them to the schema DuckDB gives the same SQL; everything after (finding shape, suppression
attribution, judging, incidents) is the shared code, so "identical findings" means "Spark returned the rows".

`events` is read from exactly the committed files of the period (`reader.period_uris`, never a directory glob),
with the hive columns `cluster` (string) and `date` (date) and the logical SELECT list of
`schema.events_select("spark")`. Local files are read by Spark itself; object-store files (`s3://`) through the
archive's pyarrow filesystem into the driver and handed to Spark as Arrow, since Spark's own s3a reader needs
hadoop-aws jars the project does not ship (a cluster that has them is the better road: see docs/spark.md).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.loader import names_read, shared_sql
from kanalytics.catalog.spark_session import SparkHandle, start_session
from kanalytics.errors import QueryError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from kanalytics.archive.layout import Layout
    from kanalytics.catalog.model import Macro, Query, View
    from kanalytics.catalog.runner import AllowEntry, EventSource

ENGINE_NAME = "spark"
_FILES_VIEW = "kanalytics_event_files"


class SparkEngine:
    """One Spark session for a command: `bind` registers a period's relations (again for each period a command
    evaluates, e.g. the report's month and the month before); `fetch` runs one query. `seconds` accumulates the
    time of each phase ("session", "register", "queries") for the benchmark."""

    name = ENGINE_NAME

    def __init__(self, handle: SparkHandle) -> None:
        self.handle = handle
        self.spark = handle.spark
        self.seconds: dict[str, float] = {"session": 0.0, "register": 0.0, "queries": 0.0}
        self._functions = False
        self._macros: dict[str, Macro] = {}
        self._views: dict[str, View] = {}
        self._view_sql: dict[str, str] = {}
        self._view_problems: dict[str, str] = {}
        self._allow: dict[str, list[tuple[str | None, ...]]] = {}
        self._sql: dict[str, str] = {}

    @classmethod
    def start(cls, master: str | None = None) -> SparkEngine:
        began = time.perf_counter()
        engine = cls(start_session(master))
        engine.seconds["session"] += time.perf_counter() - began
        return engine

    @property
    def master(self) -> str:
        return self.handle.master

    def stop(self) -> None:
        self.handle.stop()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- registration ----------------------------------------------------------------------------------
    def bind(
        self,
        source: EventSource,
        start: datetime,
        end: datetime,
        clusters: Sequence[str] | None,
        entries: Sequence[AllowEntry],
        views: Sequence[View],
        macros: Sequence[Macro],
    ) -> None:
        """Register `events` over the committed files of [start, end) of `clusters`, the allow-list tables
        filled from `entries`, and the shared views (transpiled; a view Spark cannot take is remembered, and the
        queries reading it are not portable)."""
        from kanalytics.catalog.runner import ALLOW_TABLES
        from kanalytics.catalog.spark_sql import register_functions

        began = time.perf_counter()
        layout: Layout | None = getattr(source, "layout", None)
        if layout is None:
            raise UsageError(
                f"--engine spark reads an archive's files, and {source!r} is not an archive",
                hint="open the archive with kanalytics.open_archive(...) and use its findings/report",
            )
        if not self._functions:
            register_functions(self.spark)
            self._functions = True
        self.events_frame(layout, start, end, clusters).createOrReplaceTempView("events")
        self._allow = {
            name: [
                (e.query_id, e.value, e.reason) if name == "allow_query_list" else (e.value, e.reason)
                for e in entries
                if e.list_name == name
            ]
            for name in ALLOW_TABLES
        }
        self._register_allow_tables(empty=())
        self._macros = {m.id: m for m in macros}
        self._views = {v.id: v for v in views}
        self._sql.clear()
        self._view_sql.clear()
        self._view_problems.clear()
        self._create_views()
        self.seconds["register"] += time.perf_counter() - began

    def events_frame(
        self, layout: Layout, start: datetime, end: datetime, clusters: Sequence[str] | None
    ) -> Any:
        """The `events` DataFrame of the period: the committed files, hive columns typed as DuckDB has them,
        the logical columns of `events_select("spark")`."""
        from kanalytics.archive.reader import period_uris
        from kanalytics.archive.schema import events_select

        uris = period_uris(layout, start, end, clusters)
        if not uris:
            from kanalytics.archive.reader import empty_events

            frame = self._from_arrow(empty_events())
        elif any(u.startswith("s3://") for u in uris):
            frame = self._from_arrow(_read_remote(layout, uris))
        else:
            base = str(Path(layout.root) / "events")
            frame = self.spark.read.option("basePath", base).option("mergeSchema", "true").parquet(*uris)
        frame = frame.withColumn("cluster", frame["cluster"].cast("string"))
        frame = frame.withColumn("date", frame["date"].cast("date"))
        frame.createOrReplaceTempView(_FILES_VIEW)
        # Cached: every query of the catalog scans it (measured: 5-15 s a query uncached, 1-3 s cached).
        return self.spark.sql(f"SELECT {events_select('spark')} FROM {_FILES_VIEW}").cache()  # noqa: S608 -- fixed

    def _from_arrow(self, table: pa.Table) -> Any:
        from pyspark.sql.pandas.types import from_arrow_schema

        schema = from_arrow_schema(table.schema)
        if table.num_rows == 0:
            return self.spark.createDataFrame([], schema)
        return self.spark.createDataFrame(table.to_pandas(), schema)

    def _register_allow_tables(self, empty: Sequence[str]) -> None:
        """Every allow-list table as a temp view: filled, or empty for the names in `empty` (what the
        suppression re-run reads; DuckDB's runner uses a second schema, Spark 3.5 has no search path)."""
        from kanalytics.catalog.runner import ALLOW_TABLES

        for name, columns in ALLOW_TABLES.items():
            rows = [] if name in empty else self._allow.get(name, [])
            schema = ", ".join(f"{c} string" for c in columns)
            self.spark.createDataFrame(rows, schema).createOrReplaceTempView(name)

    def _create_views(self) -> None:
        from kanalytics.catalog.spark_sql import NotPortable, to_spark_sql

        for view in self._views.values():  # creation order: dependencies first
            problem = next(
                (self._view_problems[n] for n in self._reads(view.sql) if n in self._view_problems), ""
            )
            if problem:
                self._view_problems[view.id] = problem
                continue
            try:
                sql = self._view_sql.get(view.id) or to_spark_sql(view.sql, self._macros, self._views)
                self.spark.sql(f"CREATE OR REPLACE TEMP VIEW {view.id} AS {sql}")
            except NotPortable as exc:
                self._view_problems[view.id] = f"reads view {view.id}, which is not portable: {exc.reason}"
            except Exception as exc:  # Spark's analysis refused the transpiled view
                self._view_problems[view.id] = (
                    f"reads view {view.id}, which Spark refuses: {_spark_message(exc)}"
                )
            else:
                self._view_sql[view.id] = sql

    def _reads(self, sql: str) -> set[str]:
        return names_read(sql, shared_sql(self._macros.values(), self._views.values()))

    # -- queries ---------------------------------------------------------------------------------------
    def not_portable_reason(self, query: Query) -> str:
        """Why `query` is not run on Spark ("" when it is): its header's `spark:` reason, a view it reads that
        Spark cannot take, or what keeps it from transpiling (the lint in tests/catalog fails on the latter)."""
        from kanalytics.catalog.spark_sql import NotPortable, to_spark_sql

        if query.header.spark:
            return query.header.spark
        for name in sorted(self._reads(query.sql)):
            if name in self._view_problems:
                return self._view_problems[name]
        if query.id not in self._sql:
            try:
                self._sql[query.id] = to_spark_sql(query.sql, self._macros, self._views)
            except NotPortable as exc:
                return exc.reason
        return ""

    def fetch(self, query: Query, params: Mapping[str, Any], *, without_allowlists: bool = False) -> pa.Table:
        """The rows of `query` (portable: `not_portable_reason` is "") with `params` bound as Spark's named
        markers; with `without_allowlists` the allow-list tables read as empty (the suppression re-run)."""
        from kanalytics.catalog.spark_sql import to_spark_sql

        reason = self.not_portable_reason(query)
        if reason:
            raise QueryError(f"query {query.id} is not portable to Spark: {reason}", hint="run it on DuckDB")
        began = time.perf_counter()
        try:
            if without_allowlists:
                self._register_allow_tables(empty=tuple(self._allow))
                self._create_views()
            try:
                # Transpiled again with the values: Spark takes only literals as window frame bounds (the
                # anomalies' baseline windows), so those parameters are folded into the text.
                sql = to_spark_sql(query.sql, self._macros, self._views, params=params)
                return collect_arrow(self.spark.sql(sql, args=dict(params)))
            finally:
                if without_allowlists:
                    self._register_allow_tables(empty=())
                    self._create_views()
        except QueryError:
            raise
        except Exception as exc:  # py4j / AnalysisException / connect errors: a failed query, not a crash
            raise QueryError(
                f"query {query.id} failed on Spark ({self.master}): {_spark_message(exc)}",
                hint="`kanalytics query show` prints its SQL; compare with --engine duckdb",
            ) from None
        finally:
            self.seconds["queries"] += time.perf_counter() - began


def collect_arrow(frame: Any) -> pa.Table:
    """A DataFrame's rows as one Arrow table, Arrow end to end: Spark 4's `toArrow`; on 3.5 the Arrow
    collection `toPandas` itself uses (`_collect_as_arrow`), which keeps lists, structs and UTC instants as
    they are (pandas would turn lists into numpy arrays and instants into naive local times); on Spark
    Connect the client's Arrow table."""
    import pyarrow as pa

    if hasattr(frame, "toArrow"):
        return frame.toArrow()
    if hasattr(frame, "_plan"):  # Spark Connect
        client = frame._session.client
        table, _ = client.to_table(frame._plan.to_proto(client))
        return table
    batches = frame._collect_as_arrow()
    if batches:
        return pa.Table.from_batches(batches)
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(frame.schema).empty_table()


def _read_remote(layout: Layout, uris: Sequence[str]) -> pa.Table:
    """The committed object-store files of a period read through the archive's pyarrow filesystem, with the
    hive columns from their keys (the files hold neither)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from kanalytics.archive.reader import arrow_filesystem

    paths = [u.removeprefix("s3://") for u in uris]
    base = paths[0].split("/events/", 1)[0] + "/events"
    partitioning = ds.partitioning(
        pa.schema([("cluster", pa.string()), ("date", pa.date32())]), flavor="hive"
    )
    dataset = ds.dataset(
        paths, filesystem=arrow_filesystem(layout), format="parquet", partitioning=partitioning,
        partition_base_dir=base,
    )  # fmt: skip
    return dataset.to_table()


def _spark_message(exc: Exception) -> str:
    """The first line of a Spark error (py4j errors carry a whole JVM stack trace after it)."""
    text = str(getattr(exc, "desc", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
