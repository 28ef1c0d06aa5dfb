"""ECS documents: exact shapes for hand-written Events and a Finding, odd Event shapes, and every real sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kanalytics.api import open_archive
from kanalytics.archive.reader import iter_events
from kanalytics.catalog.model import Finding
from kanalytics.errors import InputError
from kanalytics.outputs.formats.ecs import ECS_VERSION, dedot, event_document, finding_document
from tests.conftest import make_event, shared_data

POD_CREATE: dict[str, Any] = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "RequestResponse",
    "auditID": "0b5a3f4e-0000-4000-8000-000000000001",
    "stage": "ResponseComplete",
    "requestURI": "/api/v1/namespaces/shop/pods",
    "verb": "create",
    "user": {"username": "alice@example.com", "uid": "u-123", "groups": ["dev", "system:authenticated"]},
    "sourceIPs": ["10.0.0.5", "192.168.1.1"],
    "userAgent": "kubectl/v1.30.1 (linux/amd64) kubernetes/abc",
    "objectRef": {"resource": "pods", "namespace": "shop", "name": "web", "apiGroup": "", "apiVersion": "v1"},
    "responseStatus": {"metadata": {}, "code": 201},
    "requestObject": {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "web", "labels": {"app": "web", "app.kubernetes.io/name": "web"}},
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx:1.25", "securityContext": {"privileged": True}},
                {"name": "proxy", "image": "envoyproxy/envoy:v1.30"},
            ]
        },
    },
    "requestReceivedTimestamp": "2026-10-01T12:00:00.123456Z",
    "stageTimestamp": "2026-10-01T12:00:00.130000Z",
    "annotations": {
        "authorization.k8s.io/decision": "allow",
        "authorization.k8s.io/reason": 'RBAC: allowed by RoleBinding "dev/shop"',
        "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
    },
}

SECRET_DENIED: dict[str, Any] = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Metadata",
    "auditID": "0b5a3f4e-0000-4000-8000-000000000002",
    "stage": "ResponseComplete",
    "requestURI": "/api/v1/namespaces/kube-system/secrets/db-password",
    "verb": "get",
    "user": {"username": "bob", "groups": ["system:authenticated"]},
    "sourceIPs": ["2001:db8::7"],
    "userAgent": "curl/8.5.0",
    "objectRef": {
        "resource": "secrets",
        "namespace": "kube-system",
        "name": "db-password",
        "apiVersion": "v1",
    },
    "responseStatus": {
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "db-password" is forbidden: User "bob" cannot get resource "secrets"',
        "reason": "Forbidden",
        "details": {"name": "db-password", "kind": "secrets"},
        "code": 403,
    },
    "requestReceivedTimestamp": "2026-10-01T12:05:00.000001Z",
    "stageTimestamp": "2026-10-01T12:05:00.000900Z",
    "annotations": {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""},
}


def _audit(event: dict[str, Any], annotations: dict[str, Any]) -> dict[str, Any]:
    return {**event, "annotations": annotations}


def test_pod_create_with_two_containers() -> None:
    event = copy.deepcopy(POD_CREATE)
    assert event_document(event, "prod") == {
        "@timestamp": "2026-10-01T12:00:00.123456Z",
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "event",
            "category": ["api"],
            "type": ["creation", "allowed"],
            "action": "create",
            "outcome": "success",
            "dataset": "kubernetes.audit_logs",
            "module": "kubernetes",
        },
        "user": {"name": "alice@example.com", "id": "u-123"},
        "user_agent": {"original": "kubectl/v1.30.1 (linux/amd64) kubernetes/abc"},
        "source": {"ip": ["10.0.0.5", "192.168.1.1"]},
        "client": {"ip": ["10.0.0.5", "192.168.1.1"]},
        "related": {"ip": ["10.0.0.5", "192.168.1.1"], "user": ["u-123", "alice@example.com"]},
        "orchestrator": {
            "type": "kubernetes",
            "cluster": {"name": "prod"},
            "namespace": "shop",
            "resource": {"type": "pods", "name": "web"},
            "api_version": "v1",
        },
        "container": {"image": {"name": ["nginx:1.25", "envoyproxy/envoy:v1.30"]}},
        "kubernetes": {
            "audit": _audit(
                POD_CREATE,
                {
                    "authorization_k8s_io/decision": "allow",
                    "authorization_k8s_io/reason": 'RBAC: allowed by RoleBinding "dev/shop"',
                    "pod-security_kubernetes_io/enforce-policy": "privileged:latest",
                },
            )
        },
    }
    assert event == POD_CREATE  # the input is not modified


def test_denied_secret_get_from_a_user() -> None:
    assert event_document(copy.deepcopy(SECRET_DENIED), "prod") == {
        "@timestamp": "2026-10-01T12:05:00.000001Z",
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "event",
            "category": ["api"],
            "type": ["access", "denied"],
            "action": "get",
            "outcome": "failure",
            "dataset": "kubernetes.audit_logs",
            "module": "kubernetes",
        },
        "user": {"name": "bob"},
        "user_agent": {"original": "curl/8.5.0"},
        "source": {"ip": ["2001:db8::7"]},
        "client": {"ip": ["2001:db8::7"]},
        "related": {"ip": ["2001:db8::7"], "user": ["bob"]},
        "orchestrator": {
            "type": "kubernetes",
            "cluster": {"name": "prod"},
            "namespace": "kube-system",
            "resource": {"type": "secrets", "name": "db-password"},
            "api_version": "v1",
        },
        "kubernetes": {
            "audit": _audit(
                SECRET_DENIED,
                {"authorization_k8s_io/decision": "forbid", "authorization_k8s_io/reason": ""},
            )
        },
    }


def test_non_resource_request_without_user_ips_or_response() -> None:
    event = make_event(requestURI="/version", verb="get", sourceIPs=[], annotations={})
    for key in ("objectRef", "user", "responseStatus", "userAgent"):
        del event[key]
    doc = event_document(event, "c1")
    assert doc["event"] == {
        "kind": "event",
        "category": ["api"],
        "type": ["access"],
        "action": "get",
        "outcome": "unknown",
        "dataset": "kubernetes.audit_logs",
        "module": "kubernetes",
    }
    assert doc["orchestrator"] == {"type": "kubernetes", "cluster": {"name": "c1"}}
    for absent in ("user", "source", "client", "related", "user_agent", "container"):
        assert absent not in doc
    assert doc["kubernetes"]["audit"] == event


@pytest.mark.parametrize(
    ("status", "outcome"),
    [({"code": 101}, "success"), ({"code": 404}, "failure"), ({"code": 500}, "failure"), ({"code": 0}, "unknown"),
     ({"metadata": {}}, "unknown"), ({"code": "200"}, "unknown")],
)  # fmt: skip
def test_outcome_from_the_response_code(status: dict[str, Any], outcome: str) -> None:
    assert event_document(make_event(responseStatus=status), "c1")["event"]["outcome"] == outcome


@pytest.mark.parametrize(
    ("verb", "types"),
    [("update", ["change", "allowed"]), ("patch", ["change", "allowed"]), ("delete", ["deletion", "allowed"]),
     ("deletecollection", ["deletion", "allowed"]), ("list", ["access", "allowed"]),
     ("watch", ["access", "allowed"]), ("impersonate", ["info", "allowed"])],
)  # fmt: skip
def test_event_type_by_verb_and_decision(verb: str, types: list[str]) -> None:
    assert event_document(make_event(verb=verb), "c1")["event"]["type"] == types


def test_legacy_timestamp_without_fraction() -> None:
    event = make_event(timestamp="2017-09-11T19:55:05Z")
    del event["requestReceivedTimestamp"], event["stageTimestamp"]
    assert event_document(event, "c1")["@timestamp"] == "2017-09-11T19:55:05.000000Z"
    other = make_event(requestReceivedTimestamp="2017-09-11T21:55:05+02:00")
    assert event_document(other, "c1")["@timestamp"] == "2017-09-11T19:55:05.000000Z"


def test_no_usable_time_is_an_error_naming_the_event() -> None:
    event = make_event(auditID="abc", requestReceivedTimestamp="yesterday")
    del event["stageTimestamp"]
    with pytest.raises(InputError, match="'abc' has no usable requestReceivedTimestamp"):
        event_document(event, "c1")


def test_ipv6_and_addresses_elasticsearch_cannot_hold() -> None:
    event = make_event(sourceIPs=["::FFFF:10.0.0.1", "fe80::1%eth0", "not-an-ip", "2001:DB8::1", "10.0.0.9"])
    doc = event_document(event, "c1")
    assert doc["source"]["ip"] == ["::FFFF:10.0.0.1", "2001:DB8::1", "10.0.0.9"]
    assert doc["kubernetes"]["audit"]["sourceIPs"] == event["sourceIPs"]


def test_images_come_only_from_pod_specs() -> None:
    configmap = make_event(
        verb="create",
        objectRef={"resource": "configmaps", "namespace": "default", "name": "c", "apiVersion": "v1"},
        requestObject={"kind": "ConfigMap", "data": {"image": "nginx"}, "spec": {"image": "x"}},
    )
    assert "container" not in event_document(configmap, "c1")
    service = make_event(requestObject={"kind": "Service", "spec": {"type": "NodePort", "ports": []}})
    assert "container" not in event_document(service, "c1")
    pod = make_event(
        requestObject={
            "kind": "Pod",
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                "containers": [
                    {"name": "a", "image": "app:1"},
                    {"name": "b", "image": "app:1"},
                    {"name": "c"},
                ],
                "ephemeralContainers": [{"name": "debug", "image": "nicolaka/netshoot"}],
            },
        }
    )
    assert event_document(pod, "c1")["container"] == {
        "image": {"name": ["app:1", "busybox:1.36", "nicolaka/netshoot"]}
    }
    single = make_event(requestObject={"spec": {"containers": [{"name": "a", "image": "app:1"}]}})
    assert event_document(single, "c1")["container"] == {"image": {"name": "app:1"}}
    template = {"spec": {"containers": [{"name": "a", "image": "worker:2"}]}}
    deployment = make_event(
        objectRef={"resource": "deployments", "apiGroup": "apps", "apiVersion": "v1", "namespace": "d"},
        requestObject={"kind": "Deployment", "spec": {"replicas": 2, "template": template}},
    )
    doc = event_document(deployment, "c1")
    assert doc["container"] == {"image": {"name": "worker:2"}}
    assert doc["orchestrator"]["api_version"] == "apps/v1"
    cronjob = make_event(
        requestObject={"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}}
    )
    assert event_document(cronjob, "c1")["container"] == {"image": {"name": "worker:2"}}


def test_impersonation_and_colliding_annotation_keys() -> None:
    event = make_event(
        user={"username": "system:admin", "uid": "1"},
        impersonatedUser={"username": "bob", "groups": ["system:authenticated"]},
        annotations={"a.b/c": "first", "a_b/c": "second", "x.y/z": "kept"},
    )
    doc = event_document(event, "c1")
    assert doc["user"] == {"name": "system:admin", "id": "1", "effective": {"name": "bob"}}
    assert doc["related"]["user"] == ["1", "system:admin", "bob"]
    assert doc["kubernetes"]["audit"]["annotations"] == {"a_b/c": "first", "x_y/z": "kept"}
    assert doc["kanalytics"] == {
        "annotation_collisions": [{"key": "a.b/c", "value": "first"}, {"key": "a_b/c", "value": "second"}]
    }


def _recovered(doc: dict[str, Any], event: dict[str, Any]) -> None:
    """The Event is all in kubernetes.audit: unchanged but for annotation keys, which dedot() renamed."""
    audit = doc["kubernetes"]["audit"]
    assert {k: v for k, v in audit.items() if k != "annotations"} == {
        k: v for k, v in event.items() if k != "annotations"
    }
    if "annotations" in event:
        assert audit["annotations"] == {dedot(k): v for k, v in event["annotations"].items()}


def test_every_real_sample(tmp_path: Path) -> None:
    files = [*sorted(shared_data("falco-traces").glob("*.json")), shared_data("audit2rbac", "demo.log")]
    archive = open_archive(tmp_path / "archive")
    summary = archive.ingest(files, cluster="lab")
    pairs = list(iter_events(archive.layout))
    assert summary.archived > 50 and len(pairs) == summary.archived
    seen_images = legacy = 0
    for cluster, event in pairs:
        doc = event_document(event, cluster)
        json.dumps(doc, allow_nan=False)  # no datetimes, no NaN
        assert doc["@timestamp"].endswith("Z")
        assert doc["event"]["kind"] == "event"
        assert doc["event"]["action"] == event["verb"]
        assert doc["kubernetes"]["audit"]["auditID"] == event["auditID"]
        assert doc["orchestrator"]["cluster"]["name"] == "lab"
        _recovered(doc, event)
        seen_images += "container" in doc
        if "requestReceivedTimestamp" not in event:  # audit2rbac's v1beta1-era Events: only `timestamp`
            assert doc["@timestamp"] == event["timestamp"].replace("Z", ".000000Z")
            legacy += 1
    assert seen_images >= 10  # the falco traces create many pods
    assert legacy >= 30


def test_privileged_pod_sample_matches_the_elastic_rule_fields(tmp_path: Path) -> None:
    archive = open_archive(tmp_path / "archive")
    archive.ingest([shared_data("falco-traces", "create_nginx_pod_privileged.json")], cluster="lab")
    [(_, event)] = [p for p in iter_events(archive.layout) if p[1]["verb"] == "create"]
    doc = event_document(event, "lab")
    # The rule "Kubernetes Privileged Pod Created" queries these paths.
    audit = doc["kubernetes"]["audit"]
    assert audit["objectRef"]["resource"] == "pods" and audit["verb"] == "create"
    assert [c["securityContext"]["privileged"] for c in audit["requestObject"]["spec"]["containers"]] == [
        True
    ]
    assert doc["container"] == {"image": {"name": "nginx"}}
    assert (
        doc["@timestamp"] == "2018-10-25T14:09:12.572676Z"
    )  # requestReceivedTimestamp wins over `timestamp`


def test_finding_document() -> None:
    finding = Finding(
        query_id="secret_read_by_human",
        title="Secret read by a person",
        kind="detection",
        severity="high",
        area="secrets",
        ts=datetime(2026, 10, 1, 12, 5, 0, 1, tzinfo=UTC),
        audit_id="0b5a3f4e-0000-4000-8000-000000000002",
        user_name="bob",
        source_ip="2001:db8::7",
        verb="get",
        resource="secrets",
        namespace="kube-system",
        object_name="db-password",
        summary="bob read secret kube-system/db-password",
        cluster="prod",
        evidence={"user_agent": "curl/8.5.0", "seen": datetime(2026, 10, 1, tzinfo=UTC), "n": 2},
    )
    assert finding_document(finding) == {
        "@timestamp": "2026-10-01T12:05:00.000001Z",
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "alert",
            "severity": 73,
            "risk_score": 73,
            "action": "get",
            "dataset": "kanalytics.findings",
            "module": "kanalytics",
        },
        "rule": {"id": "secret_read_by_human", "name": "Secret read by a person"},
        "message": "bob read secret kube-system/db-password",
        "labels": {
            "kanalytics_area": "secrets",
            "kanalytics_kind": "detection",
            "kanalytics_severity": "high",
        },
        "user": {"name": "bob"},
        "source": {"ip": "2001:db8::7"},
        "orchestrator": {
            "type": "kubernetes",
            "cluster": {"name": "prod"},
            "namespace": "kube-system",
            "resource": {"type": "secrets", "name": "db-password"},
        },
        "kubernetes": {"audit": {"auditID": "0b5a3f4e-0000-4000-8000-000000000002"}},
        "kanalytics": {"evidence": {"user_agent": "curl/8.5.0", "seen": "2026-10-01T00:00:00+00:00", "n": 2}},
    }
    json.dumps(finding_document(finding), allow_nan=False)


def test_finding_severity_scores_and_anomaly_fields() -> None:
    base: dict[str, Any] = dict(
        query_id="q", title="t", kind="anomaly", area="identity", ts=None, audit_id=None, user_name=None,
        source_ip=None, verb=None, resource=None, namespace=None, object_name=None, summary="s",
    )  # fmt: skip
    scores = {s: finding_document(Finding(severity=s, **base))["event"]["severity"]
              for s in ("info", "low", "medium", "high", "critical")}  # fmt: skip
    assert scores == {"info": 0, "low": 21, "medium": 47, "high": 73, "critical": 99}
    doc = finding_document(Finding(severity="low", score=4.5, baseline="28 days", **base))
    assert "@timestamp" not in doc
    assert doc["kanalytics"] == {"score": 4.5, "baseline": "28 days"}
    assert doc["orchestrator"] == {"type": "kubernetes"}
