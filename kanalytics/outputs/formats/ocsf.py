"""One audit Event as an OCSF API Activity record (class 6003), one Finding as a Detection Finding (class 2004).

The target is OCSF 1.1.0, the version Amazon Security Lake's source-version-2 tables (EKS audit logs included)
use; docs/exports/ocsf.md has the mapping table and the reasons behind each choice. Records are plain dicts
ready for `json.dumps`; attributes whose value the Event lacks are left out rather than written as null.
The bundled schema subset in `ocsf_schema/` is what the tests validate these records against.

Three choices worth knowing when reading the records:
- `src_endpoint.ip` is the last of `sourceIPs`, the address the API server's connection came from (as
  `Finding.source_ip`); the earlier ones come from X-Forwarded-For / X-Real-Ip headers, which any client
  can set, and go to `src_endpoint.intermediate_ips`.
- The cluster is the API server the request was sent to: `dst_endpoint.name`.
- `cloud` (required by OCSF's `cloud` profile) is written only when the caller passes it, e.g. the AWS
  account and region of a Security Lake custom source; a cluster's events say nothing about its cloud.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from kanalytics._version import __version__
from kanalytics.archive.rows import parse_timestamp
from kanalytics.catalog.findings import json_safe

if TYPE_CHECKING:
    from kanalytics.catalog.model import Finding

OCSF_VERSION: Final = "1.1.0"
PRODUCT: Final[dict[str, str]] = {"name": "kanalytics", "vendor_name": "kanalytics", "version": __version__}

API_ACTIVITY_UID: Final = 6003  # category 6 Application Activity, class 3
DETECTION_FINDING_UID: Final = 2004  # category 2 Findings, class 4
# The service the API server's requests belong to (api.service.name); the API group is api.group.name.
SERVICE_NAME: Final = "kubernetes"
# What the records say when the Event lacks the one attribute OCSF requires an identity or endpoint to have.
UNKNOWN: Final = "unknown"

ACTIVITY_NAMES: Final[dict[int, str]] = {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"}
# Kubernetes verbs (and the lowercase HTTP methods of non-resource requests) -> API Activity activity_id.
_VERB_ACTIVITY: Final[dict[str, int]] = {
    "create": 1,
    "get": 2, "list": 2, "watch": 2,
    "update": 3, "patch": 3,
    "delete": 4, "deletecollection": 4,
}  # fmt: skip
# The HTTP method behind a verb, from OCSF 1.1.0's http_method enum (it has no PATCH: a patch has none).
_VERB_METHOD: Final[dict[str, str]] = {
    "get": "GET", "list": "GET", "watch": "GET", "create": "POST", "update": "PUT",
    "delete": "DELETE", "deletecollection": "DELETE",
    "post": "POST", "put": "PUT", "head": "HEAD", "options": "OPTIONS",
}  # fmt: skip
_SEVERITY_IDS: Final[dict[str, tuple[int, str]]] = {
    "info": (1, "Informational"), "low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"),
    "critical": (5, "Critical"),
}  # fmt: skip
# analytic.type_id: a detection query is a rule, an anomaly query compares with a baseline.
_ANALYTIC_TYPES: Final[dict[str, tuple[int, str]]] = {"detection": (1, "Rule"), "anomaly": (3, "Statistical")}
# Where an Event's time is read from, first present and valid wins (v1beta1 events also have `timestamp`).
_TIME_KEYS: Final = ("requestReceivedTimestamp", "stageTimestamp", "timestamp")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Event keys the record maps; `unmapped` gets every other top-level key (kind and apiVersion are implied).
_MAPPED_KEYS: Final = frozenset(
    {"kind", "apiVersion", "auditID", "verb", "user", "sourceIPs", "userAgent", "objectRef", "responseStatus",
     "requestURI", "requestReceivedTimestamp", "stageTimestamp", "timestamp", "requestObject", "responseObject"}
)  # fmt: skip


def event_record(
    event: dict[str, Any], cluster: str, *, cloud: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The API Activity record for one audit `event` of `cluster`.

    `cloud`: an OCSF cloud object (at least `provider`) to add with the `cloud` profile, for lakes that want
    it (Security Lake: {"provider": "AWS", "region": ..., "account": {"uid": ...}}).
    """
    verb = _text(event.get("verb")) or ""
    activity_id = _VERB_ACTIVITY.get(verb, 99)
    status = _dict(event.get("responseStatus"))
    code = status.get("code") if isinstance(status.get("code"), int) else None
    received = _epoch_ms(event.get("requestReceivedTimestamp"))
    stage_ms = _epoch_ms(event.get("stageTimestamp"))

    record: dict[str, Any] = {
        **_classification(API_ACTIVITY_UID, "API Activity", 6, "Application Activity", activity_id, verb),
        "severity_id": 1,
        "severity": "Informational",
        **_status(code),
        "time": _event_time(event),
        "start_time": received,
        "end_time": stage_ms,
        "timezone_offset": 0,
        "actor": {"user": _user(_dict(event.get("user")))},
        "api": _api(event, verb, status, code),
        "src_endpoint": _src_endpoint(event.get("sourceIPs")),
        "dst_endpoint": {"name": cluster, "svc_name": "kube-apiserver"},
        "http_request": _http_request(event, verb),
        "resources": _resources(event),
        "metadata": _metadata(event, cloud is not None),
        "cloud": cloud,
        "unmapped": _unmapped(event),
    }
    return _pruned(record)


