"""The columnar conversion of plain native JSON Lines: DuckDB's JSON reader maps the common Event shape to rows.

The Python path (`convert.py`: parse, redact, `rows.event_to_values`) builds every value as a Python object and
walks every event for redaction. Here DuckDB's reader, given an explicit schema (typed columns for what the
archive types, JSON-typed columns for bodies, which keeps their text), maps a block's plain Events to the
archive's columns in one statement, and two vectorised regular expressions stand in for the redaction walk.
Anything else takes the Python path, line by line, so the result is the Python path's rows exactly
(tests/archive/test_columnar.py proves it on generated events and on the real samples):
  - lines that are not a JSON object, another `kind`, or what an envelope reader (EKS, AKS, GKE) or an EventList
    would claim (`documents.native_event`): the columnar path is for plain native JSON Lines only;
  - top-level explicit nulls (the reader cannot tell them from absent keys);
  - any value that would not sit in its typed column as is (`plain_event`: non-string types where strings are
    expected, leftover keys in user/impersonatedUser/objectRef, timestamps other than the API server's
    `YYYY-MM-DDTHH:MM:SS.ffffffZ` from 1970 on, legacy `timestamp` only, missing required keys);
  - text whose re-serialisation by DuckDB could differ from orjson's: `\\u` and `\\/` escapes, floats,
    19+ digit runs;
  - anything redaction could change (`redact.MAY_REDACT_LINE` on the line, `MAY_REDACT_URI` on requestURI).
A block with a line that is not JSON (an EKS S3 export, garbage) is converted by the Python path whole, since
`block_records` judges such lines per block. Oversized lines never get here (`sources.files` quarantines them).
Unknown top-level keys stay on this path (they are `extra.fields`, verbatim).

The content hash is `rows.event_hash` of the parsed line (the line is the event when nothing is redacted): one
orjson parse and sorted dump per event, which with the checks above is most of this path's time. A block DuckDB
refuses (a duplicate key in an object it types) is converted by the Python path whole. Known gap: a duplicate
key inside a body (never written by the API server) is kept twice in DuckDB's JSON text and once by orjson.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kanalytics.archive.redact import MAY_REDACT_LINE, MAY_REDACT_URI
from kanalytics.archive.rows import event_hash
from kanalytics.archive.schema import ARROW_SCHEMA
from kanalytics.sources import jsontext
from kanalytics.sources.documents import AUTO, NATIVE, block_lines, native_event
from kanalytics.sources.records import Block

# The event's keys that become columns (as in rows.py); any other key goes to `extra.fields` verbatim.
_KEYS = (
    *(
        "auditID",
        "stage",
        "level",
        "verb",
        "requestURI",
        "userAgent",
        "user",
        "impersonatedUser",
        "objectRef",
    ),
    *("sourceIPs", "annotations", "requestObject", "responseObject", "responseStatus"),
    *("requestReceivedTimestamp", "stageTimestamp"),
)
_TYPES = {
    "user": "STRUCT(username VARCHAR, uid VARCHAR, groups VARCHAR[], extra JSON)",
    "impersonatedUser": "STRUCT(username VARCHAR, groups VARCHAR[])",
    "objectRef": "STRUCT(resource VARCHAR, subresource VARCHAR, namespace VARCHAR, name VARCHAR, uid VARCHAR, "
    "apiGroup VARCHAR, apiVersion VARCHAR)",
    "sourceIPs": "VARCHAR[]",
    **dict.fromkeys(("annotations", "requestObject", "responseObject", "responseStatus"), "JSON"),
}
_COLUMNS_SQL = "{" + ", ".join(f"'{key}': '{_TYPES.get(key, 'VARCHAR')}'" for key in _KEYS) + "}"
# Lines whose JSON text DuckDB could re-serialise differently from orjson, or whose words redaction acts on.
_PYTHON_TEXT = r'\\u|\\/|[0-9]{19}|(?:"[ \t\r\n]*:|[,\[])[ \t\r\n]*-?[0-9]+[.eE]|' + MAY_REDACT_LINE
_TS = r"^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z$"


_USER: dict[str, bool | None] = {"username": False, "uid": False, "groups": True, "extra": None}
_IMPERSONATED: dict[str, bool | None] = {"username": False, "groups": True}
_REF: dict[str, bool | None] = dict.fromkeys(
    ("resource", "subresource", "namespace", "name", "uid", "apiGroup", "apiVersion"), False
)
_TS_TEXT = re.compile(_TS)


def _str_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _fits(value: Any, fields: dict[str, bool | None]) -> bool:
    """`value` is an object whose every key maps to a column of the right type (nothing left in `extra`)."""
    if type(value) is not dict or not value:
        return False
    for key, item in value.items():
        if key not in fields:
            return False
        is_list = fields[key]
        if is_list is None:
            continue
        if not (_str_list(item) if is_list else type(item) is str):
            return False
    return True


def plain_event(event: dict[str, Any]) -> bool:
    """Whether `rows.event_to_values` maps `event` with nothing in `extra` but unknown top-level keys: the
    shape the reader's typed columns hold exactly (its casts would turn a number into a string silently)."""
    get = event.get
    for key in ("auditID", "stage", "verb", "requestURI"):
        if type(get(key)) is not str:
            return False
    if not event["auditID"]:
        return False
    for key in ("level", "userAgent"):
        if key in event and type(event[key]) is not str:
            return False
    if not _fits(get("user"), _USER):
        return False
    if "impersonatedUser" in event and not _fits(event["impersonatedUser"], _IMPERSONATED):
        return False
    if "objectRef" in event and not _fits(event["objectRef"], _REF):
        return False
    if "sourceIPs" in event and not _str_list(event["sourceIPs"]):
        return False
    for key in ("requestReceivedTimestamp", "stageTimestamp"):
        value = get(key)
        if type(value) is not str or _TS_TEXT.match(value) is None:
            return False
    return True


