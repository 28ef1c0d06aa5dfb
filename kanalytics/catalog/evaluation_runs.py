"""Computing results now: the catalog run raw over exactly the event files a result is keyed by.

`Engine` keeps one DuckDB connection and catalog session for every run of an evaluation (functions, macros and
views created once) and replaces the `events` relation per run: the files of up to RUN_EVENTS events read into
memory once, so that the queries of a run share one scan. Stale partitions are evaluated together, and each
query's rows are split by (cluster, UTC day of ts): the queries are day-additive and "event" queries row-local
(tests/catalog/test_additivity.py), so the split is what each partition alone would give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.model import Query
from kanalytics.catalog.results import Index, Part, Result, context_days, stored_row

if TYPE_CHECKING:
    import pyarrow as pa

    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings


DAY = timedelta(days=1)


# Events one evaluation run reads into memory at most (about 1 KiB each): its queries then share one scan.
RUN_EVENTS = 200_000


@dataclass
class Computed:
    """Results computed now, per partition: records for the metadata and rows for the file."""

    records: dict[Part, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    rows: dict[Part, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # (query id, partition) -> its stored rows (also in `rows`): findings are made of them only when read
    rows_of: dict[tuple[str, Part], list[dict[str, Any]]] = field(default_factory=dict)
    results: dict[tuple[str, Part], Result] = field(default_factory=dict)
    count: int = 0


def evaluate_events(
    engine: Engine, index: Index, tasks: Mapping[frozenset[str], Mapping[Part, frozenset[str]]],
    catalog: Catalog, settings: Settings, hashes: Mapping[str, str], computed: Computed,
) -> None:  # fmt: skip
    for ids, all_parts in sorted(tasks.items(), key=lambda t: sorted(t[0])):
        queries = [catalog.queries[q] for q in sorted(ids)]
        for by_part in _chunks(all_parts, index):
            _evaluate_event_chunk(engine, by_part, queries, hashes, computed)


def _chunks(by_part: Mapping[Part, frozenset[str]], index: Index) -> list[dict[Part, frozenset[str]]]:
    """Partitions in runs of at most RUN_EVENTS events (a partition larger than that is a run of its own)."""
    chunks: list[dict[Part, frozenset[str]]] = [{}]
    size = 0
    for part, files in sorted(by_part.items(), key=lambda i: (i[0].day, i[0].cluster)):
        rows = sum(index.rows.get(f, 0) for f in files)
        if chunks[-1] and size + rows > RUN_EVENTS:
            chunks.append({})
            size = 0
        chunks[-1][part] = files
        size += rows
    return [c for c in chunks if c]


def _evaluate_event_chunk(
    engine: Engine, by_part: Mapping[Part, frozenset[str]], queries: Sequence[Query],
    hashes: Mapping[str, str], computed: Computed,
) -> None:  # fmt: skip
    files = sorted(f for fs in by_part.values() for f in fs)
    start = datetime.combine(min(p.day for p in by_part), datetime.min.time(), UTC)
    end = datetime.combine(max(p.day for p in by_part), datetime.min.time(), UTC) + DAY
    tables = engine.run(files, queries, start, end)
    for part, group in sorted(by_part.items(), key=lambda i: (i[0].cluster, i[0].day)):
        record_id = len(computed.records[part])
        record: dict[str, Any] = {"id": record_id, "scope": "event", "files": sorted(group), "results": {}}
        for query in queries:
            _store_result(computed, part, record, query, hashes[query.id], tables[query.id], files=group)
        computed.records[part].append(record)


def evaluate_days(
    engine: Engine, index: Index, tasks: Mapping[frozenset[str], set[Part]],
    catalog: Catalog, settings: Settings, hashes: Mapping[str, str], computed: Computed,
) -> None:  # fmt: skip
    for ids, parts in sorted(tasks.items(), key=lambda t: sorted(t[0])):
        all_queries = [catalog.queries[q] for q in sorted(ids)]
        by_reach: dict[int, list[Query]] = defaultdict(list)
        for query in all_queries:
            by_reach[context_days(query, settings)].append(query)
        for reach, queries in sorted(by_reach.items()):
            for cluster_parts in _runs_of_days(parts, index, reach):
                first = min(p.day for p in cluster_parts)
                last = max(p.day for p in cluster_parts)
                clusters = sorted({p.cluster for p in cluster_parts})
                files = [
                    f
                    for c in clusters
                    for offset in range((last - first).days + reach + 1)
                    for f in index.events.get(
                        Part(c, first - timedelta(days=reach) + timedelta(days=offset)), ()
                    )
                ]
                start = datetime.combine(first, datetime.min.time(), UTC)
                end = datetime.combine(last, datetime.min.time(), UTC) + DAY
                rows = sum(index.rows.get(f, 0) for f in files)
                tables = engine.run(
                    files, queries, start, end, judged=True, materialize=rows <= 2 * RUN_EVENTS
                )
                for part in sorted(cluster_parts, key=lambda p: (p.cluster, p.day)):
                    record_id = len(computed.records[part])
                    record: dict[str, Any] = {"id": record_id, "scope": "day", "results": {}}
                    for query in queries:
                        _store_result(
                        computed, part, record, query, hashes[query.id], tables[query.id],
                        digest=index.digest(part, context_days(query, settings)),
                    )  # fmt: skip
                    computed.records[part].append(record)


def _runs_of_days(parts: Iterable[Part], index: Index, reach: int, max_gap: int = 7) -> list[list[Part]]:
    """`parts` as runs of nearby days (all clusters together): one catalog run per run of days. Queries that
    read no earlier day (`reach` 0) run in pieces of at most RUN_EVENTS events, each read into memory once;
    the others in one run each, their context read once."""
    ordered = sorted(parts, key=lambda p: (p.day, p.cluster))
    runs: list[list[Part]] = []
    size = 0
    for part in ordered:
        rows = sum(index.rows.get(f, 0) for f in index.events.get(part, ()))
        full = reach == 0 and runs and size + rows > RUN_EVENTS
        if runs and not full and (part.day - runs[-1][-1].day).days <= max_gap:
            runs[-1].append(part)
            size += rows
        else:
            runs.append([part])
            size = rows
    return runs


@dataclass
class _Table:
    status: str
    reason: str
    by_part: dict[Part, list[dict[str, Any]]]
    judged: set[Part] = field(default_factory=set)


class Engine:
    """One DuckDB connection and catalog session for every run of an `ensure`: the functions, macros and views
    are created once, and each run replaces the `events` relation with the files it reads."""

    def __init__(self, store: Store, catalog: Catalog, settings: Settings) -> None:
        self.store, self.catalog, self.settings = store, catalog, settings
        self.con: Any = None
        self.session: Any = None

    def run(
        self, files: Sequence[str], queries: Sequence[Query], start: datetime, end: datetime,
        *, judged: bool = False, materialize: bool = True,
    ) -> dict[str, _Table]:  # fmt: skip
        """Run `queries` raw over exactly `files`, for [start, end); each query's rows split by partition."""
        self._load(files, start, end, materialize=materialize)
        out: dict[str, _Table] = {}
        for query in queries:
            result = self.session.run(query)
            if result.status != "ok" or result.table is None:
                out[query.id] = _Table(result.status, result.reason, {})
                continue
            by_part, stray = _split_rows(result.table)
            table = _Table("ok", "", by_part)
            if stray:
                table = _Table(
                    "error",
                    f"query {query.id} returned {stray} row(s) without a cluster or a ts inside its period: "
                    "results are kept per cluster and UTC day",
                    {},
                )
            if judged and query.header.kind == "anomaly":
                table.judged = {Part(c, d) for c, d in self.session.judged_days(query)}
            out[query.id] = table
        return out

    def _load(self, files: Sequence[str], start: datetime, end: datetime, *, materialize: bool) -> None:
        from kanalytics.archive import reader
        from kanalytics.catalog.runner import Session

        if self.con is not None:
            self.con.execute("DROP VIEW IF EXISTS temp.events")
            self.con.execute("DROP TABLE IF EXISTS temp._events_in_memory")
        self.con = reader.connect_files(
            self.store.layout, files, memory_limit=self.store.memory_limit, connection=self.con
        )
        if materialize:
            # One read of the files, then every query reads memory: the shared scan of the run.
            self.con.execute("CREATE TEMP TABLE _events_in_memory AS SELECT * FROM main.events")
            self.con.execute("CREATE TEMP VIEW events AS SELECT * FROM _events_in_memory")
        if self.session is None:
            self.session = Session(
                self.con, start, end, self.settings, views=list(self.catalog.views.values()),
                macros=list(self.catalog.macros.values()), raw=True,
            )  # fmt: skip
        else:
            self.session.retarget(start, end)

    def close(self) -> None:
        """Close the connection and let go of it (its readers lock is released when it is collected, so no
        reference may outlive this: the commit that follows publishes its files only when no reader holds it)."""
        if self.con is not None:
            self.con.close()
        self.con = None
        self.session = None


