"""Audit policies: parsing errors name line and key, rules match as kube-apiserver matches them, and the check
finds the queries a policy blinds, the Secret bodies it logs, and that the recommended policy blinds none."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.policy import (
    Request,
    check_policy,
    coverage_from_levels,
    evaluate,
    parse_policy,
    query_requirement,
    recommended_policy_text,
    secret_leaks,
)
from kanalytics.cli import app
from kanalytics.errors import ConfigError

runner = CliRunner()
ALICE = ("alice", ("system:authenticated",))


def policy(rules: str, head: str = "") -> str:
    return f"apiVersion: audit.k8s.io/v1\nkind: Policy\n{head}rules:\n" + textwrap.indent(
        textwrap.dedent(rules), "  "
    )


def level_of(text: str, request: Request) -> str:
    return evaluate(parse_policy(text), request).level


# -- parsing ---------------------------------------------------------------------------------------------
def test_errors_name_line_and_key() -> None:
    text = policy(
        """\
        - level: Metadata
          verb: [get]
        - level: Everything
        - level: Request
          omitStages: [ResponseDone]
        """,
        head="apiVersion2: x\n",
    )
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "p.yaml")
    assert caught.value.exit_code == 2
    lines = caught.value.message.splitlines()[1:]
    assert [line.strip() for line in lines] == [
        "p.yaml line 3: unknown key 'apiVersion2' (the API server ignores it)",
        "p.yaml line 6: rules[0]: unknown key 'verb' (the API server ignores it, so the rule matches more)",
        "p.yaml line 7: rules[1].level is 'Everything', expected one of None, Metadata, Request, RequestResponse",
        "p.yaml line 9: rules[2].omitStages: unknown stage 'ResponseDone', expected one of RequestReceived, "
        "ResponseStarted, ResponseComplete, Panic",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n", "p.yaml line 2: not valid YAML"),
        ("- a\n", "p.yaml: not an audit Policy"),
        ("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]\n",
         "p.yaml line 1: apiVersion is 'audit.k8s.io/v1beta1', expected 'audit.k8s.io/v1'"),
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n",
         "p.yaml line 3: a policy needs a non-empty list of rules"),
        (policy("- level: None\n  nonResourceURLs: ['/a*b']\n"),
         "p.yaml line 5: rules[0].nonResourceURLs: '/a*b' must be a path, '*' only at its end"),
        (policy("- level: None\n  namespaces: [a]\n  nonResourceURLs: ['/x']\n"),
         "p.yaml line 6: rules[0]: a rule cannot name both resources or namespaces and nonResourceURLs"),
    ],
)  # fmt: skip
def test_invalid_policies(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "p.yaml")
    assert expected in str(caught.value)


# -- matching --------------------------------------------------------------------------------------------
def test_first_matching_rule_wins_and_no_match_is_none() -> None:
    text = policy(
        """\
        - level: Metadata
          resources: [{group: "", resources: [secrets]}]
        - level: RequestResponse
          verbs: [get]
        """
    )
    secret = Request(*ALICE, "get", "secrets", namespace="default")
    pod = Request(*ALICE, "get", "pods", namespace="default")
    assert level_of(text, secret) == "Metadata"
    assert level_of(text, pod) == "RequestResponse"
    assert level_of(text, Request(*ALICE, "delete", "pods")) == "None"
    assert evaluate(parse_policy(text), pod).rule is not None
    assert evaluate(parse_policy(text), pod).where == "rule 2, line 6"


def test_resource_group_subresource_and_name_matching() -> None:
    text = policy(
        """\
        - level: Request
          resources: [{group: "", resources: ["pods/*"]}]
        - level: RequestResponse
          resources: [{group: "", resources: ["*/status"]}]
        - level: Metadata
          resources: [{group: "", resources: [configmaps], resourceNames: [aws-auth]}]
        - level: None
          resources: [{resources: [roles]}]
        - level: Metadata
          resources: [{group: rbac.authorization.k8s.io}]
        """
    )
    assert level_of(text, Request(*ALICE, "create", "pods", "exec")) == "Request"
    # "pods/*" also matches pods itself, as checker.go's `resource == TrimSuffix(res, "/*")` does
    assert level_of(text, Request(*ALICE, "create", "pods")) == "Request"
    assert level_of(text, Request(*ALICE, "create", "services")) == "None"
    assert level_of(text, Request(*ALICE, "update", "nodes", "status")) == "RequestResponse"
    assert level_of(text, Request(*ALICE, "update", "configmaps", name="aws-auth")) == "Metadata"
    assert level_of(text, Request(*ALICE, "update", "configmaps", name="other")) == "None"
    # `group` left out is the core group: it does not match RBAC roles, the next rule (any RBAC resource) does
    assert level_of(text, Request(*ALICE, "create", "roles", group="rbac.authorization.k8s.io")) == "Metadata"


def test_users_groups_namespaces_and_non_resource_urls() -> None:
    text = policy(
        """\
        - level: None
          users: [system:kube-proxy]
        - level: None
          userGroups: [system:nodes]
          namespaces: [kube-system]
        - level: None
          nonResourceURLs: ["/healthz*"]
        - level: Request
          namespaces: [""]
        - level: Metadata
        """
    )
    node = ("system:node:n1", ("system:nodes", "system:authenticated"))
    assert level_of(text, Request("system:kube-proxy", (), "get", "pods")) == "None"
    assert level_of(text, Request(*node, "get", "pods", namespace="kube-system")) == "None"
    assert level_of(text, Request(*node, "get", "pods", namespace="default")) == "Metadata"
    assert level_of(text, Request(*ALICE, "get", path="/healthz/etcd")) == "None"
    assert level_of(text, Request(*ALICE, "get", path="/metrics")) == "Metadata"
    assert level_of(text, Request(*ALICE, "get", "nodes")) == "Request"  # cluster-scoped: namespace ""


def test_omit_stages_and_managed_fields_combine() -> None:
    text = policy(
        """\
        - level: Metadata
          omitStages: [ResponseStarted]
          omitManagedFields: false
        """,
        head="omitStages: [RequestReceived]\nomitManagedFields: true\n",
    )
    decision = evaluate(parse_policy(text), Request(*ALICE, "get", "pods"))
    assert decision.omit_stages == {"RequestReceived", "ResponseStarted"}
    assert decision.omit_managed_fields is False
    assert not decision.logs("ResponseStarted") and decision.logs("ResponseComplete")


# -- what queries need, and the check --------------------------------------------------------------------
def test_requirements_come_from_the_query_and_its_views(catalog: Catalog) -> None:
    exec_need = query_requirement(catalog.get("falco-attach-exec-pod"), catalog)
    assert (exec_need.resources, exec_need.verbs, exec_need.stages) == (
        ("pods/exec", "pods/attach"),
        ("create", "get"),
        ("ResponseStarted",),
    )
    # hostpath-mount reads the workload_specs view: the resources and verbs are the view's
    mount = query_requirement(catalog.get("hostpath-mount"), catalog)
    assert mount.level == "Request" and mount.verbs == ("create", "update", "patch")
    assert mount.resources[:2] == ("pods", "deployments")
    # `NOT (request_uri IN (...))` is what a query leaves out, not what it reads
    assert query_requirement(catalog.get("falco-anonymous-request-allowed"), catalog).paths == ()


def test_omitting_response_started_blinds_the_exec_queries_that_read_it(catalog: Catalog) -> None:
    text = policy("- level: Request\n", head="omitStages: [RequestReceived, ResponseStarted]\n")
    blind = {b.query_id: b for b in check_policy(parse_policy(text), catalog).blind}
    assert set(blind) == {"falco-attach-exec-pod"}  # exec queries over both stages still see ResponseComplete
    assert blind["falco-attach-exec-pod"].reasons == (
        "create/get pods/exec by anyone: stage ResponseStarted omitted (rule 1, line 5)",
        "create/get pods/attach by anyone: stage ResponseStarted omitted (rule 1, line 5)",
    )


def test_metadata_everywhere_blinds_exactly_the_request_level_queries(catalog: Catalog) -> None:
    result = check_policy(parse_policy(policy("- level: Metadata\n")), catalog)
    needs_request = {q.id for q in catalog.queries.values() if q.header.needs_level == "Request"}
    assert {b.query_id for b in result.blind} == needs_request
    assert result.leaks == []
    assert any("RequestReceived is not omitted" in note for note in result.notes)


def test_dropping_anonymous_requests_blinds_the_anonymous_queries(catalog: Catalog) -> None:
    text = policy("- level: None\n  userGroups: [system:unauthenticated]\n- level: Request\n")
    blind = {b.query_id: b.reasons for b in check_policy(parse_policy(text), catalog).blind}
    assert "anonymous-pod-write" in blind
    assert all(
        "by an anonymous client: level None (rule 1, line 4)" in r for r in blind["anonymous-pod-write"]
    )


def test_secret_and_token_bodies_are_listed() -> None:
    text = policy(
        """\
        - level: None
          userGroups: [system:nodes]
        - level: RequestResponse
          resources:
          - {group: "", resources: [secrets, serviceaccounts/token]}
          - {group: authentication.k8s.io, resources: [tokenreviews]}
        - level: Metadata
        """
    )
    leaks = [
        (leak.resource, leak.level, leak.rule, len(leak.identities))
        for leak in secret_leaks(parse_policy(text))
    ]
    assert leaks == [
        ("secrets (create/update/patch)", "Request", "rule 2, line 6", 4),
        ("secrets (get/list/watch)", "RequestResponse", "rule 2, line 6", 4),
        ("tokenreviews (create)", "Request", "rule 2, line 6", 4),
        ("serviceaccounts/token (create)", "RequestResponse", "rule 2, line 6", 4),
    ]


def test_recommended_policy_covers_the_catalog_without_secret_bodies(catalog: Catalog) -> None:
    result = check_policy(parse_policy(recommended_policy_text()), catalog)
    assert result.blind == []
    assert result.queries == len(catalog.queries)
    # only config maps (read by falco-configmap-private-credentials) carry a body that may hold credentials
    assert {leak.resource for leak in result.leaks} == {"configmaps (create/update/patch)"}
    volume = {line.level: line for line in result.volume}
    assert volume["RequestResponse"].events == 0
    assert volume["None"].events > 0 and volume["Metadata"].events > volume["Request"].events > 0
    assert result.notes == []


def test_recommended_policy_is_cheaper_than_logging_everything_at_request(catalog: Catalog) -> None:
    everything = check_policy(parse_policy(policy("- level: Request\n")), catalog)
    recommended = check_policy(parse_policy(recommended_policy_text()), catalog)
    assert sum(v.bytes for v in recommended.volume) * 2 < sum(v.bytes for v in everything.volume)


def test_coverage_from_levels_seen(catalog: Catalog) -> None:
    blind = coverage_from_levels(
        {"pods": ["Metadata"], "pods/exec": ["Metadata"], "roles": ["Request"]}, catalog
    )
    by_id = {b.query_id: b.reasons for b in blind}
    assert by_id["falco-create-privileged-pod"] == ("pods: seen at Metadata at most, needs Request",)
    assert "falco-attach-exec-pod" not in by_id  # needs Metadata
    assert "role-wildcard" not in by_id  # roles seen at Request; clusterroles never seen is not evidence
    assert coverage_from_levels({"pods": ["Request", "Metadata"]}, catalog) == []


# -- the commands ----------------------------------------------------------------------------------------
def test_cli_exit_codes(tmp_path: Path) -> None:
    suggested = runner.invoke(app, ["policy", "suggest"])
    assert suggested.exit_code == 0
    good = tmp_path / "good.yaml"
    good.write_text(suggested.stdout, encoding="utf-8")
    checked = runner.invoke(app, ["policy", "check", str(good)])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith(f"policy {good}: {checked.stdout.split()[2]} of ")
    assert ", 0 blind\n" in checked.stdout

    metadata = tmp_path / "metadata.yaml"
    metadata.write_text(policy("- level: Metadata\n"), encoding="utf-8")
    blind = runner.invoke(app, ["policy", "check", str(metadata), "--format", "json"])
    assert blind.exit_code == 1
    data = json.loads(blind.stdout)
    assert "hostpath-mount" in {b["query_id"] for b in data["blind"]}
    assert {v["level"] for v in data["volume_per_million_requests"]} == {
        "None", "Metadata", "Request", "RequestResponse"
    }  # fmt: skip

    bad = tmp_path / "bad.yaml"
    bad.write_text(policy("- level: Everything\n"), encoding="utf-8")
    invalid = runner.invoke(app, ["policy", "check", str(bad)])
    assert isinstance(invalid.exception, ConfigError)
    assert f"{bad} line 4: rules[0].level is 'Everything'" in str(invalid.exception)


def test_invalid_policy_exits_2_through_the_error_boundary(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy("- level: Metadata\n  verb: [get]\n"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kanalytics", "policy", "check", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{bad} line 5: rules[0]: unknown key 'verb'" in done.stderr
