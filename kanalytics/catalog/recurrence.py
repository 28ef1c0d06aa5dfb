"""Judge this period's medium/low detection findings against the baseline: recurring behaviour is not new.

A finding's pattern is its cluster, query and identity plus the query's `pattern` keys (finding columns or
evidence keys; `[namespace]` when the header names none). Each detection that produced medium or low findings
in the period is run once more, over the baseline window [start - baseline.days, start), in one connection whose
`events` view covers only that window, with the same allow-lists (rows they suppress in the baseline do not
count). A period finding whose pattern was found on at least max(min_days, ceil(recurring_share * baseline days
with events in its cluster)) baseline days (calendar days of settings.zone) moves out of `run.findings` into a
`RecurringPattern` that carries its evidence. High and critical findings never move, nor do findings without a
cluster, a timestamp or one of their pattern keys: what cannot be judged stays in the review queue.

One session over the baseline, rather than `run_catalog` over it: the connection then covers exactly the
baseline window (run_catalog would also open the 30 days before it for anomalies), the baseline days with events
come from the same connection, and the allow-list re-run that attributes suppressions (twice the cost for an
allow-listed query) is skipped, since baseline suppressions are not reported.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.findings import json_safe, sort_findings, to_findings
from kanalytics.catalog.model import FINDING_NAMES, CatalogRun, Finding, Query, QueryResult, RecurringPattern
from kanalytics.vocabulary import SEVERITIES, SEVERITY_ORDER

if TYPE_CHECKING:
    import duckdb

    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.runner import EventSource
    from kanalytics.config import Settings

# Medium and low: high and critical are never judged recurring (issue 13), info is inventory.
JUDGED_SEVERITIES = tuple(
    s for s in SEVERITIES if SEVERITY_ORDER["low"] <= SEVERITY_ORDER[s] <= SEVERITY_ORDER["medium"]
)
DEFAULT_PATTERN = ("namespace",)
# Columns of a baseline row the judgement reads besides the pattern keys.
_KEY_COLUMNS = ("ts", "cluster", "user_name")
# A pattern key as compared: cluster, identity, then each pattern value as JSON text (lists and dicts compare).
PatternKey = tuple[str, str | None, tuple[str, ...]]
_MISSING = object()


def judge_recurrence(
    source: EventSource, run: CatalogRun, *, settings: Settings, catalog: Catalog, stored: bool = False
) -> CatalogRun:
    """`run` with its recurring medium/low detection findings moved to `recurring` (see the module docstring).

    A no-op (the same `run`) under the "falco" profile, when no detection produced medium or low findings, and
    when the baseline window holds no events (the first month of an archive).
    """
    if settings.profile == "falco":
        return run
    judged = [f for f in run.findings if _judgeable(f)]
    queries = sorted({f.query_id for f in judged} & set(catalog.queries))
    if not queries:
        return run
    start = run.start - timedelta(days=settings.baseline.days)
    # The runner counts them (same window, same zone) for the clusters with events in the period; a run made
    # without that count (an older runner, a hand-built run) gets it here.
    days_with_events = run.baseline_days_with_events
    if days_with_events and not any(days_with_events.values()):
        return run
    if stored and days_with_events:
        seen = _stored_days_seen(source, start, run, [catalog.queries[q] for q in queries], settings, catalog)
        recurring, kept = _split(run.findings, seen, days_with_events, settings, catalog)
        return dataclasses.replace(run, findings=kept, recurring=[*run.recurring, *recurring])
    con = source.connect(start, run.start, run.clusters)
    try:
        if not days_with_events:
            from kanalytics.catalog.runner import event_days

            counted = event_days(con, start, run.start, settings.timezone)
            days_with_events = {cluster: len(days) for cluster, days in counted.items()}
        if not any(days_with_events.values()):
            return run
        seen = _baseline_days_seen(
            con, start, run.start, [catalog.queries[q] for q in queries], settings, catalog
        )
    finally:
        con.close()
    recurring, kept = _split(run.findings, seen, days_with_events, settings, catalog)
    return dataclasses.replace(
        run,
        findings=kept,
        recurring=[*run.recurring, *recurring],
        baseline_days_with_events=days_with_events,
    )


def pattern_of(query: Query) -> tuple[str, ...]:
    """The query's own pattern keys: its header's `pattern`, else `[namespace]`."""
    return tuple(query.header.pattern) or DEFAULT_PATTERN


def pattern_key(finding: Finding, pattern: Sequence[str]) -> PatternKey | None:
    """The key `finding` is judged by; None when it cannot be judged (no cluster, or a pattern key it lacks)."""
    if finding.cluster is None:
        return None
    values = []
    for name in pattern:
        value = _value(finding, name)
        if value is _MISSING:
            return None
        values.append(json.dumps(value, sort_keys=True))
    return (finding.cluster, finding.user_name, tuple(values))


def _judgeable(finding: Finding) -> bool:
    return finding.kind == "detection" and finding.severity in JUDGED_SEVERITIES


def _value(finding: Finding, name: str) -> Any:
    if name in FINDING_NAMES and name != "evidence":
        return json_safe(getattr(finding, name))
    return finding.evidence.get(name, _MISSING)


def _baseline_days_seen(
    con: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    queries: Iterable[Query],
    settings: Settings,
    catalog: Catalog,
) -> dict[str, dict[PatternKey, set[date]]]:
    """Query id -> pattern key -> the baseline days (settings.zone) on which the query found it.

    A query that fails or is not evaluable over the baseline is absent: its findings stay findings.
    """
    import duckdb

    from kanalytics.catalog.runner import Session

    session = Session(
        con,
        start,
        end,
        settings,
        # Anomalies would read their own baseline before this one; detections do not, but the session needs one.
        baseline_start=start,
        views=list(catalog.views.values()),
        macros=list(catalog.macros.values()),
    )
    seen: dict[str, dict[PatternKey, set[date]]] = {}
    for query in queries:
        if session.not_evaluable_reason(query):
            continue
        try:
            table = con.sql(query.sql, params=session.params_for(query) or None).to_arrow_table()
        except duckdb.Error:
            continue
        pattern = pattern_of(query)
        wanted = [c for c in dict.fromkeys([*_KEY_COLUMNS, *pattern]) if c in table.column_names]
        narrow = QueryResult(query=query, status="ok", table=table.select(wanted))
        days: dict[PatternKey, set[date]] = defaultdict(set)
        for finding in to_findings(narrow):
            key = pattern_key(finding, pattern)
            if key is not None and isinstance(finding.ts, datetime):
                days[key].add(finding.ts.astimezone(settings.zone).date())
        seen[query.id] = dict(days)
    return seen


def _stored_days_seen(
    source: EventSource,
    start: datetime,
    run: CatalogRun,
    queries: list[Query],
    settings: Settings,
    catalog: Catalog,
) -> dict[str, dict[PatternKey, set[date]]]:
    """`_baseline_days_seen` from the results stored for the baseline window (`catalog.evaluate`, computed and
    stored first where missing), with the allow-lists applied as when reading the period."""
    from kanalytics.catalog import evaluate
    from kanalytics.catalog.loader import shared_sql
    from kanalytics.catalog.runner import allowlist_entries
    from kanalytics.catalog.suppress import applicable, apply_allowlists

    rows = evaluate.ensure(
        source,  # type: ignore[arg-type]  # a Store: judged_run passes stored=True only for one
        catalog, settings, start=start, end=run.start, clusters=run.clusters, query_ids=[q.id for q in queries],
        read=True,
    )  # fmt: skip
    entries = allowlist_entries(settings)
    shared = shared_sql(catalog.macros.values(), catalog.views.values())
    seen: dict[str, dict[PatternKey, set[date]]] = {}
    for query in queries:
        if query.id in rows.errors:
            continue
        raw = [f for f in rows.findings.get(query.id, []) if f.ts is not None and start <= f.ts < run.start]
        kept, _ = apply_allowlists(query, raw, applicable(query, entries, shared))
        pattern = pattern_of(query)
        days: dict[PatternKey, set[date]] = defaultdict(set)
        for finding in kept:
            key = pattern_key(finding, pattern)
            if key is not None and isinstance(finding.ts, datetime):
                days[key].add(finding.ts.astimezone(settings.zone).date())
        seen[query.id] = dict(days)
    return seen


def _split(
    findings: list[Finding],
    seen: dict[str, dict[PatternKey, set[date]]],
    days_with_events: dict[str, int],
    settings: Settings,
    catalog: Catalog,
) -> tuple[list[RecurringPattern], list[Finding]]:
    """(recurring patterns, the findings that stay), both in a stable order."""
    groups: dict[tuple[str, PatternKey], list[Finding]] = defaultdict(list)
    kept: list[Finding] = []
    for finding in findings:
        key = _recurring_key(finding, seen, days_with_events, settings, catalog)
        if key is None:
            kept.append(finding)
        else:
            groups[(finding.query_id, key)].append(finding)
    recurring = []
    for (query_id, key), moved in groups.items():
        days = sorted(seen[query_id][key])  # non-empty: the key met a threshold of at least one day
        names = pattern_of(catalog.queries[query_id])
        recurring.append(
            RecurringPattern(
                query_id=query_id,
                cluster=key[0],
                user_name=key[1],
                key={name: json.loads(value) for name, value in zip(names, key[2], strict=True)},
                days_seen=len(days),
                baseline_days=days_with_events[key[0]],
                first_seen=days[0].isoformat(),
                last_seen=days[-1].isoformat(),
                findings=sort_findings(moved),
            )
        )
    recurring.sort(key=_order)
    return recurring, kept


def _recurring_key(
    finding: Finding,
    seen: dict[str, dict[PatternKey, set[date]]],
    days_with_events: dict[str, int],
    settings: Settings,
    catalog: Catalog,
) -> PatternKey | None:
    """The pattern key of `finding` if it is recurring behaviour, else None (it stays a finding)."""
    query_seen = seen.get(finding.query_id) if _judgeable(finding) else None
    if not query_seen:
        return None
    key = pattern_key(finding, pattern_of(catalog.queries[finding.query_id]))
    baseline_days = days_with_events.get(key[0], 0) if key is not None else 0
    if key is None or not baseline_days or len(query_seen.get(key, ())) < _needed(baseline_days, settings):
        return None
    return key


def _needed(baseline_days: int, settings: Settings) -> int:
    """Baseline days a pattern must have been found on to be recurring, for a cluster with `baseline_days`."""
    # The epsilon keeps 0.7 * 10 (7.000000000000001 in floating point) at 7 days, not 8.
    share = settings.baseline.recurring_share * baseline_days
    return max(settings.baseline.min_days, math.ceil(share - 1e-9))


def _order(pattern: RecurringPattern) -> tuple[int, str, str, str, str]:
    severity = pattern.findings[0].severity if pattern.findings else "info"
    return (
        -SEVERITY_ORDER.get(severity, 0),
        pattern.query_id,
        pattern.cluster or "",
        pattern.user_name or "",
        json.dumps(pattern.key, sort_keys=True),
    )
