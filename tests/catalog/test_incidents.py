"""Incidents: which findings belong together, what severity and rank the group gets, and the exact JSON shape.

Findings are built directly (the correlation is pure); one test runs the catalog over a small archive.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kanalytics import open_archive
from kanalytics.catalog.attack import TACTICS, TECHNIQUE_TACTICS, tactic_of
from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.incidents import DEFAULT_WINDOW, build_incidents, granted_subjects
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.model import Finding
from tests.conftest import make_event

T0 = datetime(2026, 10, 25, 20, 18, 45, tzinfo=UTC)
SA = "system:serviceaccount:payments:payments-api"
ATTACKER = "45.155.205.233"
# Techniques of the queries these tests use, as their headers say (the stolen-token test uses the catalog's).
TECHNIQUES = {
    "public-ip": ["T1078.004", "T1528"],  # initial access, credential access
    "probe": ["T1613"],  # discovery
    "exec": ["T1609"],  # execution
    "escape": ["T1611"],  # privilege escalation
    "persist": ["T1098"],  # persistence
    "wipe": ["T1070"],  # defense evasion
    "token": ["T1528"],  # credential access
}


def finding(
    query_id: str,
    severity: str = "medium",
    *,
    at: timedelta = timedelta(0),
    user: str | None = SA,
    ip: str | None = ATTACKER,
    audit_id: str | None = None,
    cluster: str | None = "c1",
    verb: str | None = "get",
    resource: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> Finding:
    ts = T0 + at
    return Finding(
        query_id=query_id, title=f"title of {query_id}", kind="detection", severity=severity,  # type: ignore[arg-type]
        area="activity", ts=ts, audit_id=audit_id or f"{query_id}-{ts.isoformat()}", user_name=user,
        source_ip=ip, verb=verb, resource=resource, namespace=namespace, object_name=name,
        summary=f"{user} did {query_id}", cluster=cluster, evidence=evidence or {},
    )  # fmt: skip


def groups(findings: list[Finding], **kwargs: Any) -> list[list[str]]:
    """Each incident's member audit ids, in rank order."""
    built = build_incidents(findings, techniques=kwargs.pop("techniques", TECHNIQUES), **kwargs)
    return [[f.audit_id or "" for f in incident.findings] for incident in built]


# -- ATT&CK table ----------------------------------------------------------------------------------------------
def test_every_catalog_technique_maps_to_one_tactic(catalog: Catalog) -> None:
    unmapped = sorted(
        f"{q.id}: {t}" for q in catalog.queries.values() for t in q.header.mitre if t not in TECHNIQUE_TACTICS
    )
    assert not unmapped, f"add these techniques to kanalytics/catalog/attack.py TECHNIQUE_TACTICS: {unmapped}"


def test_tactics_follow_the_attack_kill_chain_order() -> None:
    assert TACTICS == (
        "reconnaissance", "initial-access", "execution", "persistence", "privilege-escalation", "defense-evasion",
        "credential-access", "discovery", "lateral-movement", "collection", "command-and-control",
        "exfiltration", "impact",
    )  # fmt: skip
    assert set(TECHNIQUE_TACTICS.values()) <= set(TACTICS)
    assert tactic_of("T1552.999") == "credential-access"  # an unknown sub-technique falls back to its parent
    assert tactic_of("T9999") is None


# -- the demo's stolen-token story -----------------------------------------------------------------------------
def stolen_token() -> list[Finding]:
    """The demo's stolen-token shape: a service account's token used from a hosting address."""
    first = "b69a9032-0000-0000-0000-000000000001"
    return [
        finding("system-principal-public-ip", "high", audit_id=first, verb="list", resource="pods"),
        finding("first-seen-identity-source-network", "medium", audit_id=first, verb="list", resource="pods"),
        finding("first-seen-identity-user-agent", "low", audit_id=first, verb="list", resource="pods"),
        finding(
            "self-subject-review",
            "low",
            at=timedelta(seconds=2),
            audit_id="a92136bd",
            verb="create",
            resource="selfsubjectrulesreviews",
        ),
        finding("authz-denied-burst", "medium", at=timedelta(seconds=3), audit_id="d6b6f7d7", verb=None),
        finding(
            "first-seen-identity-verb-resource",
            "low",
            at=timedelta(seconds=19),
            audit_id="45b4e2e4",
            verb="list",
            resource="configmaps",
            namespace="payments",
        ),
    ]


