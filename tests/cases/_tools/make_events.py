"""Generate the catalog-content test cases (tests/cases/<id>/fire.jsonl, quiet.jsonl, case.yaml).

Run: .venv/bin/python tests/cases/_tools/make_events.py [id ...]
Only the generated .jsonl/.yaml files are used by the tests; this script documents how they were made.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
_counter = 0

KUBECTL = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=UTC)  # a Wednesday


def ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uri(
    verb: str,
    resource: str | None,
    ns: str | None,
    name: str | None,
    sub: str | None,
    group: str,
    version: str,
) -> str:
    if resource is None:
        return "/"
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    path = base + (f"/namespaces/{ns}" if ns else "") + f"/{resource}"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


def ev(
    t: datetime,
    verb: str,
    resource: str | None = None,
    *,
    user: str = "alice@example.com",
    groups: list[str] | None = None,
    ns: str | None = None,
    name: str | None = None,
    sub: str | None = None,
    group: str = "",
    version: str = "v1",
    code: int = 200,
    decision: str | None = None,
    ip: str | list[str] | None = "10.20.0.15",  # a list is the whole sourceIPs chain; None leaves it out
    ua: str = KUBECTL,
    uri: str | None = None,
    stage: str = "ResponseComplete",
    level: str = "Metadata",
    req: dict[str, Any] | None = None,
    resp: dict[str, Any] | None = None,
    audit_id: str | None = None,
    stage_t: datetime | None = None,
    impersonate: dict[str, Any] | None = None,
) -> dict[str, Any]:
    global _counter
    _counter += 1
    if groups is None:
        if user.startswith("system:serviceaccount:"):
            ns_of = user.split(":")[2]
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns_of}", "system:authenticated"]
        elif user.startswith("system:node:"):
            groups = ["system:nodes", "system:authenticated"]
        elif user == "system:anonymous":
            groups = ["system:unauthenticated"]
        else:
            groups = ["developers", "system:authenticated"]
    if decision is None:
        decision = "forbid" if code == 403 else "allow"
    e: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": audit_id or str(uuid.UUID(int=0x1000_0000 + _counter)),
        "stage": stage,
        "requestURI": uri or _uri(verb, resource, ns, name, sub, group, version),
        "verb": verb,
        "user": {"username": user, "groups": groups},
        "sourceIPs": ip if isinstance(ip, list) else [ip],
        "userAgent": ua,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": ts(t),
        "stageTimestamp": ts(stage_t or (t + timedelta(milliseconds=12))),
        "annotations": {"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": ""},
    }
    if ip is None:
        del e["sourceIPs"]
    if code == 401:
        e["annotations"] = {}
    if resource is not None:
        ref: dict[str, Any] = {"resource": resource, "apiVersion": version}
        if ns:
            ref["namespace"] = ns
        if name:
            ref["name"] = name
        if sub:
            ref["subresource"] = sub
        if group:
            ref["apiGroup"] = group
        e["objectRef"] = ref
    if impersonate:
        e["impersonatedUser"] = impersonate
    if req is not None:
        e["requestObject"] = req
    if resp is not None:
        e["responseObject"] = resp
    return e


def missing(e: dict[str, Any], *fields: str) -> dict[str, Any]:
    """`e` without the optional fields named (dotted: "user.groups"); "sourceIPs" becomes an empty list."""
    for field in fields:
        *parents, leaf = field.split(".")
        target = e
        for key in parents:
            target = target[key]
        if field == "sourceIPs":
            target[leaf] = []
        else:
            del target[leaf]
    return e


def pod_body(
    name: str, ns: str, *, containers: list[dict[str, Any]] | None = None, **spec: Any
) -> dict[str, Any]:
    body = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "containers": containers or [{"name": "app", "image": "registry.example.com/app:1.2"}],
            **spec,
        },
    }
    return body


def pod_create(t: datetime, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    md = body["metadata"]
    kw.setdefault("level", "RequestResponse")
    return ev(t, "create", "pods", ns=md["namespace"], req=body, resp=body, **kw)


def role_body(kind: str, name: str, rules: list[dict[str, Any]], ns: str | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if ns:
        md["namespace"] = ns
    return {"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": md, "rules": rules}


def binding_body(
    kind: str, name: str, role_kind: str, role: str, subjects: list[dict[str, Any]], ns: str | None = None
) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if ns:
        md["namespace"] = ns
    return {
        "kind": kind,
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": md,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": subjects,
    }


CASES: dict[str, dict[str, Any]] = {}


def case(qid: str, fire: list[dict[str, Any]], quiet: list[dict[str, Any]], **meta: Any) -> None:
    CASES[qid] = {"fire": fire, "quiet": quiet, "meta": meta}


def write(ids: list[str]) -> None:
    for qid, c in CASES.items():
        if ids and qid not in ids:
            continue
        d = ROOT / qid
        d.mkdir(parents=True, exist_ok=True)
        for kind in ("fire", "quiet"):
            (d / f"{kind}.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in c[kind]))
        if c["meta"]:
            meta = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in c["meta"].items()}
            (d / "case.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        elif (d / "case.yaml").exists():
            (d / "case.yaml").unlink()


if __name__ == "__main__":
    # The case definitions live in sibling modules (they import this one as `make_events`).
    sys.path.insert(0, str(Path(__file__).parent))
    import make_events as me  # the same file as a module, so the sibling modules share its CASES

    for mod in (
        "cases_detections",
        "cases_anomalies",
        "cases_integrity",
        "cases_workloads",
        "cases_network",
        "cases_privileged",
    ):
        __import__(mod)
    me.write(sys.argv[1:])