def _mapping_sql() -> str:
    """Typed columns straight from the reader; the few values inside JSON bodies by path."""
    code = "json_extract(responseStatus, '$.code')"
    reason = "json_extract(responseStatus, '$.reason')"
    decision = "json_extract(annotations, '$.\"authorization.k8s.io/decision\"')"
    authz_reason = "json_extract(annotations, '$.\"authorization.k8s.io/reason\"')"
    status_object = "json_type(responseStatus) = 'OBJECT'"
    annotations_object = "json_type(annotations) = 'OBJECT'"
    fmt = "'%Y-%m-%dT%H:%M:%S.%fZ'"
    values = {
        "audit_id": "auditID",
        "stage": "stage",
        "level": "level",
        "verb": "verb",
        "request_uri": "requestURI",
        "user_name": '"user".username',
        "user_uid": '"user".uid',
        "user_groups": '"user".groups',
        "impersonated_user": "impersonatedUser.username",
        "impersonated_groups": "impersonatedUser.groups",
        "source_ips": "sourceIPs",
        "user_agent": "userAgent",
        "resource": "objectRef.resource",
        "subresource": "objectRef.subresource",
        "namespace": "objectRef.namespace",
        "object_name": "objectRef.name",
        "object_uid": "objectRef.uid",
        "api_group": "objectRef.apiGroup",
        "api_version": "objectRef.apiVersion",
        "response_code": (
            f"CASE WHEN {status_object} AND json_type({code}) IN ('BIGINT', 'UBIGINT') "
            f"AND TRY_CAST({code} AS HUGEINT) BETWEEN -2147483648 AND 2147483647 "
            f"THEN CAST({code} AS INTEGER) END"
        ),
        "response_reason": f"CASE WHEN {status_object} AND json_type({reason}) = 'VARCHAR' THEN {reason} ->> '$' END",
        "request_ts": f"epoch_us(try_strptime(requestReceivedTimestamp, {fmt}))",
        "stage_ts": f"epoch_us(try_strptime(stageTimestamp, {fmt}))",
        "authz_decision": (
            f"CASE WHEN {annotations_object} AND json_type({decision}) = 'VARCHAR' THEN {decision} ->> '$' END"
        ),
        "authz_reason": (
            f"CASE WHEN {annotations_object} AND json_type({authz_reason}) = 'VARCHAR' "
            f"THEN {authz_reason} ->> '$' END"
        ),
        "annotations": "CAST(annotations AS VARCHAR)",
        "user_extra": 'CAST("user".extra AS VARCHAR)',
        "request_object": "CAST(requestObject AS VARCHAR)",
        "response_object": "CAST(responseObject AS VARCHAR)",
        "response_status": "CAST(responseStatus AS VARCHAR)",
    }
    mapped = ", ".join(f"{sql} AS {name}" for name, sql in values.items())
    ok = "request_ts IS NOT NULL AND stage_ts IS NOT NULL"  # a valid calendar date (not 2026-02-30)
    # Every piece is a constant of this module; the file is a bound parameter.
    source = f"read_json($path, format = 'newline_delimited', columns = {_COLUMNS_SQL}, maximum_object_size = 1073741824)"
    return f"SELECT {ok} AS ok, * FROM (SELECT {mapped} FROM {source})"  # noqa: S608


_SQL = _mapping_sql()
_TIMESTAMP = ARROW_SCHEMA.field("request_ts").type
_connection: Any = None


def _duckdb() -> Any:
    """One single-threaded connection per process: ingest already runs one worker per core."""
    global _connection
    if _connection is None:
        import duckdb

        _connection = duckdb.connect(config={"threads": 1})
    return _connection


@dataclass
class Split:
    """A block judged line by line: the rows the columnar path mapped (with the input line of each), and the
    lines left to the Python path as (line number, bytes, parsed document)."""

    rows: pa.Table | None
    row_lines: list[int]
    python: list[tuple[int, bytes, Any]]
    lines: int  # non-blank lines (each a record read)


# Below this many plain lines DuckDB's fixed cost per statement (milliseconds) is more than the Python path's.
MIN_ROWS = 256


