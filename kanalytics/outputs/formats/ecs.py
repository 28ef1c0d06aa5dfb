"""One audit Event or one Finding as an Elastic Common Schema document (docs/exports/ecs.md).

An Event comes out the way Elastic's Kubernetes integration (package `kubernetes`, data stream
`kubernetes.audit_logs`) leaves it after its ingest pipeline, so that the integration's dashboards and Elastic's
prebuilt Kubernetes detection rules read it: the Event under `kubernetes.audit` with its own field names, the
annotation keys dedotted as the integration does (`authorization.k8s.io/decision` becomes
`authorization_k8s_io/decision`, the name the rules query), and the ECS fields its pipeline derives (`event.action`,
`user.*`, `user_agent.original`, `source.ip`, `client.ip`, `related.*`). Added on top, from the same Event:
`event.category/type/outcome`, `orchestrator.*` and `container.image.name` from pod specs.

Lossless: apart from the annotation keys, `kubernetes.audit` holds the Event's keys and values as given (nested
values are shared with `event`, not copied). Unlike the integration it keeps `requestObject.metadata` and
`responseObject.metadata`; the integration's pipeline drops them when the document is indexed through it.

A Finding comes out as an ECS alert (`event.kind: alert`) with Elastic's detection-engine severity scores.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from kanalytics.archive.rows import format_timestamp, parse_timestamp
from kanalytics.catalog.findings import json_safe
from kanalytics.errors import InputError

if TYPE_CHECKING:
    from kanalytics.catalog.model import Finding
    from kanalytics.vocabulary import Severity

ECS_VERSION: Final = (
    "8.17.0"  # `event.category: api` needs ECS >= 8.7; the last 8.x reads in 8.x and 9.x stacks
)
EVENT_DATASET: Final = "kubernetes.audit_logs"  # the integration's data stream: its rules filter on it
EVENT_MODULE: Final = "kubernetes"
FINDING_DATASET: Final = "kanalytics.findings"
FINDING_MODULE: Final = "kanalytics"

# Elastic's detection engine maps rule severity to a risk score this way (low 21, medium 47, high 73,
# critical 99); `info` has no Elastic counterpart and scores 0.
SEVERITY_SCORES: Final[dict[Severity, int]] = {"info": 0, "low": 21, "medium": 47, "high": 73, "critical": 99}

# event.type by verb, among the types ECS expects for `event.category: api`; any other verb (impersonate,
# bind, escalate, approve, non-resource post/put/head/options...) is `info`.
VERB_TYPES: Final[dict[str, str]] = {
    "create": "creation",
    "update": "change",
    "patch": "change",
    "delete": "deletion",
    "deletecollection": "deletion",
    "get": "access",
    "list": "access",
    "watch": "access",
}
# The authorizer's decision, as a second event.type: the rules' `authorization_k8s_io/decision` as ECS sees it.
DECISION_TYPES: Final[dict[str, str]] = {"allow": "allowed", "forbid": "denied"}
DECISION_KEY: Final = "authorization.k8s.io/decision"

# Where an Event's request time is read from, first usable wins: legacy (v1beta1-era) Events have only `timestamp`.
_TIME_KEYS: Final = ("requestReceivedTimestamp", "timestamp", "stageTimestamp")
# Where a pod spec sits in a request object: a Pod, a PodTemplate, a workload's template, a CronJob's job template.
_POD_SPEC_PATHS: Final = (
    ("spec",),
    ("template", "spec"),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)
_CONTAINER_LISTS: Final = ("containers", "initContainers", "ephemeralContainers")


def dedot(key: str) -> str:
    """An annotation key as the integration stores it: dots become `_` (Elasticsearch would read a dot as a
    level of object nesting). `authorization.k8s.io/decision` -> `authorization_k8s_io/decision`."""
    return key.replace(".", "_")


def event_document(event: dict[str, Any], cluster: str) -> dict[str, Any]:
    """The ECS document for one audit `event` of `cluster` (docs/exports/ecs.md has the field table).

    Raises InputError when the Event has no usable request time (the archive never holds such an Event).
    """
    audit = dict(event)
    collisions: list[dict[str, Any]] = []
    annotations = event.get("annotations")
    if isinstance(annotations, dict):
        audit["annotations"], collisions = _dedot_annotations(annotations)
    user = _dict(event.get("user"))
    impersonated = _dict(event.get("impersonatedUser"))
    ref = _dict(event.get("objectRef"))
    verb = _text(event.get("verb"))
    ips = _ips(event.get("sourceIPs"))

    doc: dict[str, Any] = {"@timestamp": _event_time(event), "ecs": {"version": ECS_VERSION}}
    types = [VERB_TYPES.get(verb or "", "info")]
    decision = _text(_dict(annotations).get(DECISION_KEY))
    if decision in DECISION_TYPES:
        types.append(DECISION_TYPES[decision])
    _put(doc, "event.kind", "event")
    _put(doc, "event.category", ["api"])
    _put(doc, "event.type", types)
    _put(doc, "event.action", verb)
    _put(doc, "event.outcome", _outcome(event.get("responseStatus")))
    _put(doc, "event.dataset", EVENT_DATASET)
    _put(doc, "event.module", EVENT_MODULE)
    _put(doc, "user.name", _text(user.get("username")))
    _put(doc, "user.id", _text(user.get("uid")))
    _put(doc, "user.effective.name", _text(impersonated.get("username")))
    _put(doc, "user.effective.id", _text(impersonated.get("uid")))
    _put(doc, "user_agent.original", _text(event.get("userAgent")))
    _put(doc, "source.ip", ips)
    _put(doc, "client.ip", ips)
    _put(doc, "related.ip", ips)
    related_users = (
        user.get("uid"),
        user.get("username"),
        impersonated.get("uid"),
        impersonated.get("username"),
    )
    _put(doc, "related.user", _unique(_text(u) for u in related_users))
    _put(doc, "orchestrator.type", "kubernetes")
    _put(doc, "orchestrator.cluster.name", cluster)
    _put(doc, "orchestrator.namespace", _text(ref.get("namespace")))
    _put(doc, "orchestrator.resource.type", _text(ref.get("resource")))
    _put(doc, "orchestrator.resource.name", _text(ref.get("name")))
    _put(doc, "orchestrator.resource.id", _text(ref.get("uid")))
    _put(doc, "orchestrator.api_version", _api_version(ref))
    images = _images(event.get("requestObject"))
    _put(doc, "container.image.name", images[0] if len(images) == 1 else images)
    doc["kubernetes"] = {"audit": audit}
    _put(doc, "kanalytics.annotation_collisions", collisions)
    return doc


def finding_document(finding: Finding) -> dict[str, Any]:
    """The ECS alert document for one finding: the query as `rule.*`, its severity as `event.severity` and
    `event.risk_score` (SEVERITY_SCORES), the summary as `message`, the evidence under `kanalytics.evidence`.

    Without `finding.ts` there is no `@timestamp` (a data stream rejects such a document, visibly, in `_bulk`).
    """
    doc: dict[str, Any] = {}
    if finding.ts is not None:
        doc["@timestamp"] = _format_datetime(finding.ts)
    doc["ecs"] = {"version": ECS_VERSION}
    score = SEVERITY_SCORES[finding.severity]
    _put(doc, "event.kind", "alert")
    _put(doc, "event.severity", score)
    _put(doc, "event.risk_score", score)
    _put(doc, "event.action", finding.verb)
    _put(doc, "event.dataset", FINDING_DATASET)
    _put(doc, "event.module", FINDING_MODULE)
    _put(doc, "rule.id", finding.query_id)
    _put(doc, "rule.name", finding.title)
    _put(doc, "message", finding.summary)
    _put(doc, "labels.kanalytics_area", finding.area)
    _put(doc, "labels.kanalytics_kind", finding.kind)
    _put(doc, "labels.kanalytics_severity", finding.severity)
    _put(doc, "user.name", finding.user_name)
    _put(doc, "source.ip", _ip(finding.source_ip))
    _put(doc, "orchestrator.type", "kubernetes")
    _put(doc, "orchestrator.cluster.name", finding.cluster)
    _put(doc, "orchestrator.namespace", finding.namespace)
    _put(doc, "orchestrator.resource.type", finding.resource)
    _put(doc, "orchestrator.resource.name", finding.object_name)
    _put(doc, "kubernetes.audit.auditID", finding.audit_id)
    _put(doc, "kanalytics.evidence", json_safe(finding.evidence))
    _put(doc, "kanalytics.score", json_safe(finding.score))
    _put(doc, "kanalytics.baseline", finding.baseline)
    return doc


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in nested objects; absent values (None, "", [], {}) are left out, as the integration's
    `ignore_empty_value` does."""
    if value is None or value == "" or value == [] or value == {}:
        return
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(v for v in values if v is not None))


