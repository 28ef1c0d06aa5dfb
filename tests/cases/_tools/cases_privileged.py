"""Cases for exec/attach/port-forward at any stage, the privileged-workload settings and privileged bindings."""

from __future__ import annotations

from datetime import timedelta as td
from typing import Any

from cases_detections import CTRL_DS
from make_events import T0, binding_body, case, ev, missing, pod_body, pod_create

CTRL_RS = "system:serviceaccount:kube-system:replicaset-controller"
ALL_STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete")


def stream(t, sub, *, stages=ALL_STAGES, ns="apps", pod="api-1", query="", **kw):  # type: ignore[no-untyped-def]
    """One exec/attach/portforward request logged at `stages` under one auditID (no status at RequestReceived)."""
    kw.setdefault("code", 101)
    events: list[dict[str, Any]] = []
    for stage in stages:
        e = ev(
            t,
            "create",
            "pods",
            ns=ns,
            name=pod,
            sub=sub,
            stage=stage,
            audit_id=events[0]["auditID"] if events else None,
            uri=f"/api/v1/namespaces/{ns}/pods/{pod}/{sub}{'?' + query if query else ''}",
            **kw,
        )
        if stage == "RequestReceived":
            del e["responseStatus"]
        events.append(e)
    return events


SHELL = "command=sh&container=app&stdin=true&stdout=true&tty=true"

# --- pod-exec ------------------------------------------------------------------------------------------------
case(
    "pod-exec",
    [
        # a policy that omits ResponseStarted: only ResponseComplete
        *stream(T0, "exec", stages=("ResponseComplete",), query=SHELL),
        # all three stages: one finding
        *stream(T0 + td(minutes=1), "exec", query="command=ls&command=-l", user="bob@example.com"),
        # attach by a service account that is not a controller, ResponseStarted only
        *stream(
            T0 + td(minutes=2), "attach", stages=("ResponseStarted",), user="system:serviceaccount:ci:runner"
        ),
        # a log without the user's groups or sourceIPs
        *[missing(e, "user.groups", "sourceIPs") for e in stream(T0 + td(minutes=3), "exec", query=SHELL)],
    ],
    [
        # denied: a failed-access signal, not a session
        *stream(T0, "exec", stages=("ResponseComplete",), code=403, query=SHELL),
        # only RequestReceived: nothing says it was accepted
        *stream(T0, "exec", stages=("RequestReceived",), query=SHELL),
        # kube-system is exec-kube-system-pod's; nodes, kube-system accounts and controllers exec by design
        *stream(T0, "exec", ns="kube-system", pod="coredns-1", query=SHELL),
        *stream(T0, "exec", user="system:serviceaccount:argo:argo-workflow-controller", query="command=true"),
        *stream(T0, "exec", user="system:serviceaccount:kube-system:backup", query="command=true"),
        # not an exec; allow-listed namespace
        ev(T0, "get", "pods", ns="apps", name="api-1", sub="log"),
        *stream(T0, "exec", ns="sandbox", pod="scratch", query=SHELL),
    ],
    fire_rows=4,
    settings={
        "allowlists": {
            "query_lists": {"pod-exec": [{"value": "sandbox", "reason": "throw-away debugging namespace"}]}
        }
    },
)

# --- pod-port-forward ----------------------------------------------------------------------------------------
case(
    "pod-port-forward",
    [
        *stream(
            T0, "portforward", stages=("ResponseComplete",), ns="db", pod="postgres-0", query="ports=5432"
        ),
        *stream(T0 + td(minutes=1), "portforward", ns="db", pod="postgres-0", user="bob@example.com"),
        *[
            missing(e, "user.groups", "sourceIPs")
            for e in stream(T0 + td(minutes=2), "portforward", stages=("ResponseStarted", "ResponseComplete"))
        ],
    ],
    [
        *stream(T0, "portforward", ns="db", pod="postgres-0", stages=("ResponseComplete",), code=403),
        *stream(T0, "portforward", ns="db", pod="postgres-0", stages=("RequestReceived",)),
        *stream(T0, "portforward", user="system:node:node-1"),
        *stream(T0, "portforward", user="system:serviceaccount:monitoring:probe-controller"),
        *stream(T0, "exec", query=SHELL),
    ],
    fire_rows=3,
)


