"""Correlate findings into incidents and rank them: what an operator reviews first (docs/incidents.md).

`build_incidents` is pure: findings in, ranked incidents out. Two non-info findings are linked when they share
an identity, a public client address, a target object, or a credential chain (a finding that grants subject S
a credential or role, then S acting) and are at most `window` apart; an incident is a connected group (single
linkage over time). Its severity is its most severe member's, raised when the members form a sequence across
ATT&CK tactics (kanalytics.catalog.attack). The rules, and why, are in docs/incidents.md.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kanalytics.catalog.attack import TACTIC_RANK, TACTIC_TITLES, primary_tactic
from kanalytics.catalog.findings import finding_id
from kanalytics.catalog.functions import in_networks, ip_scope, parse_address
from kanalytics.catalog.model import Finding
from kanalytics.vocabulary import SEVERITIES, SEVERITY_ORDER, Severity

if TYPE_CHECKING:
    from kanalytics.catalog.api import FindingsResult
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.review import IncidentVerdict
    from kanalytics.config import Settings

DEFAULT_WINDOW = timedelta(hours=2)
ANONYMOUS_USERS = frozenset({"system:anonymous"})
# A member's weight in the ranking: one high outweighs several lows.
SEVERITY_WEIGHT: dict[str, int] = {"info": 0, "low": 1, "medium": 4, "high": 16, "critical": 64}
# A sequence needs a member at least this severe before it raises the incident's severity.
SEQUENCE_FLOOR = SEVERITY_ORDER["medium"]
CRITICAL_TACTICS = 4  # a sequence spanning this many tactics is critical
GRANT_VERBS = frozenset({"create", "update", "patch"})
BINDING_RESOURCES = frozenset({"rolebindings", "clusterrolebindings"})
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # a finding without a timestamp links to nothing


@dataclass
class Incident:
    """Findings that belong together, with what they add up to. `findings` are in time order, `tactics` in
    kill-chain order, `narrative` one line per tactic."""

    id: str
    severity: Severity
    title: str
    start: datetime
    end: datetime
    identities: list[str]
    source_ips: list[str]
    clusters: list[str]
    tactics: list[str]
    narrative: list[str]
    findings: list[Finding]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "identities": list(self.identities),
            "source_ips": list(self.source_ips),
            "clusters": list(self.clusters),
            "tactics": list(self.tactics),
            "narrative": list(self.narrative),
            "findings": [
                {"finding_id": finding_id(f), "query_id": f.query_id, "audit_id": f.audit_id}
                for f in self.findings
            ],
        }


@dataclass
class IncidentsResult:
    """The ranked incidents of [start, end) and the findings result they were built from (its failed and
    not-evaluable queries say what the incidents cannot show)."""

    start: datetime
    end: datetime
    incidents: list[Incident] = field(default_factory=list)
    findings: FindingsResult | None = None

    def __iter__(self) -> Iterator[Incident]:
        return iter(self.incidents)

    def __len__(self) -> int:
        return len(self.incidents)

    def to_json(self, verdicts: Mapping[str, IncidentVerdict] | None = None) -> list[dict[str, Any]]:
        """The incidents as JSON; with `verdicts` (kanalytics.catalog.review.incident_reviews) each also says
        what analysts recorded on it: verdict, review and reviewed members (null/0 when nobody did)."""
        if verdicts is None:
            return [incident.to_json() for incident in self.incidents]
        none = {"verdict": None, "review": None, "reviewed": 0}
        return [
            incident.to_json() | (verdicts[incident.id].to_json() if incident.id in verdicts else none)
            for incident in self.incidents
        ]


def incidents_result(
    found: FindingsResult,
    *,
    catalog: Catalog,
    settings: Settings,
    min_severity: int = 0,
) -> IncidentsResult:
    """The incidents of a findings result (the review queue), at or above the severity rank `min_severity`."""
    built = configured_incidents(found.findings, catalog=catalog, settings=settings)
    chosen = [i for i in built if SEVERITY_ORDER[i.severity] >= min_severity]
    return IncidentsResult(start=found.start, end=found.end, incidents=chosen, findings=found)


def configured_incidents(
    findings: Sequence[Finding], *, catalog: Catalog, settings: Settings
) -> list[Incident]:
    """`build_incidents` with the archive's own catalog (its techniques) and settings (window, trusted networks):
    what `kanalytics incidents` and the report both use."""
    return build_incidents(
        findings,
        window=timedelta(minutes=settings.incidents.window_minutes),
        techniques={q.id: q.header.mitre for q in catalog.queries.values()},
        trusted_networks=[entry.cidr for entry in settings.allowlists.trusted_networks],
    )


def build_incidents(
    findings: Sequence[Finding],
    *,
    window: timedelta = DEFAULT_WINDOW,
    techniques: Mapping[str, Sequence[str]] | None = None,
    trusted_networks: Sequence[str] = (),
) -> list[Incident]:
    """Every non-info finding in exactly one incident, most urgent first.

    `techniques`: query id -> its ATT&CK technique ids (default: the built-in catalog's headers);
    `trusted_networks`: CIDRs whose addresses are the organisation's own and so never link findings.
    """
    if techniques is None:
        techniques = _builtin_techniques()
    members = sorted((f for f in findings if f.severity != "info"), key=_time_key)
    links = _Links(len(members))
    _link_shared_keys(members, links, window, tuple(trusted_networks))
    _link_credential_chains(members, links, window)
    groups: dict[int, list[Finding]] = defaultdict(list)
    for index, finding in enumerate(members):
        groups[links.root(index)].append(finding)
    incidents = [_incident(group, techniques) for group in groups.values()]
    return sorted(incidents, key=_rank_key)


# -- linking -------------------------------------------------------------------------------------------------
class _Links:
    """Union-find over finding indexes: which findings ended up in one incident."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def root(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def join(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _link_shared_keys(
    members: list[Finding], links: _Links, window: timedelta, trusted: tuple[str, ...]
) -> None:
    """Link each finding to the nearest earlier one with the same identity, address or object if at most
    `window` before it: single linkage over time, key by key (`members` are in time order).

    An address links two findings unless both are people's: an office, VPN or carrier NAT puts everyone behind
    one public address, while a stolen token or an anonymous probe from the address a person used is telling."""
    node_addresses = {
        (f.cluster, f.source_ip) for f in members if (f.user_name or "").startswith("system:node:")
    }
    last: dict[Hashable, int] = {}  # key -> the latest finding with it
    last_not_human: dict[Hashable, int] = {}  # address key -> the latest finding with it not by a person
    people: dict[Hashable, list[int]] = defaultdict(list)  # address key -> people's findings since then
    for index, finding in enumerate(members):
        if finding.ts is None:
            continue
        for key in _keys(finding):
            _join_within(members, links, window, last.get(key), index)
            last[key] = index
        address = _linking_address(finding, trusted, node_addresses)
        if address is None:
            continue
        _join_within(members, links, window, last_not_human.get(address), index)
        if finding.user_name is not None and is_human(finding.user_name):
            waiting = people[address]
            waiting[:] = [i for i in waiting if finding.ts - _ts(members[i]) <= window]
            waiting.append(index)
        else:
            # Every person's finding since the previous non-person one that is near enough (the earlier ones
            # are linked through that previous one already).
            for earlier in people.pop(address, []):
                _join_within(members, links, window, earlier, index)
            last_not_human[address] = index


