"""Evaluate catalog queries over a period: one connection, bound parameters, findings and suppressions.

The session creates the allow-list tables, then the catalog's shared macros (`queries/macros/`, temporary
macros), then its shared views (`queries/views/`, temporary views) right after `events` exists and before any
query runs, dependencies first. Each query is bound the parameters `loader.QUERY_PARAMETERS` lists, among them
its own id as `$query_id` (what the `allowlisted` macro looks the per-query list up by).

How suppressions are recorded: every allow-list table exists twice in the connection, filled from Settings in
the `main` schema and empty in the schema `kanalytics_no_allowlists`. A query whose SQL mentions an `allow_`
table (directly or through a macro it calls), run while some of those tables hold entries, is run a second time with the empty schema first on the
search path. The rows only that second run returns are the suppressed ones; each is attributed to the entry it
matches (user_name for user lists, source_ip for networks, any value for registries and per-query lists).

What a query is not run for (a result with a reason, never silently nothing): the period's audit level is below
its `needs_level` ("not-evaluable"); under the default profile, every list in its `needs_config` is empty
("needs-configuration": its rows would mean nothing until you say what is allowed); an anomaly whose clusters
have no events in its baseline window ("not-evaluable": the first month of an archive). Clusters without a
baseline are left out of an anomaly's rows while the others are judged, and the reason names them.

Engines: the rows of each query come from the connection itself (DuckDB) or from a `QueryEngine` (Spark:
`catalog.spark_engine`), which is handed the same period, allow-list entries, views and macros and returns Arrow
rows cast to the schema DuckDB gives the same SQL. The connection still does the period's bookkeeping, and
everything after the rows (shape, judging, suppression attribution, findings) is this module's, so two engines
agree on the findings exactly when their SQL returns the same rows. A query the engine cannot run is a
"not-evaluable" result whose reason starts "not run on <engine>:".
"""

from __future__ import annotations

import difflib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from kanalytics.catalog.findings import json_safe, missing_columns, sort_findings, to_findings
from kanalytics.catalog.functions import create_functions, in_networks
from kanalytics.catalog.loader import (
    QUERY_PARAMETERS,
    Catalog,
    load_catalog,
    load_shared_sql,
    macro_definition,
    names_read,
    shared_sql,
)
from kanalytics.catalog.model import (
    LEVEL_ORDER,
    CatalogRun,
    Finding,
    Macro,
    Query,
    QueryResult,
    Suppression,
    View,
)
from kanalytics.errors import ConfigError, QueryError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from kanalytics.config import Settings

# What each list `needs_config` may name (model.ConfigList; loader.CONFIG_TABLES) holds, in the words of the
# "needs configuration" reason.
CONFIG_MEANINGS: dict[str, str] = {
    "query_list": "the values this check allows on your clusters",
    "admin_users": "your cluster administrators",
    "break_glass_users": "your break-glass accounts",
    "automation_users": "your CI and automation identities",
    "trusted_networks": "the networks your clients connect from",
    "trusted_registries": "the registries your images come from",
}
# The tag of a Falco-parity rule that Falco ships inert (its built-in list allows everything): see is_inert.
INERT_WITHOUT_LIST = "inert-without-list"
NO_BASELINE = "no baseline yet"
# An anomaly judges a day once its cluster had events in the first days of that day's baseline window.
BASELINE_LEAD_DAYS = 3  # how the reason of an anomaly without a baseline starts
EMPTY_SCHEMA = "kanalytics_no_allowlists"
# Allow-list table -> its columns (all VARCHAR). The names are fixed here; values are only ever bound.
ALLOW_TABLES: dict[str, tuple[str, ...]] = {
    "allow_admin_users": ("value", "reason"),
    "allow_break_glass_users": ("value", "reason"),
    "allow_automation_users": ("value", "reason"),
    "allow_trusted_networks": ("cidr", "reason"),
    "allow_trusted_registries": ("value", "reason"),
    "allow_query_list": ("query_id", "value", "reason"),
}
_ALLOW_REF = re.compile(r"\b(allow_[a-z_]+)\b")
_USER_LISTS = ("allow_admin_users", "allow_break_glass_users", "allow_automation_users")


# The start of the reason of a query an engine cannot run (`not_run_reason`); `catalog.api` lists those apart.
NOT_RUN_ON = "not run on "

# Called before each query as (queries done, queries in the run, id of the next one), then once at the end.
Progress = Callable[[int, int, str], None]


