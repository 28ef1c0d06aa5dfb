"""GKE: Cloud Audit Logs LogEntries for Kubernetes (`protoPayload` an AuditLog) read as native audit Events.

GKE never exposes the API server's Event, so it is rebuilt (format: ../shared/reference/FORMATS.md section 3):
  - verb: methodName's last part (`io.k8s.core.v1.pods.exec.create` -> create; `io.k8s.get` is a
    non-resource request, verb get, no objectRef);
  - objectRef and requestURI: parsed from resourceName the way the API server's RequestInfo parses a path
    (`core` is the empty core group, omitted as the API server omits it; `namespaces/<ns>/status|finalize`
    are namespace subresources); requestURI is the path only (`/api/v1/...`, `/apis/<group>/<version>/...`,
    `/readyz`): GKE keeps no query string;
  - responseStatus.code: the google.rpc code mapped to HTTP as googleapis' rpc/code.proto documents it. OK
    gives 101 for pods exec/attach/portforward, 201 for create, 200 otherwise; any other code also gives
    `status: Failure` and the rpc message. (Falco's converter always infers success.)
  - stage: an entry with `operation.first` only is ResponseStarted, with `operation.last` only is
    ResponseComplete; a whole request in one entry is ResponseComplete, except exec/attach/portforward,
    which are ResponseStarted as in Falco's converter (the API server logs those streams at that stage);
  - level: the least level that explains the bodies present (response: RequestResponse, request only:
    Request, none: Metadata);
  - auditID: `operation.id`, else `insertId`, so that the entries of one operation stay one request;
  - both timestamps: the LogEntry `timestamp` (when the API server logged it), else `receiveTimestamp`
    (when Cloud Logging received it, which Falco uses; it lags and can cross midnight);
  - user.username from principalEmail, sourceIPs [callerIp], userAgent, annotations = the entry's labels.
GKE carries no user groups, uid or extra, no impersonatedUser, objectRef uid or resourceVersion.

Lossless: the Event keeps the entry under `_kanalytics` (an unknown key: the archive keeps it in `extra`),
with the request and response bodies and labels replaced by null because they are stored once, as
requestObject, responseObject and annotations ("moved"). Holding them once is also what keeps redaction
whole: the archive redacts Secret bodies where it knows they are a Secret's (by objectRef), and a second
copy inside `_kanalytics` would escape that rule. `original` puts them back: export gives the LogEntry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from kanalytics.sources.envelope import Unwrapped, clip, cluster_name, kind_of, raw_json

__all__ = ["FORMAT", "RESERVED", "detect", "original", "to_event", "unwrap"]

FORMAT: Final = "gke"
RESERVED: Final = "_kanalytics"  # the Event key that holds what is needed to give the entry back
SERVICE: Final = "k8s.io"
AUDIT_LOG_TYPE: Final = "type.googleapis.com/google.cloud.audit.AuditLog"
CLUSTER_RESOURCE: Final = "k8s_cluster"

# Event key <- path in the LogEntry, for the values stored once, in the Event (see the module docstring).
MOVED: Final[dict[str, tuple[str, ...]]] = {
    "requestObject": ("protoPayload", "request"),
    "responseObject": ("protoPayload", "response"),
    "annotations": ("labels",),
}
# google.rpc.Code -> HTTP status, as the comments of googleapis google/rpc/code.proto give it.
RPC_TO_HTTP: Final[dict[int, int]] = {
    1: 499,  # CANCELLED
    2: 500,  # UNKNOWN
    3: 400,  # INVALID_ARGUMENT
    4: 504,  # DEADLINE_EXCEEDED
    5: 404,  # NOT_FOUND
    6: 409,  # ALREADY_EXISTS
    7: 403,  # PERMISSION_DENIED
    8: 429,  # RESOURCE_EXHAUSTED
    9: 400,  # FAILED_PRECONDITION
    10: 409,  # ABORTED
    11: 400,  # OUT_OF_RANGE
    12: 501,  # UNIMPLEMENTED
    13: 500,  # INTERNAL
    14: 503,  # UNAVAILABLE
    15: 500,  # DATA_LOSS
    16: 401,  # UNAUTHENTICATED
}
_UNKNOWN_RPC_HTTP = 500  # a code outside google.rpc.Code reads as UNKNOWN
_STREAMING = frozenset({"exec", "attach", "portforward"})  # pods subresources that upgrade the connection
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})  # as in the API server's RequestInfo
_RESOURCE_NAME_FORM = "<group>/<version>/[namespaces/<namespace>/]<resource>[/<name>[/<subresource>]]"
_MISSING: Any = object()


class _Judged(Exception):
    """An entry that is not archived: `skipped` when it is deliberately not an audit record, else a problem."""

    def __init__(self, reason: str, *, skipped: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skipped = skipped


# -- detection --------------------------------------------------------------------------------------------
def detect(document: Any) -> bool:
    """True for a LogEntry of Cloud Audit Logs or of a k8s_cluster resource, or an array starting with one."""
    if isinstance(document, list):
        return bool(document) and isinstance(document[0], dict) and _is_log_entry(document[0])
    return isinstance(document, dict) and _is_log_entry(document)


def _is_log_entry(entry: dict[str, Any]) -> bool:
    payload = entry.get("protoPayload")
    if isinstance(payload, dict) and (
        payload.get("serviceName") == SERVICE or payload.get("@type") == AUDIT_LOG_TYPE
    ):
        return True
    resource = entry.get("resource")
    if isinstance(resource, dict) and resource.get("type") == CLUSTER_RESOURCE:
        return True
    log_name = entry.get("logName")
    return isinstance(log_name, str) and "/logs/cloudaudit.googleapis.com" in log_name


# -- unwrapping -------------------------------------------------------------------------------------------
def unwrap(document: Any) -> Iterator[Unwrapped]:
    """One Unwrapped per LogEntry of `document` (an entry, or an array as `gcloud logging read` prints).

    Never raises for any parsed JSON: what cannot be read is a problem naming the field and what it held.
    The Events share objects (the bodies, the labels) with `document`.
    """
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield _judge(item, f" (array item {index})")
    else:
        yield _judge(document, "")


def _judge(entry: Any, where: str) -> Unwrapped:
    if not isinstance(entry, dict):
        return Unwrapped(
            problem=f"GKE LogEntry expected, got a JSON {kind_of(entry)}{where}", raw=raw_json(entry)
        )
    resource = entry.get("resource")
    labels = resource.get("labels") if isinstance(resource, dict) else None
    name = labels.get("cluster_name") if isinstance(labels, dict) else None
    cluster = cluster_name(name) if isinstance(name, str) else None
    try:
        event = to_event(entry)
    except _Judged as judged:
        if judged.skipped:
            return Unwrapped(skipped=judged.reason + where, cluster=cluster)
        return Unwrapped(problem=judged.reason + where, raw=raw_json(entry), cluster=cluster)
    return Unwrapped(event=event, cluster=cluster)


def to_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The native Event for one LogEntry; raises _Judged (a skip or a problem, with the reason) when none."""
    payload = _field(entry, ("protoPayload",), dict)
    if payload is None:
        for other in ("jsonPayload", "textPayload"):
            if other in entry:
                raise _Judged(
                    f"GKE LogEntry with {other} (log {clip(_log_name(entry))}): not a Kubernetes audit log",
                    skipped=True,
                )
        raise _Judged("GKE LogEntry without protoPayload")
    payload_type = _field(entry, ("protoPayload", "@type"), str)
    if payload_type is not None and payload_type != AUDIT_LOG_TYPE:
        raise _Judged(
            f"GKE LogEntry with protoPayload of type {clip(payload_type)}: not an audit log", skipped=True
        )
    service = _field(entry, ("protoPayload", "serviceName"), str)
    if service is None:
        raise _Judged("GKE AuditLog without serviceName: cannot tell whether it is a Kubernetes audit log")
    if service != SERVICE:
        raise _Judged(f"GKE LogEntry for service {clip(service)}: not a Kubernetes audit log", skipped=True)

    method = _required(entry, ("protoPayload", "methodName"), str)
    method_parts = method.split(".")
    if len(method_parts) < 3 or method_parts[:2] != ["io", "k8s"] or "" in method_parts:
        raise _Judged(
            f"GKE AuditLog methodName {clip(repr(method))} is not io.k8s.[<group>.<version>.<resource>.]<verb>"
        )
    verb = method_parts[-1]
    resource_name = _required(entry, ("protoPayload", "resourceName"), str)
    derived = ["auditID", "stage", "level", "requestURI"]
    object_ref: dict[str, str] | None = None
    if len(method_parts) == 3:  # io.k8s.<verb>: a non-resource request (/readyz, /version, /apis, ...)
        request_uri = resource_name if resource_name.startswith("/") else "/" + resource_name
    else:
        object_ref, request_uri = _parse_resource_name(resource_name)
        derived.append("objectRef")
    streaming = (
        object_ref is not None
        and object_ref.get("resource") == "pods"
        and object_ref.get("subresource") in _STREAMING
    )

    operation_id = _field(entry, ("operation", "id"), str)
    insert_id = _field(entry, ("insertId",), str)
    audit_id = operation_id or insert_id
    if not audit_id:
        raise _Judged("GKE LogEntry without operation.id or insertId: nothing to identify the request by")
    first = _field(entry, ("operation", "first"), bool)
    last = _field(entry, ("operation", "last"), bool)
    if first and not last:
        stage = "ResponseStarted"
    elif last and not first:
        stage = "ResponseComplete"
    else:
        stage = "ResponseStarted" if streaming else "ResponseComplete"

    logged, received = _field(entry, ("timestamp",), str), _field(entry, ("receiveTimestamp",), str)
    timestamp = logged or received
    if not timestamp:
        raise _Judged("GKE LogEntry without timestamp or receiveTimestamp: cannot place it in time")
    principal = _field(entry, ("protoPayload", "authenticationInfo", "principalEmail"), str)
    caller_ip = _field(entry, ("protoPayload", "requestMetadata", "callerIp"), str)
    user_agent = _field(entry, ("protoPayload", "requestMetadata", "callerSuppliedUserAgent"), str)
    request = _field(entry, MOVED["requestObject"], dict)
    response = _field(entry, MOVED["responseObject"], dict)
    labels = _field(entry, MOVED["annotations"], dict)
    # Read elsewhere (the cluster by _judge) or kept in the entry only, but typed as published all the same.
    _field(entry, ("resource", "labels", "cluster_name"), str)
    _field(entry, ("protoPayload", "authorizationInfo"), list)
    level = "RequestResponse" if response is not None else "Request" if request is not None else "Metadata"

    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id,
        "stage": stage,
        "requestURI": request_uri,
        "verb": verb,
        "user": {"username": principal} if principal is not None else {},
    }
    if caller_ip is not None:
        event["sourceIPs"] = [caller_ip]
    if user_agent is not None:
        event["userAgent"] = user_agent
    if object_ref is not None:
        event["objectRef"] = object_ref
    event["responseStatus"] = _response_status(entry, verb, streaming)
    derived.append("responseStatus.code")
    moved = {"requestObject": request, "responseObject": response, "annotations": labels}
    for key in ("requestObject", "responseObject"):
        if moved[key] is not None:
            event[key] = moved[key]
    event["requestReceivedTimestamp"] = timestamp
    event["stageTimestamp"] = timestamp
    derived += ["requestReceivedTimestamp", "stageTimestamp"]
    if labels is not None:
        event["annotations"] = labels
    present = [key for key, value in moved.items() if value is not None]
    event[RESERVED] = {
        "source": FORMAT,
        "entry": _without(entry, present),
        "moved": present,
        "derived": derived,
    }
    return event


