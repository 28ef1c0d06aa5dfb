"""Injected incidents: each scenario writes its Events at a seed-determined time and reports its ground truth."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kanalytics.synth import bodies
from kanalytics.synth.cluster import Engineer, User, make_uuid
from kanalytics.synth.events import (
    CREATED,
    FORBID,
    HOUR_US,
    OK,
    Event,
    allow,
    event,
    fmt_ts,
    forbidden,
    object_ref,
    policy_level,
    rbac_reason,
    resource_path,
)
from kanalytics.synth.plan import Plan

MIN = 60_000_000
ATTACKER_IP = "185.220.101.47"  # a Tor exit: the anonymous scanner
TOKEN_THIEF_IP = "45.155.205.233"
FOREIGN_IP = "91.243.85.17"  # a hosting range in a country nobody on the team works from


@dataclass
class Incident:
    """What one scenario injected: the truth-file entry plus the events themselves."""

    scenario: str
    technique: str
    identity: str
    source_ips: list[str]
    events: list[Event] = field(default_factory=list)

    def truth(self) -> dict[str, Any]:
        ids = list(dict.fromkeys(e["auditID"] for e in self.events))
        return {
            "scenario": self.scenario,
            "technique": self.technique,
            "start": min(e["requestReceivedTimestamp"] for e in self.events),
            "end": max(e["stageTimestamp"] for e in self.events),
            "identity": self.identity,
            "source_ips": self.source_ips,
            "events": len(self.events),
            "audit_ids": ids,
        }


class Actor:
    """One identity acting from one place: builds Events with the policy's level and plausible latency."""

    def __init__(
        self, rng: random.Random, user: User, ip: str, ua: str, ann: dict[str, str], out: Incident
    ) -> None:
        self.rng, self.user, self.ip, self.ua, self.ann, self.out = rng, user, ip, ua, ann, out

    def req(
        self,
        t: int,
        verb: str,
        resource: str,
        namespace: str = "",
        name: str = "",
        *,
        group: str = "",
        version: str = "v1",
        sub: str = "",
        code: int = 0,
        query: str = "",
        body: Any = None,
        resp: Any = None,
        stage: str = "ResponseComplete",
        annotations: dict[str, str] | None = None,
    ) -> int:
        """Record one request at `t`; return the instant the client is ready for its next one."""
        denied = code == 403
        if denied:
            status: dict[str, Any] = forbidden(self.user["username"], verb, resource, group, namespace)
        else:
            status = {"metadata": {}, "code": code} if code else CREATED if verb == "create" else OK
        uri = resource_path(resource, namespace, name, group, version) + (f"/{sub}" if sub else "")
        if query:
            uri += f"?{query}"
        latency = 1500 + int(self.rng.random() * 20_000)
        self.out.events.append(
            event(
                level=policy_level(verb, group, resource, sub),
                audit_id=make_uuid(self.rng),
                stage=stage,
                uri=uri,
                verb=verb,
                user=self.user,
                ips=[self.ip],
                ua=self.ua,
                ref=object_ref(resource, namespace, name, group, version, sub),
                status=status,
                t_req=t,
                t_stage=t + latency,
                annotations=FORBID if denied else {**self.ann, **(annotations or {})},
                request_object=body,
                response_object=resp if not denied else None,
            )
        )
        if stage == "ResponseStarted":
            # a stream (exec, attach) is logged again under the same auditID when it closes
            done = dict(self.out.events[-1], stage="ResponseComplete")
            done["stageTimestamp"] = fmt_ts(t + latency + 20_000_000 + int(self.rng.random() * 60_000_000))
            self.out.events.append(done)
        return t + latency + int(self.rng.random() * 4_000_000) + 200_000

    def raw(self, t: int, uri: str, code: int, annotations: dict[str, str]) -> int:
        """A non-resource request (discovery, version): verb get and no objectRef."""
        status: dict[str, Any] = OK if code == 200 else {
            "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": code,
            "message": f'forbidden: User "{self.user["username"]}" cannot get path "{uri}"',
        }  # fmt: skip
        latency = 300 + int(self.rng.random() * 3000)
        self.out.events.append(
            event(
                level="Metadata",
                audit_id=make_uuid(self.rng),
                stage="ResponseComplete",
                uri=uri,
                verb="get",
                user=self.user,
                ips=[self.ip],
                ua=self.ua,
                ref=None,
                status=status,
                t_req=t,
                t_stage=t + latency,
                annotations=annotations,
            )
        )
        return t + latency + int(self.rng.random() * 1_500_000) + 100_000