class EventSource(Protocol):
    """What the runner reads from: a DuckDB connection whose `events` view covers [start, end) of the given
    clusters (`kanalytics.archive.api.Store` is one; tests may pass anything that builds such a view)."""

    def connect(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        clusters: Sequence[str] | None = None,
    ) -> duckdb.DuckDBPyConnection: ...


class QueryEngine(Protocol):
    """An engine other than the runner's DuckDB connection that a catalog run takes each query's rows from
    (`catalog.spark_engine.SparkEngine`); see the module docstring for what stays on the connection."""

    name: str

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
        """Register the `events` of [start, end) of `clusters`, the allow-list tables and the shared views."""
        ...

    def not_portable_reason(self, query: Query) -> str:
        """Why `query` cannot run on this engine, or ""."""
        ...

    def fetch(self, query: Query, params: Mapping[str, Any], *, without_allowlists: bool = False) -> pa.Table:
        """The rows of `query` with `params` bound; `without_allowlists`: the allow-list tables read as empty.
        Failures raise QueryError."""
        ...


def not_run_reason(engine: str, reason: str) -> str:
    """The reason of a query `engine` does not run: "not run on spark: <why>"."""
    return f"{NOT_RUN_ON}{engine}: {reason}"


def run_query(
    archive: EventSource,
    query_id: str,
    start: datetime,
    end: datetime,
    *,
    clusters: Sequence[str] | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    baseline_start: datetime | None = None,
    raw: bool = False,
) -> QueryResult:
    """Run one query over [start, end); a failure is a result with status "error", not an exception.

    `baseline_start` overrides the query's own `baseline_days` (test cases pin it). `raw`: see `Session`.
    """
    catalog = catalog or load_catalog(settings=settings)
    query = catalog.get(query_id)
    run = _run(archive, [query], start, end, clusters, settings, catalog, baseline_start, raw=raw)
    return run.results[query.id]


def run_catalog(
    archive: EventSource,
    start: datetime,
    end: datetime,
    *,
    clusters: Sequence[str] | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    kinds: Iterable[str] | None = None,
    query_ids: Iterable[str] | None = None,
    baseline_start: datetime | None = None,
    keep_tables: bool = True,
    progress: Progress | None = None,
    raw: bool = False,
    engine: QueryEngine | None = None,
) -> CatalogRun:
    """Run every query (optionally only some kinds or ids) over [start, end) in one connection.

    With `keep_tables=False` the result tables of detections and anomalies are released once their rows are
    findings (metric tables stay): what the report and `findings` need, and what keeps a large month in memory.
    `engine`: take each query's rows from that engine instead of the connection (see QueryEngine).
    """
    catalog = catalog or load_catalog(settings=settings)
    wanted_kinds = set(kinds) if kinds is not None else None
    queries = [catalog.get(q) for q in query_ids] if query_ids is not None else list(catalog.queries.values())
    queries = sorted(
        (q for q in queries if wanted_kinds is None or q.header.kind in wanted_kinds), key=lambda q: q.id
    )
    return _run(
        archive,
        queries,
        start,
        end,
        clusters,
        settings,
        catalog,
        baseline_start,
        release_findings_tables=not keep_tables,
        progress=progress,
        raw=raw,
        engine=engine,
    )


def _run(
    archive: EventSource,
    queries: list[Query],
    start: datetime,
    end: datetime,
    clusters: Sequence[str] | None,
    settings: Settings | None,
    catalog: Catalog,
    fixed_baseline: datetime | None = None,
    release_findings_tables: bool = False,
    progress: Progress | None = None,
    raw: bool = False,
    engine: QueryEngine | None = None,
) -> CatalogRun:
    from kanalytics.config import Settings

    settings = settings or Settings()
    check_query_lists(catalog, settings)
    start, end = _utc(start), _utc(end)
    if fixed_baseline is not None:
        baseline_start = _utc(fixed_baseline)
    else:
        longest = max([settings.baseline.days, *(_baseline_days(q, settings) for q in queries)])
        baseline_start = start - timedelta(days=longest)
    con = archive.connect(min(baseline_start, start), end, clusters)
    try:
        if engine is not None:
            engine.bind(
                archive, min(baseline_start, start), end, clusters, allowlist_entries(settings),
                list(catalog.views.values()), list(catalog.macros.values()),
            )  # fmt: skip
        session = Session(
            con,
            start,
            end,
            settings,
            baseline_start=fixed_baseline,
            views=list(catalog.views.values()),
            macros=list(catalog.macros.values()),
            raw=raw,
            engine=engine,
        )
        results = {}
        for done, query in enumerate(queries):
            if progress is not None:
                progress(done, len(queries), query.id)
            results[query.id] = session.run(query)
        if progress is not None:
            progress(len(queries), len(queries), "")
        levels_by_resource = session.levels_by_resource()
        baseline_days = session.baseline_days(start - timedelta(days=settings.baseline.days))
    finally:
        con.close()
    found: list[Finding] = []
    for result in results.values():
        found.extend(to_findings(result))
        if release_findings_tables and result.query.header.kind != "metric":
            result.release_table()
    findings = sort_findings(found)
    return CatalogRun(
        start=start,
        end=end,
        baseline_start=baseline_start,
        clusters=list(clusters) if clusters else None,
        results=results,
        findings=findings,
        levels_seen=session.levels_seen,
        catalog_version=catalog.version,
        levels_by_resource=levels_by_resource,
        baseline_days_with_events=baseline_days,
    )


