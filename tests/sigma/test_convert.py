"""`kanalytics sigma convert`: Sigma rules written from the Sigma specification become catalog queries that
load, run over a real archive and fire on exactly the events they should; what cannot be expressed is
skipped with its reason, and files that cannot be read make the command fail."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kanalytics import open_archive
from kanalytics.catalog.headers import problems as header_problems
from kanalytics.catalog.loader import load_catalog, split_query_file
from kanalytics.cli import app
from kanalytics.config import Settings
from kanalytics.sigma import convert_rules
from kanalytics.sigma.backend import sql_string
from kanalytics.sigma.pipeline import FIELDS
from tests.conftest import REPO, make_event

START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=1)
_T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def rule(title: str, detection: str, *, level: str = "medium", extra: str = "", number: int = 1) -> str:
    """A Kubernetes audit Sigma rule (the specification's required keys plus level and tags)."""
    return (
        f"title: {title}\n"
        f"id: 5e1a0000-0000-4000-8000-{number:012d}\n"
        "status: test\n"
        f"description: Test rule {title}.\n"
        "logsource:\n  product: kubernetes\n  service: audit\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip("\n"), "  ") + "\n"
        f"level: {level}\n" + extra
    )


# Rule -> the audit ids of the events it must fire on (every other event of EVENTS must stay quiet).
RULES: dict[str, tuple[str, set[str]]] = {
    "contains": (
        rule(
            "Shell Exec Into Pod",
            """
            selection:
              verb: create
              objectRef.resource: pods
              objectRef.subresource: exec
              requestURI|contains: 'command=sh'
            condition: selection
            """,
            level="high",
            extra="tags:\n  - attack.execution\n  - attack.t1609\nfalsepositives:\n  - Debugging\n"
            "references:\n  - https://example.com/exec\n",
            number=1,
        ),
        {"exec-sh", "exec-sh-upper"},
    ),
    "startswith-endswith": (
        rule(
            "Service Account Reads Admin Secret",
            """
            selection:
              verb: get
              objectRef.resource: secrets
              user.username|startswith: 'system:serviceaccount:'
              objectRef.name|endswith: '-admin'
            condition: selection
            """,
            level="informational",
            number=2,
        ),
        {"sa-secret-admin"},
    ),
    "lists-and-all": (
        rule(
            "Curl Deletes",
            """
            selection:
              verb:
                - delete
                - deletecollection
              userAgent|contains|all:
                - curl
                - linux
            condition: selection
            """,
            level="low",
            number=3,
        ),
        {"curl-delete", "curl-deletecollection"},
    ),
    "regex": (
        rule(
            "Secrets Listed By Path",
            """
            selection:
              requestURI|re: '^/api/v1/namespaces/[^/]+/secrets$'
            selection_ci:
              requestURI|re|i: '^/API/V1/SECRETS'
            condition: selection or selection_ci
            """,
            level="critical",
            number=4,
        ),
        {"secrets-path", "secrets-clusterwide"},
    ),
    "null": (
        rule(
            "Cluster Scoped Binding Created",
            """
            selection:
              verb: create
              objectRef.resource:
                - rolebindings
                - clusterrolebindings
              objectRef.namespace: null
            condition: selection
            """,
            number=5,
        ),
        {"crb-create"},
    ),
    "nested-not": (
        rule(
            "Evidence Deleted By A Person",
            """
            selection_events:
              verb: delete
              objectRef.resource: events
            selection_configmap:
              verb: delete
              objectRef.resource: configmaps
              objectRef.namespace: kube-system
            filter_system:
              user.username|startswith: 'system:'
            condition: 1 of selection_* and not filter_system
            """,
            number=6,
        ),
        # no username: the filter cannot match, so `not filter` holds (SQL's NULL would drop the row)
        {"events-delete-alice", "cm-delete-alice", "events-delete-anonymous-uid"},
    ),
    "list-columns": (
        rule(
            "Masters From The Internet",
            """
            selection:
              user.groups: system:masters
              sourceIPs|cidr: 203.0.113.0/24
            condition: selection
            """,
            number=7,
        ),
        {"masters-internet"},
    ),
    "numbers": (
        rule(
            "Denied Or Failed",
            """
            denied:
              responseStatus.code:
                - 401
                - 403
            failed:
              responseStatus.code|gte: 500
            condition: denied or failed
            """,
            number=8,
        ),
        {"denied-401", "denied-403", "failed-503"},
    ),
    "literal-values": (
        rule(
            "Odd User Agents",
            """
            selection:
              userAgent:
                - "x' OR 1=1 --"
                - '%s {name} 100%'
            condition: selection
            """,
            number=9,
        ),
        {"ua-injection", "ua-placeholders"},
    ),
    "host-path": (
        rule(
            "Pod With A hostPath Mount",
            """
            selection:
              verb: create
              objectRef.resource: pods
              hostPath: '*'
            condition: selection
            """,
            level="low",
            number=10,
        ),
        {"pod-hostpath"},
    ),
    # exec is a stream: logged at ResponseStarted (101) when it opens, at ResponseComplete only when it ends
    "streaming-request": (
        rule(
            "Any Exec Into Pod",
            """
            selection:
              verb: create
              objectRef.resource: pods
              objectRef.subresource: exec
            condition: selection
            """,
            number=11,
        ),
        {"exec-sh", "exec-sh-upper", "exec-ls", "exec-open", "exec-closed"},
    ),
    "own-stage": (
        rule(
            "Exec Stream Opened",
            """
            selection:
              stage: ResponseStarted
              objectRef.subresource: exec
            condition: selection
            """,
            number=12,
        ),
        {"exec-open", "exec-closed"},
    ),
}

UNSUPPORTED: dict[str, tuple[str, str]] = {
    "keywords.yml": (
        rule("Keyword Search", "keywords:\n  - mimikatz\ncondition: keywords\n", number=20),
        "keyword search (mimikatz): values without a field are not supported",
    ),
    "windows.yml": (
        rule(
            "Windows Process", "selection:\n  Image|endswith: cmd.exe\ncondition: selection\n", number=21
        ).replace("product: kubernetes\n  service: audit", "product: windows\n  category: process_creation"),
        "unsupported logsource (category: process_creation, product: windows)",
    ),
    "unmapped.yml": (
        rule(
            "Compiler In Container",
            "selection:\n  file_path|contains: gcc\ncondition: selection\n",
            number=22,
        ),
        "field 'file_path' has no archive column",
    ),
    "status-text.yml": (
        rule("Allowed", "selection:\n  responseStatus.code: ALLOW\ncondition: selection\n", number=23),
        "the value 'ALLOW' can never match a number (responseStatus.code: the HTTP status); the authorizer's "
        "allow/forbid decision is the field annotations.authorization.k8s.io/decision",
    ),
}
CORRELATION = """\
title: Many Deletes
id: 5e1a0000-0000-4000-8000-000000000030
correlation:
  type: event_count
  rules:
    - 5e1a0000-0000-4000-8000-000000000003
  group-by:
    - user.username
  timespan: 10m
  condition:
    gte: 10
"""


def ev(audit_id: str, **overrides: Any) -> dict[str, Any]:
    """An event at its own second of the day; `objectRef`/`user` override the defaults whole."""
    n = int.from_bytes(audit_id.encode()[:6], "big") % 3600
    return make_event(_T0 + timedelta(seconds=n), auditID=audit_id, **overrides)


def pod_exec(audit_id: str, command: str) -> dict[str, Any]:
    return ev(
        audit_id,
        verb="create",
        requestURI=f"/api/v1/namespaces/default/pods/web/exec?{command}&container=web",
        objectRef={"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web"},
    )


def EVENTS() -> list[dict[str, Any]]:
    sa = {"username": "system:serviceaccount:ci:deployer", "groups": ["system:serviceaccounts"]}
    alice = {"username": "alice@example.com", "groups": ["system:authenticated"]}
    curl = "curl/8.5.0 (x86_64-pc-linux-gnu)"
    return [
        pod_exec("exec-sh", "command=sh"),
        pod_exec("exec-sh-upper", "COMMAND=SH"),
        pod_exec("exec-ls", "command=ls"),
        # the same request's RequestReceived stage: one finding per request, not per stage
        {**pod_exec("exec-sh", "command=sh"), "stage": "RequestReceived"},
        # a session still open: only its ResponseStarted stage is logged
        {**pod_exec("exec-open", "command=id"), "stage": "ResponseStarted", "responseStatus": {"code": 101}},
        # a session that ended: both stages logged, still one finding
        {**pod_exec("exec-closed", "command=id"), "stage": "ResponseStarted", "responseStatus": {"code": 101}},
        {**pod_exec("exec-closed", "command=id"), "responseStatus": {"code": 101}},
        ev("sa-secret-admin", verb="get", user=sa, objectRef={"resource": "secrets", "namespace": "ci", "name": "db-admin"}),
        ev("sa-secret-other", verb="get", user=sa, objectRef={"resource": "secrets", "namespace": "ci", "name": "db"}),
        ev("alice-secret-admin", verb="get", user=alice, objectRef={"resource": "secrets", "namespace": "ci", "name": "db-admin"}),
        ev("curl-delete", verb="delete", userAgent=curl),
        ev("curl-deletecollection", verb="deletecollection", userAgent=curl),
        ev("curl-mac-delete", verb="delete", userAgent="curl/8.5.0 (darwin)"),
        ev("curl-list", verb="list", userAgent=curl),
        ev("secrets-path", requestURI="/api/v1/namespaces/ci/secrets", objectRef={"resource": "secrets", "namespace": "ci"}),
        ev("secrets-path-one", requestURI="/api/v1/namespaces/ci/secrets/db", objectRef={"resource": "secrets", "namespace": "ci", "name": "db"}),
        ev("secrets-clusterwide", requestURI="/api/v1/secrets?limit=500", objectRef={"resource": "secrets"}),
        ev("crb-create", verb="create", requestURI="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
           objectRef={"resource": "clusterrolebindings", "name": "x", "apiGroup": "rbac.authorization.k8s.io"}),
        ev("rb-create", verb="create", requestURI="/apis/rbac.authorization.k8s.io/v1/namespaces/ci/rolebindings",
           objectRef={"resource": "rolebindings", "namespace": "ci", "name": "x", "apiGroup": "rbac.authorization.k8s.io"}),
        ev("events-delete-alice", verb="delete", objectRef={"resource": "events", "namespace": "default", "name": "e1"}),
        ev("events-delete-system", verb="delete", user={"username": "system:kube-controller-manager"},
           objectRef={"resource": "events", "namespace": "default", "name": "e2"}),
        ev("events-delete-anonymous-uid", verb="delete", user={"uid": "1234"},
           objectRef={"resource": "events", "namespace": "default", "name": "e3"}),
        ev("cm-delete-alice", verb="delete", objectRef={"resource": "configmaps", "namespace": "kube-system", "name": "c"}),
        ev("cm-delete-other-ns", verb="delete", objectRef={"resource": "configmaps", "namespace": "default", "name": "c"}),
        ev("masters-internet", user={"username": "admin", "groups": ["system:masters", "system:authenticated"]},
           sourceIPs=["203.0.113.9"]),
        ev("masters-private", user={"username": "admin", "groups": ["system:masters"]}, sourceIPs=["10.0.0.9"]),
        ev("dev-internet", user={"username": "dev", "groups": ["developers"]}, sourceIPs=["203.0.113.10"]),
        ev("denied-401", responseStatus={"code": 401}),
        ev("denied-403", responseStatus={"code": 403}),
        ev("failed-503", responseStatus={"code": 503}),
        ev("not-found-404", responseStatus={"code": 404}),
        ev("ua-injection", userAgent="x' OR 1=1 --"),
        ev("ua-placeholders", userAgent="%S {NAME} 100%"),
        ev("ua-injection-longer", userAgent="x' OR 1=1 -- and more"),
        ev("pod-hostpath", verb="create", level="Request", objectRef={"resource": "pods", "namespace": "default", "name": "p1"},
           requestObject={"kind": "Pod", "spec": {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}),
        ev("pod-emptydir", verb="create", level="Request", objectRef={"resource": "pods", "namespace": "default", "name": "p2"},
           requestObject={"kind": "Pod", "spec": {"volumes": [{"name": "tmp", "emptyDir": {}}]}}),
    ]  # fmt: skip


def write_rules(folder: Path, rules: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in rules.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    base = tmp_path_factory.mktemp("sigma")
    rules = write_rules(base / "rules", {f"{name}.yml": text for name, (text, _) in RULES.items()})
    write_rules(base / "rules" / "more", {name: text for name, (text, _) in UNSUPPORTED.items()})
    write_rules(base / "rules" / "more", {"correlation.yaml": CORRELATION, "notes.txt": "not a rule"})
    out = base / "queries"
    return out, convert_rules([rules], out)


@pytest.fixture(scope="module")
def archive(converted: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    out, _ = converted
    arch = open_archive(
        tmp_path_factory.mktemp("sigma-archive") / "a", config=Settings(query_paths=[str(out)])
    )
    arch.ingest_events(EVENTS(), cluster="c1")
    return arch


def query_id_of(conversion: Any, number: int) -> str:
    rule_id = f"5e1a0000-0000-4000-8000-{number:012d}"
    (written,) = [w for w in conversion.written if w.rule_id == rule_id]
    return str(written.query_id)


def test_every_supported_rule_is_written_and_the_rest_skipped_with_its_reason(
    converted: tuple[Path, Any],
) -> None:
    out, conversion = converted
    assert sorted(w.path.name for w in conversion.written) == sorted(
        f"{w.query_id}.sql" for w in conversion.written
    )
    assert len(conversion.written) == len(RULES)
    assert {w.path.parent for w in conversion.written} == {out / "detections"}
    reasons = {s.file.name: s.reason for s in conversion.skipped}
    assert set(reasons) == {*UNSUPPORTED, "correlation.yaml"}
    for name, (_, reason) in UNSUPPORTED.items():
        assert reason in reasons[name], name
    assert reasons["correlation.yaml"].startswith("correlation rules (event_count, value_count, temporal)")
    assert conversion.failed == []  # notes.txt is not a rule file: not read at all
    assert sorted(p.name for p in (out / "detections").iterdir()) == sorted(
        f"{w.query_id}.sql" for w in conversion.written
    )


def test_converted_files_load_in_the_catalog_with_canonical_headers(converted: tuple[Path, Any]) -> None:
    out, conversion = converted
    catalog = load_catalog([out])
    for written in conversion.written:
        assert catalog.get(written.query_id).path == str(written.path)
    assert header_problems(sorted((out / "detections").glob("*.sql"))) == []


def test_header_carries_the_rule_metadata(converted: tuple[Path, Any]) -> None:
    _, conversion = converted
    (written,) = [w for w in conversion.written if w.rule_id.endswith("000000000001")]
    header, sql = split_query_file(written.path.read_text(encoding="utf-8"))
    assert written.query_id == "sigma-shell-exec-into-pod"
    # the loader requires both from medium up: the rule's false positives, the request's record, a runbook note
    assert header.pop("triage").startswith(
        "Check `user_name`, `source_ip` and the `user_agent` evidence against who is expected to do this. "
        "False positives the rule names: Debugging. Follow-up: `kanalytics sql --month YYYY-MM"
    )
    assert header.pop("remediation").startswith("Sigma rules carry no response. If it is confirmed, contain")
    assert header == {
        "id": "sigma-shell-exec-into-pod",
        "title": "Shell Exec Into Pod",
        "kind": "detection",
        "severity": "high",
        "needs_level": "Metadata",
        "area": "exec",
        "references": ["sigma:5e1a0000-0000-4000-8000-000000000001"],
        "mitre": ["T1609"],
        "tags": ["sigma"],
        "scope": "day",  # one finding per request merges a request's stages: judged per UTC day
        "description": "Test rule Shell Exec Into Pod.\nFalse positives (from the rule): Debugging\n"
        "References: https://example.com/exec\nConverted from Sigma rule 5e1a0000-0000-4000-8000-000000000001 "
        "by kanalytics sigma convert: review it before relying on it (docs/sigma.md).",
    }
    assert "request_ts >= $period_start AND request_ts < $period_end" in sql
    assert "contains(lower(request_uri), lower('command=sh'))" in sql
    severities = {
        w.rule_id[-2:]: split_query_file(w.path.read_text())[0]["severity"] for w in conversion.written
    }
    assert (severities["02"], severities["03"], severities["04"]) == ("info", "low", "critical")
    host_path = next(w for w in conversion.written if w.rule_id.endswith("10"))
    assert split_query_file(host_path.path.read_text())[0]["needs_level"] == "Request"


@pytest.mark.parametrize("name", sorted(RULES))
def test_converted_rule_fires_on_exactly_its_events(
    name: str, converted: tuple[Path, Any], archive: Any
) -> None:
    _, conversion = converted
    number = int(RULES[name][0].split("id: ")[1].split("\n")[0][-12:])
    run = archive.run(query_id_of(conversion, number), start=START, end=END)
    assert run.status == "ok", run.reason
    audit_ids = run.frame["audit_id"].to_list()
    assert sorted(audit_ids) == sorted(RULES[name][1])  # one row each: also one finding per request
    assert set(run.frame.columns) >= {"ts", "cluster", "audit_id", "user_name", "source_ip", "summary"}


def test_a_quote_in_a_value_stays_inside_its_literal() -> None:
    assert sql_string("x' OR 1=1 --") == "'x'' OR 1=1 --'"
    # text the catalog loader refuses as a format placeholder is split, and still reads as the same string
    assert sql_string("%s {name}") == "('%' || 's ' || '{' || 'name}')"


def test_unreadable_and_unparsable_files_fail_but_do_not_stop_the_others(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path / "rules",
        {
            "good.yml": RULES["contains"][0],
            "broken.yml": "title: [unclosed\n",
            "not-a-rule.yml": "- just\n- a list\n",
            "bad-modifier.yml": rule(
                "Typo", "selection:\n  verb|contian: x\ncondition: selection\n", number=40
            ),
        },
    )
    conversion = convert_rules([rules, tmp_path / "missing"], tmp_path / "out")
    assert [w.query_id for w in conversion.written] == ["sigma-shell-exec-into-pod"]
    failed = {s.file.name: s.reason for s in conversion.failed}
    assert set(failed) == {"broken.yml", "not-a-rule.yml", "bad-modifier.yml", "missing"}
    assert failed["missing"] == "no such file or folder"
    assert failed["broken.yml"].startswith("not a Sigma rule file: while parsing a flow sequence")
    assert failed["bad-modifier.yml"] == "not a valid Sigma rule: Unknown modifier 'contian'"


def test_a_regex_beyond_re2_is_skipped_not_failed(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path / "rules",
        {
            "lookbehind.yml": rule(
                "Lookbehind", "sel:\n  requestURI|re: '(?<=a)b'\ncondition: sel\n", number=41
            )
        },
    )
    conversion = convert_rules([rules], tmp_path / "out")
    assert conversion.failed == [] and conversion.written == []
    (skipped,) = conversion.skipped
    assert skipped.reason.startswith("regular expression not supported by RE2, the engine DuckDB runs:")


def test_same_titles_get_distinct_ids(tmp_path: Path) -> None:
    text = RULES["contains"][0]
    rules = write_rules(
        tmp_path / "rules", {"a.yml": text, "b.yml": text.replace("000000000001", "000000000099")}
    )
    conversion = convert_rules([rules], tmp_path / "out")
    assert [w.query_id for w in conversion.written] == [
        "sigma-shell-exec-into-pod",
        "sigma-shell-exec-into-pod-5e1a0000",
    ]
    assert len(load_catalog([tmp_path / "out"], include_builtin=False).queries) == 2


def test_docs_list_every_mapped_field() -> None:
    doc = (REPO / "docs" / "sigma.md").read_text(encoding="utf-8")
    assert [f for f in FIELDS if f"`{f}`" not in doc] == []


# -- the command ------------------------------------------------------------------------------------------------
def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["sigma", "convert", *args])


def test_cli_converts_lists_skips_and_exits_zero(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path / "rules",
        {"good.yml": RULES["contains"][0], "keywords.yml": UNSUPPORTED["keywords.yml"][0]},
    )
    result = invoke(str(rules), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote {tmp_path / 'out' / 'detections' / 'sigma-shell-exec-into-pod.sql'} "
        "(Sigma rule 5e1a0000-0000-4000-8000-000000000001)\n"
    )
    assert result.stderr.splitlines() == [
        f"skipped: {rules / 'keywords.yml'}: Keyword Search: keyword search (mimikatz): values without a field are "
        "not supported, since the archive has no full-text field; name the field each value should match, e.g. "
        "requestURI|contains",
        "1 converted, 1 skipped, 0 file(s) not read",
    ]


def test_cli_json_and_exit_one_when_nothing_converts(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", {"keywords.yml": UNSUPPORTED["keywords.yml"][0]})
    result = invoke(str(rules), "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["written"] == [] and data["failed"] == []
    assert [s["title"] for s in data["skipped"]] == ["Keyword Search"]
    assert result.stderr.splitlines()[-1] == "error: no rule was converted"
    assert not (tmp_path / "out" / "detections").exists()


def test_cli_exits_one_when_a_file_cannot_be_parsed(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", {"good.yml": RULES["contains"][0], "broken.yml": "title: [x\n"})
    result = invoke(str(rules), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert (tmp_path / "out" / "detections" / "sigma-shell-exec-into-pod.sql").is_file()
    assert (
        f"error: {rules / 'broken.yml'}: not a Sigma rule file: while parsing a flow sequence"
        in result.stderr
    )
    assert result.stderr.splitlines()[-1] == "1 converted, 0 skipped, 1 file(s) not read"


def test_one_finding_per_request_holds_when_its_stages_are_committed_apart(
    converted: tuple[Path, Any], tmp_path: Path
) -> None:
    """An exec's ResponseStarted in one commit and its ResponseComplete in the next are still one finding:
    the converted query is `scope: day`, so the day is judged again as a whole (docs/evaluation.md)."""
    out, conversion = converted
    query_id = query_id_of(conversion, 11)  # "Any Exec Into Pod"
    arch = open_archive(tmp_path / "a", config=Settings(query_paths=[str(out)]))
    started, complete = [e for e in EVENTS() if e["auditID"] == "exec-closed"]
    assert (started["stage"], complete["stage"]) == ("ResponseStarted", "ResponseComplete")
    arch.ingest_events([started], cluster="c1")
    arch.ingest_events([complete], cluster="c1")
    day = _T0.replace(hour=0)
    found = arch.findings(start=day, end=day + timedelta(days=1)).findings
    assert [(f.query_id, f.audit_id) for f in found if f.query_id == query_id] == [(query_id, "exec-closed")]
