"""The cast of the synthetic cluster: nodes, namespaces, workloads, identities and the engineers' habits."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

K8S_VERSION = "v1.30.4"
K8S_COMMIT = "a51b5f9"
KUBECTL_UA = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
CONTROL_PLANE_IP = "10.0.0.10"

User = dict[str, Any]


def component_ua(component: str, suffix: str = "") -> str:
    ua = f"{component}/{K8S_VERSION} (linux/amd64) kubernetes/{K8S_COMMIT}"
    return f"{ua}/{suffix}" if suffix else ua


def make_uuid(rng: random.Random) -> str:
    """A version-4 UUID from `rng` (the uuid module would read the OS entropy pool, not our seed)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


@dataclass(frozen=True)
class Node:
    name: str
    ip: str
    uid: str
    pod_prefix: str  # pods on this node get addresses in this /24 (flannel-style 10.244.<n>.0/24)


@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    image: str
    service_account: str
    pods: tuple[tuple[str, str, int], ...]  # (pod name, pod uid, node index)
    replicaset: str


@dataclass(frozen=True)
class Engineer:
    name: str
    user: User
    tz: ZoneInfo
    holidays: frozenset[tuple[int, int]]  # (month, day) in their region
    ips: tuple[str, ...]  # the office / VPN egress addresses they always use
    user_agents: tuple[str, ...]
    work_start: int  # local hour
    work_end: int
    namespaces: tuple[str, ...]
    admin: bool


@dataclass
class Cluster:
    name: str
    nodes: list[Node]
    workloads: list[Workload]
    engineers: list[Engineer]
    namespaces: list[str]
    app_namespaces: list[str]
    uids: dict[str, str] = field(default_factory=dict)

    def sa_user(self, namespace: str, name: str, *, pod: tuple[str, str, int] | None = None) -> User:
        """A service account's user as the token authenticator reports it (bound tokens carry the pod)."""
        key = f"sa:{namespace}:{name}"
        uid = self.uids.setdefault(key, make_uuid(random.Random(f"{self.name}:{key}")))
        user: User = {
            "username": f"system:serviceaccount:{namespace}:{name}",
            "uid": uid,
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{namespace}",
                "system:authenticated",
            ],
        }
        if pod is not None:
            node = self.nodes[pod[2]]
            jti = make_uuid(random.Random(f"{self.name}:jti:{pod[0]}"))
            user["extra"] = {
                "authentication.kubernetes.io/credential-id": [f"JTI={jti}"],
                "authentication.kubernetes.io/node-name": [node.name],
                "authentication.kubernetes.io/node-uid": [node.uid],
                "authentication.kubernetes.io/pod-name": [pod[0]],
                "authentication.kubernetes.io/pod-uid": [pod[1]],
            }
        return user

    def workload(self, namespace: str, name: str) -> Workload:
        for w in self.workloads:
            if w.namespace == namespace and w.name == name:
                return w
        raise KeyError(f"{namespace}/{name}")

    def pod_ip(self, pod: tuple[str, str, int]) -> str:
        return f"{self.nodes[pod[2]].pod_prefix}{10 + sum(map(ord, pod[0])) % 240}"


_APPS: dict[str, list[tuple[str, str]]] = {
    "payments": [
        ("payments-api", "ghcr.io/acme/payments-api:1.4.2"),
        ("ledger", "ghcr.io/acme/ledger:2.0.7"),
    ],
    "checkout": [("checkout-web", "ghcr.io/acme/checkout-web:3.2.0"), ("cart", "ghcr.io/acme/cart:1.9.1")],
    "catalog": [("catalog-api", "ghcr.io/acme/catalog-api:0.18.3"), ("search", "ghcr.io/acme/search:5.1.0")],
    "auth": [("auth-server", "ghcr.io/acme/auth-server:2.3.4")],
}
_SYSTEM: dict[str, list[tuple[str, str]]] = {
    "kube-system": [
        ("coredns", "registry.k8s.io/coredns/coredns:v1.11.1"),
        ("metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.1"),
    ],
    "monitoring": [("prometheus", "quay.io/prometheus/prometheus:v2.53.0")],
    "argocd": [("argocd-application-controller", "quay.io/argoproj/argocd:v2.12.3")],
    "cert-manager": [("cert-manager", "quay.io/jetstack/cert-manager-controller:v1.15.1")],
    "ingress-nginx": [("ingress-nginx-controller", "registry.k8s.io/ingress-nginx/controller:v1.11.1")],
}