@dataclass
class AllowEntry:
    """One allow-list entry from Settings: its table, value and reason (and query, for per-query lists)."""

    list_name: str
    value: str
    reason: str
    query_id: str | None = None


_Entry = AllowEntry  # the name catalog.suppress imports


class Session:
    """Queries evaluated against one DuckDB connection whose `events` view already covers the period.

    `views` and `macros` are the shared views and macros to create (creation order, as `Catalog.views` and
    `Catalog.macros`); without them the session loads those of the built-in catalog and `settings.query_paths`.
    With `engine` (already bound to the period), each query's rows come from it (see QueryEngine).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        start: datetime,
        end: datetime,
        settings: Settings,
        *,
        baseline_start: datetime | None = None,
        views: Sequence[View] | None = None,
        macros: Sequence[Macro] | None = None,
        raw: bool = False,
        engine: QueryEngine | None = None,
    ) -> None:
        self.con = con
        self.engine = engine
        # Raw: every query runs (whatever the period's audit levels, profile or configuration), once, with the
        # allow-lists empty: what evaluation at commit stores; allow-lists and statuses apply when reading.
        self.raw = raw
        self._judged: dict[tuple[datetime, int], set[tuple[str, date]]] = {}
        self.start, self.end = _utc(start), _utc(end)
        self.baseline_start = _utc(baseline_start) if baseline_start is not None else None
        self.timezone = settings.timezone
        self.settings = settings
        self._baseline_days: dict[datetime, dict[str, int]] = {}
        # Every zone-dependent expression names $timezone; the session zone is pinned to UTC so that nothing
        # else (date_trunc or ::DATE on a TIMESTAMPTZ) silently follows the zone of the machine running it.
        con.execute("SET TimeZone = 'UTC'")
        if views is None or macros is None:
            loaded_macros, loaded_views = load_shared_sql(settings=settings)
            views = list(loaded_views.values()) if views is None else views
            macros = list(loaded_macros.values()) if macros is None else macros
        # Macros bind the tables they read when created, and views the macros they call: tables come first.
        self.entries = allowlist_entries(settings)
        create_allow_tables(con, self.entries)
        create_functions(con)
        create_macros(con, macros)
        create_views(con, views)
        self._shared = shared_sql(macros, views)
        self.levels_seen = self._levels_seen()

    def retarget(self, start: datetime, end: datetime) -> None:
        """Evaluate another period in the same connection (its `events` relation replaced by the caller): the
        tables, functions, macros and views stay; what was computed for the old period is forgotten."""
        self.start, self.end = _utc(start), _utc(end)
        self._judged.clear()
        self._baseline_days.clear()

    def _levels_seen(self) -> list[str]:
        rows = self.con.sql(
            "SELECT DISTINCT level FROM events "
            "WHERE request_ts >= $period_start AND request_ts < $period_end",
            params={"period_start": self.start, "period_end": self.end},
        ).fetchall()
        return sorted((r[0] for r in rows if r[0] in LEVEL_ORDER), key=LEVEL_ORDER.__getitem__)

    def levels_by_resource(self) -> dict[str, list[str]]:
        """Audit levels seen per resource ("pods") and resource/subresource ("pods/exec") in the period."""
        rows = self.con.sql(
            "SELECT resource, subresource, list(DISTINCT level) FROM events "
            "WHERE request_ts >= $period_start AND request_ts < $period_end AND resource IS NOT NULL "
            "GROUP BY ALL",
            params={"period_start": self.start, "period_end": self.end},
        ).fetchall()
        seen: dict[str, set[str]] = {}
        for resource, subresource, levels in rows:
            seen.setdefault(resource, set()).update(levels)
            if subresource:
                seen.setdefault(f"{resource}/{subresource}", set()).update(levels)
        return {key: sorted(levels, key=lambda v: LEVEL_ORDER.get(v, -1)) for key, levels in seen.items()}

    def run(self, query: Query) -> QueryResult:
        began = time.perf_counter()
        result = self._evaluate(query)
        result.seconds = time.perf_counter() - began
        return result

    def _evaluate(self, query: Query) -> QueryResult:
        import duckdb

        if self.raw:
            return self._evaluate_raw(query)
        reason = self.not_evaluable_reason(query)
        if reason:
            return QueryResult(query=query, status="not-evaluable", reason=reason)
        reason = self.superseded_reason(query)
        if reason:
            return QueryResult(query=query, status="superseded", reason=reason)
        reason = self.needs_configuration_reason(query)
        if reason:
            return QueryResult(query=query, status="needs-configuration", reason=reason)
        reason = self._not_portable_reason(query)
        if reason:
            return QueryResult(query=query, status="not-evaluable", reason=reason)
        unjudged: list[str] = []  # clusters an anomaly cannot be judged for (no baseline)
        if query.header.kind == "anomaly":
            since = self._query_baseline_start(query)
            days = self.baseline_days(since)
            unjudged = sorted(c for c, n in days.items() if n == 0)
            if days and len(unjudged) == len(days):
                return QueryResult(
                    query=query, status="not-evaluable", reason=no_baseline_reason(self.start - since)
                )
        try:
            params = self.params_for(query)
            table = self._fetch(query, params)
            if query.header.kind == "anomaly":
                table = self.judged_rows(query, table)
            table = _without_clusters(table, unjudged)
            if is_inert(query, self.settings):
                table = table.slice(0, 0)
        except (duckdb.Error, QueryError) as exc:
            return QueryResult(query=query, status="error", reason=f"query {query.id} failed: {exc}")
        problem = _shape_problem(query, table)
        if problem:
            return QueryResult(query=query, status="error", table=table, reason=problem)
        result = QueryResult(query=query, status="ok", table=table)
        if unjudged:
            since = self._query_baseline_start(query)
            result.reason = f"not judged for {', '.join(unjudged)}: " + no_baseline_reason(self.start - since)
        used = self._used_allow_tables(query)
        if used and query.header.kind != "metric":
            try:
                unfiltered = _without_clusters(self._fetch(query, params, without_allowlists=True), unjudged)
            except (duckdb.Error, QueryError) as exc:
                return QueryResult(query=query, status="error", reason=f"query {query.id} failed: {exc}")
            result.suppressed = self._suppressions(query, table, unfiltered, used)
        return result

    def _evaluate_raw(self, query: Query) -> QueryResult:
        import duckdb

        reason = self._not_portable_reason(query)
        if reason:
            return QueryResult(query=query, status="not-evaluable", reason=reason)
        try:
            table = self._fetch(query, self.params_for(query), without_allowlists=True)
            if query.header.kind == "anomaly":
                table = self.judged_rows(query, table)
        except (duckdb.Error, QueryError) as exc:
            return QueryResult(query=query, status="error", reason=f"query {query.id} failed: {exc}")
        problem = _shape_problem(query, table)
        if problem:
            return QueryResult(query=query, status="error", reason=problem)
        return QueryResult(query=query, status="ok", table=table)

    def judged_days(self, query: Query) -> set[tuple[str, date]]:
        """(cluster, UTC day) of the period an anomaly can be judged on (a rolling baseline: each day against the
        `baseline_days` before it): days with or without events of their own (a silent day is what a gap
        detection looks for) whose cluster already had events at the start of that window, in its first
        BASELINE_LEAD_DAYS days. A cluster is judged once its archive covers a whole baseline window: not in the
        first month of an archive, nor right after it stopped sending for longer than the window."""
        days = _baseline_days(query, self.settings)
        since = self.start - timedelta(days=days) if self.baseline_start is None else self.baseline_start
        key = (since, days)
        if key not in self._judged:  # one GROUP BY per baseline window, shared by the anomalies using it
            rows = self.con.sql(
                "WITH d AS (SELECT DISTINCT cluster, date_trunc('day', request_ts)::DATE AS day FROM events "
                "WHERE request_ts >= $since AND request_ts < $period_end AND cluster IS NOT NULL), "
                "p AS (SELECT unnest(generate_series(date_trunc('day', $period_start::TIMESTAMPTZ), "
                "$period_end::TIMESTAMPTZ - INTERVAL 1 MICROSECOND, INTERVAL 1 DAY))::DATE AS day), "
                "w AS (SELECT day, greatest($since::DATE, day - CAST($days AS INTEGER)) AS opens FROM p) "
                "SELECT DISTINCT d.cluster, w.day FROM w JOIN d ON d.day >= w.opens "
                "AND d.day < w.opens + CAST($lead AS INTEGER) AND d.day < w.day",
                params={"since": since, "period_start": self.start, "period_end": self.end, "days": days,
                        "lead": BASELINE_LEAD_DAYS},
            ).fetchall()  # fmt: skip
            self._judged[key] = {(str(c), d) for c, d in rows}
        return self._judged[key]

    def judged_rows(self, query: Query, table: pa.Table) -> pa.Table:
        """The rows of an anomaly whose (cluster, UTC day of ts) can be judged (see `judged_days`)."""
        if table.num_rows == 0 or "cluster" not in table.column_names or "ts" not in table.column_names:
            return table
        import pyarrow as pa

        judged = self.judged_days(query)
        keep = [
            (c, _utc(t).date()) in judged if c is not None and t is not None else False
            for c, t in zip(table["cluster"].to_pylist(), table["ts"].to_pylist(), strict=True)
        ]
        return table.filter(pa.array(keep, type=pa.bool_()))

    def not_evaluable_reason(self, query: Query) -> str:
        return level_reason(query, self.levels_seen)

    def superseded_reason(self, query: Query) -> str:
        return superseded_reason(query, self.settings)

    def needs_configuration_reason(self, query: Query) -> str:
        return needs_configuration_reason(query, self.settings, self.start)

    def baseline_days(self, since: datetime) -> dict[str, int]:
        """Cluster -> calendar days (configured zone) of [since, period start) with events, for every cluster with
        events in the period: one GROUP BY, kept per `since`."""
        since = _utc(since)
        if since not in self._baseline_days:
            rows = self.con.sql(
                "SELECT cluster, count(DISTINCT timezone($timezone, request_ts)::DATE) "
                "FILTER (WHERE request_ts < $period_start) FROM events "
                "WHERE request_ts >= $since AND request_ts < $period_end AND cluster IS NOT NULL GROUP BY cluster "
                "HAVING count(*) FILTER (WHERE request_ts >= $period_start) > 0",
                params={"timezone": self.timezone, "since": min(since, self.start), "period_start": self.start,
                        "period_end": self.end},
            ).fetchall()  # fmt: skip
            self._baseline_days[since] = {str(c): int(n) for c, n in sorted(rows)}
        return self._baseline_days[since]

    def _query_baseline_start(self, query: Query) -> datetime:
        return self.baseline_start or self.start - timedelta(days=_baseline_days(query, self.settings))

    def params_for(self, query: Query) -> dict[str, Any]:
        import duckdb

        baseline = self._query_baseline_start(query)
        available = {
            "period_start": self.start,
            "period_end": self.end,
            "baseline_start": baseline,
            "timezone": self.timezone,
            "query_id": query.id,
        }
        # loader.QUERY_PARAMETERS documents these names (tests/catalog/test_macros.py holds them equal).
        # DuckDB refuses parameters a statement does not use, so bind exactly the ones it names.
        names = duckdb.extract_statements(query.sql)[0].named_parameters
        unknown = sorted(set(names) - set(available))
        if unknown:
            listed = ", ".join(f"${n}" for n in unknown)
            raise duckdb.BinderException(
                f"unknown parameter(s) {listed}; available: " + ", ".join(f"${n}" for n in QUERY_PARAMETERS)
            )
        return {n: available[n] for n in names}

    def _fetch(self, query: Query, params: dict[str, Any], *, without_allowlists: bool = False) -> pa.Table:
        if self.engine is not None:
            rows = self.engine.fetch(query, params, without_allowlists=without_allowlists)
            return self._like_duckdb(query, rows, params)
        sql = query.sql
        if not without_allowlists:
            return self.con.sql(sql, params=params or None).to_arrow_table()
        self.con.execute(f"SET search_path = '{EMPTY_SCHEMA},main'")
        try:
            return self.con.sql(sql, params=params or None).to_arrow_table()
        finally:
            self.con.execute("SET search_path = 'main'")

    def _not_portable_reason(self, query: Query) -> str:
        if self.engine is None:
            return ""
        reason = self.engine.not_portable_reason(query)
        return not_run_reason(self.engine.name, reason) if reason else ""

    def _like_duckdb(self, query: Query, rows: pa.Table, params: dict[str, Any]) -> pa.Table:
        """An engine's rows cast to the schema DuckDB gives the same SQL (bound, not run: LIMIT 0), so nothing
        downstream can tell the engines apart; a column set or a value that does not fit is a QueryError."""
        bound = f"SELECT * FROM ({query.sql}\n) LIMIT 0"  # noqa: S608 -- the catalog's own query, params bound
        schema = self.con.sql(bound, params=params or None).to_arrow_table().schema
        if rows.column_names != schema.names:
            raise QueryError(
                f"query {query.id}: {self.engine.name if self.engine else 'the engine'} returned the columns "
                f"{', '.join(rows.column_names)}, DuckDB {', '.join(schema.names)}",
                hint="the transpiled SQL must keep DuckDB's output names (kanalytics/catalog/spark_sql.py)",
            )
        try:
            return rows.cast(schema)
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise QueryError(
                f"query {query.id}: rows of {self.engine.name if self.engine else 'the engine'} do not fit "
                f"DuckDB's types: {exc}",
                hint="make the transpiled SQL return DuckDB's types (kanalytics/catalog/spark_sql.py)",
            ) from None

    def _used_allow_tables(self, query: Query) -> list[str]:
        """The allow-lists `query` reads (in its own SQL first, then through the macros it calls) that hold
        entries applying to it."""
        names = lists_read(query, self._shared)
        return [n for n in names if any(self._applies(e, n, query) for e in self.entries)]

    @staticmethod
    def _applies(entry: AllowEntry, list_name: str, query: Query) -> bool:
        return entry.list_name == list_name and (entry.query_id is None or entry.query_id == query.id)

    def _suppressions(
        self, query: Query, kept: pa.Table, unfiltered: pa.Table, used: list[str]
    ) -> list[Suppression]:
        extra = Counter(_row_key(r) for r in unfiltered.to_pylist()) - Counter(
            _row_key(r) for r in kept.to_pylist()
        )
        if not extra:
            return []
        rows = {_row_key(r): r for r in unfiltered.to_pylist()}
        candidates = [e for e in self.entries if any(self._applies(e, n, query) for n in used)]
        counts: Counter[tuple[str, str, str]] = Counter()
        for key, count in extra.items():
            entry = _attribute(rows[key], candidates)
            if entry is None:
                counts[
                    (" / ".join(used), "(unattributed)", "removed by an allow-list; no single entry matched")
                ] += count
            else:
                counts[(entry.list_name, entry.value, entry.reason)] += count
        return [
            Suppression(query_id=query.id, list_name=name, value=value, reason=reason, count=count)
            for (name, value, reason), count in sorted(counts.items())
        ]


def gate(
    query: Query, settings: Settings, start: datetime, levels_seen: Sequence[str]
) -> tuple[str, str] | None:
    """(status, reason) when `query` is not run for this period and configuration, else None: the audit levels
    are below its `needs_level` ("not-evaluable"), the default profile replaces it ("superseded") or it waits
    for a list ("needs-configuration"). The same whether results are computed now or read from the archive."""
    for status, reason in (
        ("not-evaluable", level_reason(query, levels_seen)),
        ("superseded", superseded_reason(query, settings)),
        ("needs-configuration", needs_configuration_reason(query, settings, start)),
    ):
        if reason:
            return status, reason
    return None


def is_inert(query: Query, settings: Settings) -> bool:
    """Whether `query` is a rule Falco ships inert (tag INERT_WITHOUT_LIST: its built-in list allows everything)
    run under Falco's profile with its lists empty: it runs and flags nothing, as in Falco, so its rows (computed
    now or read from the archive) are dropped. Its SQL has no such guard, so that its raw rows are what it flags
    once a list is configured."""
    return (
        settings.profile == "falco"
        and INERT_WITHOUT_LIST in query.header.tags
        and not any(is_configured(settings, name, query.id) for name in query.header.needs_config)
    )


def level_reason(query: Query, levels_seen: Sequence[str]) -> str:
    """Why the period's audit levels (`levels_seen`, lowest first) cannot evaluate `query`, or ""."""
    needed = query.header.needs_level
    if not levels_seen or LEVEL_ORDER[needed] <= LEVEL_ORDER[levels_seen[-1]]:
        return ""
    what = "request bodies" if needed == "Request" else f"{needed} bodies"
    return f"needs {what} (audit level {needed}); the period has only {', '.join(levels_seen)}"