def _parse_resource_name(resource_name: str) -> tuple[dict[str, str], str]:
    """objectRef and request path for a resourceName, split the way the API server splits a request path."""
    parts = resource_name.split("/")
    if parts[0] == "apis":  # already a path: apis/<group>/<version>/...
        parts = parts[1:]
    elif parts[0] == "api":  # api/<version>/...: the core group
        parts = ["core", *parts[1:]]
    if len(parts) < 3 or "" in parts[:3]:
        raise _Judged(f"GKE AuditLog resourceName {clip(repr(resource_name))} is not {_RESOURCE_NAME_FORM}")
    group, version, rest = parts[0], parts[1], parts[2:]
    ref: dict[str, str] = {}
    if rest[0] == "namespaces" and len(rest) > 1:
        ref["namespace"] = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    names = ("resource", "name", "subresource")
    for key, value in zip(names, rest, strict=False):
        if not value:
            raise _Judged(f"GKE AuditLog resourceName {clip(repr(resource_name))} has an empty {key}")
        ref[key] = value
    ordered: dict[str, str] = {key: ref[key] for key in ("resource", "namespace", "name") if key in ref}
    if group != "core":
        ordered["apiGroup"] = group
    ordered["apiVersion"] = version
    if "subresource" in ref:
        ordered["subresource"] = ref["subresource"]
    prefix = f"/api/{version}" if group == "core" else f"/apis/{group}/{version}"
    return ordered, prefix + "/" + "/".join(parts[2:])