def _dedot_annotations(annotations: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Annotations with dedotted keys. Two keys that dedot alike (`a.b/c`, `a_b/c`) keep the first value; every
    key of such a collision is listed with its value under `kanalytics.annotation_collisions`, so nothing is lost."""
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    collided: dict[str, None] = {}
    for key, value in annotations.items():
        name = dedot(str(key))
        if name in out:
            collided[origin[name]] = None
            collided[key] = None
            continue
        out[name] = value
        origin[name] = key
    return out, [{"key": key, "value": annotations[key]} for key in collided]


def _event_time(event: dict[str, Any]) -> str:
    for key in _TIME_KEYS:
        value = event.get(key)
        if isinstance(value, str):
            try:
                return format_timestamp(parse_timestamp(value)[0])
            except ValueError:
                continue
    raise InputError(
        f"audit event {event.get('auditID')!r} has no usable requestReceivedTimestamp (nor legacy `timestamp`, "
        "nor stageTimestamp): an ECS document needs an @timestamp",
        hint="export Events read from the archive (`kanalytics export`), which always have one",
    )


def _format_datetime(value: datetime) -> str:
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"


def _outcome(status: Any) -> str:
    """success/failure from the response code (< 400 / >= 400); unknown without one (stage RequestReceived, or
    code 0, which the API server means as "not set")."""
    code = status.get("code") if isinstance(status, dict) else None
    if type(code) is not int or code <= 0:
        return "unknown"
    return "failure" if code >= 400 else "success"


def _ip(value: Any) -> str | None:
    """`value` as written if Elasticsearch's `ip` type can hold it (IPv4, or IPv6 without a zone)."""
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return value


def _ips(values: Any) -> list[str]:
    """All of sourceIPs (the client first, then the proxies), as the integration's `convert` to `source.ip` gives
    them; entries that are not addresses are left out (they stay in kubernetes.audit.sourceIPs)."""
    if not isinstance(values, list):
        return []
    return _unique(_ip(v) for v in values)


def _api_version(ref: dict[str, Any]) -> str | None:
    """`apps/v1`, or `v1` for the core group (whose apiGroup is empty)."""
    version = _text(ref.get("apiVersion"))
    group = _text(ref.get("apiGroup"))
    if version is None:
        return None
    return f"{group}/{version}" if group and "/" not in version else version


def _images(obj: Any) -> list[str]:
    """The images of every container, init container and ephemeral container of the first pod spec found in a
    request object (see _POD_SPEC_PATHS), each image once, in spec order."""
    for path in _POD_SPEC_PATHS:
        spec: Any = obj
        for part in path:
            spec = spec.get(part) if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not any(isinstance(spec.get(k), list) for k in _CONTAINER_LISTS):
            continue
        found: list[str | None] = []
        for key in _CONTAINER_LISTS:
            containers = spec.get(key)
            if isinstance(containers, list):
                found += [_text(c.get("image")) for c in containers if isinstance(c, dict)]
        return _unique(found)
    return []