def superseded_reason(query: Query, settings: Settings) -> str:
    """Why a Falco-parity `query` does not run under the default profile (its `superseded_by`), or ""."""
    if settings.profile == "falco" or not query.header.superseded_by:
        return ""
    return (
        f"covered by {', '.join(query.header.superseded_by)} in the default profile (the same risk, judged on "
        'successful requests and, for workloads, on their templates); set profile = "falco" to run Falco\'s rule'
    )


def needs_configuration_reason(query: Query, settings: Settings, start: datetime) -> str:
    """Why `query` waits for configuration (default profile, every list it needs empty), or ""."""
    needed = query.header.needs_config
    if settings.profile == "falco" or not needed:
        return ""
    if any(is_configured(settings, name, query.id) for name in needed):
        return ""
    lists = " or ".join(f"{config_key(n, query.id)} ({CONFIG_MEANINGS[n]})" for n in needed)
    reason = f"needs {lists}: run `{tune_command(start, settings)}` to propose entries from the baseline"
    if "query_list" in needed and any(r.startswith("falco:") for r in query.header.references):
        reason += ', or set profile = "falco" for Falco\'s built-in list'
    return reason


def lists_read(query: Query, shared: Mapping[str, str]) -> list[str]:
    """The allow-list tables `query` reads, in its own SQL first, then through the shared SQL it uses."""
    via_shared = names_read(query.sql, shared)
    found = [*_ALLOW_REF.findall(query.sql), *(n for n in ALLOW_TABLES if n in via_shared)]
    return [n for n in dict.fromkeys(found) if n in ALLOW_TABLES]


