"""What a `scope: event` query may not do: merge events. Its findings over a set of files must be the union of
each file's (docs/evaluation.md), so no aggregate, window, QUALIFY or the session view that joins a request's
stages. The loader refuses such a query, built-in or from `query_paths`, instead of storing results that a
later batch would contradict."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from kanalytics.catalog.model import Query

MERGING_SQL = re.compile(r"\bGROUP\s+BY\b|\bOVER\s*\(|\bQUALIFY\b|\bpod_exec_sessions\b", re.IGNORECASE)
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)


def merging_constructs(sql: str) -> list[str]:
    """The constructs in `sql` (comments aside) that merge events, as written, upper-cased."""
    return sorted({m.group(0).upper() for m in MERGING_SQL.finditer(_COMMENTS.sub(" ", sql))})


def scope_problems(
    queries: Iterable[Query], views: Mapping[str, str], views_read: Mapping[str, set[str]]
) -> list[str]:
    """One problem per `scope: event` query that merges events (itself or through a view it reads: `views` is
    view id -> SQL, `views_read` query id -> the views it reads) or is not a detection."""
    problems = []
    for query in queries:
        if query.header.scope != "event":
            continue
        if query.header.kind != "detection":
            problems.append(
                f"{query.path}: scope: event is for detections (a {query.header.kind} is scope: day)"
            )
            continue
        found = merging_constructs(query.sql) + [
            f"{c} (view {v})"
            for v in sorted(views_read.get(query.id, ()))
            for c in merging_constructs(views[v])
        ]
        if found:
            problems.append(
                f"{query.path}: scope: event, but its SQL merges events ({', '.join(found)}); each finding of an "
                "event-scope query must come from one event alone: make it scope: day (docs/evaluation.md)"
            )
    return problems
