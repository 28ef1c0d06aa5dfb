"""Cases for the image, debug-pod, controller-SA, dashboard and denied-secrets detections."""

from __future__ import annotations

from datetime import timedelta as td

from make_events import T0, binding_body, case, ev, pod_body, pod_create

CTRL_RS = "system:serviceaccount:kube-system:replicaset-controller"
TRUSTED = {
    "allowlists": {
        "trusted_registries": [
            {"value": "registry.example.com/", "reason": "company registry"},
            {"value": "docker.io/library/nginx", "reason": "official nginx image"},
        ]
    }
}


def deployment(name: str, ns: str, spec: dict) -> dict:
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": {"spec": spec}},
    }


def create_deployment(t, body, **kw):  # type: ignore[no-untyped-def]
    md = body["metadata"]
    kw.setdefault("level", "RequestResponse")
    return ev(t, "create", "deployments", group="apps", ns=md["namespace"], req=body, resp=body, **kw)


# --- suspicious-image-pull -----------------------------------------------------------------------------------
case(
    "suspicious-image-pull",
    [
        pod_create(
            T0, pod_body("miner", "apps", containers=[{"name": "m", "image": "evil.example.net/xmrig:6"}])
        ),
        # a look-alike host is not the trusted registry
        pod_create(
            T0, pod_body("y", "apps", containers=[{"name": "m", "image": "registry.example.com.evil.net/a"}])
        ),
        create_deployment(
            T0 + td(minutes=1),
            deployment(
                "web",
                "apps",
                {
                    "initContainers": [
                        {"name": "init", "image": "busybox:1.36"}
                    ],  # docker.io/library/busybox
                    "containers": [{"name": "web", "image": "nginx:1.27"}],
                },
            ),
        ),
    ],
    [
        pod_create(T0, pod_body("app", "apps")),  # registry.example.com/app:1.2
        pod_create(
            T0, pod_body("proxy", "apps", containers=[{"name": "p", "image": "docker.io/library/nginx:1"}])
        ),
        pod_create(T0, pod_body("web", "apps", containers=[{"name": "w", "image": "nginx@sha256:abc"}])),
        # untrusted, but refused / made by the replicaset controller from a reviewed deployment
        pod_create(
            T0, pod_body("x", "apps", containers=[{"name": "m", "image": "evil.example.net/x"}]), code=403
        ),
        pod_create(
            T0, pod_body("web-1", "apps", containers=[{"name": "m", "image": "quay.io/x/y:1"}]), user=CTRL_RS
        ),
    ],
    fire_rows=3,
    settings=TRUSTED,
)

# --- debug-image-pod -----------------------------------------------------------------------------------------
NODE_SHELL = pod_body(
    "node-shell",
    "default",
    containers=[
        {
            "name": "shell",
            "image": "docker.io/library/alpine:3.20",
            "command": ["nsenter"],
            "args": ["-t", "1", "-m", "-u", "-i", "-n", "/bin/sh"],
            "securityContext": {"privileged": True},
        }
    ],
    hostPID=True,
)
DEBUG_NODE = pod_body(
    "node-debugger-node-1-abcde",
    "default",
    containers=[{"name": "debugger", "image": "busybox", "stdin": True, "tty": True}],
    hostPID=True,
    hostNetwork=True,
)
case(
    "debug-image-pod",
    [
        pod_create(T0, NODE_SHELL, user="mallory@example.com"),
        pod_create(T0 + td(minutes=2), DEBUG_NODE, user="carol@example.com"),
        pod_create(
            T0 + td(minutes=4),
            pod_body(
                "tools",
                "apps",
                containers=[
                    {
                        "name": "t",
                        "image": "nicolaka/netshoot:latest",
                        "command": ["bash", "-c", "sleep 1d"],
                        "securityContext": {"privileged": True},
                    }
                ],
            ),
        ),
    ],
    [
        # a debug image with a shell but no host access
        pod_create(
            T0,
            pod_body(
                "dbg",
                "apps",
                containers=[{"name": "d", "image": "busybox", "command": ["sh"], "stdin": True}],
            ),
        ),
        # privileged with host PID, but an ordinary agent image and command
        pod_create(
            T0,
            pod_body(
                "agent",
                "monitoring",
                containers=[
                    {
                        "name": "a",
                        "image": "registry.example.com/agent:2",
                        "securityContext": {"privileged": True},
                    }
                ],
                hostPID=True,
            ),
        ),
        # host PID busybox that runs a program, not a shell
        pod_create(
            T0,
            pod_body(
                "du",
                "apps",
                containers=[{"name": "d", "image": "busybox:1.36", "command": ["du", "-sh", "/"]}],
                hostPID=True,
            ),
        ),
        # an image whose name only ends like one of the list
        pod_create(
            T0,
            pod_body(
                "x",
                "apps",
                containers=[
                    {
                        "name": "x",
                        "image": "registry.example.com/my-alpine-app:1",
                        "command": ["sh"],
                        "securityContext": {"privileged": True},
                    }
                ],
            ),
        ),
        # made by the daemon-set controller; refused
        pod_create(T0, NODE_SHELL, user="system:serviceaccount:kube-system:daemon-set-controller"),
        pod_create(T0, NODE_SHELL, code=403),
    ],
    fire_rows=3,
)