def allowlist_entries(settings: Settings) -> list[AllowEntry]:
    allow = settings.allowlists
    entries = [
        AllowEntry(name, e.value, e.reason)
        for name, values in (
            ("allow_admin_users", allow.admin_users),
            ("allow_break_glass_users", allow.break_glass_users),
            ("allow_automation_users", allow.automation_users),
            ("allow_trusted_registries", allow.trusted_registries),
        )
        for e in values
    ]
    entries += [AllowEntry("allow_trusted_networks", n.cidr, n.reason) for n in allow.trusted_networks]
    entries += [
        AllowEntry("allow_query_list", e.value, e.reason, query_id=qid)
        for qid, values in sorted(allow.query_lists.items())
        for e in values
    ]
    return entries


def check_query_lists(catalog: Catalog, settings: Settings) -> None:
    """Every `allowlists.query_lists` key must name a query that reads `allow_query_list`; otherwise its
    entries would silently suppress nothing (a typo in the id is the usual cause). All offenders at once."""
    problems: list[str] = []
    for qid in sorted(settings.allowlists.query_lists):
        query = catalog.queries.get(qid)
        if query is None:
            close = difflib.get_close_matches(qid, list(catalog.queries), n=3, cutoff=0.6)
            guess = f" (did you mean: {', '.join(close)}?)" if close else ""
            problems.append(f"allowlists.query_lists: unknown query id {qid!r}{guess}")
        elif "allow_query_list" not in catalog.names_read(query.sql):
            problems.append(
                f"allowlists.query_lists.{qid}: query {qid!r} does not read a per-query list "
                "(allow_query_list), so these entries would suppress nothing"
            )
    if problems:
        raise ConfigError(
            f"{settings.source or 'configuration'}: " + "; ".join(problems),
            hint="query ids are those `kanalytics query list` prints (built-in queries plus query_paths); "
            "`kanalytics query show ID` prints a query's SQL and the lists it reads",
        )


