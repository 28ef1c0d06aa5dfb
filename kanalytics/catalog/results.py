"""Stored results (docs/evaluation.md): what one is, where the archive keeps them, and which are current.

A *result* is one query's raw rows for one partition (cluster, UTC day), computed from known event files. Its
record, in the footer metadata of the findings file that holds its rows, names the query's evaluation hash (its
SQL, the shared macros and views it reads, the engine) and its inputs (scope "event": the group of files it
was computed from; scope "day": the digest of every file of [day - context, day]). `Index` reads the records
of a set of partitions from the chain's live findings files; `select` chooses the current results a read uses
and lists what must be computed first; `obsolete` names the files none of whose results is current.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kanalytics._version import __version__
from kanalytics.archive.layout import Partition
from kanalytics.catalog.findings import json_safe
from kanalytics.catalog.model import ROW_COLUMNS, Finding, Query

if TYPE_CHECKING:
    import pyarrow as pa

    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings


# Bump when the stored row format or the evaluation rules change: every stored result becomes stale.
EVALUATION_VERSION = "1"


METADATA_KEY = "kanalytics.evaluation"


@dataclass(frozen=True)
class Part:
    """A partition (cluster, UTC day)."""

    cluster: str
    day: date


@dataclass
class Result:
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


_metadata_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _records(store: Store, path: str, sha256: str) -> list[dict[str, Any]]:
    """The records of a findings file (its footer's metadata), read once per file version and process."""
    key = (f"{store.root.resolve()}/{path}", sha256)
    if key not in _metadata_cache:
        import pyarrow.parquet as pq

        metadata = pq.read_schema(store.path(path)).metadata or {}
        raw = metadata.get(METADATA_KEY.encode())
        _metadata_cache[key] = list(json.loads(raw)["records"]) if raw else []
    return _metadata_cache[key]


class Index:
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
        self.results: dict[Part, list[Result]] = defaultdict(list)
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
                        Result(
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


def period_parts(index: Index, start: datetime, end: datetime, clusters: Sequence[str] | None) -> list[Part]:
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


@dataclass
class Selection:
    """The stored results a read uses, and what must be computed first."""

    use: dict[tuple[str, Part], list[Result]] = field(default_factory=dict)
    # event scope: (frozenset of query ids) -> partition -> files to evaluate
    event_tasks: dict[frozenset[str], dict[Part, frozenset[str]]] = field(default_factory=dict)
    # day scope: (frozenset of query ids) -> partitions to evaluate
    day_tasks: dict[frozenset[str], set[Part]] = field(default_factory=dict)


def select(
    index: Index, parts: Sequence[Part], queries: Sequence[Query], hashes: Mapping[str, str],
    settings: Settings, *, ignore_stored: bool = False,
) -> Selection:  # fmt: skip
    selection = Selection()
    event_missing: dict[Part, dict[frozenset[str], set[str]]] = defaultdict(lambda: defaultdict(set))
    day_missing: dict[Part, set[str]] = defaultdict(set)
    for part in parts:
        live = index.events.get(part, [])
        stored = [] if ignore_stored else index.results.get(part, [])
        by_query: dict[str, list[Result]] = defaultdict(list)
        for result in stored:
            by_query[result.query_id].append(result)
        for query in queries:
            current = [r for r in by_query.get(query.id, []) if r.hash == hashes[query.id]]
            if query.header.scope == "event":
                if not live:
                    continue
                chosen, uncovered = cover(current, frozenset(live))
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


def cover(results: list[Result], live: frozenset[str]) -> tuple[list[Result], frozenset[str]]:
    """Disjoint stored groups (largest first) made only of live files, and the live files none covers."""
    chosen: list[Result] = []
    covered: set[str] = set()
    for result in sorted(results, key=lambda r: (-len(r.files), r.path, r.record)):
        if result.files and result.files <= live and not (result.files & covered):
            chosen.append(result)
            covered |= result.files
    return chosen, live - covered


def obsolete(
    index: Index, parts: Iterable[Part], catalog: Catalog, settings: Settings, hashes: Mapping[str, str]
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


def stored_row(record: int, query_id: str, row: dict[str, Any]) -> dict[str, Any]:
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


def to_finding(query: Query, stored: Mapping[str, Any]) -> Finding:
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


def read_rows(store: Store, path: str, keys: set[tuple[int, str]]) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(store.path(path))
    ids = sorted({q for _, q in keys})
    table = table.filter(pc.is_in(table["query_id"], value_set=pa.array(ids)))
    return [row for row in table.to_pylist() if (row["record"], row["query_id"]) in keys]
