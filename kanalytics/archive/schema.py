"""The archive's row schema (contract v1): defined here once, used by the writer, readers and queries.

One row per Event stage. Fields that queries filter or group on are typed columns; bodies and maps are JSON
text; `extra` keeps whatever this version does not model, so export can rebuild the Event exactly.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1"
SCHEMA_METADATA_KEY = b"kanalytics.schema_version"

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())

# (name, type, doc). The order is the column order in every file.
COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("audit_id", pa.string(), "auditID: one per request, shared by its stages; client-settable"),
    ("stage", pa.string(), "RequestReceived | ResponseStarted | ResponseComplete | Panic"),
    ("level", pa.string(), "None | Metadata | Request | RequestResponse"),
    ("verb", pa.string(), "Kubernetes verb, or the lower-cased HTTP method for non-resource URLs"),
    ("request_uri", pa.string(), "requestURI: path and query string"),
    ("user_name", pa.string(), "user.username"),
    ("user_uid", pa.string(), "user.uid"),
    ("user_groups", _STRINGS, "user.groups"),
    ("impersonated_user", pa.string(), "impersonatedUser.username"),
    ("impersonated_groups", _STRINGS, "impersonatedUser.groups"),
    ("source_ips", _STRINGS, "sourceIPs (all but the last can be spoofed by the client)"),
    ("user_agent", pa.string(), "userAgent (client-supplied)"),
    ("resource", pa.string(), "objectRef.resource"),
    ("subresource", pa.string(), "objectRef.subresource"),
    ("namespace", pa.string(), "objectRef.namespace"),
    ("object_name", pa.string(), "objectRef.name"),
    ("object_uid", pa.string(), "objectRef.uid"),
    ("api_group", pa.string(), "objectRef.apiGroup"),
    ("api_version", pa.string(), "objectRef.apiVersion"),
    ("response_code", pa.int32(), "responseStatus.code (HTTP status)"),
    ("response_reason", pa.string(), "responseStatus.reason"),
    ("request_ts", _TS, "requestReceivedTimestamp (legacy `timestamp` when absent), UTC"),
    ("stage_ts", _TS, "stageTimestamp (legacy `timestamp` when absent), UTC"),
    ("authz_decision", pa.string(), "annotation authorization.k8s.io/decision"),
    ("authz_reason", pa.string(), "annotation authorization.k8s.io/reason"),
    ("annotations", pa.string(), "annotations, JSON text"),
    ("user_extra", pa.string(), "user.extra, JSON text"),
    ("request_object", pa.string(), "requestObject, JSON text (Secret values redacted)"),
    ("response_object", pa.string(), "responseObject, JSON text (Secret values redacted)"),
    ("response_status", pa.string(), "responseStatus, JSON text"),
    (
        "extra",
        pa.string(),
        "JSON text: fields this version does not model, and what export needs to be exact",
    ),
    ("event_hash", pa.binary(16), "BLAKE2b-128 of the canonical (redacted) event: the dedupe identity"),
]

ARROW_SCHEMA = pa.schema(
    [pa.field(name, dtype) for name, dtype, _ in COLUMNS],
    metadata={SCHEMA_METADATA_KEY: SCHEMA_VERSION.encode()},
)
COLUMN_NAMES = [name for name, _, _ in COLUMNS]

# Hive partition columns: present in paths, not in files.
PARTITION_COLUMNS = ("cluster", "date")


ENGINES = ("duckdb", "spark")


def events_select(engine: str = "duckdb") -> str:
    """The SELECT list that turns a file's stored columns into the logical `events` columns every query sees,
    in the SQL of `engine` ("duckdb" or "spark"): the one place the stored encoding is undone, for every engine
    that registers the `events` view. Stored and logical columns are the same today."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    return "*"


def to_logical(table: pa.Table) -> pa.Table:
    """A table read straight from an events file (any schema version) in the logical columns: what Python
    readers (export, dedupe, compaction) use, the Arrow twin of `events_select`."""
    return table