def create_macros(con: duckdb.DuckDBPyConnection, macros: Sequence[Macro]) -> None:
    """Create the shared macros (temporary, this connection only) in the given order (callees first).

    Run after the allow-list tables exist: DuckDB binds the tables a macro reads when it is created (and binds
    them again, along the search path, each time a query calls it: what the suppression re-run relies on).
    """
    import duckdb

    for macro in macros:
        # The id and parameters are validated as plain identifiers by the loader; the body is one expression.
        try:
            con.execute(macro_definition(macro))
        except duckdb.Error as exc:
            raise QueryError(
                f"{macro.path}: macro {macro.id} cannot be created: {exc}",
                hint="a macro may call DuckDB functions and other macros and read `events` and the allow_ "
                "tables; fix the expression",
            ) from None


def create_views(con: duckdb.DuckDBPyConnection, views: Sequence[View]) -> None:
    """Create the shared views (temporary, this connection only) in the given order (dependencies first)."""
    import duckdb

    for view in views:
        # The id is validated as a plain identifier by the loader; the SQL is one parameter-free SELECT.
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view.id} AS {view.sql}")
        except duckdb.Error as exc:
            raise QueryError(
                f"{view.path}: view {view.id} cannot be created: {exc}",
                hint="a view may select from `events` and other views and call the shared macros; fix its SQL",
            ) from None


