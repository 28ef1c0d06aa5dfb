"""Injected incidents: each scenario writes its Events at a seed-determined time and reports its ground truth."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from kanalytics.synth import bodies
from kanalytics.synth.background import controller_identity, system_user
from kanalytics.synth.cluster import CONTROL_PLANE_IP, Engineer, User, component_ua, make_uuid
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
TAKEOVER_IP = "193.142.146.35"  # a rented VPS at a hosting provider: the CI token's new home
TAKEOVER_UA = "kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3"  # not the CI runners' kubectl or Helm


@dataclass
class Incident:
    """What one scenario injected: the truth-file entry plus the events themselves."""

    scenario: str
    technique: str
    identity: str
    source_ips: list[str]
    events: list[Event] = field(default_factory=list)
    identities: list[str] = field(
        default_factory=list
    )  # every identity the attacker acted as; default [identity]
    steps: list[tuple[str, str, int]] = field(
        default_factory=list
    )  # (tactic, technique, index of first event)

    def step(self, tactic: str, technique: str) -> None:
        """Start the next step of a multi-step scenario: the events from here on belong to it."""
        self.steps.append((tactic, technique, len(self.events)))

    def truth(self) -> dict[str, Any]:
        entry = {"scenario": self.scenario, "technique": self.technique, **_span(self.events),
                 "identity": self.identity, "identities": self.identities or [self.identity],
                 "source_ips": self.source_ips, "events": len(self.events), "audit_ids": _ids(self.events)}  # fmt: skip
        if self.steps:
            ends = [first for _, _, first in self.steps[1:]] + [len(self.events)]
            entry["steps"] = [
                {"tactic": tactic, "technique": technique, **_span(self.events[first:end]),
                 "events": end - first, "audit_ids": _ids(self.events[first:end])}
                for (tactic, technique, first), end in zip(self.steps, ends, strict=True)
            ]  # fmt: skip
        return entry


def _span(events: list[Event]) -> dict[str, str]:
    """`start` is the first request's requestReceivedTimestamp, `end` the last stageTimestamp."""
    return {
        "start": min(e["requestReceivedTimestamp"] for e in events),
        "end": max(e["stageTimestamp"] for e in events),
    }


def _ids(events: list[Event]) -> list[str]:
    return list(dict.fromkeys(e["auditID"] for e in events))


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