def _engineer(plan: Plan, name: str) -> Engineer:
    return next(e for e in plan.cluster.engineers if e.name == name)


def _human(plan: Plan, rng: random.Random, name: str, out: Incident, ip: str = "") -> Actor:
    eng = _engineer(plan, name)
    group = eng.user["groups"][0]
    role = "cluster-admin" if eng.admin else "edit"
    ann = allow(rbac_reason(f"{group.split(':')[1]}-{role}", role, f'Group "{group}"'))
    return Actor(rng, eng.user, ip or eng.ips[0], eng.user_agents[0], ann, out)


def _working_instant(plan: Plan, rng: random.Random, name: str, lo: int, hi: int) -> int:
    """A time inside one of the engineer's ordinary working hours in [lo, hi): nothing off-hours about it."""
    counts = plan.human_counts[name]
    hours = [
        h for h in range(plan.hours) if counts[h] > 0 and lo <= plan.start_us + h * HOUR_US < hi - HOUR_US
    ]
    h = rng.choice(hours) if hours else (lo - plan.start_us) // HOUR_US
    offset, span = plan.human_windows[name][h]
    return plan.start_us + h * HOUR_US + offset + int(rng.random() * span * 0.6)


def _any_instant(plan: Plan, rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * max(1, hi - lo - HOUR_US))


Scenario = Callable[[Plan, random.Random, int, int], Incident]


def anonymous_probing(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    out = Incident("anonymous-probing", "T1595", "system:anonymous", [ATTACKER_IP])
    anon: User = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    public = allow('RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole '
                   '"system:public-info-viewer" to Group "system:unauthenticated"')  # fmt: skip
    a = Actor(rng, anon, ATTACKER_IP, "Go-http-client/1.1", FORBID, out)
    t = _any_instant(plan, rng, lo, hi)
    t = a.raw(t, "/version", 200, public)  # allowed by the default public-info-viewer binding
    for uri in ("/api", "/apis", "/openapi/v2", "/.well-known/openid-configuration", "/version", "/api/v1"):
        t = a.raw(t, uri, 200 if uri == "/version" else 403, public if uri == "/version" else FORBID)
    for resource, ns in (("secrets", "kube-system"), ("pods", "kube-system"), ("secrets", ""), ("pods", ""),
                         ("configmaps", "kube-system"), ("serviceaccounts", "default"), ("nodes", "")):  # fmt: skip
        for _ in range(rng.randrange(2, 5)):
            t = a.req(t, "list", resource, ns, code=403)
    return out


def permission_probing(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "frank")
    out = Incident("permission-probing", "T1069", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "frank", out)
    t = _working_instant(plan, rng, "frank", lo, hi)
    targets = [("secrets", "kube-system", ""), ("clusterroles", "", "rbac.authorization.k8s.io"),
               ("clusterrolebindings", "", "rbac.authorization.k8s.io"), ("nodes", "", ""),
               ("pods", "kube-system", ""), ("daemonsets", "kube-system", "apps"), ("secrets", "argocd", ""),
               ("roles", "kube-system", "rbac.authorization.k8s.io"), ("serviceaccounts", "kube-system", ""),
               ("mutatingwebhookconfigurations", "", "admissionregistration.k8s.io"),
               ("persistentvolumes", "", ""), ("namespaces", "", ""), ("certificatesigningrequests", "",
               "certificates.k8s.io"), ("priorityclasses", "", "scheduling.k8s.io"),
               ("podsecuritypolicies", "", "policy"), ("storageclasses", "", "storage.k8s.io"),
               ("configmaps", "kube-system", "")]  # fmt: skip
    for resource, ns, group in targets:
        for verb in ("create", "list") if rng.random() < 0.5 else ("list", "get", "delete"):
            # `kubectl auth can-i` first, then the attempt itself
            review = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                      "spec": {"resourceAttributes": {"namespace": ns, "verb": verb, "group": group,
                                                      "resource": resource}}}  # fmt: skip
            t = a.req(t, "create", "selfsubjectaccessreviews", group="authorization.k8s.io", body=review)
            name = "" if verb in ("list", "create") else "default"
            t = a.req(t, verb, resource, ns, name, group=group, code=403)
    return out