def create_allow_tables(con: duckdb.DuckDBPyConnection, entries: list[AllowEntry]) -> None:
    """The allow-list tables, filled in `main` and empty in EMPTY_SCHEMA; values bound, never formatted."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {EMPTY_SCHEMA}")
    for name, columns in ALLOW_TABLES.items():
        ddl = ", ".join(f"{c} VARCHAR" for c in columns)
        for schema in ("main", EMPTY_SCHEMA):
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{name} ({ddl})")
        rows = [
            ((e.query_id, e.value, e.reason) if name == "allow_query_list" else (e.value, e.reason))
            for e in entries
            if e.list_name == name
        ]
        if rows:
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(f"INSERT INTO main.{name} VALUES ({placeholders})", rows)  # noqa: S608 -- fixed names


def _attribute(row: dict[str, Any], entries: list[AllowEntry]) -> AllowEntry | None:
    """The allow-list entry that explains why `row` was suppressed, judged from the row's own values."""
    strings = set(_strings(row))
    source_ip = row.get("source_ip")
    for entry in entries:
        if entry.list_name in _USER_LISTS and row.get("user_name") == entry.value:
            return entry
        if (
            entry.list_name == "allow_trusted_networks"
            and isinstance(source_ip, str)
            and in_networks(source_ip, (entry.value,))
        ):
            return entry
        if entry.list_name == "allow_trusted_registries" and any(s.startswith(entry.value) for s in strings):
            return entry
        if entry.list_name == "allow_query_list" and entry.value in strings:
            return entry
    return None