# --- privileged workloads ------------------------------------------------------------------------------------
def workload(kind: str, name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "metadata": {"name": name, "namespace": ns}}
    if kind == "CronJob":
        body["spec"] = {"jobTemplate": {"spec": {"template": {"spec": spec}}}}
    else:
        body["spec"] = {"template": {"spec": spec}}
    return body


def write_workload(t, resource, body, verb="create", **kw):  # type: ignore[no-untyped-def]
    md = body["metadata"]
    group = "batch" if resource in ("jobs", "cronjobs") else "apps"
    kw.setdefault("level", "Request")
    name = md["name"] if verb != "create" else None
    return ev(t, verb, resource, group=group, ns=md["namespace"], name=name, req=body, **kw)


def ctr(name: str = "app", image: str = "registry.example.com/app:1", **security: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": image}
    if security:
        c["securityContext"] = security
    return c


def debug_patch(t, container, **kw):  # type: ignore[no-untyped-def]
    """kubectl debug: an ephemeral container added to a running pod."""
    req = {"spec": {"ephemeralContainers": [container]}}
    return ev(
        t, "patch", "pods", ns="apps", name="api-1", sub="ephemeralcontainers", level="Request", req=req, **kw
    )


def no_body(e: dict[str, Any]) -> dict[str, Any]:
    e["level"] = "Metadata"
    return missing(e, "requestObject", *(["responseObject"] if "responseObject" in e else []))


PRIV = ctr("sh", "alpine:3.20", privileged=True)
case(
    "privileged-container",
    [
        pod_create(T0, pod_body("node-shell", "default", containers=[PRIV]), user="mallory@example.com"),
        write_workload(
            T0 + td(minutes=1),
            "daemonsets",
            workload("DaemonSet", "agent", "monitoring", {"initContainers": [PRIV], "containers": [ctr()]}),
        ),
        # kubectl debug --profile=sysadmin
        debug_patch(T0 + td(minutes=2), ctr("debugger-1", "busybox", privileged=True)),
        missing(
            write_workload(
                T0 + td(minutes=3),
                "deployments",
                workload("Deployment", "web", "apps", {"containers": [PRIV]}),
            ),
            "user.groups",
            "sourceIPs",
        ),
        # a log without the user: nothing shows a controller made it
        missing(pod_create(T0, pod_body("x", "default", containers=[PRIV])), "user.username", "user.groups"),
    ],
    [
        pod_create(T0, pod_body("web", "default", containers=[ctr(privileged=False)])),
        pod_create(T0, pod_body("plain", "default")),
        pod_create(T0, pod_body("node-shell", "default", containers=[PRIV]), code=403),
        pod_create(T0, pod_body("agent-x1", "monitoring", containers=[PRIV]), user=CTRL_DS),
        pod_create(T0, pod_body("kube-proxy-x", "kube-system", containers=[PRIV]), user="system:node:node-1"),
        no_body(pod_create(T0, pod_body("node-shell", "default", containers=[PRIV]))),
    ],
    fire_rows=5,
)

case(
    "host-network-pod",
    [
        pod_create(T0, pod_body("sniffer", "default", hostNetwork=True), user="mallory@example.com"),
        write_workload(
            T0 + td(minutes=1),
            "cronjobs",
            workload("CronJob", "scan", "ops", {"hostNetwork": True, "containers": [ctr()]}),
        ),
        missing(
            write_workload(
                T0 + td(minutes=2),
                "daemonsets",
                workload("DaemonSet", "ingress", "ingress", {"hostNetwork": True, "containers": [ctr()]}),
                verb="update",
            ),
            "user.groups",
            "sourceIPs",
        ),
    ],
    [
        pod_create(T0, pod_body("web", "default", hostNetwork=False)),
        pod_create(T0, pod_body("pid", "default", hostPID=True)),
        pod_create(T0, pod_body("sniffer", "default", hostNetwork=True), code=403),
        pod_create(T0, pod_body("ingress-x1", "ingress", hostNetwork=True), user=CTRL_DS),
        pod_create(T0, pod_body("web-1", "apps", hostNetwork=True), user=CTRL_RS),
        no_body(pod_create(T0, pod_body("sniffer", "default", hostNetwork=True))),
    ],
    fire_rows=3,
)

case(
    "run-as-root",
    [
        pod_create(T0, pod_body("a", "apps", containers=[ctr(runAsUser=0)])),
        # the pod's setting, not overridden by the container
        pod_create(T0, pod_body("b", "apps", containers=[ctr()], securityContext={"runAsUser": 0})),
        pod_create(T0, pod_body("c", "apps", containers=[ctr()], securityContext={"runAsNonRoot": False})),
        missing(
            write_workload(
                T0 + td(minutes=1),
                "statefulsets",
                workload("StatefulSet", "db", "data", {"containers": [ctr(runAsNonRoot=False)]}),
            ),
            "user.groups",
            "sourceIPs",
        ),
        debug_patch(T0 + td(minutes=2), ctr("debugger-2", "busybox", runAsUser=0)),
    ],
    [
        # overridden by the container; refused by the kubelet (runAsNonRoot wins); left to the image
        pod_create(
            T0, pod_body("d", "apps", containers=[ctr(runAsUser=1000)], securityContext={"runAsUser": 0})
        ),
        pod_create(
            T0,
            pod_body("e", "apps", containers=[ctr(runAsUser=1000)], securityContext={"runAsNonRoot": False}),
        ),
        pod_create(T0, pod_body("f", "apps", containers=[ctr(runAsUser=0, runAsNonRoot=True)])),
        pod_create(T0, pod_body("g", "apps", containers=[ctr()])),
        pod_create(T0, pod_body("h", "apps", containers=[ctr(runAsUser=0)]), code=403),
        pod_create(T0, pod_body("i-1", "apps", containers=[ctr(runAsUser=0)]), user=CTRL_RS),
        no_body(pod_create(T0, pod_body("j", "apps", containers=[ctr(runAsUser=0)]))),
    ],
    fire_rows=5,
)

case(
    "allow-privilege-escalation",
    [
        pod_create(T0, pod_body("a", "apps", containers=[ctr(allowPrivilegeEscalation=True)])),
        missing(
            write_workload(
                T0 + td(minutes=1),
                "jobs",
                workload(
                    "Job",
                    "migrate",
                    "apps",
                    {"initContainers": [ctr("init", allowPrivilegeEscalation=True)], "containers": [ctr()]},
                ),
            ),
            "user.groups",
            "sourceIPs",
        ),
    ],
    [
        pod_create(T0, pod_body("b", "apps", containers=[ctr(allowPrivilegeEscalation=False)])),
        pod_create(T0, pod_body("c", "apps", containers=[ctr()])),
        # privileged implies it: privileged-container's finding
        pod_create(
            T0, pod_body("d", "apps", containers=[ctr(privileged=True, allowPrivilegeEscalation=True)])
        ),
        pod_create(T0, pod_body("e", "apps", containers=[ctr(allowPrivilegeEscalation=True)]), code=403),
        no_body(pod_create(T0, pod_body("f", "apps", containers=[ctr(allowPrivilegeEscalation=True)]))),
    ],
    fire_rows=2,
)


def host_paths(*paths: str) -> list[dict[str, Any]]:
    return [{"name": f"h{i}", "hostPath": {"path": p}} for i, p in enumerate(paths)]


case(
    "hostpath-mount-other",
    [
        write_workload(
            T0,
            "daemonsets",
            workload(
                "DaemonSet",
                "fluent-bit",
                "logging",
                {"containers": [ctr()], "volumes": host_paths("/var/log")},
            ),
        ),
        pod_create(T0, pod_body("gpu", "kube-system", volumes=host_paths("/var/lib/kubelet/device-plugins"))),
        missing(
            pod_create(T0, pod_body("certs", "apps", volumes=host_paths("/etc/ssl/certs", "/data/cache"))),
            "user.groups",
            "sourceIPs",
        ),
    ],
    [
        # a sensitive path as well: hostpath-mount reports the workload, once
        pod_create(T0, pod_body("mixed", "apps", volumes=host_paths("/var/log", "/var/run/docker.sock"))),
        pod_create(T0, pod_body("e", "apps", volumes=[{"name": "d", "emptyDir": {}}])),
        pod_create(T0, pod_body("plain", "apps")),
        pod_create(T0, pod_body("logs", "logging", volumes=host_paths("/var/log")), code=403),
        pod_create(T0, pod_body("fluent-bit-x1", "logging", volumes=host_paths("/var/log")), user=CTRL_DS),
        no_body(pod_create(T0, pod_body("logs", "logging", volumes=host_paths("/var/log")))),
    ],
    fire_rows=3,
)

# --- privileged-role-binding ---------------------------------------------------------------------------------
R = "rbac.authorization.k8s.io"
DEVS = {"kind": "Group", "name": "devs", "apiGroup": R}
MALLORY = {"kind": "User", "name": "mallory@example.com", "apiGroup": R}
DEFAULT_SA = {"kind": "ServiceAccount", "name": "default", "namespace": "apps"}
MASTERS = {"kind": "Group", "name": "system:masters", "apiGroup": R}


def bind(t, kind, name, role, subjects, ns=None, role_kind="ClusterRole", verb="create", **kw):  # type: ignore[no-untyped-def]
    resource = "clusterrolebindings" if kind == "ClusterRoleBinding" else "rolebindings"
    kw.setdefault("level", "Request")
    body = binding_body(kind, name, role_kind, role, subjects, ns=ns)
    return ev(t, verb, resource, group=R, ns=ns, name=name if verb != "create" else None, req=body, **kw)


case(
    "privileged-role-binding",
    [
        bind(T0, "ClusterRoleBinding", "devs-edit", "edit", [DEVS]),
        bind(
            T0, "RoleBinding", "mallory-ca", "cluster-admin", [MALLORY], ns="apps", user="mallory@example.com"
        ),
        bind(T0, "RoleBinding", "ops-admin", "admin", [DEVS], ns="kube-system"),
        bind(T0, "ClusterRoleBinding", "masters-view", "view", [MASTERS]),
        # a default service account and a person: admin-to-default-sa says the first, this one the grant
        bind(T0, "ClusterRoleBinding", "mixed", "cluster-admin", [DEFAULT_SA, MALLORY]),
        # a patch that adds subjects: the role comes from the response body
        ev(
            T0 + td(minutes=1),
            "patch",
            "clusterrolebindings",
            group=R,
            name="devs-admin",
            level="RequestResponse",
            req={"subjects": [DEVS, MALLORY]},
            resp=binding_body("ClusterRoleBinding", "devs-admin", "ClusterRole", "admin", [DEVS, MALLORY]),
        ),
        missing(
            bind(T0 + td(minutes=2), "ClusterRoleBinding", "eve-ca", "cluster-admin", [MALLORY]),
            "user.groups",
            "sourceIPs",
        ),
    ],
    [
        # namespace admin and cluster-wide view are ordinary grants
        bind(T0, "RoleBinding", "team-admin", "admin", [DEVS], ns="apps"),
        bind(T0, "ClusterRoleBinding", "devs-view", "view", [DEVS]),
        # only the default service account: admin-to-default-sa's finding
        bind(T0, "ClusterRoleBinding", "default-ca", "cluster-admin", [DEFAULT_SA]),
        # the API server's own bootstrap binding; refused; a Role that is only named cluster-admin
        bind(T0, "ClusterRoleBinding", "cluster-admin", "cluster-admin", [MASTERS], user="system:apiserver"),
        bind(T0, "ClusterRoleBinding", "devs-edit", "edit", [DEVS], code=403),
        bind(T0, "RoleBinding", "fake", "cluster-admin", [DEVS], ns="apps", role_kind="Role"),
        # a label patch (no subjects in the body); a Metadata-level create (no body)
        ev(
            T0,
            "patch",
            "clusterrolebindings",
            group=R,
            name="devs-edit",
            level="RequestResponse",
            req={"metadata": {"labels": {"team": "devs"}}},
            resp=binding_body("ClusterRoleBinding", "devs-edit", "ClusterRole", "edit", [DEVS]),
        ),
        no_body(bind(T0, "ClusterRoleBinding", "x", "cluster-admin", [MALLORY])),
    ],
    fire_rows=7,
)