def _response_status(entry: dict[str, Any], verb: str, streaming: bool) -> dict[str, Any]:
    code = _field(entry, ("protoPayload", "status", "code"), int)
    message = _field(entry, ("protoPayload", "status", "message"), str)
    if not code:  # 0 (OK), or omitted as proto3 JSON omits defaults
        http = 101 if streaming else 201 if verb == "create" else 200
        status: dict[str, Any] = {"code": http}
    else:
        status = {"code": RPC_TO_HTTP.get(code, _UNKNOWN_RPC_HTTP), "status": "Failure"}
    if message is not None:
        status["message"] = message
    return status


# -- giving the entry back --------------------------------------------------------------------------------
def original(event: dict[str, Any]) -> dict[str, Any] | None:
    """The LogEntry an Event was read from (for export), or None when the Event did not come from GKE.

    The moved values are taken from the Event as it is now, so what redaction replaced stays replaced.
    """
    meta = event.get(RESERVED)
    if not isinstance(meta, dict) or meta.get("source") != FORMAT or not isinstance(meta.get("entry"), dict):
        return None
    moved = meta.get("moved")
    entry: dict[str, Any] = dict(meta["entry"])
    for key in moved if isinstance(moved, list) else ():
        path = MOVED.get(key) if isinstance(key, str) else None
        if path is None or key not in event:
            continue
        parent = entry
        for step in path[:-1]:
            child = parent.get(step)
            if not isinstance(child, dict):
                break
            parent[step] = parent = dict(child)
        else:
            parent[path[-1]] = event[key]
    return entry


