"""Cases for the behavioural anomalies: a 7-day baseline of routine work, then a Monday period.

Every quiet.jsonl holds the same baseline plus a period of equally routine work (so it also checks that normal
activity stays quiet); every fire.jsonl holds the baseline plus routine work plus one incident.
"""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import timedelta as td

from make_events import case, ev

BASE = datetime(2026, 10, 12, tzinfo=UTC)  # Monday; baseline Mon 12 - Sun 18, period Mon 19
PERIOD = datetime(2026, 10, 19, tzinfo=UTC)
META = {"period_start": PERIOD, "period_end": PERIOD + td(days=1), "baseline_start": BASE}
ALICE, SA, CI, EVE = (
    "alice@example.com",
    "system:serviceaccount:apps:config-reader",
    "ci-deployer",
    "eve@example.com",
)
SA_UA = "config-reader/1.4.0 (linux/amd64) kubernetes/abc"
CI_UA = "argocd-application-controller/v2.9.3"


def routine(day: datetime) -> list[dict]:
    out = []
    weekday = day.weekday() < 5
    for h in range(24):
        t = day + td(hours=h)
        # the service account reads its configmap every hour, every day, from its pod
        out.append(
            ev(
                t + td(minutes=5),
                "get",
                "configmaps",
                ns="apps",
                name="cfg",
                user=SA,
                ip="10.244.1.17",
                ua=SA_UA,
            )
        )
        if weekday and 9 <= h < 17:
            for i in range(3):
                out.append(
                    ev(t + td(minutes=10 + 15 * i), "list", "pods", ns="apps", user=ALICE, ip="10.20.0.15")
                )
            if h == 11:
                out.append(
                    ev(
                        t + td(minutes=55),
                        "get",
                        "secrets",
                        ns="apps",
                        name="db",
                        user=ALICE,
                        ip="10.20.0.15",
                    )
                )
            if h == 14:
                out.append(
                    ev(
                        t + td(minutes=1),
                        "patch",
                        "deployments",
                        group="apps",
                        ns="apps",
                        name="api",
                        user=CI,
                        ip="10.30.0.4",
                        ua=CI_UA,
                    )
                )
                out.append(
                    ev(
                        t + td(minutes=2),
                        "patch",
                        "deployments",
                        group="apps",
                        ns="apps",
                        name="api",
                        user=ALICE,
                        ip="10.20.0.15",
                    )
                )
    return out


baseline = [e for d in range(7) for e in routine(BASE + td(days=d))]
normal = baseline + routine(PERIOD)


def anomaly(qid: str, incident: list[dict], near_miss: list[dict] | None = None, **meta) -> None:
    case(qid, normal + incident, normal + (near_miss or []), **{**META, **meta})