# --- controller-sa-pod ---------------------------------------------------------------------------------------
case(
    "controller-sa-pod",
    [
        pod_create(
            T0,
            pod_body("ns-cleaner", "kube-system", serviceAccountName="namespace-controller"),
            user="mallory@example.com",
        ),
        create_deployment(
            T0 + td(minutes=1),
            deployment(
                "gc",
                "kube-system",
                {
                    "serviceAccountName": "generic-garbage-collector",
                    "containers": [{"name": "x", "image": "x"}],
                },
            ),
        ),
    ],
    [
        # an add-on controller with its own account
        create_deployment(
            T0,
            deployment(
                "aws-load-balancer-controller",
                "kube-system",
                {
                    "serviceAccountName": "aws-load-balancer-controller",
                    "containers": [{"name": "x", "image": "x"}],
                },
            ),
        ),
        # the same name outside kube-system is another account
        pod_create(T0, pod_body("p", "apps", serviceAccountName="namespace-controller")),
        # pods of a reviewed deployment made by the replicaset controller; a refused request
        pod_create(
            T0, pod_body("gc-1", "kube-system", serviceAccountName="generic-garbage-collector"), user=CTRL_RS
        ),
        pod_create(T0, pod_body("q", "kube-system", serviceAccountName="namespace-controller"), code=403),
        pod_create(T0, pod_body("coredns-x", "kube-system", serviceAccountName="coredns")),
    ],
    fire_rows=2,
)

# --- dashboard-exposed ---------------------------------------------------------------------------------------
R = "rbac.authorization.k8s.io"


def service(name: str, ns: str, type_: str, selector: dict) -> dict:
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": type_, "selector": selector, "ports": [{"port": 443}]},
    }


def svc_event(t, body, verb="create", **kw):  # type: ignore[no-untyped-def]
    md = body["metadata"]
    kw.setdefault("level", "Request")
    return ev(
        t, verb, "services", ns=md["namespace"], name=md["name"] if verb != "create" else None, req=body, **kw
    )


DASH_SA = {"kind": "ServiceAccount", "name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"}
case(
    "dashboard-exposed",
    [
        svc_event(
            T0,
            service(
                "kubernetes-dashboard",
                "kubernetes-dashboard",
                "LoadBalancer",
                {"k8s-app": "kubernetes-dashboard"},
            ),
            user="bob@example.com",
        ),
        svc_event(
            T0 + td(minutes=1),
            service("centraldashboard", "kubeflow", "NodePort", {"app": "centraldashboard"}),
            verb="patch",
        ),
        ev(
            T0 + td(minutes=2),
            "create",
            "clusterrolebindings",
            group=R,
            level="Request",
            req=binding_body(
                "ClusterRoleBinding", "dashboard-admin", "ClusterRole", "cluster-admin", [DASH_SA]
            ),
        ),
    ],
    [
        svc_event(
            T0,
            service(
                "kubernetes-dashboard",
                "kubernetes-dashboard",
                "ClusterIP",
                {"k8s-app": "kubernetes-dashboard"},
            ),
        ),
        svc_event(T0, service("web", "apps", "LoadBalancer", {"app": "web"})),
        svc_event(
            T0,
            service(
                "kubernetes-dashboard",
                "kubernetes-dashboard",
                "NodePort",
                {"k8s-app": "kubernetes-dashboard"},
            ),
            code=403,
        ),
        # the dashboard's own read-only binding; cluster-admin for another account
        ev(
            T0,
            "create",
            "clusterrolebindings",
            group=R,
            level="Request",
            req=binding_body("ClusterRoleBinding", "dashboard-view", "ClusterRole", "view", [DASH_SA]),
        ),
        ev(
            T0,
            "create",
            "clusterrolebindings",
            group=R,
            level="Request",
            req=binding_body(
                "ClusterRoleBinding",
                "ops",
                "ClusterRole",
                "cluster-admin",
                [{"kind": "Group", "name": "ops", "apiGroup": R}],
            ),
        ),
    ],
    fire_rows=3,
)

# --- secrets-denied-burst ------------------------------------------------------------------------------------
THIEF = "system:serviceaccount:apps:web"
case(
    "secrets-denied-burst",
    [
        ev(
            T0 + td(seconds=20 * i),
            "get",
            "secrets",
            ns=["apps", "payments", "kube-system"][i % 3],
            name=f"s{i}",
            user=THIEF,
            code=403,
            ip="10.244.3.8",
        )
        for i in range(25)
    ],
    [
        # 19 denials in a burst: below the threshold
        *[
            ev(T0 + td(seconds=20 * i), "get", "secrets", ns="apps", name=f"s{i}", user=THIEF, code=403)
            for i in range(19)
        ],
        # 25 denials spread over 5 hours (one every 12 minutes) never reach 20 within 15 minutes
        *[
            ev(
                T0 + td(hours=2, minutes=12 * i),
                "get",
                "secrets",
                ns="apps",
                name="db",
                user="eve@example.com",
                code=403,
            )
            for i in range(25)
        ],
        # 25 successful reads; 25 denials on configmaps; 25 denied secret reads by a node
        *[
            ev(T0 + td(seconds=5 * i), "get", "secrets", ns="apps", name=f"s{i}", user="bob@example.com")
            for i in range(25)
        ],
        *[
            ev(
                T0 + td(seconds=5 * i),
                "get",
                "configmaps",
                ns="apps",
                name=f"c{i}",
                user="bob@example.com",
                code=403,
            )
            for i in range(25)
        ],
        *[
            ev(
                T0 + td(seconds=5 * i),
                "get",
                "secrets",
                ns="apps",
                name=f"s{i}",
                user="system:node:node-1",
                code=403,
            )
            for i in range(25)
        ],
    ],
    fire_rows=1,
)
