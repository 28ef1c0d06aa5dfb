"""AKS: unwrap Azure diagnostic-setting records (Event Hub or storage account) into audit Events.

Shapes, judged from content (FORMATS.md section 4): `{"records":[record, …]}` as Event Hub delivers it, or
one bare record per line as the storage account's blob layout (`insights-logs-kube-audit/…/PT1H.json`)
writes it. A record is `{time, resourceId, category, operationName, properties:{log, stream, pod, …}}`;
categories `kube-audit` and `kube-audit-admin` hold one Event in `properties.log` (JSON text, often with a
trailing newline, or an already-parsed object). Other categories (kube-apiserver, guard, …) carry
component log text and are skipped with their category, never quarantined as bad audit events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from kanalytics.sources.envelope import Unwrapped, clip, cluster_name, inner_event, kind_of, raw_json

__all__ = ["AUDIT_CATEGORIES", "FORMAT", "detect", "unwrap"]

FORMAT = "aks"
AUDIT_CATEGORIES = frozenset({"kube-audit", "kube-audit-admin"})
_RECORD_KEYS = ("properties", "resourceId", "operationName")
_MANAGED_CLUSTER = re.compile(r"/MANAGEDCLUSTERS/(?P<name>[^/]+)/?\Z", re.IGNORECASE)


def detect(document: Any) -> bool:
    """True for an AKS `{"records":[…]}` batch or a single AKS record."""
    if not isinstance(document, dict):
        return False
    if "records" in document and "requestId" not in document:  # a Firehose delivery has records too
        records = document["records"]
        return isinstance(records, list) and (not records or _is_record(records[0]))
    return _is_record(document)


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "category" in value and any(key in value for key in _RECORD_KEYS)


def unwrap(document: Any) -> Iterator[Unwrapped]:
    """Every record of an AKS batch (or the one record given), judged."""
    if isinstance(document, dict) and "records" in document:
        records = document["records"]
        if not isinstance(records, list):
            yield _problem(f"AKS batch: records is a JSON {kind_of(records)}, not an array", document)
            return
        for record in records:
            yield _record(record)
    elif _is_record(document):
        yield _record(document)
    else:
        yield _problem(
            f"not an AKS diagnostic record (a JSON {kind_of(document)} without records or category)", document
        )


def _record(record: Any) -> Unwrapped:
    if not isinstance(record, dict):
        return _problem(f"AKS record is a JSON {kind_of(record)}, not an object", record)
    resource = record.get("resourceId")
    cluster = _cluster(resource) if isinstance(resource, str) else None
    category = record.get("category")
    if not isinstance(category, str):
        return _problem(f"AKS record: category is a JSON {kind_of(category)}, not a string", record, cluster)
    if category not in AUDIT_CATEGORIES:
        return Unwrapped(skipped=f"AKS log category {clip(category)}: not an audit category", cluster=cluster)
    properties = record.get("properties")
    log = properties.get("log") if isinstance(properties, dict) else None
    if isinstance(log, dict):
        return Unwrapped(event=log, cluster=cluster)
    if not isinstance(log, str):
        return _problem(
            f"AKS {category} record has no properties.log (a JSON string or object)", record, cluster
        )
    if not log.strip():
        return _problem(f"AKS {category} record: properties.log is empty", record, cluster)
    return inner_event(
        log.encode("utf-8", "surrogatepass"), f"AKS {category} record: properties.log", cluster
    )


@lru_cache(maxsize=64)  # every record of a cluster repeats its resourceId
def _cluster(resource_id: str) -> str | None:
    """The cluster name in `/SUBSCRIPTIONS/…/MANAGEDCLUSTERS/<NAME>`, as Azure spells it (upper case)."""
    match = _MANAGED_CLUSTER.search(resource_id)
    return cluster_name(match["name"]) if match else None


def _problem(reason: str, value: Any, cluster: str | None = None) -> Unwrapped:
    return Unwrapped(problem=reason, raw=raw_json(value), cluster=cluster)