def background() -> list[Finding]:
    """Unrelated findings around it: other people, other days, one of them high."""
    return [
        finding("hostpid-pod", "high", at=-timedelta(days=12), user="dave@acme.example", ip="81.2.69.142",
                audit_id="e9dce974", verb="create", resource="pods", namespace="monitoring", name="node-debugger"),
        finding("events-deleted", "medium", at=timedelta(days=5), user="dave@acme.example", ip="81.2.69.142",
                audit_id="bfc5ae3b", verb="delete", resource="events", namespace="payments"),
        finding("falco-secret-get-successfully", "info", at=timedelta(minutes=1), audit_id="info-1"),
    ]  # fmt: skip


def test_stolen_token_story_is_one_raised_incident_at_the_top() -> None:
    incidents = build_incidents([*background(), *stolen_token()])  # the built-in catalog's techniques
    assert len(incidents) == 3
    top = incidents[0]
    assert [f.query_id for f in top.findings] == [
        "first-seen-identity-source-network", "first-seen-identity-user-agent", "system-principal-public-ip",
        "self-subject-review", "authz-denied-burst", "first-seen-identity-verb-resource",
    ]  # fmt: skip
    assert top.severity == "critical"  # its most severe member is high; the sequence raises it one level
    # one tactic per query, its primary one: T1078.004 (not the T1528 it also names), T1613 for the anomalies
    assert top.tactics == ["initial-access", "discovery"]
    assert top.title == "title of system-principal-public-ip (4 steps, 2 tactics)"
    assert (top.identities, top.source_ips, top.clusters) == ([SA], [ATTACKER], ["c1"])
    assert (top.start, top.end) == (T0, T0 + timedelta(seconds=19))
    assert top.narrative[0] == (
        f"Initial access: 2026-10-25 20:18:45Z {SA} list pods from {ATTACKER} [c1]: "
        "title of system-principal-public-ip (+3 more findings)"
    )
    assert [line.split(":", 1)[0] for line in top.narrative] == [
        "Initial access",
        "Discovery",
    ]
    assert [(i.severity, len(i.findings)) for i in incidents[1:]] == [("high", 1), ("medium", 1)]


# -- linking rules ---------------------------------------------------------------------------------------------
def test_unrelated_findings_hours_apart_stay_two_incidents() -> None:
    found = [
        finding("probe", user="alice@acme.example", ip="81.2.69.142", audit_id="a"),
        finding("exec", user="bob@acme.example", ip="91.243.85.17", audit_id="b", at=timedelta(hours=3)),
    ]
    assert groups(found) == [["a"], ["b"]]


def test_info_findings_take_no_part_and_every_other_finding_is_in_exactly_one_incident() -> None:
    found = [*background(), *stolen_token()]
    members = [f.audit_id for i in build_incidents(found) for f in i.findings]
    assert sorted(members) == sorted(f.audit_id for f in found if f.severity != "info")


def test_a_private_or_node_address_never_links() -> None:
    private = [
        finding("probe", user="system:serviceaccount:a:x", ip="10.0.0.5", audit_id="a"),
        finding(
            "exec", user="system:serviceaccount:b:y", ip="10.0.0.5", audit_id="b", at=timedelta(minutes=1)
        ),
    ]
    assert groups(private) == [["a"], ["b"]]
    public = [
        finding("probe", user="system:serviceaccount:a:x", ip="34.1.2.3", audit_id="a"),
        finding(
            "exec", user="system:serviceaccount:b:y", ip="34.1.2.3", audit_id="b", at=timedelta(minutes=1)
        ),
    ]
    assert groups(public) == [["a", "b"]]
    on_a_node = [
        finding("probe", user="system:node:ip-34-1-2-3", ip="34.1.2.3", audit_id="n"),
        *public,
    ]  # a public address a kubelet uses is the node's: everything on the node shares it
    assert sorted(groups(on_a_node)) == [["a"], ["b"], ["n"]]
    trusted = groups(public, trusted_networks=["34.1.0.0/16"])
    assert sorted(trusted) == [["a"], ["b"]]


