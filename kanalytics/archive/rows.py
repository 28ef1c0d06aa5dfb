"""Event <-> row: the exact, reversible mapping between an audit Event and one archive row.

Contract for every ingest path (the Python one in convert.py and the columnar one): the stored `event_hash`
of a row is `event_hash(event)` of the redacted Event, with this signature. It is the first 8 bytes of
BLAKE2b-128 over the canonical JSON, so a schema-v1 file's 16-byte hash, cut to 8 bytes, is the same value
and dedupe compares old and new files directly (see `event_hash` for why 64 bits stay safe).

Typed columns take what has the expected type; anything else (unknown keys, unexpected types, explicit
nulls, sub-microsecond timestamps, legacy keys) goes into the `extra` column so that `row_to_event`
rebuilds an Event equal to the input as a JSON object. `extra` holds up to four sections:
  fields: unknown top-level keys, verbatim       raw: known keys whose value did not fit its column
  nested: leftover keys of user / impersonatedUser / objectRef      absent: timestamps derived, not given
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kanalytics.archive.schema import COLUMN_NAMES, HASH_BYTES
from kanalytics.sources import jsontext

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_DATE = date(1970, 1, 1)
# The instants the archive can hold: what datetime (and so every reader of the Parquet files) can represent.
MIN_MICROS = (datetime(1, 1, 1) - _EPOCH_NAIVE) // timedelta(microseconds=1)
MAX_MICROS = (datetime(9999, 12, 31, 23, 59, 59, 999999) - _EPOCH_NAIVE) // timedelta(microseconds=1)

# top-level string fields -> column
_SCALARS = (
    ("auditID", "audit_id"),
    ("stage", "stage"),
    ("level", "level"),
    ("verb", "verb"),
    ("requestURI", "request_uri"),
    ("userAgent", "user_agent"),
)
# nested objects: key -> ((sub-key, column, is_list), ...)
_NESTED: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "user": (("username", "user_name", False), ("uid", "user_uid", False), ("groups", "user_groups", True)),
    "impersonatedUser": (("username", "impersonated_user", False), ("groups", "impersonated_groups", True)),
    "objectRef": (
        ("resource", "resource", False),
        ("subresource", "subresource", False),
        ("namespace", "namespace", False),
        ("name", "object_name", False),
        ("uid", "object_uid", False),
        ("apiGroup", "api_group", False),
        ("apiVersion", "api_version", False),
    ),
}
# top-level values stored as JSON text
_JSON = (
    ("annotations", "annotations"),
    ("requestObject", "request_object"),
    ("responseObject", "response_object"),
    ("responseStatus", "response_status"),
)
_TIMESTAMPS = (("requestReceivedTimestamp", "request_ts"), ("stageTimestamp", "stage_ts"))
_KNOWN = (
    {k for k, _ in _SCALARS}
    | set(_NESTED)
    | {k for k, _ in _JSON}
    | {k for k, _ in _TIMESTAMPS}
    | {"sourceIPs"}
)
REQUIRED = ("auditID", "stage", "verb", "requestURI", "user")
_MISSING = object()


class NotAnEvent(ValueError):
    """The object is not an audit Event this archive can hold; the message is the quarantine reason."""


_RFC3339_MICRO = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z")
_DAY_MICROS: dict[str, int] = {}


def parse_timestamp(value: str) -> tuple[int, bool]:
    """RFC 3339 -> (microseconds since the epoch, exact). `exact` is False when digits below 1 µs were cut."""
    match = _RFC3339_MICRO.fullmatch(value)
    if match is not None:  # the API server's own format: no datetime objects needed
        day = match[1]
        base = _DAY_MICROS.get(day)
        if base is None:
            base = (date.fromisoformat(day) - _EPOCH_DATE).days * 86_400_000_000
            if len(_DAY_MICROS) < 100_000:
                _DAY_MICROS[day] = base
        seconds = int(match[2]) * 3600 + int(match[3]) * 60 + int(match[4])
        if int(match[2]) < 24 and int(match[3]) < 60 and int(match[4]) < 60:
            return base + seconds * 1_000_000 + int(match[5]), True
    text = value.strip()
    exact = True
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        fraction = text[dot + 1 : end]
        if len(fraction) > 6:
            exact = not fraction[6:].strip("0")
            text = text[: dot + 7] + text[end:]
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    offset = parsed.utcoffset()
    if offset is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    # Naive arithmetic: `parsed - _EPOCH` overflows when the UTC instant leaves years 1..9999.
    delta = parsed.replace(tzinfo=None) - _EPOCH_NAIVE - offset
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not MIN_MICROS <= micros <= MAX_MICROS:
        raise ValueError(f"timestamp {value!r} is outside the years 0001-9999 in UTC")
    return micros, exact


def format_timestamp(micros: int) -> str:
    """RFC 3339 in UTC with microseconds and a 4-digit year (strftime's %Y gives `1`, not `0001`)."""
    moment = _EPOCH + timedelta(microseconds=micros)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"


def event_hash(event: dict[str, Any]) -> bytes:
    """The dedupe checksum: the first 8 bytes of BLAKE2b-128 over the canonical JSON (sorted keys) of the
    redacted event (schema v1 stored all 16; `HASH_BYTES` of them are compared).

    Why 64 bits and no content comparison on a match: an event is dropped as a duplicate only when cluster,
    auditID, stage *and* checksum equal an archived event's. An attacker who reuses a legitimate request's
    Audit-ID to hide their own request needs a second preimage of that event's checksum: ~2^64 BLAKE2b
    evaluations over events whose server-set fields (µs timestamps, source IP, response) they do not choose,
    which is out of reach. The birthday bound (2^32) applies only to pairs the attacker fully controls, and the
    content of the first event is only known once the API server logged it, so no pair can be prepared
    offline; each failed online try is kept and counted as a collision, surfaced by the conflict detection.

    Also the one check for NaN and infinity (only events given as Python objects can hold them): orjson
    writes them as `null`, so the archive would silently hold something else than the input.
    """
    canonical = jsontext.dumps_bytes(event, sort_keys=True)
    if b"null" in canonical and jsontext.has_non_finite(event):
        raise ValueError(jsontext.NON_FINITE)
    return hashlib.blake2b(canonical, digest_size=16).digest()[:HASH_BYTES]


_POS = {name: index for index, name in enumerate(COLUMN_NAMES)}
_SCALAR_POS = tuple((key, _POS[column]) for key, column in _SCALARS)
_NESTED_POS = {
    key: tuple((sub, _POS[column], is_list) for sub, column, is_list in spec) for key, spec in _NESTED.items()
}
_JSON_POS = tuple((key, _POS[column]) for key, column in _JSON)
_TS_POS = tuple((key, _POS[column]) for key, column in _TIMESTAMPS)
_WIDTH = len(COLUMN_NAMES)


def _str_list(value: Any) -> bool:
    if type(value) is not list:
        return False
    for item in value:  # noqa: SIM110 (a plain loop is measurably faster than all() over a generator here)
        if type(item) is not str:
            return False
    return True


def event_to_row(event: Any) -> dict[str, Any]:
    """Map one (already redacted) Event to a row dict of the archive schema; raise NotAnEvent if it is not one."""
    return dict(zip(COLUMN_NAMES, event_to_values(event), strict=True))


def event_to_values(event: Any) -> list[Any]:
    """`event_to_row` as a list in column order (the hot path of ingest; `event_hash` is left None)."""
    if type(event) is not dict:
        raise NotAnEvent(f"not an audit event: a JSON {type(event).__name__}, not an object")
    kind = event.get("kind", "Event")
    if kind != "Event":
        raise NotAnEvent(f"not an audit event: kind is {kind!r}, expected 'Event'")
    for key in REQUIRED:
        if key not in event:
            missing = [k for k in REQUIRED if k not in event]
            raise NotAnEvent(f"not an audit event: missing required field(s) {', '.join(missing)}")

    row: list[Any] = [None] * _WIDTH
    raw: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    absent: list[str] = []
    get = event.get

    for key, pos in _SCALAR_POS:
        value = get(key, _MISSING)
        if value is _MISSING:
            continue
        if type(value) is str:
            row[pos] = value
        else:
            raw[key] = value
    audit_id = row[_POS["audit_id"]]
    if not audit_id:
        raise NotAnEvent("not an audit event: auditID must be a non-empty string")
    if row[_POS["stage"]] is None:
        raise NotAnEvent("not an audit event: stage must be a string")

    for key, spec in _NESTED_POS.items():
        value = get(key, _MISSING)
        if value is _MISSING:
            continue
        if type(value) is not dict:
            raw[key] = value
            continue
        leftover = dict(value)
        captured = False
        for sub, pos, is_list in spec:
            item = leftover.get(sub, _MISSING)
            if item is _MISSING:
                continue
            if (is_list and _str_list(item)) or (not is_list and type(item) is str):
                row[pos] = item
                del leftover[sub]
                captured = True
        if key == "user" and "extra" in leftover:
            row[_POS["user_extra"]] = jsontext.dumps(leftover.pop("extra"))
            captured = True
        if leftover or not captured:
            nested[key] = leftover

    ips = get("sourceIPs", _MISSING)
    if ips is not _MISSING:
        if _str_list(ips):
            row[_POS["source_ips"]] = ips
        else:
            raw["sourceIPs"] = ips

    for key, pos in _JSON_POS:
        value = get(key, _MISSING)
        if value is not _MISSING:
            row[pos] = jsontext.dumps(value)
    status = get("responseStatus")
    if type(status) is dict:
        code = status.get("code")
        if type(code) is int and -(2**31) <= code < 2**31:
            row[_POS["response_code"]] = code
        reason = status.get("reason")
        if type(reason) is str:
            row[_POS["response_reason"]] = reason
    annotations = get("annotations")
    if type(annotations) is dict:
        decision = annotations.get("authorization.k8s.io/decision")
        reason = annotations.get("authorization.k8s.io/reason")
        row[_POS["authz_decision"]] = decision if type(decision) is str else None
        row[_POS["authz_reason"]] = reason if type(reason) is str else None

    unusable = ""
    for key, pos in _TS_POS:
        value = get(key, _MISSING)
        if value is _MISSING:
            continue
        micros: int | None = None
        exact = False
        if type(value) is str:
            try:
                micros, exact = parse_timestamp(value)
            except ValueError as exc:
                micros = None
                if key == "requestReceivedTimestamp":
                    unusable = f" ({exc})"
        row[pos] = micros
        if not exact:
            raw[key] = value
    request_pos, stage_pos = _POS["request_ts"], _POS["stage_ts"]
    if row[request_pos] is None or row[stage_pos] is None:
        # Legacy (v1beta1-era) events carry only `timestamp`; derive both instants from it.
        legacy = get("timestamp")
        legacy_micros = None
        if type(legacy) is str:
            try:
                legacy_micros, _ = parse_timestamp(legacy)
            except ValueError:
                legacy_micros = None
        for key, pos in _TS_POS:
            if row[pos] is None and legacy_micros is not None:
                row[pos] = legacy_micros
                if key not in raw:
                    absent.append(key)
    if row[request_pos] is None:
        raise NotAnEvent(
            "not an audit event: no usable requestReceivedTimestamp (nor legacy `timestamp`) to place it in "
            f"time{unusable}"
        )

    extra: dict[str, Any] = {}
    if not _KNOWN.issuperset(event):
        fields = {key: value for key, value in event.items() if key not in _KNOWN}
        if fields:
            extra["fields"] = fields
    if raw:
        extra["raw"] = raw
    if nested:
        extra["nested"] = nested
    if absent:
        extra["absent"] = absent
    if extra:
        row[_POS["extra"]] = jsontext.dumps(extra)
    return row


def row_to_event(row: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the Event from a row (timestamps as µs integers or datetimes)."""
    extra: dict[str, Any] = jsontext.loads(row["extra"].encode()) if row.get("extra") else {}
    raw: dict[str, Any] = extra.get("raw", {})
    nested: dict[str, Any] = extra.get("nested", {})
    absent = set(extra.get("absent", ()))
    event: dict[str, Any] = dict(extra.get("fields", {}))

    for key, column in _SCALARS:
        if row.get(column) is not None:
            event[key] = row[column]
    for key, spec in _NESTED.items():
        parts = {sub: row[column] for sub, column, _ in spec if row.get(column) is not None}
        if key == "user" and row.get("user_extra") is not None:
            parts["extra"] = jsontext.loads(row["user_extra"].encode())
        if parts or key in nested:
            parts.update(nested.get(key, {}))
            event[key] = parts
    if row.get("source_ips") is not None:
        event["sourceIPs"] = list(row["source_ips"])
    for key, column in _JSON:
        if row.get(column) is not None:
            event[key] = jsontext.loads(row[column].encode())
    for key, column in _TIMESTAMPS:
        value = row.get(column)
        if value is not None and key not in absent:
            if isinstance(value, datetime):
                delta = value - _EPOCH
                value = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
            event[key] = format_timestamp(value)
    event.update(raw)
    return event