def stolen_token(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    wl = plan.cluster.workload("payments", "payments-api")
    user = plan.cluster.sa_user("payments", wl.service_account, pod=wl.pods[0])
    out = Incident("stolen-token", "T1550.001", user["username"], [TOKEN_THIEF_IP])
    ann = allow(rbac_reason("payments-api", "payments-api", 'ServiceAccount "payments-api/payments"', cluster=False,
                            namespace="payments"))  # fmt: skip
    a = Actor(rng, user, TOKEN_THIEF_IP, "kubectl/v1.30.1 (linux/amd64) kubernetes/6911225", ann, out)
    t = _any_instant(plan, rng, lo, hi)
    t = a.raw(t, "/api", 200, allow('RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole '
                                    '"system:discovery" to Group "system:authenticated"'))  # fmt: skip
    t = a.req(t, "create", "selfsubjectrulesreviews", group="authorization.k8s.io")
    for resource, ns in (("secrets", ""), ("pods", ""), ("secrets", "kube-system"), ("serviceaccounts", ""),
                         ("nodes", ""), ("deployments", "")):  # fmt: skip
        t = a.req(
            t,
            "list",
            resource,
            ns,
            group="apps" if resource == "deployments" else "",
            code=403,
            query="limit=500",
        )
    for name in ("payments-api-config", "ledger-config"):
        t = a.req(t, "get", "configmaps", "payments", name)
    t = a.req(t, "list", "configmaps", "payments", query="limit=500")
    for _ in range(6):
        t = a.req(t, "list", "secrets", "payments", code=403, query="limit=500")
        t = a.req(t, "get", "pods", "payments", code=403)
    return out


def secrets_harvest(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "alice")
    out = Incident("secrets-harvest", "T1552.007", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "alice", out)
    t = _working_instant(plan, rng, "alice", lo, hi)
    t = a.req(t, "list", "secrets", query="limit=500")  # every secret in the cluster, at cluster scope
    names = [
        (w.namespace, f"{w.name}-{kind}") for w in plan.cluster.workloads for kind in ("tls", "db", "token")
    ]
    rng.shuffle(names)
    for ns, name in names[:28]:
        t = a.req(t, "get", "secrets", ns, name)
    return out


def cluster_admin_binding(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "carol")
    out = Incident("cluster-admin-binding", "T1098.006", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "carol", out)
    t = _working_instant(plan, rng, "carol", lo, hi)
    rbac = "rbac.authorization.k8s.io"
    t = a.req(t, "get", "clusterroles", name="cluster-admin", group=rbac)
    subjects = [{"kind": "User", "apiGroup": rbac, "name": "mallory@partner.example"}]
    body = bodies.binding("partner-debug-access", "", make_uuid(rng), 51_000_000, "ClusterRole", "cluster-admin",
                          subjects)  # fmt: skip
    request_body = {k: v for k, v in body.items() if k != "metadata"} | {
        "metadata": {"name": "partner-debug-access"}
    }
    t = a.req(
        t,
        "create",
        "clusterrolebindings",
        group=rbac,
        body=request_body,
        resp=body,
        query="fieldManager=kubectl-create&fieldValidation=Strict",
    )
    a.req(t, "get", "clusterrolebindings", name="partner-debug-access", group=rbac)
    return out


def privileged_pod(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "dave")
    out = Incident("privileged-pod", "T1611", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "dave", out)
    t = _working_instant(plan, rng, "dave", lo, hi)
    pod = bodies.privileged_pod(
        "node-debugger", "monitoring", make_uuid(rng), 52_000_000, "docker.io/library/alpine:3.20"
    )
    psa = {"pod-security.kubernetes.io/enforce-policy": "privileged:latest"}
    request_body = {**pod, "metadata": {"name": "node-debugger", "namespace": "monitoring"}}
    t = a.req(
        t,
        "create",
        "pods",
        "monitoring",
        group="",
        body=request_body,
        resp=pod,
        annotations=psa,
        query="fieldManager=kubectl-run",
    )
    t = a.req(t, "get", "pods", "monitoring", "node-debugger")
    a.req(
        t,
        "create",
        "pods",
        "monitoring",
        "node-debugger",
        sub="attach",
        code=101,
        stage="ResponseStarted",
        query="container=node-debugger&stdin=true&stdout=true&tty=true",
    )
    return out


def exec_token_theft(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "alice")
    out = Incident("exec-token-theft", "T1609", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "alice", out)
    t = _working_instant(plan, rng, "alice", lo, hi)
    pod = plan.cluster.workload("kube-system", "kube-proxy").pods[0][0]
    t = a.req(t, "get", "pods", "kube-system", pod)
    query = ("command=cat&command=%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken"
             "&container=kube-proxy&stderr=true&stdout=true")  # fmt: skip
    # an exec stream is logged at ResponseStarted with 101 Switching Protocols (and again when it ends)
    a.req(t, "create", "pods", "kube-system", pod, sub="exec", code=101, stage="ResponseStarted", query=query)
    return out


def nodeport_exposure(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "bob")
    out = Incident("nodeport-exposure", "T1133", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "bob", out)
    t = _working_instant(plan, rng, "bob", lo, hi)
    svc = bodies.service("checkout-web-debug", "checkout", make_uuid(rng), 53_000_000, node_port=31337)
    a.req(t, "create", "services", "checkout", body={**svc, "metadata": {"name": "checkout-web-debug"}}, resp=svc,
          query="fieldManager=kubectl-expose")  # fmt: skip
    return out


def mutating_webhook(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "carol")
    out = Incident("mutating-webhook", "T1546", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "carol", out)
    t = _working_instant(plan, rng, "carol", lo, hi)
    hook = bodies.mutating_webhook("pod-policy-injector", make_uuid(rng), 54_000_000,
                                   "https://hooks.cdn-metrics.example:8443/mutate")  # fmt: skip
    a.req(t, "create", "mutatingwebhookconfigurations", group="admissionregistration.k8s.io",
          body={**hook, "metadata": {"name": "pod-policy-injector"}}, resp=hook)  # fmt: skip
    return out


def events_deleted(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "dave")
    out = Incident("events-deleted", "T1070", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "dave", out)
    t = _working_instant(plan, rng, "dave", lo, hi)
    for ns in ("payments", "auth", "kube-system"):
        t = a.req(t, "deletecollection", "events", ns, resp=None)
        t = a.req(t, "deletecollection", "events", ns, group="events.k8s.io")
    for i in range(4):
        t = a.req(t, "delete", "events", "monitoring", f"node-debugger.17f{i}a9c3e2b8d4f1")
    return out


def off_hours_foreign(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "erin")
    out = Incident("off-hours-foreign", "T1078", eng.user["username"], [FOREIGN_IP])
    a = _human(plan, rng, "erin", out, ip=FOREIGN_IP)
    t = _sunday_3am(plan, eng, rng, lo, hi)
    t = a.raw(t, "/api", 200, a.ann)
    t = a.raw(t, "/apis", 200, a.ann)
    for ns in eng.namespaces:
        t = a.req(t, "list", "pods", ns, query="limit=500")
        t = a.req(t, "list", "secrets", ns, query="limit=500")
        t = a.req(t, "list", "configmaps", ns, query="limit=500")
    for w in plan.cluster.workloads:
        if w.namespace in eng.namespaces:
            t = a.req(t, "get", "secrets", w.namespace, f"{w.name}-db")
    return out


def _sunday_3am(plan: Plan, eng: Engineer, rng: random.Random, lo: int, hi: int) -> int:
    """03:00 local time on a Sunday in the window (the first day of the window if it has no Sunday)."""
    first = datetime.fromtimestamp(lo / 1e6, tz=eng.tz).date()
    days = [first + timedelta(days=d) for d in range(0, max(1, (hi - lo) // (24 * HOUR_US)))]
    candidates = []
    for day in days:
        at = int(datetime(day.year, day.month, day.day, 3, 0, tzinfo=eng.tz).timestamp() * 1e6)
        if lo <= at < hi - HOUR_US and day.weekday() == 6:
            candidates.append(at)
    if not candidates:
        candidates = [lo]
    return rng.choice(candidates) + int(rng.random() * 25 * MIN)


def volume_spike(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    eng = _engineer(plan, "bob")
    out = Incident("volume-spike", "T1119", eng.user["username"], [eng.ips[0]])
    a = _human(plan, rng, "bob", out)
    # inside one working hour at the usual address, so the only thing unusual about it is the volume
    hour = (_working_instant(plan, rng, "bob", lo, hi) - plan.start_us) // HOUR_US
    offset, span = plan.human_windows["bob"][hour]
    t0 = plan.start_us + hour * HOUR_US + offset
    n = max(200, int(30 * plan.usual_hourly("bob")))
    pods = [(w.namespace, p[0]) for w in plan.cluster.workloads for p in w.pods]
    step = int(span * 0.9) // n  # a script looping over everything
    for i in range(n):
        t = t0 + i * step + int(rng.random() * step)
        ns, pod = pods[i % len(pods)]
        if i % 3 == 0:
            a.req(t, "list", "pods", ns, query="limit=500")
        else:
            a.req(t, "get", "pods", ns, pod, sub="log" if i % 3 == 2 else "")
    return out


# name -> (function, MITRE ATT&CK technique, description shown by `kanalytics synth --help`)
REGISTRY: dict[str, tuple[Scenario, str, str]] = {
    "anonymous-probing": (anonymous_probing, "T1595", "anonymous API discovery from an outside address"),
    "permission-probing": (permission_probing, "T1069", "can-i reviews and 403s across many resources"),
    "stolen-token": (stolen_token, "T1550.001", "an app's token used from a new address with kubectl"),
    "secrets-harvest": (secrets_harvest, "T1552.007", "secrets listed cluster-wide, then many read"),
    "cluster-admin-binding": (cluster_admin_binding, "T1098.006", "cluster-admin bound to a new user"),
    "privileged-pod": (privileged_pod, "T1611", "privileged pod with hostPID and hostPath /"),
    "exec-token-theft": (exec_token_theft, "T1609", "exec into kube-system reading the SA token"),
    "nodeport-exposure": (nodeport_exposure, "T1133", "a workload exposed by a NodePort service"),
    "mutating-webhook": (mutating_webhook, "T1546", "a mutating admission webhook created"),
    "events-deleted": (events_deleted, "T1070", "Kubernetes events deleted to cover tracks"),
    "off-hours-foreign": (off_hours_foreign, "T1078", "an engineer at 3 a.m. Sunday from a new country"),
    "volume-spike": (volume_spike, "T1119", "one identity at ~30x its usual hourly volume"),
}


def inject(plan: Plan, names: list[str], lo: int, hi: int) -> list[Incident]:
    """Run the chosen scenarios; each has its own RNG so switching one off leaves the others unchanged."""
    out = []
    for name in names:
        fn, _, _ = REGISTRY[name]
        out.append(fn(plan, random.Random(f"incident:{plan.seed}:{name}"), lo, hi))
    return out
