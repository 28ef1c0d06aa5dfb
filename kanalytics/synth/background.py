"""Background traffic catalogue: weighted request templates for the control plane, apps, operators, CI, people."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from kanalytics.synth import bodies
from kanalytics.synth.cluster import (
    CONTROL_PLANE_IP,
    KUBECTL_UA,
    Cluster,
    Engineer,
    User,
    component_ua,
    make_uuid,
)
from kanalytics.synth.events import FORBID, allow, failure, forbidden, rbac_reason
from kanalytics.synth.templates import Template, non_resource, request

Weighted = list[tuple[float, Template]]
CI_IPS = ["20.42.17.103", "20.42.17.108"]  # the hosted CI runners' egress addresses
HELM_UA = "Helm/3.15.4"


@dataclass
class Catalog:
    control_plane: Weighted = field(default_factory=list)
    apps: Weighted = field(default_factory=list)
    operators: Weighted = field(default_factory=list)
    ci: Weighted = field(default_factory=list)
    node_leases: list[Template] = field(default_factory=list)  # one per node, in node order
    leader_leases: list[tuple[Template, Template]] = field(default_factory=list)  # (get, update) per holder
    humans: dict[str, Weighted] = field(default_factory=dict)


def system_user(name: str, groups: list[str] | None = None) -> User:
    return {"username": name, "groups": [*(groups or []), "system:authenticated"]}


def controller_identity(cluster: Cluster, name: str) -> tuple[User, str, dict[str, str]]:
    """A kube-controller-manager controller running under its own service account."""
    user = cluster.sa_user("kube-system", name)
    ua = component_ua("kube-controller-manager", f"system:serviceaccount:kube-system:{name}")
    reason = rbac_reason(
        f"system:controller:{name}", f"system:controller:{name}", f'ServiceAccount "{name}/kube-system"'
    )
    return user, ua, allow(reason)


def build_catalog(cluster: Cluster) -> Catalog:
    cat = Catalog()
    rng = random.Random(f"catalog:{cluster.name}")
    cp_ip = [CONTROL_PLANE_IP]
    apps = [w for w in cluster.workloads if w.namespace in cluster.app_namespaces]
    all_pods = [(w.namespace, p[0]) for w in cluster.workloads for p in w.pods]
    deploys = [(w.namespace, w.name) for w in cluster.workloads if w.replicaset]
    nss = [(ns, "") for ns in cluster.namespaces]
    cluster_scope = [("", "")]
    cp = cat.control_plane

    # --- kube-controller-manager, one service account per controller. Weights are requests per ~100
    # control-plane requests; a watch request yields two events (ResponseStarted, ResponseComplete).
    w_bodies = _workload_bodies(cluster, rng)
    u, ua, ann = controller_identity(cluster, "replicaset-controller")
    cp += [
        (0.5, request(u, cp_ip, ua, "watch", "pods", cluster_scope, ann)),
        (0.5, request(u, cp_ip, ua, "watch", "replicasets", cluster_scope, ann, group="apps")),
        (1.5, request(u, cp_ip, ua, "update", "replicasets", deploys, ann, group="apps", sub="status")),
        (2.5, request(u, cp_ip, ua, "create", "pods", [(ns, "") for ns, _ in deploys], ann,
                    bodies={(ns, ""): w_bodies["pod-create"][(ns, name)] for ns, name in deploys})),
        (1.5, request(u, cp_ip, ua, "delete", "pods", all_pods, ann, bodies=w_bodies["pod-delete"])),
    ]  # fmt: skip
    u, ua, ann = controller_identity(cluster, "deployment-controller")
    cp += [
        (0.5, request(u, cp_ip, ua, "watch", "deployments", cluster_scope, ann, group="apps")),
        (1, request(u, cp_ip, ua, "update", "deployments", deploys, ann, group="apps", sub="status")),
        (1.5, request(u, cp_ip, ua, "update", "replicasets", w_bodies["rs-targets"], ann, group="apps",
                      bodies=w_bodies["rs-update"])),
    ]  # fmt: skip
    u, ua, ann = controller_identity(cluster, "endpointslice-controller")
    slices = [(ns, f"{name}-{rng.choice('bcdfghjk')}{rng.randrange(1000, 9999)}") for ns, name in deploys]
    cp += [
        (0.5, request(u, cp_ip, ua, "watch", "services", cluster_scope, ann)),
        (2, request(u, cp_ip, ua, "update", "endpointslices", slices, ann, group="discovery.k8s.io")),
    ]
    u, ua, ann = controller_identity(cluster, "endpoint-controller")
    cp.append((1.5, request(u, cp_ip, ua, "update", "endpoints", deploys, ann)))
    u, ua, ann = controller_identity(cluster, "generic-garbage-collector")
    cp += [
        (0.3, request(u, cp_ip, ua, "watch", res, cluster_scope, ann, group=g))
        for res, g in (("replicasets", "apps"), ("jobs", "batch"), ("controllerrevisions", "apps"))
    ]
    cp.append((14, request(u, cp_ip, ua, "get", "pods", all_pods, ann)))
    u, ua, ann = controller_identity(cluster, "resourcequota-controller")
    cp.append((4, request(u, cp_ip, ua, "list", "pods", nss, ann)))
    u, ua, ann = controller_identity(cluster, "namespace-controller")
    cp.append((1, request(u, cp_ip, ua, "list", "namespaces", cluster_scope, ann)))
    u, ua, ann = controller_identity(cluster, "horizontal-pod-autoscaler")
    cp += [
        (5, request(u, cp_ip, ua, "get", "deployments", deploys, ann, group="apps", sub="scale")),
        (4, request(u, cp_ip, ua, "list", "pods", [(ns, "") for ns in cluster.app_namespaces], ann,
                    group="metrics.k8s.io", version="v1beta1")),
    ]  # fmt: skip
    u, ua, ann = controller_identity(cluster, "cronjob-controller")
    cp += [
        (2, request(u, cp_ip, ua, "list", "cronjobs", cluster_scope, ann, group="batch")),
        (1.5, request(u, cp_ip, ua, "create", "jobs", [(ns, "") for ns in cluster.app_namespaces], ann, group="batch",
                      bodies=w_bodies["job-create"])),
    ]  # fmt: skip
    # the tokens controller and friends run as the controller manager itself and watch secrets cluster-wide
    kcm = system_user("system:kube-controller-manager")
    kcm_ua = component_ua("kube-controller-manager", "shared-informers")
    kcm_ann = allow(rbac_reason("system:kube-controller-manager", "system:kube-controller-manager",
                                'User "system:kube-controller-manager"'))  # fmt: skip
    cp += [
        (0.3, request(kcm, cp_ip, kcm_ua, "watch", res, cluster_scope, kcm_ann))
        for res in ("secrets", "configmaps", "serviceaccounts")
    ]
    # --- scheduler
    sched = system_user("system:kube-scheduler")
    s_ua = component_ua("kube-scheduler", "scheduler")
    s_ann = allow(
        rbac_reason("system:kube-scheduler", "system:kube-scheduler", 'User "system:kube-scheduler"')
    )
    cp += [
        (0.5, request(sched, cp_ip, s_ua, "watch", "pods", cluster_scope, s_ann)),
        (0.5, request(sched, cp_ip, s_ua, "watch", "nodes", cluster_scope, s_ann)),
        (2.5, request(sched, cp_ip, s_ua, "create", "pods", all_pods, s_ann, sub="binding")),
    ]
    # --- kubelets: pod status, node status, config maps and secrets of their pods, events
    for i, node in enumerate(cluster.nodes):
        nu = system_user(f"system:node:{node.name}", ["system:nodes"])
        n_ua = component_ua("kubelet")
        n_ann = allow("")
        mine = [(w.namespace, p[0]) for w in cluster.workloads for p in w.pods if p[2] == i]
        mine = mine or all_pods[:1]
        mine_ns = sorted({(ns, "") for ns, _ in mine})
        w = 1 / len(cluster.nodes)
        cp += [
            (w * 16, request(nu, [node.ip], n_ua, "get", "pods", mine, n_ann)),
            (w * 5, request(nu, [node.ip], n_ua, "get", "nodes", [("", node.name)], n_ann)),
            (w * 4, request(nu, [node.ip], n_ua, "get", "configmaps", [(ns, "kube-root-ca.crt") for ns, _ in mine],
                            n_ann)),
            (w * 3, request(nu, [node.ip], n_ua, "get", "secrets", [(ns, f"{p.rsplit('-', 2)[0]}-tls")
                                                                      for ns, p in mine], n_ann)),
            (w * 3, request(nu, [node.ip], n_ua, "patch", "pods", mine, n_ann, sub="status")),
            (w * 2, request(nu, [node.ip], n_ua, "patch", "nodes", [("", node.name)], n_ann, sub="status")),
            (w * 1.5, request(nu, [node.ip], n_ua, "create", "events", mine_ns, n_ann)),
            (w * 0.5, request(nu, [node.ip], n_ua, "watch", "configmaps", mine_ns, n_ann)),
        ]  # fmt: skip
        lease = request(nu, [node.ip], n_ua, "update", "leases", [("kube-node-lease", node.name)], n_ann,
                        group="coordination.k8s.io", latency_ms=(1.0, 6.0))  # fmt: skip
        lease.variants = [(p + "?timeout=10s", r, q, s) for p, r, q, s in lease.variants]
        cat.node_leases.append(lease)
        # kube-proxy on every node watches services and endpoint slices
        proxy = cluster.workload("kube-system", "kube-proxy")
        pod = proxy.pods[i]
        pu = cluster.sa_user("kube-system", "kube-proxy", pod=pod)
        p_ann = allow(
            rbac_reason(
                "kubeadm:node-proxier", "system:node-proxier", 'ServiceAccount "kube-proxy/kube-system"'
            )
        )
        cp += [
            (w * 0.5, request(pu, [node.ip], component_ua("kube-proxy"), "watch", "endpointslices", cluster_scope,
                              p_ann, group="discovery.k8s.io")),
            (w * 0.5, request(pu, [node.ip], component_ua("kube-proxy"), "watch", "services", cluster_scope, p_ann)),
        ]  # fmt: skip

    # --- leader election: each holder gets then updates its lease every couple of seconds
    for holder, user, ua in (
        ("kube-controller-manager", kcm, kcm_ua.replace("shared-informers", "leader-election")),
        ("kube-scheduler", sched, s_ua.replace("scheduler", "leader-election")),
        (f"apiserver-{make_uuid(rng)[:26].replace('-', '')}", system_user("system:apiserver", ["system:masters"]),
         component_ua("kube-apiserver")),
    ):  # fmt: skip
        ann = allow(
            ""
            if holder.startswith("apiserver")
            else rbac_reason(holder, holder, f'User "{user["username"]}"')
        )
        target = [("kube-system", holder)]
        cat.leader_leases.append(
            (
                request(user, cp_ip, ua, "get", "leases", target, ann, group="coordination.k8s.io"),
                request(user, cp_ip, ua, "update", "leases", target, ann, group="coordination.k8s.io"),
            )
        )

    # --- in-cluster apps and add-ons, each from its pod's address
    for wl in cluster.workloads:
        if not wl.replicaset:
            continue
        sa_ann = allow(rbac_reason(f"{wl.name}", f"{wl.name}", f'ServiceAccount "{wl.name}/{wl.namespace}"',
                                   cluster=False, namespace=wl.namespace))  # fmt: skip
        for pod in wl.pods:
            pu = cluster.sa_user(wl.namespace, wl.service_account, pod=pod)
            ip = [cluster.pod_ip(pod)]
            app_ua = f"{wl.name}/{wl.image.rsplit(':', 1)[1]}"
            if wl.namespace in cluster.app_namespaces:
                cat.apps.append((3, request(pu, ip, app_ua, "get", "configmaps", [(wl.namespace, f"{wl.name}-config")],
                                            sa_ann)))  # fmt: skip
            elif wl.name == "prometheus":
                p_ua = "Prometheus/2.53.0"
                cat.apps += [
                    (3, request(pu, ip, p_ua, "list", res, cluster_scope, sa_ann))
                    for res in ("pods", "endpoints", "services", "nodes")
                ]
                cat.apps.append((2, request(pu, ip, p_ua, "watch", "pods", cluster_scope, sa_ann)))
            elif wl.name == "coredns":
                cat.apps.append((1, request(pu, ip, "coredns/v1.11.1", "watch", "endpointslices", cluster_scope, sa_ann,
                                            group="discovery.k8s.io")))  # fmt: skip
            elif wl.name == "ingress-nginx-controller":
                i_ua = "nginx-ingress-controller/v1.11.1 (linux/amd64) ingress-nginx/7f3a8e2"
                cat.apps += [
                    (1, request(pu, ip, i_ua, "watch", "ingresses", cluster_scope, sa_ann, group="networking.k8s.io")),
                    (1, request(pu, ip, i_ua, "watch", "secrets", cluster_scope, sa_ann)),
                    (2, request(pu, ip, i_ua, "get", "leases", [("ingress-nginx", "ingress-nginx-leader")], sa_ann,
                                group="coordination.k8s.io")),
                ]  # fmt: skip
            elif wl.name == "argocd-application-controller":
                a_ua = "argocd-application-controller/v2.12.3+6b9cd82 (linux/amd64)"
                op = cat.operators
                op += [
                    (6, request(pu, ip, a_ua, "list", "deployments", [(n, "") for n in cluster.app_namespaces],
                                sa_ann, group="apps")),
                    (4, request(pu, ip, a_ua, "watch", "services", cluster_scope, sa_ann)),
                    (6, request(pu, ip, a_ua, "get", "deployments", deploys, sa_ann, group="apps")),
                    (4, request(pu, ip, a_ua, "get", "configmaps", [(n, "") for n in cluster.app_namespaces],
                                sa_ann)),
                    (1, request(pu, ip, a_ua, "patch", "deployments", deploys, sa_ann, group="apps",
                                bodies=_patch_bodies(cluster, rng, apps, "argocd"))),
                    (1, request(pu, ip, a_ua, "patch", "rolebindings", [(n, f"{n}-developers")
                                                                        for n in cluster.app_namespaces], sa_ann,
                                group="rbac.authorization.k8s.io", bodies=_rolebinding_bodies(cluster, rng))),
                ]  # fmt: skip
            elif wl.name == "cert-manager":
                c_ua = "cert-manager-cainjector/v1.15.1 (linux/amd64) cert-manager/6f4c8f3"
                cat.operators += [
                    (3, request(pu, ip, c_ua, "watch", "certificates", cluster_scope, sa_ann, group="cert-manager.io")),
                    (3, request(pu, ip, c_ua, "update", "leases", [("kube-system", "cert-manager-cainjector-leader")],
                                sa_ann, group="coordination.k8s.io")),
                    (0.3, request(pu, ip, c_ua, "update", "validatingwebhookconfigurations",
                                  [("", "cert-manager-webhook")], sa_ann, group="admissionregistration.k8s.io")),
                ]  # fmt: skip
    cat.ci = _ci_templates(cluster, rng, apps, deploys)
    for eng in cluster.engineers:
        cat.humans[eng.name] = _human_templates(cluster, eng, rng)
    return cat


def _workload_bodies(cluster: Cluster, rng: random.Random) -> dict[str, Any]:
    """Bodies of controller writes: pods created and deleted, jobs created, replica sets scaled."""
    pod_create, pod_delete, job_create, rs_update = {}, {}, {}, {}
    rs_targets = []
    for w in cluster.workloads:
        if not w.replicaset:
            continue
        name, uid, node = w.pods[0]
        created = bodies.pod(w, name, uid, 41_000_000 + rng.randrange(10**6))
        request_body = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "generateName": f"{w.replicaset}-",
                "namespace": w.namespace,
                "labels": created["metadata"]["labels"],
            },
            "spec": created["spec"],
        }
        pod_create[(w.namespace, w.name)] = (request_body, created)
        for name, uid, node in w.pods:
            gone = bodies.pod(w, name, uid, 41_000_000 + rng.randrange(10**6), cluster.nodes[node].name)
            gone["metadata"]["deletionTimestamp"] = "2026-06-02T08:14:31Z"
            pod_delete[(w.namespace, name)] = (bodies.DELETE_OPTIONS, gone)
        rs_targets.append((w.namespace, w.replicaset))
        rs = bodies.replicaset(w, make_uuid(rng), 41_000_000 + rng.randrange(10**6), 3)
        rs_update[(w.namespace, w.replicaset)] = (rs, rs)
        if w.namespace in cluster.app_namespaces and (w.namespace, "") not in job_create:
            job = bodies.job(
                w, f"{w.name}-cleanup-2902{rng.randrange(1000, 9999)}", make_uuid(rng), 41_000_000
            )
            request_body = {
                **job,
                "metadata": {"generateName": f"{w.name}-cleanup-", "namespace": w.namespace},
            }
            job_create[(w.namespace, "")] = (request_body, job)
    return {"pod-create": pod_create, "pod-delete": pod_delete, "job-create": job_create, "rs-update": rs_update,
            "rs-targets": rs_targets}  # fmt: skip


def _patch_bodies(cluster: Cluster, rng: random.Random, apps: list, who: str) -> dict:
    out = {}
    for w in apps:
        uid = make_uuid(rng)
        patch = {
            "spec": {
                "template": {"metadata": {"annotations": {f"{who}/restartedAt": "2026-06-02T08:14:31Z"}}}
            }
        }
        out[(w.namespace, w.name)] = (
            patch,
            bodies.deployment(w, uid, 41_000_000 + rng.randrange(10**6), 3, 7),
        )
    return out


def _rolebinding_bodies(cluster: Cluster, rng: random.Random) -> dict:
    out = {}
    for ns in cluster.app_namespaces:
        subjects = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "acme:developers"}]
        body = bodies.binding(
            f"{ns}-developers", ns, make_uuid(rng), 41_000_000, "ClusterRole", "edit", subjects
        )
        out[(ns, f"{ns}-developers")] = ({"subjects": subjects}, body)
    return out


def _ci_templates(cluster: Cluster, rng: random.Random, apps: list, deploys: list) -> Weighted:
    user = cluster.sa_user("ci", "deployer")
    user = {**user, "extra": {"authentication.kubernetes.io/credential-id": [f"JTI={make_uuid(rng)}"]}}
    ann = allow(rbac_reason("ci-deployer", "ci-deployer", 'ServiceAccount "deployer/ci"'))
    app_ns = [(n, "") for n in cluster.app_namespaces]
    releases = [(w.namespace, f"sh.helm.release.v1.{w.name}.v{rng.randrange(20, 90)}") for w in apps]
    return [
        (4, non_resource(user, CI_IPS, KUBECTL_UA, ["/api", "/apis", "/version"], ann)),
        (6, request(user, [CI_IPS], KUBECTL_UA, "get", "deployments", deploys, ann, group="apps")),
        (3, request(user, [CI_IPS], KUBECTL_UA, "patch", "deployments", deploys, ann, group="apps",
                    bodies=_patch_bodies(cluster, rng, apps, "ci.acme.example"))),
        (3, request(user, [CI_IPS], KUBECTL_UA, "list", "replicasets", app_ns, ann, group="apps")),
        (3, request(user, [CI_IPS], KUBECTL_UA, "watch", "deployments", app_ns, ann, group="apps")),
        (3, request(user, [CI_IPS], HELM_UA, "list", "secrets", app_ns, ann)),
        (1, request(user, [CI_IPS], HELM_UA, "create", "secrets", releases, ann)),
        (2, request(user, [CI_IPS], HELM_UA, "get", "services", deploys, ann)),
    ]  # fmt: skip


def _human_templates(cluster: Cluster, eng: Engineer, rng: random.Random) -> Weighted:
    """Each engineer's stable daily repertoire: the same verbs on the same namespaces every working day."""
    u, ips, uas = eng.user, [[ip] for ip in eng.ips], list(eng.user_agents)
    group = eng.user["groups"][0]
    role = "cluster-admin" if eng.admin else "edit"
    ann = allow(rbac_reason(f"{group.split(':')[1]}-{role}", role, f'Group "{group}"'))
    ws = [w for w in cluster.workloads if w.namespace in eng.namespaces and w.replicaset]
    pods = [(w.namespace, p[0]) for w in ws for p in w.pods]
    deploys = [(w.namespace, w.name) for w in ws]
    mine = [(ns, "") for ns in eng.namespaces]
    gone = [(ns, f"{name}-{rng.randrange(16**9):09x}"[:-3]) for ns, name in deploys]
    scale = {(w.namespace, w.name): ({"spec": {"replicas": 3}}, {"kind": "Scale", "apiVersion": "autoscaling/v1",
             "metadata": {"name": w.name, "namespace": w.namespace}, "spec": {"replicas": 3}}) for w in ws}  # fmt: skip
    out: Weighted = [
        (5, non_resource(u, list(eng.ips[:1]), uas, ["/api", "/apis"], ann)),
        (14, request(u, ips, uas, "list", "pods", mine, ann)),
        (8, request(u, ips, uas, "get", "pods", pods, ann)),
        (6, request(u, ips, uas, "get", "pods", pods, ann, sub="log", latency_ms=(20, 400))),
        (5, request(u, ips, uas, "list", "events", mine, ann)),
        (6, request(u, ips, uas, "list", "deployments", mine, ann, group="apps")),
        (4, request(u, ips, uas, "get", "deployments", deploys, ann, group="apps")),
        (2, request(u, ips, uas, "watch", "pods", mine, ann)),
        (3, request(u, ips, uas, "list", "configmaps", mine, ann)),
        (1, request(u, ips, uas, "patch", "deployments", deploys, ann, group="apps",
                    bodies=_patch_bodies(cluster, rng, ws, "kubectl.kubernetes.io"))),
        (0.7, request(u, ips, uas, "patch", "deployments", deploys, ann, group="apps", sub="scale", bodies=scale)),
        (0.7, request(u, ips, uas, "update", "configmaps", [(ns, f"{name}-config") for ns, name in deploys], ann)),
        (0.8, request(u, ips, uas, "get", "pods", gone, ann, status=failure(404, "NotFound", "pods not found"))),
        (0.3, request(u, ips, uas, "update", "configmaps", [(ns, f"{name}-config") for ns, name in deploys], ann,
                      status=failure(409, "Conflict", "Operation cannot be fulfilled on configmaps: the object "
                                     "has been modified; please apply your changes to the latest version"))),
    ]  # fmt: skip
    if not eng.admin:  # developers now and then try something only the platform team may do
        denied = forbidden(u["username"], "list", "secrets", "", "kube-system")
        out.append(
            (0.2, request(u, ips, uas, "list", "secrets", [("kube-system", "")], FORBID, status=denied))
        )
    return out
