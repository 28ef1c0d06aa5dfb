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

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.archive.layout import Partition
from kanalytics.catalog.evaluation_runs import Computed, Engine, evaluate_days, evaluate_events
from kanalytics.catalog.model import Finding, Query
from kanalytics.catalog.results import (
    EVALUATION_VERSION,
    METADATA_KEY,
    Index,
    Part,
    Selection,
    context_days,
    evaluation_hash,
    obsolete,
    period_parts,
    read_rows,
    select,
    stored_schema,
    to_finding,
)
from kanalytics.errors import ArchiveLockedError
from kanalytics.vocabulary import FINDING_KINDS

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings

__all__ = ["EvaluationStats", "Index", "Part", "StoredRows", "after_commit", "context_days", "ensure",
           "evaluation_hash", "findings_queries", "period_parts"]  # fmt: skip


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


def findings_queries(catalog: Catalog, query_ids: Iterable[str] | None = None) -> list[Query]:
    queries = [catalog.get(q) for q in query_ids] if query_ids is not None else list(catalog.queries.values())
    return sorted((q for q in queries if q.header.kind in FINDING_KINDS), key=lambda q: q.id)


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
    probe = Index(store, [])
    if parts is None:
        assert start is not None and end is not None
        parts = period_parts(probe, start, end, clusters)
    index = Index(store, parts)
    selection = select(index, parts, queries, hashes, settings, ignore_stored=recompute)
    computed = Computed()
    engine = Engine(store, catalog, settings)
    try:
        evaluate_events(engine, index, selection.event_tasks, catalog, settings, hashes, computed)
        evaluate_days(engine, index, selection.day_tasks, catalog, settings, hashes, computed)
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
                    store, index, computed, obsolete(index, touched, catalog, settings, hashes)
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
    store: Store, out: StoredRows, index: Index, selection: Selection, computed: Computed,
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
                    out.findings[query.id].extend(
                        to_finding(query, r) for r in computed.rows_of.get((query.id, part), [])
                    )
                    continue
                out.stats.stored += 1
                if result.rows:
                    wanted[result.path].add((result.record, query.id))
    by_id = {q.id: q for q in queries}
    for path, keys in sorted(wanted.items()):
        for row in read_rows(store, path, keys):
            out.findings[row["query_id"]].append(to_finding(by_id[row["query_id"]], row))


def _commit(store: Store, index: Index, computed: Computed, obsolete: Iterable[str]) -> int:
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


def after_commit(
    store: Store,
    catalog: Catalog,
    settings: Settings,
    since_seq: int,
    *,
    scopes: Iterable[str] = ("event", "day"),
) -> EvaluationStats:
    """Evaluate what the manifests after `since_seq` added: the partitions their event files are in."""
    parts = committed_parts(store, since_seq)
    if not parts:
        return EvaluationStats()
    return ensure(store, catalog, settings, parts, scopes=scopes).stats


def committed_parts(store: Store, since_seq: int) -> list[Part]:
    """The (cluster, UTC day) parts the manifests after `since_seq` added event files to, plus the silent days
    before them that this makes judgeable; what `after_commit` evaluates and alerting reads."""
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
        return []
    return sorted(_with_silent_days(touched, state), key=lambda p: (p.cluster, p.day))


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