def columnar_block(block: Block, min_rows: int = MIN_ROWS) -> Split | None:
    """Map the plain native Events of `block`; None when the whole block must take the Python path (also when
    fewer than `min_rows` of its lines could take this one)."""
    if block.shape not in (AUTO, NATIVE):
        return None
    python: list[tuple[int, bytes, Any]] = []
    candidates: list[tuple[int, bytes, dict[str, Any]]] = []
    lines = 0
    for number, data in block_lines(block):
        lines += 1
        try:
            document = jsontext.loads(data)
        except RecursionError:
            python.append((number, data, _UNPARSED))
            continue
        except ValueError:
            return None  # not JSON: EKS export lines are judged per block by `block_records`
        if (
            type(document) is dict
            and document.get("kind", "Event") == "Event"
            and None not in document.values()
            and plain_event(document)
            and native_event(document, block.shape)
        ):
            candidates.append((number, data, document))
        else:
            python.append((number, data, document))
    if not candidates:
        return Split(None, [], python, lines)
    texts = pa.array([data for _, data, _ in candidates], type=pa.binary())
    try:
        texts = texts.cast(pa.string())
        suspicious = pc.match_substring_regex(pc.ascii_lower(texts), _PYTHON_TEXT).to_pylist()
    except pa.ArrowInvalid:  # not UTF-8 somewhere: the Python path says where
        suspicious = [True] * len(candidates)
    python.extend((n, d, doc) for (n, d, doc), bad in zip(candidates, suspicious, strict=True) if bad)
    plain: list[tuple[int, bytes, dict[str, Any]]] = []
    computed: list[tuple[str | None, bytes]] = []
    for (n, d, doc), bad in zip(candidates, suspicious, strict=True):
        if bad:
            continue
        try:
            computed.append(_from_event(doc))
        except (RecursionError, ValueError, TypeError):  # too deep to serialise: the Python path's reason
            python.append((n, d, doc))
            continue
        plain.append((n, d, doc))
    if len(plain) < max(min_rows, 1):
        return None
    import duckdb

    try:
        mapped = _map(b"\n".join(data for _, data, _ in plain))
    except duckdb.Error:  # e.g. a duplicate key DuckDB's reader refuses: the Python path is the reference
        return None
    # The SQL's verdict, and the requestURI (parsed: escapes undone) that redaction would not change.
    uris = pc.ascii_lower(mapped.column("request_uri").fill_null(""))
    may_redact = pc.match_substring_regex(uris, MAY_REDACT_URI).to_pylist()
    ok = [good and not bad for good, bad in zip(mapped.column("ok").to_pylist(), may_redact, strict=True)]
    kept = [c for c, good in zip(plain, ok, strict=True) if good]
    kept_computed = [c for c, good in zip(computed, ok, strict=True) if good]
    python.extend((n, d, doc) for (n, d, doc), good in zip(plain, ok, strict=True) if not good)
    python.sort(key=lambda item: item[0])
    if not kept:
        return Split(None, [], python, lines)
    table = mapped.filter(pa.array(ok, type=pa.bool_())) if len(kept) < len(plain) else mapped
    return Split(_rows(table, kept_computed), [n for n, _, _ in kept], python, lines)


_UNPARSED = object()  # a line the Python path must parse again (to give its own reason)


def is_unparsed(document: Any) -> bool:
    """True for a line `columnar_block` could not parse (nested too deeply): the Python path says why."""
    return document is _UNPARSED


def _map(text: bytes) -> pa.Table:
    """Run the mapping over NDJSON `text` (DuckDB's reader takes a file: a private one in memory-backed /dev/shm
    when there is one)."""
    folder = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.NamedTemporaryFile(dir=folder, prefix="kanalytics-", suffix=".jsonl") as handle:
        handle.write(text)
        handle.flush()
        return _duckdb().sql(_SQL, params={"path": handle.name}).to_arrow_table()


def _from_event(event: dict[str, Any]) -> tuple[str | None, bytes]:
    """What the columns cannot give: `extra` (unknown top-level keys, verbatim) and the content hash."""
    known = _KNOWN
    extra = None
    if not known.issuperset(event):
        extra = jsontext.dumps({"fields": {k: v for k, v in event.items() if k not in known}})
    return extra, event_hash(event)


def _rows(mapped: pa.Table, computed: list[tuple[str | None, bytes]]) -> pa.Table:
    """The archive columns of the mapped rows, with `extra` and the hash computed from each event."""
    extras = [extra for extra, _ in computed]
    hashes = [digest for _, digest in computed]
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for field in ARROW_SCHEMA:
        if field.name == "extra":
            arrays.append(pa.array(extras, type=pa.string()))
        elif field.name == "event_hash":
            arrays.append(pa.array(hashes, type=field.type))
        elif field.type == _TIMESTAMP:
            arrays.append(mapped.column(field.name).cast(pa.int64()).cast(field.type))
        else:
            arrays.append(mapped.column(field.name).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


_KNOWN = frozenset(_KEYS)
