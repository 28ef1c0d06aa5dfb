"""Cases for the detections that judge a request's origin from its sourceIPs chain."""

from __future__ import annotations

from datetime import timedelta as td

from make_events import T0, case, ev

ALICE = "alice@example.com"
SA = "system:serviceaccount:apps:config-reader"
THIEF = "45.155.205.233"

case(
    "forwarded-for-mismatch",
    [
        # The stolen token: X-Forwarded-For claims 10.0.0.1, the connection is from the internet.
        ev(T0, "list", "secrets", user=SA, ip=["10.0.0.1", THIEF]),
        ev(T0 + td(seconds=3), "get", "secrets", ns="apps", name="db", user=SA, ip=["10.0.0.1", THIEF]),
        # A person, loopback claimed, through a chain of two forged entries (one public, one loopback).
        ev(T0, "list", "pods", user=ALICE, ip=["198.51.100.66", "127.0.0.1", "203.0.113.50"]),
        # IPv6 connection, IPv4-mapped private claim; and a link-local (metadata endpoint) claim.
        ev(T0, "get", "nodes", user=ALICE, ip=["::ffff:192.168.1.10", "2a05:d014:abc::7"]),
        ev(T0, "list", "configmaps", user=SA, ip=["169.254.169.254", "198.51.100.7"]),
        # X-Real-Ip style CGNAT claim.
        ev(T0, "list", "nodes", user="system:node:node-1", ip=["100.64.9.9", "203.0.113.51"]),
    ],
    [
        # A load balancer or ingress in front of the API server: public client, private connection.
        ev(T0, "list", "pods", user=ALICE, ip=["203.0.113.77", "10.0.0.4"]),
        ev(T0, "list", "pods", user=ALICE, ip=["203.0.113.77", "::ffff:10.0.0.4"]),
        # Public claim from a public connection: a proxy chain on the internet, nothing internal claimed.
        ev(T0, "list", "pods", user=ALICE, ip=["198.51.100.8", "203.0.113.9"]),
        # Single entries and none: no forwarded chain to disagree with.
        ev(T0, "list", "pods", user=ALICE, ip=THIEF),
        ev(T0, "list", "pods", user=ALICE, ip="10.0.0.1"),
        ev(T0, "list", "pods", user=ALICE, ip=[]),
        ev(T0, "list", "pods", user=ALICE, ip=None),
        # Unauthenticated: unauth-scan and the anonymous detections judge those.
        ev(T0, "get", "pods", user="system:anonymous", ip=["10.0.0.1", THIEF], code=403),
        # The connection address is your own forward proxy's egress (trusted), or on this query's list.
        ev(T0, "list", "pods", user=ALICE, ip=["10.1.2.3", "192.0.2.10"]),
        ev(T0, "list", "pods", user="ci-bot", ip=["10.1.2.3", "198.51.100.23"]),
        # Garbage in the forwarded part is not an internal claim; an unparseable connection is not public.
        ev(T0, "list", "pods", user=ALICE, ip=["unknown", THIEF]),
        ev(T0, "list", "pods", user=ALICE, ip=["10.0.0.1", "not-an-address"]),
        # The RequestReceived stage repeats the request: only later stages are judged.
        ev(T0, "list", "pods", user=ALICE, ip=["10.0.0.1", "203.0.113.9"], stage="RequestReceived"),
    ],
    fire_rows=5,
    settings={
        "allowlists": {
            "trusted_networks": [{"cidr": "192.0.2.0/28", "reason": "corporate forward proxy egress"}],
            "query_lists": {
                "forwarded-for-mismatch": [{"value": "ci-bot", "reason": "CI runner behind NAT"}]
            },
        }
    },
)