def _unmapped(event: dict[str, Any]) -> dict[str, Any] | None:
    """Every top-level key the record does not map, and `user.extra` (OCSF 1.1.0's user has no place for it)."""
    unmapped = {k: json_safe(v) for k, v in event.items() if k not in _MAPPED_KEYS}
    extra = _dict(event.get("user")).get("extra")
    if extra:
        unmapped["user"] = {"extra": json_safe(extra)}
    return unmapped or None


def finding_record(finding: Finding, *, created: datetime | None = None) -> dict[str, Any]:
    """The Detection Finding record for one finding. `time` is the finding's `ts` (the audited request's);
    `created`, when given, is the finding_info.created_time and the `time` of a finding without `ts`."""
    when = finding.ts or created
    if when is None:
        raise ValueError(
            f"finding of query {finding.query_id!r} has no time: pass created= to finding_record"
        )
    ms = _datetime_ms(when)
    severity_id, severity = _SEVERITY_IDS[finding.severity]
    analytic_type_id, analytic_type = _ANALYTIC_TYPES.get(finding.kind, (99, finding.kind))
    uid = finding_uid(finding)
    evidence: dict[str, Any] = {
        "actor": {"user": {"name": finding.user_name}} if finding.user_name else None,
        "api": {"operation": finding.verb, "request": {"uid": finding.audit_id} if finding.audit_id else None}
        if finding.verb
        else None,
        "src_endpoint": {"ip": finding.source_ip} if finding.source_ip else None,
        "dst_endpoint": {"name": finding.cluster, "svc_name": "kube-apiserver"} if finding.cluster else None,
        "data": json_safe(finding.evidence) or None,
    }
    record: dict[str, Any] = {
        **_classification(DETECTION_FINDING_UID, "Detection Finding", 2, "Findings", 1, "Create"),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "time": ms,
        "timezone_offset": 0,
        "message": finding.summary,
        "finding_info": {
            "uid": uid,
            "title": finding.title,
            "desc": finding.summary,
            "types": [finding.kind, finding.area],
            "analytic": {
                "uid": finding.query_id,
                "name": finding.title,
                "type_id": analytic_type_id,
                "type": analytic_type,
            },
            "created_time": _datetime_ms(created) if created else None,
            "first_seen_time": ms,
            "last_seen_time": ms,
            "related_events": [{"uid": finding.audit_id}] if finding.audit_id else None,
        },
        "evidences": [_pruned(evidence)] if any(v is not None for v in evidence.values()) else None,
        "resources": _finding_resources(finding),
        "metadata": {"version": OCSF_VERSION, "product": dict(PRODUCT), "uid": uid},
        "unmapped": {
            k: v for k, v in (("score", finding.score), ("baseline", finding.baseline)) if v is not None
        }
        or None,
    }
    return _pruned(record)