def _split_rows(table: pa.Table) -> tuple[dict[Part, list[dict[str, Any]]], int]:
    by_part: dict[Part, list[dict[str, Any]]] = defaultdict(list)
    stray = 0
    for row in table.to_pylist():
        ts, cluster = row.get("ts"), row.get("cluster")
        if not isinstance(ts, datetime) or not isinstance(cluster, str):
            stray += 1
            continue
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        row["ts"] = ts
        by_part[Part(cluster, ts.date())].append(row)
    return by_part, stray


def _store_result(
    computed: Computed, part: Part, record: dict[str, Any], query: Query, query_hash: str, table: _Table,
    *, files: frozenset[str] = frozenset(), digest: str = "",
) -> None:  # fmt: skip
    rows = table.by_part.get(part, []) if table.status == "ok" else []
    entry: dict[str, Any] = {"hash": query_hash, "status": table.status, "rows": len(rows)}
    if table.reason:
        entry["reason"] = table.reason
    if digest:
        entry["digest"] = digest
    judged = True
    if query.header.kind == "anomaly" and query.header.scope == "day":
        judged = part in table.judged
        entry["judged"] = judged
    record["results"][query.id] = entry
    stored = [stored_row(record["id"], query.id, row) for row in rows]
    computed.rows[part].extend(stored)
    computed.rows_of[(query.id, part)] = stored
    computed.results[(query.id, part)] = Result(
        path="", record=record["id"], query_id=query.id, hash=query_hash, status=table.status,
        reason=table.reason, rows=len(rows), files=files, digest=digest, judged=judged,
    )  # fmt: skip
    computed.count += 1
