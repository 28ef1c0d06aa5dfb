"""Hand-built audit Events for the report tests and the metric query cases (small, deterministic)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

Event = dict[str, Any]


def ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event(
    when: datetime,
    *,
    n: int,
    user: str = "alice@example.com",
    groups: list[str] | None = None,
    verb: str = "get",
    resource: str | None = "pods",
    namespace: str | None = "default",
    name: str | None = "web-1",
    subresource: str | None = None,
    code: int = 200,
    ip: str = "10.0.1.15",
    agent: str = "kubectl/v1.31.0 (linux/amd64) kubernetes/abc",
    level: str = "Metadata",
    group: str = "",
    uri: str | None = None,
    request_object: dict[str, Any] | None = None,
    impersonate: str | None = None,
) -> Event:
    """One ResponseComplete Event; `n` makes the auditID unique."""
    ev: Event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": f"00000000-0000-4000-8000-{n:012d}",
        "stage": "ResponseComplete",
        "requestURI": uri or f"/api/v1/namespaces/{namespace}/{resource}/{name or ''}",
        "verb": verb,
        "user": {"username": user, "groups": groups if groups is not None else ["system:authenticated"]},
        "sourceIPs": [ip],
        "userAgent": agent,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": ts(when),
        "stageTimestamp": ts(when + timedelta(milliseconds=5)),
        "annotations": {
            "authorization.k8s.io/decision": "forbid" if code == 403 else "allow",
            "authorization.k8s.io/reason": "",
        },
    }
    if resource:
        ref: dict[str, Any] = {"resource": resource, "apiGroup": group, "apiVersion": "v1"}
        if namespace:
            ref["namespace"] = namespace
        if name:
            ref["name"] = name
        if subresource:
            ref["subresource"] = subresource
        ev["objectRef"] = ref
    if request_object is not None:
        ev["requestObject"] = request_object
    if impersonate:
        ev["impersonatedUser"] = {"username": impersonate, "groups": ["system:authenticated"]}
    return ev


def mixed_day(day: datetime, start_n: int = 1, *, per_hour: int = 2) -> list[Event]:
    """A day of ordinary traffic from every identity type, every hour, plus one of each interesting kind."""
    out: list[Event] = []
    n = start_n
    for hour in range(24):
        t = day + timedelta(hours=hour, minutes=7)
        for k in range(per_hour):
            out.append(
                event(
                    t + timedelta(seconds=k),
                    n=n,
                    user="system:node:node-1",
                    verb="update",
                    resource="leases",
                    namespace="kube-node-lease",
                    name="node-1",
                    ip="10.0.0.11",
                )
            )
            n += 1
        out.append(
            event(
                t,
                n=n,
                user="system:serviceaccount:kube-system:replicaset-controller",
                verb="list",
                resource="pods",
                name=None,
                ip="10.0.0.2",
            )
        )
        n += 1
        out.append(
            event(
                t, n=n, user="system:kube-scheduler", verb="watch", resource="pods", name=None, ip="10.0.0.3"
            )
        )
        n += 1
    t = day + timedelta(hours=10)
    specials = [
        dict(user="alice@example.com", verb="get", resource="secrets", name="db-password"),
        dict(user="alice@example.com", verb="create", resource="pods", subresource="exec", name="web-1"),
        dict(
            user="mallory@example.com", verb="list", resource="secrets", name=None, code=403, ip="203.0.113.9"
        ),
        dict(
            user="system:anonymous",
            groups=["system:unauthenticated"],
            verb="get",
            resource=None,
            uri="/api/v1/namespaces",
            code=401,
            ip="198.51.100.7",
        ),
        dict(
            user="bob@example.com",
            verb="create",
            resource="clusterrolebindings",
            namespace=None,
            name="bob-admin",
            group="rbac.authorization.k8s.io",
            level="RequestResponse",
        ),
        dict(
            user="bob@example.com",
            verb="create",
            resource="mutatingwebhookconfigurations",
            namespace=None,
            name="hook",
            group="admissionregistration.k8s.io",
            level="RequestResponse",
        ),
        dict(
            user="bob@example.com",
            verb="create",
            resource="pods",
            name="debug",
            level="RequestResponse",
            request_object={
                "kind": "Pod",
                "spec": {
                    "hostNetwork": True,
                    "containers": [
                        {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}
                    ],
                },
            },
        ),
        dict(user="carol@example.com", verb="get", resource="pods", impersonate="system:admin"),
    ]
    for k, spec in enumerate(specials):
        out.append(event(t + timedelta(minutes=k), n=n, **spec))  # type: ignore[arg-type]
        n += 1
    return out