def _without(entry: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A copy of `entry` with the values at MOVED[key] set to null (in place, so the key order is kept)."""
    copy = dict(entry)
    for key in keys:
        path = MOVED[key]
        parent = copy
        for step in path[:-1]:
            parent[step] = parent = dict(parent[step])
        parent[path[-1]] = None
    return copy


# -- typed access -----------------------------------------------------------------------------------------
def _field(entry: dict[str, Any], path: tuple[str, ...], kind: type) -> Any:
    """The value at `path`, None when absent; a problem when it, or an object on the way, has another type.

    Exact type tests: parsed JSON holds exactly dict, list, str, int, float, bool (so a boolean is no integer).
    """
    value: Any = entry
    last = len(path) - 1
    for depth, step in enumerate(path):
        value = value.get(step, _MISSING)
        if value is _MISSING:
            return None
        expected = kind if depth == last else dict
        if type(value) is not expected:
            raise _Judged(
                f"GKE LogEntry field {'.'.join(path[: depth + 1])} is a JSON {kind_of(value)}, "
                f"expected {_JSON_NAMES[expected]}"
            )
    return value


def _required(entry: dict[str, Any], path: tuple[str, ...], kind: type) -> Any:
    value = _field(entry, path, kind)
    if value is None or value == "":
        raise _Judged(f"GKE LogEntry without {'.'.join(path)}")
    return value


_JSON_NAMES: Final[dict[type, str]] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    bool: "a boolean",
}


def _log_name(entry: dict[str, Any]) -> str:
    name = entry.get("logName")
    return name if isinstance(name, str) else "unnamed"
