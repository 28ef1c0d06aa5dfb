"""Evaluation at commit: the catalog's raw results kept in the archive under `_findings/`, per cluster and UTC day.

A *result* is one query's raw rows (allow-lists empty: `runner.Session(raw=True)`) for one partition (cluster,
UTC day), computed from a known set of event files:

- scope "event" queries (each row comes from one event): from a *group* of that partition's files. A
  partition's rows are the union of its groups', so a new batch is evaluated alone and late batches only add.
- scope "day" queries (bursts, per-request merges, anomalies): from every file of the cluster's partitions in
  [day - context, day], context being the query's `lookback_minutes` and an anomaly's baseline days.

Each result records the query's *evaluation hash* (its SQL, the shared macros and views it reads, the engine
version) and its inputs (the event files of a group; the digest of a day's context files). A result is current
when both still match what the chain commits now: a changed or added query, a late batch, a compaction or a
retention deletion makes exactly the affected results stale, and `ensure` recomputes them (lazily, on the next
`findings` or `report`, or with `findings --refresh`) before they are read. Several stale partitions are
evaluated in one run whose rows are split by (cluster, UTC day of ts): the queries are day-additive
(tests/catalog/test_additivity.py), so the split is what each partition alone would give.

Storage: one Parquet file per partition and evaluation under `_findings/cluster=<c>/date=<d>/`, committed by a
manifest ("evaluate") like any other change, so `verify` covers it, retention deletes it with its events and
legal holds keep it. Its rows carry the record they belong to; the records (groups, results, hashes, inputs)
are JSON in the file's key-value metadata. A file none of whose results is current any more is removed by the
next evaluation of its partition.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics._version import __version__
from kanalytics.archive.layout import Partition
from kanalytics.catalog.findings import json_safe
from kanalytics.catalog.model import ROW_COLUMNS, Finding, Query, QueryResult
from kanalytics.errors import ArchiveLockedError
from kanalytics.vocabulary import FINDING_KINDS

if TYPE_CHECKING:
    import pyarrow as pa

    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings

# Bump when the stored row format or the evaluation rules change: every stored result becomes stale.
EVALUATION_VERSION = "1"
METADATA_KEY = "kanalytics.evaluation"
DAY = timedelta(days=1)
# Events one evaluation run reads into memory at most (about 1 KiB each): its queries then share one scan.
RUN_EVENTS = 200_000


@dataclass
class EvaluationStats:
    """What a read of stored results did, counted in results (one query for one partition)."""

    stored: int = 0  # read as stored
    refreshed: int = 0  # stale or missing, computed now and stored (unless `not_stored` says why not)
    recomputed: int = 0  # computed from the events, ignoring what was stored (--recompute)
    seconds: float = 0.0
    commits: int = 0  # evaluate manifests written
    not_stored: str = ""  # why results computed now could not be stored (a read-only archive)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stored": self.stored,
            "refreshed": self.refreshed,
            "recomputed": self.recomputed,
            "seconds": round(self.seconds, 3),
        }
        if self.not_stored:
            out["not_stored"] = self.not_stored
        return out

    def add(self, other: EvaluationStats) -> None:
        self.stored += other.stored
        self.refreshed += other.refreshed
        self.recomputed += other.recomputed
        self.seconds += other.seconds
        self.commits += other.commits


@dataclass(frozen=True)
class Part:
    """A partition (cluster, UTC day)."""

    cluster: str
    day: date


@dataclass
class _Result:
    """One stored result as the index knows it."""

    path: str  # the findings file (archive-relative)
    record: int
    query_id: str
    hash: str
    status: str
    reason: str
    rows: int
    files: frozenset[str] = frozenset()  # scope event: the group's event files
    digest: str = ""  # scope day: the digest of its context files
    judged: bool = True  # anomalies: whether the day had a baseline


@dataclass
class StoredRows:
    """What `read` returns for a period: per query, its raw findings (and statuses), plus what was done."""

    findings: dict[str, list[Finding]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # query id -> the first error reason
    judged_clusters: dict[str, set[str]] = field(
        default_factory=dict
    )  # anomaly -> clusters with a judged day
    clusters: set[str] = field(default_factory=set)  # clusters with events in the period
    stats: EvaluationStats = field(default_factory=EvaluationStats)


def _engine_version() -> str:
    """The version of what evaluates the SQL besides the query files: kanalytics, DuckDB and the SQL functions
    kanalytics registers (their source), so that changing any of them makes every stored result stale."""
    global _ENGINE
    if _ENGINE is None:
        import duckdb

        from kanalytics.catalog import functions

        source = Path(functions.__file__).read_bytes()
        _ENGINE = f"{__version__}:{duckdb.__version__}:{hashlib.sha256(source).hexdigest()[:12]}"
    return _ENGINE


_ENGINE: str | None = None


def evaluation_hash(query: Query, catalog: Catalog, settings: Settings) -> str:
    """What a stored result of `query` must have been computed with to be current."""
    digest = hashlib.sha256(f"{EVALUATION_VERSION}:{_engine_version()}:{query.id}:{query.version}".encode())
    versions = {
        **{m.id: m.version for m in catalog.macros.values()},
        **{v.id: v.version for v in catalog.views.values()},
    }
    for name in sorted(catalog.names_read(query.sql) & set(versions)):
        digest.update(f"|{name}:{versions[name]}".encode())
    digest.update(f"|context:{context_days(query, settings)}".encode())
    return digest.hexdigest()[:16]


def context_days(query: Query, settings: Settings) -> int:
    """Whole UTC days before a finding's own day that a "day" query may read (lookback and baseline)."""
    header = query.header
    if header.scope == "event":
        return 0
    days = -(-header.lookback_minutes // (24 * 60))
    if header.kind == "anomaly":
        days += header.baseline_days or settings.baseline.days
    return days


def findings_queries(catalog: Catalog, query_ids: Iterable[str] | None = None) -> list[Query]:
    queries = [catalog.get(q) for q in query_ids] if query_ids is not None else list(catalog.queries.values())
    return sorted((q for q in queries if q.header.kind in FINDING_KINDS), key=lambda q: q.id)


# -- the index of stored results -------------------------------------------------------------------------------
_metadata_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _records(store: Store, path: str, sha256: str) -> list[dict[str, Any]]:
    """The records of a findings file (its footer's metadata), read once per file version and process."""
    key = (f"{store.root.resolve()}/{path}", sha256)
    if key not in _metadata_cache:
        import pyarrow.parquet as pq

        metadata = pq.read_schema(_readable(store, path)).metadata or {}
        raw = metadata.get(METADATA_KEY.encode())
        _metadata_cache[key] = list(json.loads(raw)["records"]) if raw else []
    return _metadata_cache[key]


def _readable(store: Store, path: str) -> str:
    final = store.layout.path(path)
    if not final.exists():
        tmp = store.layout.tmp_path(path)
        if tmp.exists():
            return str(tmp)
    return str(final)


class _Index:
    """The live event and findings files of some partitions, and the stored results in the findings files."""

    def __init__(self, store: Store, parts: Iterable[Part] | None = None) -> None:
        from kanalytics.archive import chain

        state = chain.snapshot(store.layout)
        self.seq = state.last.seq if state.last else 0
        self.events: dict[Part, list[str]] = {
            Part(p.cluster, p.date): sorted(files) for p, files in state.partitions.items()
        }
        self.rows: dict[str, int] = {
            path: entry.rows for files in state.partitions.values() for path, entry in files.items()
        }
        wanted = set(parts) if parts is not None else None
        self.findings_files: dict[Part, list[str]] = defaultdict(list)
        self.results: dict[Part, list[_Result]] = defaultdict(list)
        for path, (entry, _seq) in sorted(state.live.items()):
            if entry.kind != "findings":
                continue
            part = _findings_part(path)
            if part is None or (wanted is not None and part not in wanted):
                continue
            self.findings_files[part].append(path)
            for record in _records(store, path, entry.sha256):
                for query_id, r in record["results"].items():
                    self.results[part].append(
                        _Result(
                            path=path,
                            record=int(record["id"]),
                            query_id=query_id,
                            hash=r["hash"],
                            status=r["status"],
                            reason=r.get("reason", ""),
                            rows=int(r.get("rows", 0)),
                            files=frozenset(record.get("files", ())),
                            digest=r.get("digest", ""),
                            judged=bool(r.get("judged", True)),
                        )
                    )

    def digest(self, part: Part, days: int) -> str:
        """The digest of the event files of `part`'s cluster over [day - days, day]."""
        digest = hashlib.sha256()
        for offset in range(days, -1, -1):
            for path in self.events.get(Part(part.cluster, part.day - timedelta(days=offset)), ()):
                digest.update(path.encode() + b"\n")
        return digest.hexdigest()[:24]


def _findings_part(path: str) -> Part | None:
    partition = Partition.from_relpath(path, "findings")
    return Part(partition.cluster, partition.date) if partition is not None else None


# -- planning --------------------------------------------------------------------------------------------------
@dataclass
class _Selection:
    """The stored results a read uses, and what must be computed first."""

    use: dict[tuple[str, Part], list[_Result]] = field(default_factory=dict)
    # event scope: (frozenset of query ids) -> partition -> files to evaluate
    event_tasks: dict[frozenset[str], dict[Part, frozenset[str]]] = field(default_factory=dict)
    # day scope: (frozenset of query ids) -> partitions to evaluate
    day_tasks: dict[frozenset[str], set[Part]] = field(default_factory=dict)


def _select(
    index: _Index, parts: Sequence[Part], queries: Sequence[Query], hashes: Mapping[str, str],
    settings: Settings, *, ignore_stored: bool = False,
) -> _Selection:  # fmt: skip
    selection = _Selection()
    event_missing: dict[Part, dict[frozenset[str], set[str]]] = defaultdict(lambda: defaultdict(set))
    day_missing: dict[Part, set[str]] = defaultdict(set)
    for part in parts:
        live = index.events.get(part, [])
        stored = [] if ignore_stored else index.results.get(part, [])
        by_query: dict[str, list[_Result]] = defaultdict(list)
        for result in stored:
            by_query[result.query_id].append(result)
        for query in queries:
            current = [r for r in by_query.get(query.id, []) if r.hash == hashes[query.id]]
            if query.header.scope == "event":
                if not live:
                    continue
                chosen, uncovered = _cover(current, frozenset(live))
                selection.use[(query.id, part)] = chosen
                if uncovered:
                    event_missing[part][uncovered].add(query.id)
            else:
                digest = index.digest(part, context_days(query, settings))
                match = next((r for r in current if r.digest == digest), None)
                if match is not None:
                    selection.use[(query.id, part)] = [match]
                else:
                    selection.use[(query.id, part)] = []
                    day_missing[part].add(query.id)
    for part, groups in event_missing.items():
        for files, ids in groups.items():
            selection.event_tasks.setdefault(frozenset(ids), {})[part] = files
    for part, ids in day_missing.items():
        selection.day_tasks.setdefault(frozenset(ids), set()).add(part)
    return selection


def _cover(results: list[_Result], live: frozenset[str]) -> tuple[list[_Result], frozenset[str]]:
    """Disjoint stored groups (largest first) made only of live files, and the live files none covers."""
    chosen: list[_Result] = []
    covered: set[str] = set()
    for result in sorted(results, key=lambda r: (-len(r.files), r.path, r.record)):
        if result.files and result.files <= live and not (result.files & covered):
            chosen.append(result)
            covered |= result.files
    return chosen, live - covered


# -- evaluation ------------------------------------------------------------------------------------------------
@dataclass
class _Computed:
    """Results computed now, per partition: records for the metadata and rows for the file."""

    records: dict[Part, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    rows: dict[Part, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    findings: dict[tuple[str, Part], list[Finding]] = field(default_factory=dict)
    results: dict[tuple[str, Part], _Result] = field(default_factory=dict)
    count: int = 0


def _evaluate_events(
    engine: _Engine, index: _Index, tasks: Mapping[frozenset[str], Mapping[Part, frozenset[str]]],
    catalog: Catalog, settings: Settings, hashes: Mapping[str, str], computed: _Computed,
) -> None:  # fmt: skip
    for ids, all_parts in sorted(tasks.items(), key=lambda t: sorted(t[0])):
        queries = [catalog.queries[q] for q in sorted(ids)]
        for by_part in _chunks(all_parts, index):
            _evaluate_event_chunk(engine, by_part, queries, hashes, computed)


def _chunks(by_part: Mapping[Part, frozenset[str]], index: _Index) -> list[dict[Part, frozenset[str]]]:
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
    engine: _Engine, by_part: Mapping[Part, frozenset[str]], queries: Sequence[Query],
    hashes: Mapping[str, str], computed: _Computed,
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


def _evaluate_days(
    engine: _Engine, index: _Index, tasks: Mapping[frozenset[str], set[Part]],
    catalog: Catalog, settings: Settings, hashes: Mapping[str, str], computed: _Computed,
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


def _runs_of_days(parts: Iterable[Part], index: _Index, reach: int, max_gap: int = 7) -> list[list[Part]]:
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


class _Engine:
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
    computed: _Computed, part: Part, record: dict[str, Any], query: Query, query_hash: str, table: _Table,
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
    for row in rows:
        computed.rows[part].append(_stored_row(record["id"], query.id, row))
    computed.findings[(query.id, part)] = [
        _finding(query, _stored_row(record["id"], query.id, r)) for r in rows
    ]
    computed.results[(query.id, part)] = _Result(
        path="", record=record["id"], query_id=query.id, hash=query_hash, status=table.status,
        reason=table.reason, rows=len(rows), files=files, digest=digest, judged=judged,
    )  # fmt: skip
    computed.count += 1


def _stored_row(record: int, query_id: str, row: dict[str, Any]) -> dict[str, Any]:
    stored = {"record": record, "query_id": query_id}
    for name in ROW_COLUMNS:
        value = row.get(name)
        if name == "score":
            stored[name] = float(value) if isinstance(value, int | float) else None
        elif name == "ts":
            stored[name] = value
        else:
            stored[name] = None if value is None else str(value)
    evidence = {k: json_safe(v) for k, v in row.items() if k not in ROW_COLUMNS}
    stored["evidence"] = json.dumps(evidence, sort_keys=True, ensure_ascii=False)
    return stored


def stored_schema() -> pa.Schema:
    import pyarrow as pa

    fields = [pa.field("record", pa.int32()), pa.field("query_id", pa.string())]
    for name in ROW_COLUMNS:
        if name == "ts":
            fields.append(pa.field(name, pa.timestamp("us", tz="UTC")))
        elif name == "score":
            fields.append(pa.field(name, pa.float64()))
        else:
            fields.append(pa.field(name, pa.string()))
    fields.append(pa.field("evidence", pa.string()))
    return pa.schema(fields)


def _finding(query: Query, stored: Mapping[str, Any]) -> Finding:
    header = query.header
    ts = stored.get("ts")
    if isinstance(ts, datetime) and ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    evidence = stored.get("evidence")
    return Finding(
        query_id=header.id,
        title=header.title,
        kind=header.kind,
        severity=header.severity,
        area=header.area,
        ts=ts,
        audit_id=stored.get("audit_id"),
        user_name=stored.get("user_name"),
        source_ip=stored.get("source_ip"),
        verb=stored.get("verb"),
        resource=stored.get("resource"),
        namespace=stored.get("namespace"),
        object_name=stored.get("object_name"),
        summary=stored.get("summary") or header.title,
        cluster=stored.get("cluster"),
        score=stored.get("score"),
        baseline=stored.get("baseline"),
        evidence=json.loads(evidence) if isinstance(evidence, str) else {},
    )


def _commit(store: Store, index: _Index, computed: _Computed, obsolete: Iterable[str]) -> int:
    """Write one findings file per partition computed and remove the obsolete ones, in one manifest."""
    import pyarrow as pa

    from kanalytics.archive.findings_files import FindingsPart

    parts = []
    for part in sorted(computed.records, key=lambda p: (p.cluster, p.day)):
        table = pa.Table.from_pylist(computed.rows.get(part, []), schema=stored_schema())
        metadata = json.dumps(
            {"version": EVALUATION_VERSION, "cluster": part.cluster, "date": part.day.isoformat(),
             "records": computed.records[part]},
            sort_keys=True,
        )  # fmt: skip
        parts.append(FindingsPart(part.cluster, part.day, table, {METADATA_KEY: metadata}))
    removed = sorted(set(obsolete))
    if not parts and not removed:
        return 0
    from kanalytics.archive import chain
    from kanalytics.errors import ArchiveError, ArchiveLockedError

    try:
        manifest = store.commit_findings(parts, removed)
    except ArchiveLockedError:
        raise
    except ArchiveError:
        # Another writer changed the findings files since they were read (a concurrent evaluation): keep what
        # is still live to remove, and commit the new results all the same (they are keyed by their inputs).
        live = chain.snapshot(store.layout).live
        manifest = store.commit_findings(parts, [r for r in removed if r in live])
    return 1 if manifest is not None else 0


def _obsolete(
    index: _Index, parts: Iterable[Part], catalog: Catalog, settings: Settings, hashes: Mapping[str, str]
) -> list[str]:
    """Findings files of `parts` none of whose results is current (changed query, inputs gone or changed)."""
    out = []
    for part in parts:
        live = frozenset(index.events.get(part, []))
        useful: set[str] = set()
        for result in index.results.get(part, []):
            query = catalog.queries.get(result.query_id)
            if query is None or hashes.get(query.id) != result.hash:
                continue
            if query.header.scope == "event":
                if result.files and result.files <= live:
                    useful.add(result.path)
            elif result.digest == index.digest(part, context_days(query, settings)):
                useful.add(result.path)
        out += [p for p in index.findings_files.get(part, []) if p not in useful]
    return out


# -- the entry points ------------------------------------------------------------------------------------------
def period_parts(index: _Index, start: datetime, end: datetime, clusters: Sequence[str] | None) -> list[Part]:
    """The partitions of [start, end): those with events, and each cluster's silent days between its first and
    last day with events (a day without events is what a gap detection reports; only "day" queries run there)."""
    first, last = start.astimezone(UTC).date(), (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    days_by_cluster: dict[str, list[date]] = defaultdict(list)
    for part in index.events:
        if not clusters or part.cluster in clusters:
            days_by_cluster[part.cluster].append(part.day)
    parts: set[Part] = set()
    for cluster, days in days_by_cluster.items():
        low, high = max(first, min(days)), min(last, max(days))
        parts.update(Part(cluster, low + timedelta(days=n)) for n in range((high - low).days + 1))
    return sorted(parts, key=lambda p: (p.cluster, p.day))


def ensure(
    store: Store,
    catalog: Catalog,
    settings: Settings,
    parts: Sequence[Part] | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    clusters: Sequence[str] | None = None,
    query_ids: Iterable[str] | None = None,
    scopes: Iterable[str] = ("event", "day"),
    read: bool = False,
    recompute: bool = False,
    write: bool = True,
) -> StoredRows:
    """Make the results of `parts` (or of the partitions of [start, end)) current, storing what was computed,
    and with `read` return their raw findings. `recompute` ignores what was stored (and stores nothing)."""
    began = time.perf_counter()
    queries = [q for q in findings_queries(catalog, query_ids) if q.header.scope in set(scopes)]
    hashes = {q.id: evaluation_hash(q, catalog, settings) for q in catalog.queries.values()}
    probe = _Index(store, [])
    if parts is None:
        assert start is not None and end is not None
        parts = period_parts(probe, start, end, clusters)
    index = _Index(store, parts)
    selection = _select(index, parts, queries, hashes, settings, ignore_stored=recompute)
    computed = _Computed()
    engine = _Engine(store, catalog, settings)
    try:
        _evaluate_events(engine, index, selection.event_tasks, catalog, settings, hashes, computed)
        _evaluate_days(engine, index, selection.day_tasks, catalog, settings, hashes, computed)
    finally:
        engine.close()
    out = StoredRows(clusters={p.cluster for p in parts})
    if recompute:
        out.stats.recomputed = computed.count
    else:
        out.stats.refreshed = computed.count
        if write and (computed.records or selection.event_tasks or selection.day_tasks):
            touched = set(computed.records)
            try:
                out.stats.commits = _commit(
                    store, index, computed, _obsolete(index, touched, catalog, settings, hashes)
                )
            except ArchiveLockedError:  # an ingest or the receiver is writing: it is not worth waiting for
                out.stats.not_stored = (
                    "another process is writing the archive; computed now, stored by a later read"
                )
            except OSError as exc:  # a read-only copy of an archive: read it, store nothing
                out.stats.not_stored = (
                    f"the archive cannot be written ({exc.strerror or exc}); computed, not stored"
                )
    if read:
        from kanalytics.archive.lock import reader_lock

        fd = reader_lock(store.layout)  # no writer deletes a superseded findings file while it is read
        try:
            _read_into(store, out, index, selection, computed, queries, parts)
        finally:
            if fd is not None:
                os.close(fd)
    out.stats.seconds = time.perf_counter() - began
    return out


def _read_into(
    store: Store, out: StoredRows, index: _Index, selection: _Selection, computed: _Computed,
    queries: Sequence[Query], parts: Sequence[Part],
) -> None:  # fmt: skip
    wanted: dict[str, set[tuple[int, str]]] = defaultdict(set)  # findings file -> {(record, query id)}
    for query in queries:
        out.findings.setdefault(query.id, [])
        for part in parts:
            if query.header.scope == "event" and not index.events.get(part):
                continue
            fresh = computed.results.get((query.id, part))
            results = [fresh] if fresh is not None else selection.use.get((query.id, part), [])
            for result in results:
                if result.status != "ok":
                    out.errors.setdefault(query.id, result.reason or f"query {query.id} failed")
                    continue
                if query.header.kind == "anomaly" and result.judged:
                    out.judged_clusters.setdefault(query.id, set()).add(part.cluster)
                if fresh is not None:
                    out.findings[query.id].extend(computed.findings.get((query.id, part), []))
                    continue
                out.stats.stored += 1
                if result.rows:
                    wanted[result.path].add((result.record, query.id))
    by_id = {q.id: q for q in queries}
    for path, keys in sorted(wanted.items()):
        for row in _read_rows(store, path, keys):
            out.findings[row["query_id"]].append(_finding(by_id[row["query_id"]], row))


def _read_rows(store: Store, path: str, keys: set[tuple[int, str]]) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(_readable(store, path))
    ids = sorted({q for _, q in keys})
    table = table.filter(pc.is_in(table["query_id"], value_set=pa.array(ids)))
    return [row for row in table.to_pylist() if (row["record"], row["query_id"]) in keys]


def after_commit(
    store: Store,
    catalog: Catalog,
    settings: Settings,
    since_seq: int,
    *,
    scopes: Iterable[str] = ("event", "day"),
) -> EvaluationStats:
    """Evaluate what the manifests after `since_seq` added: the partitions their event files are in."""
    from kanalytics.archive import chain

    state = chain.snapshot(store.layout)
    touched: set[Part] = set()
    for manifest in state.manifests:
        if manifest.seq <= since_seq:
            continue
        for entry in manifest.files_added:
            partition = Partition.from_relpath(entry.path) if entry.kind == "events" else None
            if partition is not None:
                touched.add(Part(partition.cluster, partition.date))
    if not touched:
        return EvaluationStats()
    parts = _with_silent_days(touched, state)
    return ensure(
        store, catalog, settings, sorted(parts, key=lambda p: (p.cluster, p.day)), scopes=scopes
    ).stats


def _with_silent_days(touched: set[Part], state: Any, reach: int = 32) -> set[Part]:
    """`touched` plus, per cluster, the days without events between its latest earlier day with events (at
    most `reach` days back) and its last touched day: what a commit after a silence makes judgeable (a gap
    detection reports the silent days)."""
    out = set(touched)
    days_by_cluster: dict[str, list[date]] = defaultdict(list)
    for partition in state.partitions:
        days_by_cluster[partition.cluster].append(partition.date)
    for cluster in {p.cluster for p in touched}:
        mine = sorted(p.day for p in touched if p.cluster == cluster)
        earlier = [d for d in days_by_cluster.get(cluster, []) if d < mine[0]]
        low = max(max(earlier) if earlier else mine[0], mine[0] - timedelta(days=reach))
        out.update(Part(cluster, low + timedelta(days=n)) for n in range((mine[-1] - low).days + 1))
    return out


def as_results(rows: StoredRows, queries: Sequence[Query]) -> dict[str, QueryResult]:
    """Raw rows as ok/error QueryResults (tables released: the findings carry the rows)."""
    out = {}
    for query in queries:
        if query.id in rows.errors:
            out[query.id] = QueryResult(query=query, status="error", reason=rows.errors[query.id])
        else:
            out[query.id] = QueryResult(
                query=query, status="ok", released_rows=len(rows.findings.get(query.id, []))
            )
    return out
