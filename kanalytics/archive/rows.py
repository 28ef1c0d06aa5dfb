"""Event <-> row: the exact, reversible mapping between an audit Event and one archive row.

Typed columns take what has the expected type; anything else (unknown keys, unexpected types, explicit
nulls, sub-microsecond timestamps, legacy keys) goes into the `extra` column so that `row_to_event`
rebuilds an Event equal to the input as a JSON object. `extra` holds up to four sections:
  fields: unknown top-level keys, verbatim       raw: known keys whose value did not fit its column
  nested: leftover keys of user / impersonatedUser / objectRef      absent: timestamps derived, not given
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from kanalytics.archive import jsontext
from kanalytics.archive.schema import COLUMN_NAMES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


class NotAnEvent(ValueError):
    """The object is not an audit Event this archive can hold; the message is the quarantine reason."""


def parse_timestamp(value: str) -> tuple[int, bool]:
    """RFC 3339 -> (microseconds since the epoch, exact). `exact` is False when digits below 1 µs were cut."""
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
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds, exact


def format_timestamp(micros: int) -> str:
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: dict[str, Any]) -> bytes:
    """The dedupe identity: BLAKE2b-128 over the canonical JSON (sorted keys) of the redacted event."""
    return hashlib.blake2b(jsontext.dumps_bytes(event, sort_keys=True), digest_size=16).digest()


def event_to_row(event: Any) -> dict[str, Any]:
    """Map one (already redacted) Event to a row dict of the archive schema; raise NotAnEvent if it is not one."""
    if not isinstance(event, dict):
        raise NotAnEvent(f"not an audit event: a JSON {type(event).__name__}, not an object")
    kind = event.get("kind", "Event")
    if kind != "Event":
        raise NotAnEvent(f"not an audit event: kind is {kind!r}, expected 'Event'")
    missing = [key for key in REQUIRED if key not in event]
    if missing:
        raise NotAnEvent(f"not an audit event: missing required field(s) {', '.join(missing)}")

    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    fields: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    absent: list[str] = []

    for key, column in _SCALARS:
        if key in event:
            value = event[key]
            if isinstance(value, str):
                row[column] = value
            else:
                raw[key] = value
    if not isinstance(row["audit_id"], str) or not row["audit_id"]:
        raise NotAnEvent("not an audit event: auditID must be a non-empty string")
    if not isinstance(row["stage"], str):
        raise NotAnEvent("not an audit event: stage must be a string")

    for key, spec in _NESTED.items():
        if key not in event:
            continue
        value = event[key]
        if not isinstance(value, dict):
            raw[key] = value
            continue
        leftover = dict(value)
        for sub, column, is_list in spec:
            if sub in leftover:
                item = leftover[sub]
                if is_list:
                    if isinstance(item, list) and all(isinstance(x, str) for x in item):
                        row[column] = item
                        del leftover[sub]
                elif isinstance(item, str):
                    row[column] = item
                    del leftover[sub]
        if key == "user" and "extra" in leftover:
            row["user_extra"] = jsontext.dumps(leftover.pop("extra"))
        if leftover or all(row[column] is None for _, column, _ in spec):
            nested[key] = leftover

    ips = event.get("sourceIPs")
    if "sourceIPs" in event:
        if isinstance(ips, list) and all(isinstance(x, str) for x in ips):
            row["source_ips"] = ips
        else:
            raw["sourceIPs"] = ips

    for key, column in _JSON:
        if key in event:
            row[column] = jsontext.dumps(event[key])
    status = event.get("responseStatus")
    if isinstance(status, dict):
        code = status.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and -(2**31) <= code < 2**31:
            row["response_code"] = code
        if isinstance(status.get("reason"), str):
            row["response_reason"] = status["reason"]
    annotations = event.get("annotations")
    if isinstance(annotations, dict):
        decision = annotations.get("authorization.k8s.io/decision")
        reason = annotations.get("authorization.k8s.io/reason")
        row["authz_decision"] = decision if isinstance(decision, str) else None
        row["authz_reason"] = reason if isinstance(reason, str) else None

    for key, column in _TIMESTAMPS:
        if key not in event:
            continue
        value = event[key]
        try:
            micros, exact = parse_timestamp(value) if isinstance(value, str) else (None, False)
        except ValueError:
            micros, exact = None, False
        row[column] = micros
        if not exact:
            raw[key] = value
    legacy = event.get("timestamp")
    if row["request_ts"] is None or row["stage_ts"] is None:
        # Legacy (v1beta1-era) events carry only `timestamp`; derive both instants from it.
        legacy_micros = None
        if isinstance(legacy, str):
            try:
                legacy_micros, _ = parse_timestamp(legacy)
            except ValueError:
                legacy_micros = None
        for key, column in _TIMESTAMPS:
            if row[column] is None and legacy_micros is not None:
                row[column] = legacy_micros
                if key not in raw:
                    absent.append(key)
    if row["request_ts"] is None:
        raise NotAnEvent(
            "not an audit event: no usable requestReceivedTimestamp (nor legacy `timestamp`) to place it in time"
        )

    for key, value in event.items():
        if key not in _KNOWN:
            fields[key] = value
    extra: dict[str, Any] = {}
    if fields:
        extra["fields"] = fields
    if raw:
        extra["raw"] = raw
    if nested:
        extra["nested"] = nested
    if absent:
        extra["absent"] = absent
    row["extra"] = jsontext.dumps(extra) if extra else None
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