def _join_within(
    members: list[Finding], links: _Links, window: timedelta, previous: int | None, index: int
) -> None:
    if previous is not None and _ts(members[index]) - _ts(members[previous]) <= window:
        links.join(previous, index)


def _keys(finding: Finding) -> list[Hashable]:
    """The identity and target-object keys of a finding (the address is `_linking_address`)."""
    keys: list[Hashable] = []
    user, cluster = finding.user_name, finding.cluster
    if user in ANONYMOUS_USERS:
        # Every scanner on the internet is system:anonymous: only the same address makes it the same actor.
        if finding.source_ip is not None:
            keys.append(("anonymous", cluster, user, finding.source_ip))
    elif user is not None:
        # A person is the same person on every cluster; any other identity is one cluster's.
        keys.append(("human", user) if is_human(user) else ("identity", cluster, user))
    if finding.object_name and finding.resource:
        keys.append(("object", cluster, finding.resource, finding.namespace, finding.object_name))
    return keys


def _linking_address(
    finding: Finding, trusted: tuple[str, ...], node_addresses: set[tuple[str | None, str | None]]
) -> Hashable | None:
    """The address key of a finding whose client address is public (kanalytics.catalog.functions' judgement),
    outside the trusted networks and not a node's own; else None (those are shared by everything)."""
    text = finding.source_ip
    if not text or ip_scope(text) != "public" or in_networks(text, trusted):
        return None
    if (finding.cluster, text) in node_addresses:
        return None
    return ("address", finding.cluster, str(parse_address(text)))  # ::ffff:a.b.c.d is a.b.c.d


