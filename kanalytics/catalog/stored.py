"""A catalog run made from the results stored in the archive (`catalog.evaluate`), the way findings come out.

`stored_run` makes the period's stored results current (computing what is stale or missing, and storing it),
reads their raw rows and then applies, as of now, everything that depends on configuration: the profile and
`needs_config` gating, the audit levels the period has, the allow-lists (`catalog.suppress`, each suppressed
row attributed to its entry), and for anomalies the days that had a baseline. Metrics are run over the period
as before (they are small tables, not findings). With `recompute` nothing stored is read: every result is
computed from the events, and the run records whether it agrees with what was stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.catalog import evaluate
from kanalytics.catalog.findings import sort_findings
from kanalytics.catalog.model import CatalogRun, Finding, QueryResult
from kanalytics.catalog.runner import (
    _baseline_days,
    _utc,
    allowlist_entries,
    check_query_lists,
    gate,
    is_inert,
    no_baseline_reason,
    run_catalog,
)
from kanalytics.catalog.suppress import applicable, apply_allowlists
from kanalytics.vocabulary import FINDING_KINDS

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.runner import Progress
    from kanalytics.config import Settings


def stored_run(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    catalog: Catalog,
    clusters: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    progress: Progress | None = None,
    recompute: bool = False,
) -> CatalogRun:
    """The catalog over [start, end) from stored results (see the module docstring)."""
    from kanalytics.catalog.loader import shared_sql

    check_query_lists(catalog, settings)
    start, end = _utc(start), _utc(end)
    wanted = set(kinds) if kinds is not None else {"metric", *FINDING_KINDS}
    queries = [q for q in evaluate.findings_queries(catalog) if q.header.kind in wanted]
    if progress is not None:
        progress(0, len(queries), queries[0].id if queries else "")
    rows = evaluate.ensure(store, catalog, settings, start=start, end=end, clusters=clusters, read=True,
                           recompute=recompute)  # fmt: skip
    stats = rows.stats.to_json()
    if recompute:
        stats.update(agreement(rows, evaluate.ensure(store, catalog, settings, start=start, end=end,
                                                      clusters=clusters, read=True)))  # fmt: skip
    facts = _period_facts(store, start, end, clusters, settings)
    entries = allowlist_entries(settings)
    shared = shared_sql(catalog.macros.values(), catalog.views.values())
    results: dict[str, QueryResult] = {}
    found: list[Finding] = []
    for query in queries:
        gated = gate(query, settings, start, facts["levels_seen"])
        if gated is not None:
            results[query.id] = QueryResult(query=query, status=gated[0], reason=gated[1])  # type: ignore[arg-type]  # gate returns one of the statuses
            continue
        if query.id in rows.errors:
            results[query.id] = QueryResult(query=query, status="error", reason=rows.errors[query.id])
            continue
        raw = [f for f in rows.findings.get(query.id, []) if f.ts is not None and start <= f.ts < end]
        if is_inert(query, settings):
            raw = []
        result = QueryResult(query=query, status="ok")
        if query.header.kind == "anomaly":
            judged = rows.judged_clusters.get(query.id, set())
            unjudged = sorted(rows.clusters - judged)
            window = timedelta(days=_baseline_days(query, settings))
            if rows.clusters and not judged:
                results[query.id] = QueryResult(
                    query=query, status="not-evaluable", reason=no_baseline_reason(window)
                )
                continue
            if unjudged:
                result.reason = f"not judged for {', '.join(unjudged)}: " + no_baseline_reason(window)
        kept, suppressed = apply_allowlists(query, raw, applicable(query, entries, shared))
        if query.header.first_per_period:
            kept = first_per_period(kept, query.header.first_per_period)
        result.released_rows = len(kept)
        result.suppressed = suppressed
        results[query.id] = result
        found.extend(kept)
    if "metric" in wanted:
        metrics = run_catalog(store, start, end, clusters=clusters, settings=settings, catalog=catalog,
                              kinds=["metric"])  # fmt: skip
        results.update(metrics.results)
    if progress is not None:
        progress(len(queries), len(queries), "")
    return CatalogRun(
        start=start,
        end=end,
        baseline_start=start
        - timedelta(days=max([settings.baseline.days, *(_baseline_days(q, settings) for q in queries)])),
        clusters=list(clusters) if clusters else None,
        results=dict(sorted(results.items())),
        findings=sort_findings(found),
        levels_seen=facts["levels_seen"],
        catalog_version=catalog.version,
        levels_by_resource=facts["levels_by_resource"],
        baseline_days_with_events=facts["baseline_days"],
        evaluation=stats,
    )


def first_per_period(findings: list[Finding], keys: Sequence[str]) -> list[Finding]:
    """The earliest finding (by ts, then audit id) per cluster and `keys` (finding columns or evidence keys):
    what a "first time in the period" detection reports over a period made of stored days."""
    import json

    from kanalytics.catalog.model import FINDING_NAMES

    first: dict[str, Finding] = {}
    for finding in sorted(findings, key=lambda f: (f.ts.isoformat() if f.ts else "", f.audit_id or "")):
        values = [getattr(finding, k) if k in FINDING_NAMES else finding.evidence.get(k) for k in keys]
        first.setdefault(json.dumps([finding.cluster, *values], default=str), finding)
    return list(first.values())


def agreement(recomputed: evaluate.StoredRows, stored: evaluate.StoredRows) -> dict[str, Any]:
    """Whether the raw findings recomputed from the events equal those stored (as multisets per query), and
    which queries differ: what `report --recompute` and `findings --recompute` state."""
    from collections import Counter

    differ = []
    for query_id in sorted(set(recomputed.findings) | set(stored.findings)):
        a = Counter(_key(f) for f in recomputed.findings.get(query_id, []))
        b = Counter(_key(f) for f in stored.findings.get(query_id, []))
        if a != b or (query_id in recomputed.errors) != (query_id in stored.errors):
            differ.append(query_id)
    return {
        "agrees": not differ,
        "differing_queries": differ,
        "stored_results": stored.stats.stored + stored.stats.refreshed,
        "stored_findings": sum(len(v) for v in stored.findings.values()),
        "recomputed_findings": sum(len(v) for v in recomputed.findings.values()),
    }


def _key(finding: Finding) -> str:
    import json

    from kanalytics.catalog.findings import json_safe

    return json.dumps(
        json_safe(finding.to_json()) | {"evidence": json_safe(finding.evidence)}, sort_keys=True
    )


def _period_facts(
    store: Store, start: datetime, end: datetime, clusters: Sequence[str] | None, settings: Settings
) -> dict[str, Any]:
    """Audit levels of the period (overall and per resource) and the baseline days with events per cluster:
    one connection, narrow columns."""
    from kanalytics.catalog.runner import Session

    since = start - timedelta(days=settings.baseline.days)
    con = store.connect(since, end, clusters)
    try:
        session = Session(con, start, end, settings, views=[], macros=[], raw=True)
        return {
            "levels_seen": session.levels_seen,
            "levels_by_resource": session.levels_by_resource(),
            "baseline_days": session.baseline_days(since),
        }
    finally:
        con.close()