P3 = PERIOD + td(hours=3)
P10 = PERIOD + td(hours=10)
anomaly(
    "first-seen-identity-source-network",
    [
        ev(P10, "list", "pods", ns="apps", user=ALICE, ip="203.0.113.50"),
        ev(P10 + td(minutes=1), "list", "pods", ns="apps", user=ALICE, ip="203.0.113.51"),
    ],
    [
        ev(
            P10, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="10.244.7.3", ua=SA_UA
        ),  # pod moved node
        ev(P10, "list", "pods", ns="apps", user=ALICE, ip="198.51.100.8"),
    ],  # trusted VPN range
    fire_rows=1,
    settings={
        "allowlists": {"trusted_networks": [{"cidr": "198.51.100.0/24", "reason": "corporate VPN egress"}]}
    },
)
anomaly(
    "first-seen-identity-user-agent",
    [ev(P10, "list", "secrets", user=SA, ip="203.0.113.77")],
    [
        ev(
            P10,
            "get",
            "configmaps",
            ns="apps",
            name="cfg",
            user=SA,
            ip="10.244.1.17",
            ua="config-reader/1.5.0 (linux/amd64) kubernetes/def",
        )
    ],  # version upgrade
    fire_rows=1,
)
anomaly(
    "first-seen-identity-verb-resource",
    [
        ev(P10, "list", "secrets", user=SA, ip="203.0.113.77"),
        ev(
            P10,
            "create",
            "clusterrolebindings",
            group="rbac.authorization.k8s.io",
            name="x",
            user="newbie@example.com",
        ),
    ],
    [
        ev(P10, "list", "configmaps", ns="apps", user=ALICE),  # new but harmless read by a person
        ev(P10, "get", "configmaps", ns="apps", name="cfg", user=SA, ip="10.244.1.17", ua=SA_UA),
    ],
    fire_rows=2,
)
anomaly(
    "off-hours-activity",
    [
        ev(P3 + td(minutes=m), "get", "secrets", ns="kube-system", name=f"s{m}", user=ALICE, ip="10.20.0.15")
        for m in range(0, 30, 5)
    ],
    [
        ev(P10, "list", "pods", ns="apps", user=ALICE),
        ev(P3, "list", "pods", ns="apps", user="oncall@example.com"),
    ],  # no baseline: not judged
    fire_rows=1,
)
anomaly(
    "volume-spike-identity",
    [
        ev(P10 + td(seconds=20 * i), "get", "configmaps", ns=f"ns-{i % 9}", name=f"c{i}", user=ALICE)
        for i in range(120)
    ],
    [ev(P10 + td(seconds=60 * i), "list", "pods", ns="apps", user=ALICE) for i in range(8)],
    fire_rows=1,
)
anomaly(
    "secrets-unusual-accessor",
    [ev(P10, "list", "secrets", user=SA, ip="203.0.113.77")],
    [
        ev(P10 + td(hours=1), "get", "secrets", ns="apps", name="db", user=ALICE, ip="10.20.0.15"),
        ev(
            P10,
            "get",
            "secrets",
            ns="apps",
            name="x",
            user="system:serviceaccount:cert-manager:cert-manager",
            ip="10.244.2.9",
        ),
    ],
    fire_rows=1,
    settings={
        "allowlists": {
            "automation_users": [
                {"value": "system:serviceaccount:cert-manager:cert-manager", "reason": "manages TLS secrets"}
            ]
        }
    },
)
anomaly(
    "workload-change-anomalous",
    [
        ev(
            P10,
            "patch",
            "deployments",
            group="apps",
            ns="apps",
            name="api",
            user=CI,
            ip="203.0.113.9",
            ua=KUBECTL_UA,
        )
        for KUBECTL_UA in ["kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"]
    ],
    [
        ev(
            P10,
            "patch",
            "deployments",
            group="apps",
            ns="apps",
            name="api",
            user=CI,
            ip="10.30.0.4",
            ua=CI_UA,
        ),
        ev(
            P10,
            "create",
            "replicasets",
            group="apps",
            ns="apps",
            name="api-7f9",
            user="system:serviceaccount:kube-system:deployment-controller",
            ip="10.0.0.10",
        ),
    ],
    fire_rows=1,
)
PROBE = ["secrets", "clusterroles", "clusterrolebindings", "nodes", "daemonsets", "serviceaccounts"]
anomaly(
    "denied-then-privileged",
    [
        ev(P10 + td(seconds=10 * i), "list", r, code=403, user=EVE, ip="10.20.0.99")
        for i, r in enumerate(PROBE)
    ]
    + [
        ev(
            P10 + td(hours=2),
            "create",
            "clusterrolebindings",
            group="rbac.authorization.k8s.io",
            name="eve-admin",
            user=EVE,
            ip="10.20.0.99",
        )
    ],
    [ev(P10 + td(seconds=10 * i), "list", r, code=403, user="bob@example.com") for i, r in enumerate(PROBE)]
    + [
        ev(
            P10 + td(hours=8),
            "create",
            "clusterrolebindings",
            group="rbac.authorization.k8s.io",
            name="b",
            user="bob@example.com",
        )
    ],
    fire_rows=1,
)