def ci_token_takeover(plan: Plan, rng: random.Random, lo: int, hi: int) -> Incident:
    """The CI deployer's token used from a rented server: recon, kube-system secrets, a cluster-admin service
    account with a system-looking name, a privileged DaemonSet on every node, then the events deleted.

    Modelled on Aqua Nautilus' "RBAC Buster" campaign (2023: ServiceAccount and ClusterRoleBinding
    `kube-controller` in kube-system, a DaemonSet of the same name from a typo-squatted image) and the
    Microsoft threat matrix for Kubernetes. 30-90 minutes end to end; `truth()["steps"]` times each tactic.
    """
    ci = plan.catalog.ci[0][1]  # the background's own deployer: same user, same token (JTI), same RBAC grant
    deployer, deployer_ann = ci.user, ci.annotations
    name, ns, rbac = "kube-controller", "kube-system", "rbac.authorization.k8s.io"
    sa_name = f"system:serviceaccount:{ns}:{name}"
    jti = make_uuid(rng)
    new_sa: User = {
        "username": sa_name,
        "uid": make_uuid(rng),
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"],
        "extra": {"authentication.kubernetes.io/credential-id": [f"JTI={jti}"]},
    }
    out = Incident("ci-token-takeover", "T1098.006", deployer["username"], [TAKEOVER_IP],
                   identities=[deployer["username"], sa_name])  # fmt: skip
    a = Actor(rng, deployer, TAKEOVER_IP, TAKEOVER_UA, deployer_ann, out)
    duration = (34 + int(rng.random() * 54)) * MIN
    t0 = lo + int(rng.random() * max(1, hi - lo - 2 * HOUR_US))

    def at(t: int, share: float) -> int:  # the step starts `share` of the way through, never before `t`
        return max(t, t0 + int(duration * (share + rng.random() * 0.04)))

    out.step("discovery", "T1613")
    discovery = allow('RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" '
                      'to Group "system:authenticated"')  # fmt: skip
    t = t0
    for uri in ("/version", "/api", "/apis"):
        t = a.raw(t, uri, 200, discovery)
    for where in ("default", ns):
        review = {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                  "spec": {"namespace": where}}  # fmt: skip
        t = a.req(t, "create", "selfsubjectrulesreviews", group="authorization.k8s.io", body=review)
    for resource, group in (("namespaces", ""), ("pods", ""), ("nodes", ""), ("deployments", "apps"),
                            ("daemonsets", "apps"), ("clusterrolebindings", rbac)):  # fmt: skip
        t = a.req(t, "list", resource, group=group, query="limit=500")
    t = a.req(t, "list", "serviceaccounts", ns, query="limit=500")

    out.step("credential-access", "T1552.007")
    t = a.req(at(t, 0.15), "list", "secrets", ns, query="limit=500")
    secrets = [f"bootstrap-token-{_suffix(rng, 6)}", "cloud-controller-credentials", "etcd-backup-s3",
               "sh.helm.release.v1.metrics-server.v4", "coredns-token"]  # fmt: skip
    for secret in secrets[: rng.randrange(3, 6)]:
        t = a.req(t, "get", "secrets", ns, secret)

    out.step("privilege-escalation", "T1098.006")
    t = a.req(at(t, 0.4), "get", "clusterroles", name="cluster-admin", group=rbac)
    sa_body = bodies.service_account(name, ns, new_sa["uid"], 61_000_000, _seconds(t))
    t = a.req(t, "create", "serviceaccounts", ns, body={"kind": "ServiceAccount", "apiVersion": "v1",
              "metadata": {"name": name, "namespace": ns}}, resp=sa_body,
              query="fieldManager=kubectl-create&fieldValidation=Strict")  # fmt: skip
    subjects = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]
    crb = bodies.binding(name, "", make_uuid(rng), 61_000_004, "ClusterRole", "cluster-admin", subjects)
    crb["metadata"]["creationTimestamp"] = _seconds(t)
    request_crb = {k: v for k, v in crb.items() if k != "metadata"} | {"metadata": {"name": name}}
    t = a.req(t, "create", "clusterrolebindings", group=rbac, body=request_crb, resp=crb,
              query="fieldManager=kubectl-create&fieldValidation=Strict")  # fmt: skip
    seconds = 31_536_000  # a year, so the foothold outlives a rotation of the CI token
    token = _jwt(rng, sa_name, new_sa["uid"], name, ns, jti, t // 1_000_000, seconds)
    t = a.req(t, "create", "serviceaccounts", ns, name, sub="token", body=bodies.token_request(seconds),
              resp=bodies.token_response(name, ns, seconds, "https://kubernetes.default.svc.cluster.local",
                                         token, _seconds(t + seconds * 1_000_000)))  # fmt: skip

    out.step("persistence", "T1610")
    cluster_admin = allow(rbac_reason(name, "cluster-admin", f'ServiceAccount "{name}/{ns}"'))
    b = Actor(rng, new_sa, TAKEOVER_IP, TAKEOVER_UA, cluster_admin, out)
    t = b.raw(at(t, 0.62), "/api", 200, discovery)
    image = "docker.io/kuberntesio/kube-controller:1.0.1"  # typo-squats "kubernetesio", as in RBAC Buster
    ds = bodies.host_daemonset(name, ns, image, make_uuid(rng), 61_000_010, _seconds(t))
    created = t
    t = b.req(t, "create", "daemonsets", ns, group="apps", body=bodies.host_daemonset(name, ns, image), resp=ds,
              query="fieldManager=kubectl-create&fieldValidation=Strict")  # fmt: skip
    _daemonset_rollout(plan, rng, out, ds, created + 40_000)
    t = b.req(t + 20 * 1_000_000, "get", "daemonsets", ns, name, group="apps")
    t = b.req(t, "list", "pods", ns, query="labelSelector=k8s-app%3Dkube-controller&limit=500")

    out.step("defense-evasion", "T1070")
    t = b.req(at(t, 0.93), "deletecollection", "events", ns)
    b.req(t, "deletecollection", "events", ns, group="events.k8s.io")
    return out


def _daemonset_rollout(plan: Plan, rng: random.Random, out: Incident, ds: dict[str, Any], t: int) -> None:
    """What the API server logs next without anyone asking: the controller creates one pod per node (PSA
    admits it: kube-system enforces `privileged`), and the scheduler binds each to its node."""
    user, ua, ann = controller_identity(plan.cluster, "daemon-set-controller")
    psa = {"pod-security.kubernetes.io/enforce-policy": "privileged:latest"}
    ctrl = Actor(rng, user, CONTROL_PLANE_IP, ua, ann, out)
    sched_ann = allow(
        rbac_reason("system:kube-scheduler", "system:kube-scheduler", 'User "system:kube-scheduler"')
    )
    sched = Actor(rng, system_user("system:kube-scheduler"), CONTROL_PLANE_IP,
                  component_ua("kube-scheduler", "scheduler"), sched_ann, out)  # fmt: skip
    ns = ds["metadata"]["namespace"]
    for i, node in enumerate(plan.cluster.nodes):
        when = t + i * 9_000 + int(rng.random() * 6_000)
        pod_name = f"{ds['metadata']['name']}-{_suffix(rng, 5)}"
        pod = bodies.daemonset_pod(ds, pod_name, make_uuid(rng), 61_000_100 + i, node.name, _seconds(when))
        request_pod = {**pod, "metadata": {k: v for k, v in pod["metadata"].items()
                                           if k in ("generateName", "namespace", "labels", "ownerReferences")}}  # fmt: skip
        del request_pod["status"]
        ctrl.req(when, "create", "pods", ns, body=request_pod, resp=pod, annotations=psa)
        binding = {"kind": "Binding", "apiVersion": "v1", "metadata": {"name": pod_name, "namespace": ns},
                   "target": {"kind": "Node", "name": node.name}}  # fmt: skip
        sched.req(when + 30_000 + int(rng.random() * 20_000), "create", "pods", ns, pod_name, sub="binding",
                  body=binding)  # fmt: skip


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def _seconds(us: int) -> str:
    """An object timestamp (RFC 3339, whole seconds) as the API server stores creationTimestamp."""
    return fmt_ts(us)[:19] + "Z"


def _jwt(rng: random.Random, sub: str, uid: str, name: str, ns: str, jti: str, iat: int, seconds: int) -> str:
    """A service-account token shaped like the API server's (RS256 JWT); the signature is random bytes."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "RS256", "kid": b64(rng.randbytes(32))}
    claims = {"aud": ["https://kubernetes.default.svc.cluster.local"], "exp": iat + seconds, "iat": iat,
              "iss": "https://kubernetes.default.svc.cluster.local", "jti": jti,
              "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}},
              "nbf": iat, "sub": sub}  # fmt: skip
    return ".".join((b64(orjson.dumps(header)), b64(orjson.dumps(claims)), b64(rng.randbytes(256))))


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
    "ci-token-takeover": (
        ci_token_takeover,
        "T1098.006",
        "the CI token from a new address: recon, secrets, cluster-admin SA, privileged DaemonSet",
    ),
}


def inject(plan: Plan, names: list[str], lo: int, hi: int) -> list[Incident]:
    """Run the chosen scenarios; each has its own RNG so switching one off leaves the others unchanged."""
    out = []
    for name in names:
        fn, _, _ = REGISTRY[name]
        out.append(fn(plan, random.Random(f"incident:{plan.seed}:{name}"), lo, hi))
    return out