def test_people_behind_one_public_address_are_not_linked_by_it() -> None:
    office = "81.2.69.142"
    people = [
        finding("probe", user="alice@acme.example", ip=office, audit_id="a"),
        finding("exec", user="bob@acme.example", ip=office, audit_id="b", at=timedelta(minutes=5)),
    ]
    assert groups(people) == [["a"], ["b"]]
    stolen = [*people, finding("token", user=SA, ip=office, audit_id="s", at=timedelta(minutes=6))]
    assert groups(stolen) == [["a", "b", "s"]]  # the service account's use links to both people nearby


def test_anonymous_requests_are_one_actor_only_from_one_address() -> None:
    anonymous = [
        finding("probe", user="system:anonymous", ip="185.220.101.47", audit_id="a"),
        finding("probe", user="system:anonymous", ip="185.220.101.48", audit_id="b", at=timedelta(seconds=5)),
        finding("exec", user="system:anonymous", ip="185.220.101.47", audit_id="c", at=timedelta(seconds=9)),
    ]
    assert groups(anonymous) == [["a", "c"], ["b"]]


def test_a_target_object_links_different_identities() -> None:
    pod = {"resource": "pods", "namespace": "shop", "name": "web-1"}
    found = [
        finding("escape", user="alice@acme.example", ip="10.0.0.1", audit_id="a", **pod),
        finding(
            "exec",
            user="system:serviceaccount:ci:deployer",
            ip="10.0.0.2",
            audit_id="b",
            at=timedelta(minutes=30),
            **pod,
        ),
        finding(
            "exec",
            user="bob@acme.example",
            ip="10.0.0.3",
            audit_id="c",
            at=timedelta(minutes=31),
            resource="pods",
            namespace="shop",
            name=None,
        ),
    ]
    assert groups(found) == [["a", "b"], ["c"]]  # a namespace without a name is no shared object


def test_a_credential_chain_links_the_grant_to_the_grantee() -> None:
    grant = finding("sa-token-request", user="alice@acme.example", ip="81.2.69.142", audit_id="g", verb="create",
                    resource="serviceaccounts", namespace="payments", name="payments-api")  # fmt: skip
    use = finding("public-ip", "high", user=SA, ip=ATTACKER, audit_id="u", at=timedelta(minutes=40))
    later = finding("probe", user=SA, ip=ATTACKER, audit_id="p", at=timedelta(minutes=41))
    techniques = {**TECHNIQUES, "sa-token-request": ["T1528"]}
    assert granted_subjects(grant) == [SA]
    assert groups([grant, use, later], techniques=techniques) == [["g", "u", "p"]]
    too_late = finding(
        "public-ip", "high", user=SA, ip=ATTACKER, audit_id="u", at=DEFAULT_WINDOW + timedelta(1)
    )
    assert groups([grant, too_late], techniques=techniques) == [["u"], ["g"]]
    other_cluster = finding("public-ip", "high", user=SA, ip=ATTACKER, audit_id="u", cluster="c2",
                            at=timedelta(minutes=40))  # fmt: skip
    assert groups([grant, other_cluster], techniques=techniques) == [["u"], ["g"]]


def test_binding_subjects_from_evidence_are_granted() -> None:
    subjects = (
        '[{"kind":"User","name":"mallory@partner.example"},{"kind":"ServiceAccount","name":"x"},'
        '{"kind":"ServiceAccount","name":"y","namespace":"ops"},{"kind":"Group","name":"system:masters"},'
        '{"kind":"User","name":"system:anonymous"}]'
    )
    binding = finding("falco-attach-cluster-admin-role", verb="create", resource="clusterrolebindings",
                      namespace="shop", evidence={"subjects": subjects})  # fmt: skip
    assert granted_subjects(binding) == [
        "mallory@partner.example", "system:serviceaccount:shop:x", "system:serviceaccount:ops:y",
    ]  # fmt: skip
    exec_token = finding("exec-cmd-credential-files", verb="create", resource="pods", namespace="kube-system",
                         evidence={"service_account": "kube-proxy"})  # fmt: skip
    assert granted_subjects(exec_token) == ["system:serviceaccount:kube-system:kube-proxy"]
    assert (
        granted_subjects(finding("probe", verb="create", resource="rolebindings", evidence={"subjects": "?"}))
        == []
    )