def finding_uid(finding: Finding) -> str:
    """A stable id for a finding: the same query, cluster, audited request and time give the same id, so a
    finding exported twice is one finding in the lake."""
    parts = (
        finding.query_id,
        finding.cluster or "",
        finding.audit_id or "",
        finding.ts.isoformat() if finding.ts else "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def activity_id(verb: str) -> int:
    """The API Activity activity_id of a Kubernetes verb: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other."""
    return _VERB_ACTIVITY.get(verb, 99)


def _classification(class_uid: int, class_name: str, category_uid: int, category_name: str, activity: int,
                    other_name: str) -> dict[str, Any]:  # fmt: skip
    name = ACTIVITY_NAMES[activity] if activity != 99 else (other_name or "Other")
    return {
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": category_uid,
        "category_name": category_name,
        "activity_id": activity,
        "activity_name": name,
        "type_uid": class_uid * 100 + activity,
        "type_name": f"{class_name}: {name}",
    }


def _status(code: int | None) -> dict[str, Any]:
    # A RequestReceived stage has no response yet: the outcome is unknown, not a success.
    if code is None:
        return {"status_id": 0, "status": "Unknown"}
    if code < 400:
        return {"status_id": 1, "status": "Success", "status_code": str(code)}
    return {"status_id": 2, "status": "Failure", "status_code": str(code)}


def _user(user: dict[str, Any]) -> dict[str, Any]:
    groups = [{"name": g} for g in user.get("groups") or () if isinstance(g, str)]
    name, uid = _text(user.get("username")), _text(user.get("uid"))
    # OCSF's user needs a name, uid or account: an Event without a user still says who, as "unknown".
    return {"name": name or (None if uid else UNKNOWN), "uid": uid, "groups": groups or None}


def _api(event: dict[str, Any], verb: str, status: dict[str, Any], code: int | None) -> dict[str, Any]:
    ref = _dict(event.get("objectRef"))
    response = {
        "code": code,
        "error": _text(status.get("reason")) if code is not None and code >= 400 else None,
        "message": _text(status.get("message")),
        "data": json_safe(event["responseObject"]) if "responseObject" in event else None,
    }
    request = {
        "uid": _text(event.get("auditID")),
        "data": json_safe(event["requestObject"]) if "requestObject" in event else None,
    }
    return {
        "operation": verb or UNKNOWN,
        "request": request,
        "response": response,
        "service": {"name": SERVICE_NAME},
        "group": {"name": _text(ref.get("apiGroup")) or "core"} if ref.get("resource") else None,
        "version": _text(ref.get("apiVersion")),
    }


def _src_endpoint(source_ips: Any) -> dict[str, Any]:
    ips = [ip for ip in source_ips if isinstance(ip, str) and ip] if isinstance(source_ips, list) else []
    if not ips:
        return {"name": UNKNOWN}
    return {"ip": ips[-1], "intermediate_ips": ips[:-1] or None}


def _http_request(event: dict[str, Any], verb: str) -> dict[str, Any] | None:
    uri = _text(event.get("requestURI"))
    path, _, query = (uri or "").partition("?")
    request = {
        "user_agent": _text(event.get("userAgent")),
        "http_method": _VERB_METHOD.get(verb),
        "url": {"path": path, "query_string": query or None} if path else None,
    }
    return request if any(v is not None for v in request.values()) else None


def _resources(event: dict[str, Any]) -> list[dict[str, Any]] | None:
    ref = _dict(event.get("objectRef"))
    resource = _text(ref.get("resource"))
    if not resource:
        return None
    subresource = _text(ref.get("subresource"))
    name, uid = _text(ref.get("name")), _text(ref.get("uid"))
    if not name and not uid:
        # A collection (list, watch, create): OCSF needs a name or uid, and the collection's REST path is
        # what identifies it.
        uid = (_text(event.get("requestURI")) or "").partition("?")[0] or None
    return [
        {
            "type": f"{resource}/{subresource}" if subresource else resource,
            "name": name,
            "uid": uid,
            "namespace": _text(ref.get("namespace")),
            "group": _text(ref.get("apiGroup")),
            "version": _text(ref.get("apiVersion")),
        }
    ]


def _finding_resources(finding: Finding) -> list[dict[str, Any]] | None:
    if not finding.object_name:
        return None
    return [{"type": finding.resource, "name": finding.object_name, "namespace": finding.namespace}]


def _metadata(event: dict[str, Any], with_cloud: bool) -> dict[str, Any]:
    audit_id, stage = _text(event.get("auditID")), _text(event.get("stage"))
    return {
        "version": OCSF_VERSION,
        "product": {**PRODUCT, "feature": {"name": "Kubernetes audit"}},
        # One Event per request stage: the auditID alone is the request (api.request.uid), not the record.
        "uid": f"{audit_id}/{stage}" if audit_id and stage else audit_id,
        "log_name": _text(event.get("apiVersion")),
        "log_provider": "kube-apiserver",
        "original_time": _text(event.get("requestReceivedTimestamp") or event.get("timestamp")),
        "logged_time": _epoch_ms(event.get("stageTimestamp")),
        "profiles": ["cloud"] if with_cloud else None,
    }


def _event_time(event: dict[str, Any]) -> int | None:
    return next((ms for ms in (_epoch_ms(event.get(k)) for k in _TIME_KEYS) if ms is not None), None)


def _epoch_ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        micros, _ = parse_timestamp(value)
    except ValueError:
        return None
    return micros // 1000


def _datetime_ms(value: datetime) -> int:
    """Milliseconds since the epoch; a naive datetime is UTC (as the archive's timestamps are)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pruned(value: dict[str, Any]) -> dict[str, Any]:
    """`value` without None values, recursively through nested records and lists of them; a record left empty
    goes too. `data` and `unmapped` hold the Event's own values and are kept as they are."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("data", "unmapped"):
            pass
        elif isinstance(item, dict):
            item = _pruned(item)
        elif isinstance(item, list):
            item = [_pruned(i) if isinstance(i, dict) else i for i in item]
        if item is None or (isinstance(item, dict) and not item):
            continue
        out[key] = item
    return out
