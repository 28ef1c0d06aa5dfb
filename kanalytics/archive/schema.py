"""The archive's row schema (contract v2): defined here once, used by the writer, readers and queries.

Versions (the files' key-value metadata `kanalytics.schema_version`): "1" stored `event_hash` as a 16-byte
BLAKE2b-128; "2" stores its first 8 bytes (`HASH_BYTES`) as variable-length binary (DELTA_LENGTH_BYTE_ARRAY:
8 bytes a row on disk, half of v1's share of the archive). Every other column is the same in both, so both
read as the logical schema below: DuckDB and Spark see BLOB/BINARY for either, pyarrow casts
fixed_size_binary(16) to binary when a reader passes `ARROW_SCHEMA`, and `to_logical` does it for tables read
without one. A v1 hash keeps its 16 bytes in queries (it still tells contents apart; an event is never held
in both versions because dedupe compares the first 8 bytes of either).

One row per Event stage. Fields that queries filter or group on are typed columns; bodies and maps are JSON
text; `extra` keeps whatever this version does not model, so export can rebuild the Event exactly.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "2"
SCHEMA_VERSIONS = ("1", "2")  # what readers accept
HASH_BYTES = 8
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
    (
        "event_hash",
        pa.binary(),
        "first 8 bytes of BLAKE2b-128 of the canonical (redacted) event (16 in v1 files): dedupe checksum",
    ),
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
    that registers the `events` view. v1 and v2 files need nothing undone in SQL (see the module docstring);
    the function stays the one place a later version's stored encoding is turned back into logical columns."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    return "*"


def to_logical(table: pa.Table) -> pa.Table:
    """A table read straight from an events file (any schema version) in the logical columns: what Python
    readers (export, dedupe, compaction) use, the Arrow twin of `events_select`: v1's fixed 16-byte
    `event_hash` becomes the logical variable-length binary, so tables of both versions concatenate."""
    index = table.schema.get_field_index("event_hash")
    if index != -1 and table.schema.field(index).type != pa.binary():
        table = table.set_column(
            index, pa.field("event_hash", pa.binary()), table["event_hash"].cast(pa.binary())
        )
    return table