def test_only_the_same_person_links_across_clusters() -> None:
    same_sa = [
        finding("probe", audit_id="a", cluster="c1"),
        finding("exec", audit_id="b", cluster="c2", at=timedelta(minutes=1)),
    ]  # the same service account name and address in two clusters: two tokens, two incidents
    assert groups(same_sa) == [["a"], ["b"]]
    same_person = [
        finding("probe", user="alice@acme.example", ip="10.0.0.1", audit_id="a", cluster="c1"),
        finding(
            "exec", user="alice@acme.example", ip="10.0.0.2", audit_id="b", cluster="c2", at=timedelta(1 / 24)
        ),
    ]
    incidents = build_incidents(same_person, techniques=TECHNIQUES)
    assert len(incidents) == 1 and incidents[0].clusters == ["c1", "c2"]


def test_window_edge_and_single_linkage() -> None:
    def pair(gap: timedelta) -> list[Finding]:
        return [finding("probe", audit_id="a"), finding("exec", audit_id="b", at=gap)]

    assert groups(pair(DEFAULT_WINDOW)) == [["a", "b"]]  # at most the window apart: linked
    assert groups(pair(DEFAULT_WINDOW + timedelta(microseconds=1))) == [["a"], ["b"]]
    assert groups(pair(timedelta(minutes=20)), window=timedelta(minutes=15)) == [["a"], ["b"]]
    chain = [finding("probe", audit_id=str(n), at=n * timedelta(minutes=90)) for n in range(4)]
    incident = build_incidents(chain, techniques=TECHNIQUES)
    assert len(incident) == 1 and incident[0].end - incident[0].start == timedelta(hours=4, minutes=30)


# -- severity ---------------------------------------------------------------------------------------------------
def test_an_anomaly_tells_the_story_but_does_not_make_a_sequence() -> None:
    from dataclasses import replace

    high = finding("escape", "high", audit_id="pod")
    first_seen = replace(finding("probe", "low", audit_id="review", at=timedelta(minutes=1)), kind="anomaly")
    [incident] = build_incidents([high, first_seen], techniques=TECHNIQUES)
    assert (incident.severity, incident.tactics) == ("high", ["privilege-escalation", "discovery"])
    as_detection = replace(first_seen, kind="detection")
    [raised] = build_incidents([high, as_detection], techniques=TECHNIQUES)
    assert raised.severity == "critical"


def test_one_request_matching_several_queries_is_not_a_sequence() -> None:
    one_request = [finding(q, "medium", audit_id="same") for q in ("exec", "escape", "persist", "wipe")]
    [incident] = build_incidents(one_request, techniques=TECHNIQUES)
    assert (incident.severity, len(incident.tactics), incident.title) == (
        "medium",
        4,
        "title of escape (1 step, 4 tactics)",
    )


def test_sequence_raises_one_level_and_four_tactics_make_it_critical() -> None:
    two = [
        finding("probe", "low", audit_id="a"),
        finding("exec", "medium", audit_id="b", at=timedelta(1 / 96)),
    ]
    assert build_incidents(two, techniques=TECHNIQUES)[0].severity == "high"
    all_low = [finding("probe", "low", audit_id="a"), finding("exec", "low", audit_id="b")]
    assert build_incidents(all_low, techniques=TECHNIQUES)[0].severity == "low"  # a sequence needs a medium
    same_tactic = [finding("exec", "medium", audit_id="a"), finding("exec", "medium", audit_id="b")]
    assert build_incidents(same_tactic, techniques=TECHNIQUES)[0].severity == "medium"
    four = [finding(q, "medium", audit_id=q, at=n * timedelta(minutes=1))
            for n, q in enumerate(("exec", "persist", "escape", "wipe"))]  # fmt: skip
    [incident] = build_incidents(four, techniques=TECHNIQUES)
    assert incident.severity == "critical"
    assert incident.tactics == ["execution", "persistence", "privilege-escalation", "defense-evasion"]


# -- ranking, ids, JSON -----------------------------------------------------------------------------------------
def ranked_set() -> list[Finding]:
    day = timedelta(days=1)
    return [
        finding("exec", "high", user="u1@x.example", audit_id="high-1tactic", at=0 * day),
        finding("exec", "high", user="u2@x.example", audit_id="high-2tactics", at=1 * day),
        finding("token", "high", user="u2@x.example", audit_id="high-2tactics", at=1 * day),
        finding("probe", "medium", user="u3@x.example", audit_id="medium-heavy-1", at=2 * day),
        finding("probe", "medium", user="u3@x.example", audit_id="medium-heavy-2", at=2 * day),
        finding("probe", "medium", user="u4@x.example", audit_id="medium-early", at=-day),
        finding("probe", "medium", user="u5@x.example", audit_id="medium-late", at=3 * day),
        finding("exec", "critical", user="u6@x.example", audit_id="critical", at=4 * day),
    ]


