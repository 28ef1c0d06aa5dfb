"""Cases for the audit-trail integrity queries and the threshold detections."""

from __future__ import annotations

from datetime import timedelta as td

from make_events import T0, case, ev

# --- thresholds ------------------------------------------------------------------------------------------------
THIEF = "system:serviceaccount:apps:config-reader"
case(
    "secrets-bulk-get",
    [
        ev(
            T0 + td(seconds=10 * i),
            "get",
            "secrets",
            ns=f"team-{i % 4}",
            name=f"db-cred-{i}",
            user=THIEF,
            ip="203.0.113.77",
        )
        for i in range(22)
    ],
    [ev(T0 + td(seconds=10 * i), "get", "secrets", ns="apps", name=f"s-{i % 3}") for i in range(30)]
    + [
        ev(T0 + td(minutes=7 * i), "get", "secrets", ns="apps", name=f"slow-{i}", user="bob@example.com")
        for i in range(12)
    ]
    + [
        ev(
            T0 + td(seconds=i),
            "get",
            "secrets",
            ns="apps",
            name=f"x-{i}",
            user="system:kube-controller-manager",
        )
        for i in range(12)
    ],
    fire_rows=1,
)
PROBE = [
    "pods",
    "secrets",
    "configmaps",
    "deployments",
    "daemonsets",
    "nodes",
    "namespaces",
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
    "serviceaccounts",
    "services",
    "ingresses",
    "selfsubjectaccessreviews",
    "networkpolicies",
]
case(
    "authz-denied-burst",
    [
        ev(
            T0 + td(seconds=3 * i),
            "create" if r == "selfsubjectaccessreviews" else "list",
            r,
            code=403,
            user="eve@example.com",
            group="authorization.k8s.io" if r == "selfsubjectaccessreviews" else "",
        )
        for i, r in enumerate(PROBE)
    ],
    [
        ev(
            T0 + td(seconds=20 * i),
            "get",
            "secrets",
            ns="apps",
            name="db",
            code=403,
            user="system:serviceaccount:apps:api",
        )
        for i in range(40)
    ]
    + [ev(T0 + td(seconds=i), "list", r, code=403, user="system:node:node-1") for i, r in enumerate(PROBE)],
    fire_rows=1,
)
SCAN = [
    "/api",
    "/apis",
    "/api/v1/pods",
    "/api/v1/secrets",
    "/api/v1/namespaces",
    "/.env",
    "/metrics",
    "/api/v1/nodes",
]
case(
    "unauth-scan",
    [
        ev(
            T0 + td(seconds=i),
            "get",
            uri=p,
            user="system:anonymous",
            ip="198.51.100.66",
            ua="Go-http-client/1.1",
            code=200 if p in ("/api", "/apis") else 403,
        )
        for i, p in enumerate(SCAN)
    ],
    [
        ev(
            T0 + td(seconds=30 * i),
            "get",
            uri=p,
            user="system:anonymous",
            ip="10.0.0.2",
            ua="kube-probe/1.30",
        )
        for i, p in enumerate(["/healthz", "/livez", "/readyz", "/version"] * 5)
    ]
    + [
        ev(T0 + td(seconds=i), "get", uri=p, user="system:anonymous", ip="198.51.100.67", code=200)
        for i, p in enumerate(["/api", "/apis", "/openapi/v2", "/version", "/api/v1", "/apis/apps"])
    ],
    fire_rows=1,
)

# --- integrity -------------------------------------------------------------------------------------------------
REUSED = "5f2c1d0e-aaaa-4bbb-8ccc-000000000001"
case(
    "integrity-audit-id-conflict",
    [
        ev(T0, "get", "configmaps", ns="apps", name="cfg", audit_id=REUSED),
        ev(
            T0 + td(minutes=3),
            "delete",
            "secrets",
            ns="apps",
            name="db",
            user="mallory@example.com",
            audit_id=REUSED,
        ),
    ],
    [
        ev(T0, "get", "configmaps", ns="apps", name="cfg", audit_id=REUSED, stage="RequestReceived"),
        ev(T0, "get", "configmaps", ns="apps", name="cfg", audit_id=REUSED),
    ],
    fire_rows=1,
)
case(
    "integrity-stage-before-request",
    [ev(T0, "get", "pods", ns="apps", stage_t=T0 - td(minutes=5))],
    [
        ev(T0, "get", "pods", ns="apps", stage_t=T0 + td(milliseconds=3)),
        ev(T0, "get", "pods", ns="apps", stage_t=T0 - td(milliseconds=400)),
    ],
    fire_rows=1,
)
case(
    "integrity-clock-jump",
    [
        ev(T0, "get", "pods", ns="apps", stage_t=T0 + td(hours=2)),
        ev(
            T0,
            "list",
            "pods",
            ns="apps",
            stage="RequestReceived",
            audit_id="ab000000-0000-4000-8000-000000000001",
            stage_t=T0 + td(seconds=30),
        ),
        ev(
            T0,
            "list",
            "pods",
            ns="apps",
            audit_id="ab000000-0000-4000-8000-000000000001",
            stage_t=T0 + td(seconds=2),
        ),
    ],
    [
        ev(T0, "watch", "pods", ns="apps", stage_t=T0 + td(hours=1)),
        ev(T0, "create", "pods", ns="apps", name="x", sub="exec", stage_t=T0 + td(hours=1)),
        ev(T0, "get", "pods", ns="apps", stage_t=T0 + td(seconds=50)),
    ],
    fire_rows=1,
)

# 6 events/hour for the baseline day and the period day, except a 4-hour silence (and one nearly silent hour).
BASE0 = T0.replace(hour=0) - td(days=1)
steady = []
for h in range(48):
    hour = BASE0 + td(hours=h)
    n = 0 if 24 + 3 <= h <= 24 + 7 else 6
    for i in range(n):
        steady.append(
            ev(
                hour + td(minutes=10 * i),
                "update",
                "leases",
                group="coordination.k8s.io",
                ns="kube-node-lease",
                name="node-1",
                user="system:node:node-1",
            )
        )
full = [
    ev(
        BASE0 + td(hours=h, minutes=10 * i),
        "update",
        "leases",
        group="coordination.k8s.io",
        ns="kube-node-lease",
        name="node-1",
        user="system:node:node-1",
    )
    for h in range(48)
    for i in range(6)
]
case(
    "integrity-audit-log-gap",
    steady,
    full,
    period_start=T0.replace(hour=0),
    period_end=T0.replace(hour=0) + td(days=1),
    baseline_start=BASE0,
    fire_rows=1,
)