def _link_credential_chains(members: list[Finding], links: _Links, window: timedelta) -> None:
    """Link a finding that grants subject S a credential or role to the first finding by S in the same cluster
    at most `window` later (S's later findings then follow by identity)."""
    by_identity: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    for index, finding in enumerate(members):
        if finding.user_name is not None and finding.ts is not None:
            by_identity[(finding.cluster, finding.user_name)].append(index)
    times = {key: [_ts(members[i]) for i in indexes] for key, indexes in by_identity.items()}
    for index, finding in enumerate(members):
        if finding.ts is None:
            continue
        for subject in granted_subjects(finding):
            key = (finding.cluster, subject)
            later, at = by_identity.get(key, []), times.get(key, [])
            position = bisect.bisect_left(at, finding.ts)
            if position < len(later) and at[position] - finding.ts <= window:
                links.join(index, later[position])


def granted_subjects(finding: Finding) -> list[str]:
    """The identities a finding creates a credential for or grants a role to: a service account created or
    given a token (the object), the subjects of a (Cluster)RoleBinding write (evidence `subjects`), and the
    pod's service account of an exec that reads a token (evidence `service_account`, when the query knows it).
    Groups and the anonymous user are left out: they name no one actor."""
    subjects: list[str] = []
    if (
        finding.resource == "serviceaccounts"
        and finding.verb == "create"
        and finding.namespace
        and finding.object_name
    ):
        subjects.append(service_account(finding.namespace, finding.object_name))
    if finding.resource in BINDING_RESOURCES and finding.verb in GRANT_VERBS:
        for subject in _subject_list(finding.evidence.get("subjects")):
            kind, name = subject.get("kind"), subject.get("name")
            if not isinstance(name, str) or not name:
                continue
            if kind == "ServiceAccount":
                namespace = subject.get("namespace") or finding.namespace
                if isinstance(namespace, str) and namespace:
                    subjects.append(service_account(namespace, name))
            elif kind == "User" and name not in ANONYMOUS_USERS:
                subjects.append(name)
    account = finding.evidence.get("service_account")
    if isinstance(account, str) and account:
        if account.startswith("system:serviceaccount:"):
            subjects.append(account)
        elif finding.namespace:
            subjects.append(service_account(finding.namespace, account))
    return list(dict.fromkeys(subjects))