def test_rank_by_severity_then_tactics_then_weight_then_start() -> None:
    assert groups(ranked_set()) == [
        ["critical"], ["high-2tactics", "high-2tactics"], ["high-1tactic"], ["medium-heavy-1", "medium-heavy-2"],
        ["medium-early"], ["medium-late"],
    ]  # fmt: skip


def test_ids_are_stable_whatever_the_input_order() -> None:
    first = build_incidents(ranked_set(), techniques=TECHNIQUES)
    shuffled = ranked_set()
    random.Random(7).shuffle(shuffled)
    again = build_incidents(shuffled, techniques=TECHNIQUES)
    assert [i.id for i in first] == [i.id for i in again]
    assert all(re.fullmatch(r"inc-[0-9a-f]{12}", i.id) for i in first) and len({i.id for i in first}) == 6
    moved = build_incidents([finding("exec", audit_id="x", at=timedelta(seconds=1))], techniques=TECHNIQUES)
    assert moved[0].id != build_incidents([finding("exec", audit_id="x")], techniques=TECHNIQUES)[0].id


def test_json_shape() -> None:
    [incident] = build_incidents(stolen_token()[3:5])
    data = incident.to_json()
    assert list(data) == [
        "id", "severity", "title", "start", "end", "identities", "source_ips", "clusters", "tactics", "narrative",
        "findings",
    ]  # fmt: skip
    assert data["findings"] == [
        {"finding_id": finding_id(f), "query_id": f.query_id, "audit_id": f.audit_id}
        for f in incident.findings
    ]
    assert [(m["query_id"], m["audit_id"]) for m in data["findings"]] == [
        ("self-subject-review", "a92136bd"), ("authz-denied-burst", "d6b6f7d7"),
    ]  # fmt: skip
    assert (data["start"], data["end"]) == ("2026-10-25T20:18:47+00:00", "2026-10-25T20:18:48+00:00")
    assert (data["severity"], data["tactics"]) == ("medium", ["discovery"])  # one tactic: no sequence


# -- end to end ------------------------------------------------------------------------------------------------
def test_archive_incidents_end_to_end(tmp_path: Path) -> None:
    """The catalog over a small archive: a service account's token used from a hosting address (a public-IP
    finding, then a self-subject review) is one raised incident; a person's secrets listing a day later is
    another; `min_severity` filters incidents by their own severity."""
    sa = {"username": SA, "groups": ["system:serviceaccounts", "system:authenticated"]}
    review = {"resource": "selfsubjectrulesreviews", "apiGroup": "authorization.k8s.io", "apiVersion": "v1"}
    events = [
        make_event(T0, user=sa, sourceIPs=[ATTACKER], verb="list", requestURI="/api/v1/namespaces/payments/pods",
                   objectRef={"resource": "pods", "namespace": "payments", "apiVersion": "v1"}),
        make_event(T0 + timedelta(seconds=5), user=sa, sourceIPs=[ATTACKER], verb="create", objectRef=review,
                   requestURI="/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                   responseStatus={"metadata": {}, "code": 201}),
        make_event(T0 + timedelta(days=1), verb="list", requestURI="/api/v1/secrets", sourceIPs=["10.0.0.9"],
                   objectRef={"resource": "secrets", "apiVersion": "v1"}),
    ]  # fmt: skip
    archive = open_archive(tmp_path / "archive")
    archive.ingest_events(events, cluster="c1")
    result = archive.incidents(start="2026-10-25", end="2026-10-27")
    assert result.findings is not None and result.findings.ok
    summary = [(i.severity, i.identities, sorted({f.query_id for f in i.findings})) for i in result]
    assert summary == [
        ("critical", [SA], ["self-subject-review", "system-principal-public-ip"]),
        ("high", ["alice@example.com"], ["secrets-list-clusterwide"]),
    ]
    assert result.incidents[0].tactics == ["initial-access", "discovery"]
    critical = archive.incidents(start="2026-10-25", end="2026-10-27", min_severity="critical")
    assert [i.id for i in critical] == [result.incidents[0].id]
