"""The project's closed vocabularies, each defined once: severities, query kinds, audit levels, review areas
and manifest operations.

Every layer may import this module and it imports nothing of kanalytics, so the query header model, the
runner, the report, the CLI and the archive writers all read the same names. Each vocabulary is one `Literal`
(so mypy checks every literal use) with the tuple of its values taken from that `Literal`, never retyped.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# -- severities ------------------------------------------------------------------------------------------
Severity = Literal["info", "low", "medium", "high", "critical"]  # least severe first
SEVERITIES: Final[tuple[Severity, ...]] = tuple(reversed(get_args(Severity)))  # most severe first
# Rank for sorting and "at least" filters: critical 4 … info 0 (ordered most severe first, like SEVERITIES).
SEVERITY_ORDER: Final[dict[str, int]] = {s: get_args(Severity).index(s) for s in SEVERITIES}


def at_least(floor: Severity) -> tuple[Severity, ...]:
    """The severities from `floor` up, most severe first."""
    return tuple(s for s in SEVERITIES if SEVERITY_ORDER[s] >= SEVERITY_ORDER[floor])


# -- query kinds -----------------------------------------------------------------------------------------
QueryKind = Literal["metric", "detection", "anomaly"]
QUERY_KINDS: Final[tuple[QueryKind, ...]] = get_args(QueryKind)
FINDING_KINDS: Final[tuple[QueryKind, ...]] = ("detection", "anomaly")  # the kinds whose rows are findings
KIND_FOLDERS: Final[dict[str, QueryKind]] = {
    "metrics": "metric",
    "detections": "detection",
    "anomalies": "anomaly",
}

# -- audit levels (the audit policy's, in increasing detail) ---------------------------------------------
AuditLevel = Literal["None", "Metadata", "Request", "RequestResponse"]
AUDIT_LEVELS: Final[tuple[AuditLevel, ...]] = get_args(AuditLevel)
LEVEL_ORDER: Final[dict[str, int]] = {level: rank for rank, level in enumerate(AUDIT_LEVELS)}

# -- review areas of audit-log practice: a query header's `area:` ----------------------------------------
Area = Literal[
    "coverage",
    "integrity",
    "activity",
    "failed-access",
    "rbac",
    "privileged-workloads",
    "secrets",
    "exec",
    "anonymous",
    "anomalies",
    "network",
    "configuration",
]
AREAS: Final[tuple[Area, ...]] = get_args(Area)
AREA_TITLES: Final[dict[Area, str]] = {
    "coverage": "Coverage and completeness",
    "integrity": "Audit trail integrity",
    "activity": "Activity and identities",
    "failed-access": "Failed and denied access",
    "rbac": "RBAC and permission changes",
    "privileged-workloads": "Privileged workloads",
    "secrets": "Secrets access",
    "exec": "Exec, attach, port-forward and impersonation",
    "anonymous": "Anonymous access",
    "anomalies": "Behaviour anomalies",
    "network": "Network origins",
    "configuration": "Configuration changes",
}

# -- identity types: what the SQL macro identity_type() returns (queries/macros/identity_type.sql, whose
# `returns:` lists the same values; tests/catalog/test_macros.py holds the three equal) ------------------
IdentityType = Literal["human", "service account", "node", "control plane", "anonymous", "unknown"]
IDENTITY_TYPES: Final[tuple[IdentityType, ...]] = get_args(IdentityType)

# -- manifest operations: what a manifest of the chain records as its `operation` ------------------------
Operation = Literal["ingest", "compact", "retention-delete", "hold-add", "hold-release", "evaluate", "triage"]
OPERATIONS: Final[tuple[Operation, ...]] = get_args(Operation)
INGEST_OPERATION: Final = "ingest"
COMPACT_OPERATION: Final = "compact"
RETENTION_OPERATION: Final = "retention-delete"
HOLD_ADD: Final = "hold-add"
HOLD_RELEASE: Final = "hold-release"
EVALUATE_OPERATION: Final = "evaluate"  # findings files (stored detection results) added or superseded
TRIAGE_OPERATION: Final = "triage"  # an analyst's disposition (verdict) of a finding or incident recorded