def service_account(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def _subject_list(value: Any) -> list[dict[str, Any]]:
    """RBAC subjects from evidence: a list of objects, or that list as JSON text (what a query's CAST gives)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, dict):
        value = [value]
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def is_human(user: str) -> bool:
    """A person's identity: the macro identity_type's "human" (not system:*, not a managed control plane's)."""
    return not user.startswith(("system:", "eks:", "aksService"))


# -- one incident --------------------------------------------------------------------------------------------
def _incident(group: list[Finding], techniques: Mapping[str, Sequence[str]]) -> Incident:
    # one tactic per finding: its query's primary one (see attack.primary_tactic)
    primaries = [primary_tactic(techniques.get(f.query_id, ())) for f in group]
    tactics_by_finding = [[t] if t else [] for t in primaries]
    tactics = sorted({t for found in tactics_by_finding for t in found}, key=TACTIC_RANK.__getitem__)
    # The sequence that raises severity is judged on detections only: an anomaly ("first seen", "volume
    # spike") tells the story but is not an attack step, and nearly every person's high finding has one.
    requests: dict[str, set[str]] = defaultdict(set)
    for finding, found in zip(group, tactics_by_finding, strict=True):
        requests[_request(finding)].update(found if finding.kind == "detection" else ())
    lead = min(group, key=lambda f: (-SEVERITY_ORDER[f.severity], _time_key(f)))
    steps = len({_request(f) for f in group})
    return Incident(
        id=incident_id(group),
        severity=incident_severity(group, requests),
        title=f"{lead.title} ({_count(steps, 'step')}, {_count(len(tactics), 'tactic')})",
        start=_ts(group[0]),
        end=max(_ts(f) for f in group),
        identities=_distinct(f.user_name for f in group),
        source_ips=_distinct(f.source_ip for f in group),
        clusters=_distinct(f.cluster for f in group),
        tactics=list(tactics),
        narrative=_narrative(group, tactics_by_finding, tactics),
        findings=list(group),
    )


def incident_severity(group: list[Finding], requests: Mapping[str, set[str]]) -> Severity:
    """The most severe member's, raised one level for a sequence (critical from CRITICAL_TACTICS tactics).

    A sequence: at least two tactics of detections seen in at least two different requests, and a member at
    least medium. One request matching several queries is one step, however many tactics its queries name;
    anomalies add no tactic here (see `_incident`)."""
    top = max(SEVERITY_ORDER[f.severity] for f in group)
    with_tactics = [found for found in requests.values() if found]
    tactics = set().union(*with_tactics) if with_tactics else set()
    if len(with_tactics) >= 2 and len(tactics) >= 2 and top >= SEQUENCE_FLOOR:
        top = SEVERITY_ORDER["critical"] if len(tactics) >= CRITICAL_TACTICS else top + 1
    return SEVERITIES[len(SEVERITIES) - 1 - min(top, SEVERITY_ORDER["critical"])]


def incident_id(group: list[Finding]) -> str:
    """Stable: a hash of the members' (query_id, audit_id, ts), so the same archive always gives the same id."""
    keys = sorted(f"{f.query_id}\x1f{f.audit_id or ''}\x1f{_ts(f).isoformat()}" for f in group)
    return "inc-" + hashlib.blake2b("\n".join(keys).encode("utf-8"), digest_size=6).hexdigest()


def _narrative(
    group: list[Finding], tactics_by_finding: Sequence[Sequence[str]], tactics: Sequence[str]
) -> list[str]:
    """One line per tactic in kill-chain order (its most severe, then earliest, finding), then one for
    findings whose queries name no technique."""
    lines: list[str] = []
    shown: set[int] = set()
    for tactic in [*tactics, None]:
        chosen = [
            f
            for f, found in zip(group, tactics_by_finding, strict=True)
            if (tactic in found if tactic else not found)
        ]
        if not chosen:
            continue
        # Of equally severe candidates, a step not told yet: one request rarely stands for every tactic.
        step = min(chosen, key=lambda f: (-SEVERITY_ORDER[f.severity], id(f) in shown, _time_key(f)))
        shown.add(id(step))
        more = f" (+{_count(len(chosen) - 1, 'more finding')})" if len(chosen) > 1 else ""
        lines.append(f"{TACTIC_TITLES[tactic] if tactic else 'Other'}: {_step(step)}{more}")
    return lines


def _step(f: Finding) -> str:
    """'2026-10-25 20:18:45Z alice@acme.example get secrets shop/db from 81.2.69.142 [c1]: <query title>'."""
    when = _ts(f).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    parts = [when, f.user_name or "(no identity)", " ".join(p for p in (f.verb, f.resource) if p) or "acted"]
    if f.object_name:
        parts.append(f"{f.namespace}/{f.object_name}" if f.namespace else f.object_name)
    elif f.namespace:
        parts += ["in", f.namespace]
    if f.source_ip:
        parts += ["from", f.source_ip]
    if f.cluster:
        parts.append(f"[{f.cluster}]")
    return " ".join(parts) + f": {f.title}"


# -- ordering ------------------------------------------------------------------------------------------------
def _rank_key(incident: Incident) -> tuple[int, int, int, datetime, str]:
    weight = sum(SEVERITY_WEIGHT[f.severity] for f in incident.findings)
    return (-SEVERITY_ORDER[incident.severity], -len(incident.tactics), -weight, incident.start, incident.id)


def _time_key(f: Finding) -> tuple[datetime, str, str]:
    return (_ts(f), f.query_id, f.audit_id or "")


def _ts(f: Finding) -> datetime:
    return f.ts if f.ts is not None else _NO_TIME


def _request(f: Finding) -> str:
    """What one request is: its audit ID, else (a pattern of events) the finding itself."""
    return f.audit_id or f"{f.query_id}@{_ts(f).isoformat()}"


def _distinct(values: Any) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _builtin_techniques() -> dict[str, list[str]]:
    from kanalytics.catalog.loader import load_catalog

    return {q.id: list(q.header.mitre) for q in load_catalog().queries.values()}
