"""OCSF records: API Activity (6003) for Events, Detection Finding (2004) for findings, checked field by field
and against the bundled OCSF 1.1.0 schema subset (tests/outputs/ocsf_validation.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kanalytics.api import open_archive
from kanalytics.archive.reader import iter_events
from kanalytics.catalog.model import Finding
from kanalytics.outputs.formats.ocsf import (
    OCSF_VERSION,
    PRODUCT,
    activity_id,
    event_record,
    finding_record,
    finding_uid,
)
from tests.conftest import make_event, shared_data
from tests.outputs.ocsf_validation import validate

TS = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
TS_MS = 1_790_856_000_000  # TS in milliseconds since the epoch


def _pod_create() -> dict[str, Any]:
    return make_event(
        TS,
        auditID="8d3c8e5f-1111-4c2b-9a0e-000000000001",
        verb="create",
        requestURI="/api/v1/namespaces/prod/pods?fieldManager=kubectl-client-side-apply",
        user={"username": "alice@example.com", "uid": "u-1", "groups": ["dev", "system:authenticated"]},
        sourceIPs=["198.51.100.9", "10.0.0.7"],
        objectRef={"resource": "pods", "namespace": "prod", "name": "web-1", "apiVersion": "v1"},
        responseStatus={"metadata": {}, "code": 201},
        requestObject={"kind": "Pod", "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
        level="Request",
    )


def _denied_get() -> dict[str, Any]:
    return make_event(
        TS,
        auditID="8d3c8e5f-2222-4c2b-9a0e-000000000002",
        verb="get",
        requestURI="/api/v1/namespaces/kube-system/secrets/admin-token",
        user={"username": "system:serviceaccount:dev:ci", "groups": ["system:serviceaccounts"]},
        sourceIPs=["10.1.2.3"],
        objectRef={
            "resource": "secrets",
            "namespace": "kube-system",
            "name": "admin-token",
            "apiVersion": "v1",
        },
        responseStatus={
            "metadata": {},
            "status": "Failure",
            "reason": "Forbidden",
            "code": 403,
            "message": 'secrets "admin-token" is forbidden',
        },
        annotations={"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""},
    )


def test_pod_create_is_a_create_api_activity_field_by_field() -> None:
    record = event_record(_pod_create(), "prod-eu")

    assert validate(record) == []
    assert (record["class_uid"], record["category_uid"], record["activity_id"], record["type_uid"]) == (
        6003, 6, 1, 600301)  # fmt: skip
    assert (record["activity_name"], record["type_name"]) == ("Create", "API Activity: Create")
    assert (record["status_id"], record["status"], record["status_code"]) == (1, "Success", "201")
    assert (record["severity_id"], record["severity"]) == (1, "Informational")
    assert (record["time"], record["start_time"], record["end_time"]) == (TS_MS, TS_MS, TS_MS + 3)
    assert record["actor"] == {
        "user": {
            "name": "alice@example.com",
            "uid": "u-1",
            "groups": [{"name": "dev"}, {"name": "system:authenticated"}],
        }
    }
    assert record["api"] == {
        "operation": "create",
        "request": {"uid": "8d3c8e5f-1111-4c2b-9a0e-000000000001",
                    "data": {"kind": "Pod", "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        "response": {"code": 201},
        "service": {"name": "kubernetes"},
        "group": {"name": "core"},
        "version": "v1",
    }  # fmt: skip
    # The last source IP is the connection's peer; the earlier ones come from forwarding headers.
    assert record["src_endpoint"] == {"ip": "10.0.0.7", "intermediate_ips": ["198.51.100.9"]}
    assert record["dst_endpoint"] == {"name": "prod-eu", "svc_name": "kube-apiserver"}
    assert record["http_request"] == {
        "user_agent": "kubectl/v1.30.1 (linux/amd64) kubernetes/abc",
        "http_method": "POST",
        "url": {
            "path": "/api/v1/namespaces/prod/pods",
            "query_string": "fieldManager=kubectl-client-side-apply",
        },
    }
    assert record["resources"] == [{"type": "pods", "name": "web-1", "namespace": "prod", "version": "v1"}]
    assert record["metadata"] == {
        "version": OCSF_VERSION,
        "product": {**PRODUCT, "feature": {"name": "Kubernetes audit"}},
        "uid": "8d3c8e5f-1111-4c2b-9a0e-000000000001/ResponseComplete",
        "log_name": "audit.k8s.io/v1",
        "log_provider": "kube-apiserver",
        "original_time": "2026-10-01T12:00:00.000000Z",
        "logged_time": TS_MS + 3,
    }
    assert record["unmapped"] == {
        "level": "Request",
        "stage": "ResponseComplete",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }
    assert "cloud" not in record


def test_denied_get_is_a_failed_read_field_by_field() -> None:
    record = event_record(_denied_get(), "prod-eu")

    assert validate(record) == []
    assert (record["activity_id"], record["activity_name"], record["type_uid"]) == (2, "Read", 600302)
    assert (record["status_id"], record["status"], record["status_code"]) == (2, "Failure", "403")
    assert record["actor"] == {
        "user": {"name": "system:serviceaccount:dev:ci", "groups": [{"name": "system:serviceaccounts"}]}
    }
    assert record["api"]["operation"] == "get"
    assert record["api"]["request"] == {"uid": "8d3c8e5f-2222-4c2b-9a0e-000000000002"}
    assert record["api"]["response"] == {
        "code": 403,
        "error": "Forbidden",
        "message": 'secrets "admin-token" is forbidden',
    }
    assert record["src_endpoint"] == {"ip": "10.1.2.3"}
    assert record["http_request"]["http_method"] == "GET"
    assert record["http_request"]["url"] == {"path": "/api/v1/namespaces/kube-system/secrets/admin-token"}
    assert record["resources"] == [
        {"type": "secrets", "name": "admin-token", "namespace": "kube-system", "version": "v1"}
    ]
    assert record["time"] == TS_MS
    assert record["unmapped"]["annotations"]["authorization.k8s.io/decision"] == "forbid"


@pytest.mark.parametrize(
    ("verb", "expected"),
    [("create", 1), ("get", 2), ("list", 2), ("watch", 2), ("update", 3), ("patch", 3), ("delete", 4),
     ("deletecollection", 4), ("impersonate", 99), ("escalate", 99), ("post", 99)],
)  # fmt: skip
def test_activity_id_follows_the_verb(verb: str, expected: int) -> None:
    record = event_record(make_event(verb=verb), "c1")
    assert activity_id(verb) == expected
    assert (record["activity_id"], record["type_uid"]) == (expected, 600300 + expected)
    # Other keeps the verb as its name, as OCSF asks for activity_id 99.
    assert record["activity_name"] == {1: "Create", 2: "Read", 3: "Update", 4: "Delete"}.get(expected, verb)
    assert validate(record) == []


def test_collection_requests_subresources_and_missing_response() -> None:
    listed = event_record(make_event(verb="list", stage="RequestReceived", responseStatus=None), "c1")
    assert listed["resources"] == [
        {"type": "pods", "uid": "/api/v1/namespaces/default/pods", "namespace": "default", "version": "v1"}
    ]
    assert (listed["status_id"], listed["status"]) == (0, "Unknown")
    assert "status_code" not in listed and "response" not in listed["api"]
    assert validate(listed) == []
    exec_ = event_record(
        make_event(
            verb="create",
            objectRef={"resource": "pods", "subresource": "exec", "name": "p", "namespace": "n"},
        ),
        "c1",
    )
    assert exec_["resources"][0]["type"] == "pods/exec"
    patched = event_record(make_event(verb="patch"), "c1")
    assert "http_method" not in patched["http_request"]  # OCSF 1.1.0's method enum has no PATCH
    assert validate(patched) == []


def test_impersonation_and_user_extra_go_to_unmapped() -> None:
    extra = {"authentication.kubernetes.io/pod-name": ["ci-7"]}
    event = make_event(
        user={"username": "admin", "extra": extra},
        impersonatedUser={"username": "bob", "groups": ["dev"]},
    )
    record = event_record(event, "c1")
    assert record["actor"] == {"user": {"name": "admin"}}
    assert record["unmapped"]["impersonatedUser"] == {"username": "bob", "groups": ["dev"]}
    assert record["unmapped"]["user"] == {"extra": extra}
    assert validate(record) == []


def test_cloud_is_written_with_the_cloud_profile_only_when_given() -> None:
    cloud = {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "123456789012"}}
    record = event_record(make_event(), "c1", cloud=cloud)
    assert record["cloud"] == cloud and record["metadata"]["profiles"] == ["cloud"]
    assert validate(record) == []
    without = copy.deepcopy(record)
    del without["cloud"]
    assert validate(without) == ["(record): 'cloud' is a required property"]


def _sample_files() -> list[Path]:
    traces = sorted(shared_data("falco-traces").glob("*.json"))
    return [*traces, shared_data("audit2rbac", "demo.log")]


def test_every_event_of_the_real_samples_validates(tmp_path: Path) -> None:
    archive = open_archive(tmp_path / "archive")
    summary = archive.ingest(_sample_files(), cluster="samples")
    assert (summary.archived, summary.quarantined) == (88, 1)  # the samples as they are in ../shared
    count = 0
    problems: list[str] = []
    for cluster, event in iter_events(archive.layout):
        record = event_record(event, cluster)
        count += 1
        problems += [f"{event.get('auditID')}: {p}" for p in validate(record)]
        if record["api"]["request"]["uid"] != event["auditID"]:
            problems.append(f"{event['auditID']}: api.request.uid is {record['api']['request']['uid']!r}")
    assert problems == []
    assert count == summary.archived


def _finding(**overrides: Any) -> Finding:
    values: dict[str, Any] = {
        "query_id": "secret-read-by-serviceaccount", "title": "Service account read a secret", "kind": "detection",
        "severity": "high", "area": "secrets", "ts": TS, "audit_id": "8d3c8e5f-2222-4c2b-9a0e-000000000002",
        "user_name": "system:serviceaccount:dev:ci", "source_ip": "10.1.2.3", "verb": "get", "resource": "secrets",
        "namespace": "kube-system", "object_name": "admin-token", "summary": "ci read kube-system/admin-token",
        "cluster": "prod-eu", "evidence": {"user_agent": "curl/8"},
    }  # fmt: skip
    values.update(overrides)
    return Finding(**values)


def test_finding_is_a_detection_finding_that_validates() -> None:
    finding = _finding()
    record = finding_record(finding)

    assert validate(record) == []
    assert (record["class_uid"], record["category_uid"], record["activity_id"], record["type_uid"]) == (
        2004, 2, 1, 200401)  # fmt: skip
    assert (record["severity_id"], record["severity"], record["status_id"], record["status"]) == (
        4,
        "High",
        1,
        "New",
    )
    assert record["time"] == TS_MS
    info = record["finding_info"]
    assert info["uid"] == finding_uid(finding) and len(info["uid"]) == 32
    assert (info["title"], info["desc"], info["types"]) == (
        finding.title,
        finding.summary,
        ["detection", "secrets"],
    )
    assert info["analytic"] == {
        "uid": "secret-read-by-serviceaccount",
        "name": finding.title,
        "type_id": 1,
        "type": "Rule",
    }
    assert info["related_events"] == [{"uid": finding.audit_id}]
    assert record["evidences"] == [{
        "actor": {"user": {"name": "system:serviceaccount:dev:ci"}},
        "api": {"operation": "get", "request": {"uid": finding.audit_id}},
        "src_endpoint": {"ip": "10.1.2.3"},
        "dst_endpoint": {"name": "prod-eu", "svc_name": "kube-apiserver"},
        "data": {"user_agent": "curl/8"},
    }]  # fmt: skip
    assert record["resources"] == [{"type": "secrets", "name": "admin-token", "namespace": "kube-system"}]


@pytest.mark.parametrize(
    ("severity", "expected"), [("info", 1), ("low", 2), ("medium", 3), ("high", 4), ("critical", 5)]
)
def test_finding_severity_ids(severity: str, expected: int) -> None:
    assert finding_record(_finding(severity=severity))["severity_id"] == expected


def test_finding_uid_is_stable_and_tells_findings_apart() -> None:
    assert finding_uid(_finding()) == finding_uid(_finding(summary="other words"))
    assert finding_uid(_finding()) != finding_uid(_finding(cluster="other"))
    assert finding_uid(_finding()) != finding_uid(_finding(audit_id="x"))


def test_anomaly_without_object_or_time_needs_created() -> None:
    anomaly = _finding(
        kind="anomaly", ts=None, audit_id=None, object_name=None, score=4.2, baseline="28 days"
    )
    with pytest.raises(ValueError, match=r"secret-read-by-serviceaccount.*created="):
        finding_record(anomaly)
    record = finding_record(anomaly, created=TS)
    assert validate(record) == []
    assert record["finding_info"]["analytic"]["type_id"] == 3 and "resources" not in record
    assert record["unmapped"] == {"score": 4.2, "baseline": "28 days"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r.pop("class_uid"), "class_uid: None is not one of the bundled classes [2004, 6003]"),
        (lambda r: r.update(activity_id="x"), "activity_id: 'x' is not of type 'integer'"),
        (lambda r: r.update(activity_id=7, type_uid=600307), "activity_id: 7 is not one of [0, 1, 2, 3, 4, 99]"),
        (lambda r: r.pop("actor"), "(record): 'actor' is a required property"),
        (lambda r: r["api"].pop("operation"), "api: 'operation' is a required property"),
        (lambda r: r.update(type_uid=600399), "type_uid: 600399 is not class_uid * 100 + activity_id"),
        (lambda r: r["src_endpoint"].update(ip="not-an-ip"), "src_endpoint.ip: 'not-an-ip' is not valid under any of the given schemas"),
        (lambda r: r.update(actr={}), "(record): Additional properties are not allowed ('actr' was unexpected)"),
        (lambda r: r["metadata"].pop("version"), "metadata: 'version' is a required property"),
    ],
)  # fmt: skip
def test_the_validator_rejects_broken_records(change: Any, problem: str) -> None:
    record = event_record(_denied_get(), "c1")
    change(record)
    assert problem in validate(record)