def _strings(value: Any) -> Iterable[str]:
    """Every string in a row, plus image repositories (`repo:tag@digest` -> `repo`) as Falco compares them."""
    if isinstance(value, str):
        yield value
        repository = value.split(":")[0].split("@")[0]  # Falco's ka.req.pod.containers.image.repository
        if repository != value:
            yield repository
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _row_key(row: dict[str, Any]) -> str:
    import json

    return json.dumps(json_safe(row), sort_keys=True)


def _baseline_days(query: Query, settings: Settings) -> int:
    return query.header.baseline_days or settings.baseline.days


def config_key(name: str, query_id: str) -> str:
    """The configuration key of a `needs_config` list, as a person types it into kanalytics.toml."""
    return f"allowlists.query_lists.{query_id}" if name == "query_list" else f"allowlists.{name}"


def is_configured(settings: Settings, name: str, query_id: str) -> bool:
    """Whether the `needs_config` list `name` has at least one entry (for `query_id`'s own list)."""
    allow = settings.allowlists
    if name == "query_list":
        return bool(allow.query_lists.get(query_id))
    return bool(getattr(allow, name))


def event_days(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, timezone: str
) -> dict[str, set[date]]:
    """Cluster -> the calendar days (in `timezone`) of [start, end) on which it has events: one GROUP BY over an
    `events` view (what `tune` reasons with and recurrence counts when a run did not)."""
    rows = con.sql(
        "SELECT cluster, list(DISTINCT timezone($timezone, request_ts)::DATE) FROM events "
        "WHERE request_ts >= $start AND request_ts < $end AND cluster IS NOT NULL GROUP BY cluster",
        params={"timezone": timezone, "start": start, "end": end},
    ).fetchall()
    return {str(cluster): set(days) for cluster, days in sorted(rows)}


def tune_command(start: datetime, settings: Settings) -> str:
    """The `kanalytics tune` command that proposes allow-list entries from the baseline before `start`."""
    local = _utc(start).astimezone(settings.zone)
    first = (local - timedelta(days=settings.baseline.days)).date()
    return f"kanalytics tune --from {first.isoformat()} --to {local.date().isoformat()}"


def no_baseline_reason(window: timedelta) -> str:
    return (
        f"{NO_BASELINE}: the archive has no events in the {window.days} days before the period (the first month "
        "of an archive); anomalies are judged from the next period on"
    )


def _shape_problem(query: Query, table: pa.Table) -> str:
    """Why a detection's or anomaly's result table lacks the finding shape, or ""."""
    missing = missing_columns(query.header.kind, table.column_names)
    if not missing:
        return ""
    return (
        f"query {query.id} ({query.header.kind}) does not return the finding column(s) {', '.join(missing)}; "
        "see FINDING_COLUMNS in kanalytics/catalog/model.py"
    )


def _without_clusters(table: pa.Table, clusters: Sequence[str]) -> pa.Table:
    """`table` without the rows of `clusters` (an anomaly's rows for clusters it cannot judge)."""
    if not clusters or "cluster" not in table.column_names:
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = pc.invert(pc.fill_null(pc.is_in(table["cluster"], value_set=pa.array(list(clusters))), False))
    return table.filter(keep)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
