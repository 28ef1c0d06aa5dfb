"""Event primitives: the audit policy, timestamps, annotations and the one function that builds an Event."""

from __future__ import annotations

import time
from typing import Any

from kanalytics.synth.cluster import User
from kanalytics.vocabulary import LEVEL_ORDER

Event = dict[str, Any]
HOUR_US = 3_600_000_000
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# Writes to these (group, resource) pairs are logged at RequestResponse: workloads, RBAC, services,
# admission and network policy, the objects whose bodies detections read.
_BODY_RESOURCES = frozenset(
    {
        ("", "pods"), ("", "services"), ("", "serviceaccounts"), ("", "namespaces"),
        ("apps", "deployments"), ("apps", "daemonsets"), ("apps", "statefulsets"), ("apps", "replicasets"),
        ("batch", "jobs"), ("batch", "cronjobs"),
        ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("networking.k8s.io", "networkpolicies"), ("networking.k8s.io", "ingresses"),
    }
)  # fmt: skip
_NOISY_STATUS = frozenset({"status", "binding"})

POLICY_YAML = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None            # health checks and metrics scrapes
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/metrics"]
  - level: Metadata        # never bodies for secrets, config maps or token reviews
    resources: [{group: "", resources: ["secrets", "configmaps"]},
                {group: "authentication.k8s.io", resources: ["tokenreviews"]}]
  - level: Metadata        # leases and status writes are frequent and uninteresting in body
    resources: [{group: "coordination.k8s.io", resources: ["leases"]},
                {group: "", resources: ["pods/status", "nodes/status", "pods/binding"]}]
  - level: RequestResponse # writes to workloads, RBAC, services, admission and network policy
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
    resources: [{group: ""}, {group: "apps"}, {group: "batch"}, {group: "rbac.authorization.k8s.io"},
                {group: "admissionregistration.k8s.io"}, {group: "networking.k8s.io"}]
  - level: Metadata        # everything else, reads included
"""


def policy_level(verb: str, group: str, resource: str, subresource: str = "") -> str:
    """The level POLICY_YAML assigns (health checks never reach here: they are not generated)."""
    if resource in ("secrets", "configmaps", "tokenreviews", "leases"):
        return "Metadata"
    if subresource in _NOISY_STATUS:
        return "Metadata"
    if verb in WRITE_VERBS and (group, resource) in _BODY_RESOURCES:
        return "RequestResponse"
    return "Metadata"


_minute_cache: dict[int, str] = {}


def fmt_ts(us: int) -> str:
    """RFC 3339 UTC with microseconds; the minute prefix is cached because formatting it dominates."""
    minute, rem = divmod(us, 60_000_000)
    prefix = _minute_cache.get(minute)
    if prefix is None:
        if len(_minute_cache) > 20_000:
            _minute_cache.clear()
        prefix = _minute_cache[minute] = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
    sec, frac = divmod(rem, 1_000_000)
    return f"{prefix}{sec:02d}.{frac:06d}Z"


def allow(reason: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    annotations = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": reason}
    if extra:
        annotations.update(extra)
    return annotations


def rbac_reason(binding: str, role: str, subject: str, *, cluster: bool = True, namespace: str = "") -> str:
    kind = "ClusterRoleBinding" if cluster else "RoleBinding"
    where = "" if cluster else f' in namespace "{namespace}"'
    role_kind = "ClusterRole" if cluster or role.startswith(("system:", "admin", "edit", "view")) else "Role"
    return f'RBAC: allowed by {kind} "{binding}" of {role_kind} "{role}" to {subject}{where}'


FORBID = {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
OK = {"metadata": {}, "code": 200}
CREATED = {"metadata": {}, "code": 201}
SWITCHING = {"metadata": {}, "code": 101}


def failure(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def forbidden(username: str, verb: str, resource: str, group: str, namespace: str) -> dict[str, Any]:
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    res = f"{resource}" if not group else f"{resource}.{group}"
    msg = f'{res} is forbidden: User "{username}" cannot {verb} resource "{resource}" in API group "{group}" {scope}'
    return failure(403, "Forbidden", msg)


def object_ref(
    resource: str, namespace: str = "", name: str = "", group: str = "", version: str = "v1", sub: str = ""
) -> dict[str, str]:
    ref = {"resource": resource}
    if namespace:
        ref["namespace"] = namespace
    if name:
        ref["name"] = name
    ref["apiGroup"] = group
    ref["apiVersion"] = version
    if sub:
        ref["subresource"] = sub
    if not group:
        del ref["apiGroup"]  # the API server omits the empty core group
    return ref


def resource_path(
    resource: str, namespace: str = "", name: str = "", group: str = "", version: str = "v1"
) -> str:
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{resource}"
    return f"{base}/{name}" if name else base


def event(
    *,
    level: str,
    audit_id: str,
    stage: str,
    uri: str,
    verb: str,
    user: User,
    ips: list[str],
    ua: str,
    ref: dict[str, str] | None,
    status: dict[str, Any],
    t_req: int,
    t_stage: int,
    annotations: dict[str, str],
    request_object: Any = None,
    response_object: Any = None,
) -> Event:
    """One `audit.k8s.io/v1` Event in the API server's key order; shared sub-objects are never mutated."""
    ev: Event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id,
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": user,
        "sourceIPs": ips,
        "userAgent": ua,
    }
    if ref is not None:
        ev["objectRef"] = ref
    ev["responseStatus"] = status
    if request_object is not None and LEVEL_ORDER.get(level, 0) >= LEVEL_ORDER["Request"]:
        ev["requestObject"] = request_object
    if response_object is not None and level == "RequestResponse":
        ev["responseObject"] = response_object
    ev["requestReceivedTimestamp"] = fmt_ts(t_req)
    ev["stageTimestamp"] = fmt_ts(t_stage)
    ev["annotations"] = annotations
    return ev