# (name, time zone, region holidays, office/VPN addresses, user agents, hours, namespaces, admin)
_PEOPLE: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...], int, int, tuple[str, ...], bool]] = [
    (
        "alice",
        "America/New_York",
        "us",
        ("198.51.100.23", "198.51.100.24"),
        (KUBECTL_UA,),
        9,
        18,
        ("payments", "checkout", "kube-system"),
        True,
    ),
    (
        "bob",
        "America/Chicago",
        "us",
        ("198.51.100.23", "172.58.91.14"),
        (KUBECTL_UA, "k9s/v0.32.5"),
        8,
        17,
        ("checkout", "catalog"),
        False,
    ),
    (
        "carol",
        "Europe/Berlin",
        "eu",
        ("81.2.69.142",),
        (KUBECTL_UA,),
        9,
        18,
        ("catalog", "auth", "monitoring"),
        True,
    ),
    (
        "dave",
        "Europe/Berlin",
        "eu",
        ("81.2.69.142", "81.2.69.160"),
        (KUBECTL_UA, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Headlamp/0.25.0"),
        10,
        19,
        ("payments", "auth"),
        False,
    ),
    ("erin", "Asia/Kolkata", "in", ("103.21.244.8",), (KUBECTL_UA,), 10, 19, ("catalog", "checkout"), False),
    (
        "frank",
        "America/Los_Angeles",
        "us",
        ("198.51.100.77",),
        (KUBECTL_UA, "Lens/6.5.2"),
        9,
        17,
        ("payments", "checkout", "catalog"),
        False,
    ),
]
_HOLIDAYS = {
    "us": frozenset({(1, 1), (5, 25), (7, 4), (9, 7), (11, 26), (12, 25)}),
    "eu": frozenset({(1, 1), (5, 1), (10, 3), (12, 25), (12, 26)}),
    "in": frozenset({(1, 26), (8, 15), (10, 2), (11, 8)}),
}


def node_count(lease_events_per_hour: float) -> int:
    """Enough nodes that a 10 s lease interval fits the budget, within 6..60 nodes."""
    return max(6, min(60, round(lease_events_per_hour / 360)))


def build_cluster(name: str, seed: int, nodes: int) -> Cluster:
    """The cast depends on the cluster name and seed only, so a baseline and a month agree on it."""
    rng = random.Random(f"cast:{name}:{seed}")
    node_list = [
        Node(
            f"{name}-pool-{'ab'[i % 2]}-{_suffix(rng, 5)}", f"10.0.1.{10 + i}", make_uuid(rng), f"10.244.{i}."
        )
        for i in range(nodes)
    ]
    workloads: list[Workload] = []
    for ns, apps in {**_APPS, **_SYSTEM}.items():
        for app, image in apps:
            rs = f"{app}-{rng.randrange(16**9, 16**10):x}"[: len(app) + 11]
            replicas = 2 if ns in _SYSTEM else rng.choice((2, 3, 4))
            pods = tuple(
                (f"{rs}-{_suffix(rng, 5)}", make_uuid(rng), rng.randrange(nodes)) for _ in range(replicas)
            )
            workloads.append(Workload(ns, app, image, app, pods, rs))
    # kube-proxy runs on every node: the exec incident needs a kube-system pod with a token worth stealing.
    proxy_pods = tuple((f"kube-proxy-{_suffix(rng, 5)}", make_uuid(rng), i) for i in range(nodes))
    workloads.append(
        Workload(
            "kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:v1.30.4", "kube-proxy", proxy_pods, ""
        )
    )
    engineers = []
    for person, tz, region, ips, uas, start, end, nss, admin in _PEOPLE:
        user: User = {
            "username": f"{person}@acme.example",
            "groups": ["acme:platform" if admin else "acme:developers", "system:authenticated"],
        }
        engineers.append(
            Engineer(person, user, ZoneInfo(tz), _HOLIDAYS[region], ips, uas, start, end, nss, admin)
        )
    namespaces = [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        *_APPS,
        *list(_SYSTEM)[1:],
        "ci",
    ]
    return Cluster(name, node_list, workloads, engineers, namespaces, list(_APPS))


def is_working_day(engineer: Engineer, day: date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in engineer.holidays
