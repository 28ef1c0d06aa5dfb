"""Audit policies (`audit.k8s.io/v1` Policy) checked against what the catalog's queries read.

A policy is parsed and validated here, and evaluated the way kube-apiserver does it (the first rule that
matches a request decides its level; no match means `None`; omitted stages are the policy's plus the rule's).
What each query reads is derived from its SQL and the SQL of the views it selects from: the values it compares
`resource`, `subresource`, `verb`, `stage`, `namespace`, `object_name` and `request_uri` with (`= '...'` or
`IN (...)`), plus its `needs_level` header. A query is blind under a policy when one of the requests it reads,
made by a person, a service account, a node, the control plane or an anonymous client, would be logged below
its level or only in stages it does not read.

`check_policy` gives the blind queries, the Secret and token bodies the policy would write to the API server's
own log, and a volume estimate on a synthetic cluster's request mix; `coverage_from_levels` applies the same
requirements to the levels an archive actually holds; `recommended_policy_text` is the shipped policy that
`kanalytics policy suggest` prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from kanalytics.errors import ConfigError, InputError
from kanalytics.vocabulary import AUDIT_LEVELS, LEVEL_ORDER

if TYPE_CHECKING:
    from kanalytics.catalog.loader import Catalog
    from kanalytics.catalog.model import Query

STAGES: Final = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
POLICY_FOLDER: Final = "policy"  # under queries/: shipped in the wheel with the catalog
RECOMMENDED_POLICY: Final = "recommended-audit-policy.yaml"
TRAFFIC_MIX: Final = "traffic-mix.json"

# Bytes per event by level. Metadata and RequestResponse are the averages of `kanalytics synth` output
# (benchmarks/policy_mix.py: 1,015 and 3,840 bytes); synth writes no Request events, so Request is assumed
# halfway (a request body without the response body).
BYTES_PER_EVENT: Final[dict[str, int]] = {
    "None": 0,
    "Metadata": 1015,
    "Request": 2430,
    "RequestResponse": 3840,
}

# The API group of the resources the catalog reads (policy rules match group and resource exactly);
# a resource not listed is taken to be in the core group. Events exist in two groups and are checked in both.
RESOURCE_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    **{r: ("apps",) for r in ("deployments", "daemonsets", "statefulsets", "replicasets", "controllerrevisions")},
    **{r: ("batch",) for r in ("jobs", "cronjobs")},
    **{r: ("rbac.authorization.k8s.io",) for r in ("roles", "rolebindings", "clusterroles", "clusterrolebindings")},
    **{r: ("admissionregistration.k8s.io",) for r in ("mutatingwebhookconfigurations",
                                                      "validatingwebhookconfigurations",
                                                      "validatingadmissionpolicies",
                                                      "validatingadmissionpolicybindings")},
    **{r: ("authorization.k8s.io",) for r in ("selfsubjectaccessreviews", "selfsubjectrulesreviews",
                                              "subjectaccessreviews", "localsubjectaccessreviews")},
    **{r: ("authentication.k8s.io",) for r in ("tokenreviews", "selfsubjectreviews")},
    "certificatesigningrequests": ("certificates.k8s.io",),
    "customresourcedefinitions": ("apiextensions.k8s.io",),
    "ingresses": ("networking.k8s.io",),
    "networkpolicies": ("networking.k8s.io",),
    "leases": ("coordination.k8s.io",),
    "events": ("", "events.k8s.io"),
}  # fmt: skip
# Resources without a namespace (a policy's `namespaces: [""]` matches them).
CLUSTER_SCOPED: Final = frozenset({
    "namespaces", "nodes", "persistentvolumes", "clusterroles", "clusterrolebindings", "certificatesigningrequests",
    "customresourcedefinitions", "mutatingwebhookconfigurations", "validatingwebhookconfigurations",
    "validatingadmissionpolicies", "validatingadmissionpolicybindings", "selfsubjectaccessreviews",
    "selfsubjectrulesreviews", "subjectaccessreviews", "tokenreviews", "selfsubjectreviews", "storageclasses",
    "priorityclasses", "apiservices",
})  # fmt: skip
# Who a query's requests are checked for: a policy that drops one of them blinds the query to them.
IDENTITIES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "a person": ("alice@example.com", ("system:authenticated",)),
    "a service account": (
        "system:serviceaccount:default:app",
        ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"),
    ),
    "a node": ("system:node:node-1", ("system:nodes", "system:authenticated")),
    "the control plane": ("system:kube-controller-manager", ("system:authenticated",)),
    "an anonymous client": ("system:anonymous", ("system:unauthenticated",)),
}
ALL_VERBS: Final = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
# Where Secret material sits in a logged body, and from which level on: the archive redacts these, the API
# server's own log files do not. (resource, verbs, level from which it is written, what is written)
LEAK_SURFACES: Final = (
    ("secrets", ("create", "update", "patch"), "Request", "Secret data in request bodies"),
    ("secrets", ("get", "list", "watch"), "RequestResponse", "Secret data in response bodies"),
    ("tokenreviews", ("create",), "Request", "bearer tokens (spec.token) of every token review"),
    ("serviceaccounts/token", ("create",), "RequestResponse", "issued service-account tokens (status.token)"),
    (
        "configmaps",
        ("create", "update", "patch"),
        "Request",
        "config map data, which often holds credentials",
    ),
)


# -- the policy ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyRule:
    level: str
    index: int  # position in `rules`, from 0
    line: int  # line of the rule in the file, from 1
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool | None = None

    @property
    def where(self) -> str:
        return f"rule {self.index + 1}, line {self.line}"


@dataclass(frozen=True)
class Policy:
    rules: tuple[PolicyRule, ...]
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool = False
    source: str = "policy"


@dataclass(frozen=True)
class Request:
    """What a policy rule looks at: who, which verb, on which resource or non-resource path."""

    user: str
    groups: tuple[str, ...]
    verb: str
    resource: str = ""  # "" for a non-resource request
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # non-resource requests only


@dataclass(frozen=True)
class Decision:
    level: str
    omit_stages: frozenset[str]
    omit_managed_fields: bool
    rule: PolicyRule | None

    def logs(self, stage: str) -> bool:
        return self.level != "None" and stage not in self.omit_stages

    @property
    def where(self) -> str:
        return self.rule.where if self.rule is not None else "no rule matches"


_RULE_KEYS: Final = {
    "level", "users", "userGroups", "verbs", "resources", "namespaces", "nonResourceURLs", "omitStages",
    "omitManagedFields",
}  # fmt: skip
_POLICY_KEYS: Final = {"apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields"}
_GROUP_RESOURCE_KEYS: Final = {"group", "resources", "resourceNames"}


def load_policy(path: str | Path) -> Policy:
    """Read and validate the policy file at `path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the policy {path}: {exc}", hint="pass an audit Policy YAML file"
        ) from exc
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "policy") -> Policy:
    """The policy in `text`; a ConfigError naming the line and key of every problem otherwise."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{source}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})",
            hint="fix the YAML syntax; one Policy document per file",
        ) from None
    problems: list[str] = []

    def problem(message: str, *path: str | int) -> None:
        problems.append(f"{source} line {_line(root, path)}: {message}")

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: not an audit Policy (expected a mapping with apiVersion, kind, rules)")
    if data.get("apiVersion") != "audit.k8s.io/v1":
        problem(f"apiVersion is {data.get('apiVersion')!r}, expected 'audit.k8s.io/v1'", "apiVersion")
    if data.get("kind") != "Policy":
        problem(f"kind is {data.get('kind')!r}, expected 'Policy'", "kind")
    for key in sorted(set(data) - _POLICY_KEYS, key=str):
        problem(f"unknown key {key!r} (the API server ignores it)", key)
    omit = _stages(data.get("omitStages"), problem, "omitStages")
    omit_managed = data.get("omitManagedFields", False)
    if not isinstance(omit_managed, bool):
        problem("omitManagedFields must be true or false", "omitManagedFields")
    raw_rules = data.get("rules")
    rules: list[PolicyRule] = []
    if not isinstance(raw_rules, list) or not raw_rules:
        problem("a policy needs a non-empty list of rules (the API server refuses 0 rules)", "rules")
    else:
        for index, raw in enumerate(raw_rules):
            rule = _rule(raw, index, _line(root, ("rules", index)), problem)
            if rule is not None:
                rules.append(rule)
    if problems:
        raise ConfigError(
            "invalid audit policy:\n  " + "\n  ".join(problems),
            hint="see https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy",
        )
    return Policy(tuple(rules), omit, bool(omit_managed), source)


def _rule(raw: Any, index: int, line: int, problem: Any) -> PolicyRule | None:
    at = ("rules", index)
    if not isinstance(raw, dict):
        problem(f"rules[{index}] is not a mapping", *at)
        return None
    for key in sorted(set(raw) - _RULE_KEYS, key=str):
        problem(f"rules[{index}]: unknown key {key!r} (the API server ignores it, so the rule matches more)",
                *at, key)  # fmt: skip
    level = raw.get("level")
    if level not in AUDIT_LEVELS:
        problem(f"rules[{index}].level is {level!r}, expected one of {', '.join(AUDIT_LEVELS)}", *at, "level")
    names = {k: _strings(raw.get(k), problem, *at, k) for k in ("users", "userGroups", "verbs", "namespaces")}
    urls = _strings(raw.get("nonResourceURLs"), problem, *at, "nonResourceURLs")
    for url in urls:
        if (not url.startswith("/") and url != "*") or "*" in url[:-1]:
            problem(f"rules[{index}].nonResourceURLs: {url!r} must be a path, '*' only at its end",
                    *at, "nonResourceURLs")  # fmt: skip
    groups: list[GroupResources] = []
    raw_resources = raw.get("resources") or []
    if not isinstance(raw_resources, list):
        problem(
            f"rules[{index}].resources must be a list of {{group, resources, resourceNames}}",
            *at,
            "resources",
        )
        raw_resources = []
    for gi, entry in enumerate(raw_resources):
        if not isinstance(entry, dict):
            problem(f"rules[{index}].resources[{gi}] is not a mapping", *at, "resources", gi)
            continue
        for key in sorted(set(entry) - _GROUP_RESOURCE_KEYS, key=str):
            problem(f"rules[{index}].resources[{gi}]: unknown key {key!r}", *at, "resources", gi, key)
        group = entry.get("group", "") or ""
        if not isinstance(group, str):
            problem(f"rules[{index}].resources[{gi}].group must be a string", *at, "resources", gi, "group")
            group = ""
        resources = _strings(entry.get("resources"), problem, *at, "resources", gi, "resources")
        resource_names = _strings(entry.get("resourceNames"), problem, *at, "resources", gi, "resourceNames")
        groups.append(GroupResources(group, resources, resource_names))
    if urls and (groups or names["namespaces"]):
        problem(f"rules[{index}]: a rule cannot name both resources or namespaces and nonResourceURLs",
                *at, "nonResourceURLs")  # fmt: skip
    omit_managed = raw.get("omitManagedFields")
    if omit_managed is not None and not isinstance(omit_managed, bool):
        problem(f"rules[{index}].omitManagedFields must be true or false", *at, "omitManagedFields")
    return PolicyRule(
        level=str(level),
        index=index,
        line=line,
        users=names["users"],
        user_groups=names["userGroups"],
        verbs=names["verbs"],
        resources=tuple(groups),
        namespaces=names["namespaces"],
        non_resource_urls=urls,
        omit_stages=_stages(raw.get("omitStages"), problem, *at, "omitStages"),
        omit_managed_fields=omit_managed if isinstance(omit_managed, bool) else None,
    )


def _strings(value: Any, problem: Any, *path: str | int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problem(f"{_dotted(path)} must be a list of strings", *path)
        return ()
    return tuple(value)


def _stages(value: Any, problem: Any, *path: str | int) -> tuple[str, ...]:
    stages = _strings(value, problem, *path)
    for stage in stages:
        if stage not in STAGES:
            problem(f"{_dotted(path)}: unknown stage {stage!r}, expected one of {', '.join(STAGES)}", *path)
    return stages


def _dotted(path: Sequence[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _line(root: yaml.Node | None, path: Sequence[str | int]) -> int:
    """The line (from 1) of the deepest node of `path` that exists in the composed YAML."""
    node, line = root, (root.start_mark.line + 1 if root is not None else 1)
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == step:
                    child, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


# -- evaluation: k8s.io/apiserver/pkg/audit/policy/checker.go --------------------------------------------
def evaluate(policy: Policy, request: Request) -> Decision:
    """The level and omitted stages the API server would give `request`: the first matching rule decides."""
    for rule in policy.rules:
        if _matches(rule, request):
            managed = (
                policy.omit_managed_fields if rule.omit_managed_fields is None else rule.omit_managed_fields
            )
            return Decision(rule.level, frozenset(policy.omit_stages) | set(rule.omit_stages), managed, rule)
    return Decision("None", frozenset(policy.omit_stages), policy.omit_managed_fields, None)


def _matches(rule: PolicyRule, request: Request) -> bool:
    if rule.users and request.user not in rule.users:
        return False
    if rule.user_groups and not set(rule.user_groups) & set(request.groups):
        return False
    if rule.verbs and request.verb not in rule.verbs:
        return False
    if rule.namespaces or rule.resources:
        return _matches_resource(rule, request)
    if rule.non_resource_urls:
        return not request.resource and any(_path_matches(request.path, s) for s in rule.non_resource_urls)
    return True


def _matches_resource(rule: PolicyRule, request: Request) -> bool:
    if not request.resource:
        return False
    if rule.namespaces and request.namespace not in rule.namespaces:
        return False
    if not rule.resources:
        return True
    combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    for entry in rule.resources:
        if entry.group != request.group:
            continue
        if not entry.resources:
            return True
        if entry.resource_names and request.name not in entry.resource_names:
            continue
        for res in entry.resources:
            if res in (combined, "*"):
                return True
            if request.subresource and res.startswith("*/") and request.subresource == res[2:]:
                return True
            if res.endswith("/*") and request.resource == res[:-2]:
                return True
    return False


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec[:-1]))


# -- what each query reads -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requirement:
    """The requests a query reads, at which level and in which stages (empty: any)."""

    query_id: str
    level: str
    resources: tuple[str, ...] = ()  # "pods", "pods/exec"; empty: any request
    verbs: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()  # the query sees an event in any of these stages
    namespaces: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # non-resource URLs


_NOT_CODE = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_NEGATED = re.compile(r"\bNOT\s*\(?\s*$", re.IGNORECASE)
_LITERALS = re.compile(r"'((?:[^']|'')*)'")


def _compared(sql: str, column: str) -> tuple[str, ...]:
    """The string literals `column` is compared with by `=` or `IN (...)` in `sql` (never NOT IN)."""
    pattern = re.compile(
        rf"(?<![\w.])(?:\w+\.)?{column}\s*(?:=\s*('(?:[^']|'')*')|\bIN\s*\(([^()]*)\))", re.IGNORECASE
    )
    found: list[str] = []
    for match in pattern.finditer(sql):
        if _NEGATED.search(sql[max(0, match.start() - 12) : match.start()]):
            continue  # NOT (column IN (...)): what the query leaves out
        for literal in _LITERALS.findall(match.group(1) or match.group(2) or ""):
            if literal not in found:
                found.append(literal.replace("''", "'"))
    return tuple(found)


def query_requirement(query: Query, catalog: Catalog) -> Requirement:
    """What `query` reads, from its SQL and the SQL of the views it selects from (directly or not)."""
    read = catalog.names_read(query.sql)
    sql = _NOT_CODE.sub(" ", "\n".join([query.sql, *(v.sql for v in catalog.views.values() if v.id in read)]))
    resources = _compared(sql, "resource")
    subresources = _compared(sql, "subresource")
    if subresources:
        resources = tuple(f"{r}/{s}" for r in resources or ("pods",) for s in subresources)
    return Requirement(
        query_id=query.id,
        level=query.header.needs_level,
        resources=resources,
        verbs=_compared(sql, "verb"),
        stages=tuple(s for s in _compared(sql, "stage") if s in STAGES),
        namespaces=_compared(sql, "namespace"),
        names=_compared(sql, "object_name"),
        paths=tuple(p for p in _compared(sql, "request_uri") if p.startswith("/")),
    )


def catalog_requirements(catalog: Catalog) -> list[Requirement]:
    return [query_requirement(q, catalog) for q in sorted(catalog.queries.values(), key=lambda q: q.id)]


def _requests(resource: str, verbs: Sequence[str], namespaces: Sequence[str], names: Sequence[str],
              user: str, groups: tuple[str, ...]) -> list[Request]:  # fmt: skip
    base, _, sub = resource.partition("/")
    if base in CLUSTER_SCOPED:
        namespaces = ("",)
    return [
        Request(user, groups, verb, base, sub, group, namespace, name)
        for group in RESOURCE_GROUPS.get(base, ("",))
        for verb in verbs
        for namespace in namespaces or ("default",)
        for name in names or ("example",)
    ]


# -- checking a policy -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlindQuery:
    query_id: str
    needs_level: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Leak:
    resource: str
    level: str
    what: str
    identities: tuple[str, ...]
    rule: str


@dataclass(frozen=True)
class VolumeLine:
    level: str
    events: int  # per million requests of the mix
    bytes: int  # per million requests of the mix


@dataclass
class PolicyCheck:
    source: str
    queries: int
    blind: list[BlindQuery]
    leaks: list[Leak]
    volume: list[VolumeLine]
    volume_note: str
    notes: list[str] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return not self.blind

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.source,
            "queries": self.queries,
            "blind": [
                {"query_id": b.query_id, "needs_level": b.needs_level, "reasons": list(b.reasons)}
                for b in self.blind
            ],
            "secret_bodies_logged": [
                leak.__dict__ | {"identities": list(leak.identities)} for leak in self.leaks
            ],
            "volume_per_million_requests": [v.__dict__ for v in self.volume],
            "volume_note": self.volume_note,
            "notes": self.notes,
        }


def blind_reasons(policy: Policy, need: Requirement) -> list[str]:
    """Why `policy` hides from the query what `need` says it reads (one line per resource and cause, naming
    the verbs and identities affected); empty when it does not."""
    floor = LEVEL_ORDER[need.level]
    verbs = need.verbs or ALL_VERBS
    readable = list(need.stages) or ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    # (what is read, why it is hidden) -> verbs and identities affected, in order of discovery
    hidden: dict[tuple[str, str], tuple[list[str], list[str]]] = {}

    def problem(decision: Decision) -> str | None:
        if LEVEL_ORDER[decision.level] < floor:
            return f"level {decision.level} ({decision.where}), needs {need.level}"
        if not any(decision.logs(s) for s in readable):
            omitted = " and ".join(s for s in readable if s in decision.omit_stages)
            return f"stage {omitted} omitted ({decision.where})"
        return None

    def judge(who: str, request: Request, what: str) -> None:
        if (why := problem(evaluate(policy, request))) is not None:
            verbs_seen, identities = hidden.setdefault((what, why), ([], []))
            for value, into in ((request.verb, verbs_seen), (who, identities)):
                if value not in into:
                    into.append(value)

    if not need.resources and not need.paths:
        # A query over any request (volumes, identities) is blind only when nothing at all reaches it.
        decisions = [
            evaluate(policy, request)
            for resource in ("pods", "secrets", "configmaps", "deployments", "rolebindings", "namespaces")
            for user, groups in IDENTITIES.values()
            for request in _requests(resource, verbs, need.namespaces, need.names, user, groups)
        ]
        if all(problem(d) is not None for d in decisions):
            return [f"no request is logged at {need.level} or above in stage {' or '.join(readable)}"]
        return []
    for resource in need.resources:
        for who, (user, groups) in IDENTITIES.items():
            for request in _requests(resource, verbs, need.namespaces, need.names, user, groups):
                judge(
                    who,
                    request,
                    resource + (f" in {request.namespace}" if need.namespaces and request.namespace else ""),
                )
    for path in need.paths:
        for who, (user, groups) in IDENTITIES.items():
            judge(who, Request(user, groups, "get", path=path), path)
    everyone = len(IDENTITIES)
    return [
        f"{'/'.join(verbs_seen)} {what} by {'anyone' if len(who) == everyone else ', '.join(who)}: {why}"
        for (what, why), (verbs_seen, who) in hidden.items()
    ]


def check_policy(policy: Policy, catalog: Catalog) -> PolicyCheck:
    """Every catalog query that `policy` blinds and why, the Secret bodies it logs, and its volume."""
    needs = catalog_requirements(catalog)
    blind = [
        BlindQuery(need.query_id, need.level, tuple(reasons))
        for need in needs
        if (reasons := blind_reasons(policy, need))
    ]
    volume, note = estimate_volume(policy)
    notes = []
    if "RequestReceived" not in policy.omit_stages:
        notes.append("RequestReceived is not omitted at the top level: most requests are logged twice "
                     "(omitStages: [RequestReceived] halves the volume and no query needs that stage)")  # fmt: skip
    return PolicyCheck(policy.source, len(needs), blind, secret_leaks(policy), volume, note, notes)


def secret_leaks(policy: Policy) -> list[Leak]:
    """The resources whose Secret or token material the policy would write to the API server's log."""
    leaks: list[Leak] = []
    for resource, verbs, level, what in LEAK_SURFACES:
        who_by_rule: dict[str, list[str]] = {}
        for who, (user, groups) in IDENTITIES.items():
            for request in _requests(resource, verbs, (), (), user, groups):
                decision = evaluate(policy, request)
                if LEVEL_ORDER[decision.level] >= LEVEL_ORDER[level]:
                    who_by_rule.setdefault(decision.where, [])
                    if who not in who_by_rule[decision.where]:
                        who_by_rule[decision.where].append(who)
        for where, identities in who_by_rule.items():
            leaks.append(Leak(f"{resource} ({'/'.join(verbs)})", level, what, tuple(identities), where))
    return leaks


def _mix() -> tuple[str, list[dict[str, Any]]]:
    path = policy_dir() / TRAFFIC_MIX
    data = json.loads(path.read_text(encoding="utf-8"))
    return str(data["source"]), list(data["requests"])


def estimate_volume(policy: Policy) -> tuple[list[VolumeLine], str]:
    """Events and bytes per million requests of the synthetic mix, by the level the policy gives them."""
    source, rows = _mix()
    total = sum(int(r["count"]) for r in rows)
    events: dict[str, float] = dict.fromkeys(AUDIT_LEVELS, 0.0)
    for row in rows:
        request = Request(row["user"], tuple(row["groups"]), row["verb"], row["resource"], row["subresource"],
                          row["group"], row["namespace"], "", row["path"])  # fmt: skip
        decision = evaluate(policy, request)
        long_running = row["verb"] == "watch" or row["subresource"] in (
            "exec",
            "attach",
            "portforward",
            "proxy",
        )
        stages = ["RequestReceived", "ResponseComplete"] + (["ResponseStarted"] if long_running else [])
        logged = sum(1 for s in stages if decision.logs(s)) if decision.level != "None" else 1
        events[decision.level] += logged * int(row["count"]) / total * 1_000_000
    lines = [
        VolumeLine(level, round(count), round(count * BYTES_PER_EVENT[level]))
        for level, count in events.items()
    ]
    note = (f"per million API requests of the request mix of {source}; bytes per event: "
            + ", ".join(f"{k} {v:,}" for k, v in BYTES_PER_EVENT.items() if v)
            + " (Metadata and RequestResponse measured on synth output, Request assumed halfway); "
            "None counts requests not logged")  # fmt: skip
    return lines, note


# -- the archive's levels --------------------------------------------------------------------------------
def coverage_from_levels(
    levels_seen_by_resource: Mapping[str, Iterable[str]], catalog: Catalog | None = None
) -> list[BlindQuery]:
    """The queries blind in an archive whose events on each resource ("pods", "pods/exec") came at these
    levels: the highest level seen on a resource a query reads is below its `needs_level`. A resource the
    archive holds no events on is not counted as blind (there may have been no such requests)."""
    if catalog is None:
        from kanalytics.catalog.loader import load_catalog

        catalog = load_catalog()
    seen = {k: max((LEVEL_ORDER[v] for v in vs if v in LEVEL_ORDER), default=-1)
            for k, vs in levels_seen_by_resource.items()}  # fmt: skip
    blind: list[BlindQuery] = []
    for need in catalog_requirements(catalog):
        reasons = []
        for resource in need.resources:
            rank = seen.get(resource, seen.get(resource.partition("/")[0], -1))
            if 0 <= rank < LEVEL_ORDER[need.level]:
                reasons.append(f"{resource}: seen at {AUDIT_LEVELS[rank]} at most, needs {need.level}")
        if reasons:
            blind.append(BlindQuery(need.query_id, need.level, tuple(reasons)))
    return blind


# -- the recommended policy ------------------------------------------------------------------------------
def policy_dir() -> Path:
    from kanalytics.catalog.loader import builtin_query_dir

    root = builtin_query_dir()
    if root is None or not (root / POLICY_FOLDER).is_dir():
        raise InputError("the packaged audit policy files are missing", hint="reinstall kanalytics")
    return root / POLICY_FOLDER


def recommended_policy_text() -> str:
    """The shipped recommended policy (queries/policy/recommended-audit-policy.yaml), as text."""
    return (policy_dir() / RECOMMENDED_POLICY).read_text(encoding="utf-8")
