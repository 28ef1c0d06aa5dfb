"""GKE Cloud Audit Log entries -> native Events: mapping, lossless round trip, redaction, hostile input.

Fixtures `fixtures/gke_*.json[l]` are built from the published LogEntry/AuditLog format (FORMATS.md section 3);
the real KHI samples are read from ../shared/data/k8s-audit/gke-khi when present.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kanalytics.archive.redact import redact_event
from kanalytics.archive.rows import NotAnEvent, event_to_row, row_to_event
from kanalytics.archive.scrub import MARK
from kanalytics.sources import gke
from kanalytics.sources.envelope import Unwrapped
from tests.conftest import shared_data

FIXTURES = Path(__file__).parent / "fixtures"
GKE_FIXTURES = sorted(p.name for p in FIXTURES.glob("gke_*.json*"))
KHI = (
    "container_recorder_test_1_1.json",
    "container_recorder_test_1_2.json",
    "container_recorder_test_1_3.json",
)


def load(name: str) -> Any:
    text = (FIXTURES / name).read_text()
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def entries(name: str) -> list[Any]:
    document = load(name)
    return document if isinstance(document, list) else [document]


def one(document: Any) -> Unwrapped:
    results = list(gke.unwrap(document))
    assert len(results) == 1
    return results[0]


def event_of(document: Any) -> dict[str, Any]:
    result = one(document)
    assert result.problem is None and result.skipped is None, result
    assert result.event is not None
    return result.event


def without_meta(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != gke.RESERVED}


def row(event: dict[str, Any]) -> dict[str, Any]:
    return event_to_row(copy.deepcopy(event))


# -- the real samples ------------------------------------------------------------------------------------
def test_khi_pod_create_maps_to_exactly_this_event() -> None:
    path = shared_data("gke-khi", KHI[0])
    entry = json.loads(path.read_text())
    result = one(json.loads(path.read_text()))
    assert result.cluster == "sample-cluster"
    assert result.event is not None
    event = result.event
    payload = entry["protoPayload"]
    assert without_meta(event) == {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": "85371f7c-2383-4041-96e8-dad63d2d1990",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/1-2-deployment-update/pods/nginx-deployment-surge-8655b4b8c5-xf5f4",
        "verb": "create",
        "user": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
        "sourceIPs": ["172.16.0.3"],
        "userAgent": "kube-controller-manager/v1.28.14 (linux/amd64) kubernetes/a4ef1a6/"
        "system:serviceaccount:kube-system:replicaset-controller",
        "objectRef": {
            "resource": "pods",
            "namespace": "1-2-deployment-update",
            "name": "nginx-deployment-surge-8655b4b8c5-xf5f4",
            "apiVersion": "v1",
        },
        "responseStatus": {"code": 201},
        "requestObject": payload["request"],  # the body as GKE gave it, `@type` included
        "responseObject": payload["response"],
        "requestReceivedTimestamp": "2024-01-01T01:00:00Z",
        "stageTimestamp": "2024-01-01T01:00:00Z",
        "annotations": entry["labels"],
    }
    assert event["requestObject"]["@type"] == "core.k8s.io/v1.Pod"
    meta = event[gke.RESERVED]
    assert meta["source"] == "gke"
    assert meta["moved"] == ["requestObject", "responseObject", "annotations"]
    assert meta["derived"] == [
        "auditID",
        "stage",
        "level",
        "requestURI",
        "objectRef",
        "responseStatus.code",
        "requestReceivedTimestamp",
        "stageTimestamp",
    ]
    # The bodies and labels are held once (in the Event); the entry keeps their places as null.
    assert meta["entry"]["labels"] is None
    assert meta["entry"]["protoPayload"]["request"] is None
    assert meta["entry"]["protoPayload"]["response"] is None
    assert list(meta["entry"]) == list(entry)
    assert gke.original(event) == entry


def test_khi_status_patches_each_map_to_one_request_level_event() -> None:
    counts = {"event": 0, "skipped": 0, "problem": 0}
    for name in KHI[1:]:
        document = json.loads(shared_data("gke-khi", name).read_text())
        assert gke.detect(document)
        for result in gke.unwrap(document):
            counts["event" if result.event else "skipped" if result.skipped else "problem"] += 1
            assert result.event is not None
            assert result.event["verb"] == "patch"
            assert result.event["level"] == "Request"  # a request body, no response body
            assert result.event["objectRef"]["subresource"] == "status"
            assert result.event["responseStatus"] == {"code": 200}
            assert result.event["requestObject"]["@type"] == "k8s.io/Patch"
            assert gke.original(result.event) == json.loads(shared_data("gke-khi", name).read_text())
    assert counts == {"event": 2, "skipped": 0, "problem": 0}


def test_khi_native_event_is_not_taken_for_a_log_entry() -> None:
    document = json.loads(shared_data("gke-khi", "test-log.json").read_text())
    assert not gke.detect(document)
    assert not gke.detect([document])


# -- fixtures built from the format ----------------------------------------------------------------------
def test_exec_is_a_started_stream_with_101() -> None:
    event = event_of(load("gke_exec.json"))
    assert (event["verb"], event["stage"], event["level"]) == ("create", "ResponseStarted", "Metadata")
    assert event["responseStatus"] == {"code": 101}
    assert event["objectRef"] == {
        "resource": "pods",
        "namespace": "payments",
        "name": "api-7d9f8-xk2lp",
        "apiVersion": "v1",
        "subresource": "exec",
    }
    assert event["requestURI"] == "/api/v1/namespaces/payments/pods/api-7d9f8-xk2lp/exec"


def test_denied_request_is_403_with_the_rpc_message() -> None:
    entry = load("gke_denied.json")
    event = event_of(entry)
    assert event["responseStatus"] == {
        "code": 403,
        "status": "Failure",
        "message": entry["protoPayload"]["status"]["message"],
    }
    columns = row(event)
    assert (columns["response_code"], columns["authz_decision"], columns["verb"]) == (403, "forbid", "get")
    assert (columns["resource"], columns["object_name"]) == ("secrets", "db-credentials")


def test_anonymous_request_keeps_the_principal_and_has_no_groups() -> None:
    event = event_of(load("gke_anonymous.json"))
    assert event["user"] == {"username": "system:anonymous"}  # GKE carries no groups: none are invented
    assert (event["verb"], event["level"], event["responseStatus"]["code"]) == ("create", "Request", 403)
    columns = row(event)
    assert (columns["user_name"], columns["user_groups"], columns["source_ips"]) == (
        "system:anonymous",
        None,
        ["198.51.100.23"],
    )


def test_create_with_bodies_is_201_request_response() -> None:
    entry = load("gke_create.json")
    event = event_of(entry)
    assert (event["level"], event["responseStatus"]) == ("RequestResponse", {"code": 201})
    assert event["requestObject"] == entry["protoPayload"]["request"]
    assert event["responseObject"] == entry["protoPayload"]["response"]
    columns = row(event)
    assert json.loads(columns["request_object"])["data"] == {"LOG_LEVEL": "debug", "REGION": "europe-west1"}


def test_cluster_scoped_rbac_change_and_timestamp_from_the_entry_not_its_receipt() -> None:
    entry = load("gke_rbac.json")
    event = event_of(entry)
    assert event["objectRef"] == {
        "resource": "clusterrolebindings",
        "name": "anon-view",
        "apiGroup": "rbac.authorization.k8s.io",
        "apiVersion": "v1",
    }
    assert event["requestURI"] == "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/anon-view"
    assert event["verb"] == "create"
    # receiveTimestamp is the next day: the request belongs to the day the API server logged it
    assert entry["receiveTimestamp"].startswith("2026-10-08")
    assert event["requestReceivedTimestamp"] == event["stageTimestamp"] == "2026-10-07T23:59:59.999999Z"


def test_non_resource_get_has_no_object_ref() -> None:
    event = event_of(load("gke_nonresource.json"))
    assert "objectRef" not in event
    assert (event["verb"], event["requestURI"], event["level"]) == ("get", "/readyz", "Metadata")
    assert event["responseStatus"] == {"code": 200}
    assert "objectRef" not in event[gke.RESERVED]["derived"]


def test_gcloud_logging_read_array() -> None:
    document = load("gke_gcloud_read.json")
    assert gke.detect(document)
    events = [result.event for result in gke.unwrap(document)]
    assert all(event is not None for event in events) and len(events) == 4
    listing, started, completed, finalize = (e for e in events if e is not None)
    assert listing["objectRef"] == {"resource": "pods", "apiVersion": "v1"}
    assert (listing["requestURI"], listing["verb"]) == ("/api/v1/pods", "list")
    # two entries of one operation: one request, two stages
    assert started["auditID"] == completed["auditID"]
    assert (started["stage"], completed["stage"]) == ("ResponseStarted", "ResponseComplete")
    assert started["verb"] == "watch"
    assert started["requestURI"] == "/api/v1/namespaces/kube-system/configmaps"
    assert finalize["objectRef"] == {
        "resource": "namespaces",
        "namespace": "old-team",
        "name": "old-team",
        "apiVersion": "v1",
        "subresource": "finalize",
    }
    assert finalize["responseStatus"] == {
        "code": 409,
        "status": "Failure",
        "message": 'namespaces "old-team" already exists',
    }


def test_non_audit_entries_are_skipped_and_entries_without_payload_are_problems() -> None:
    results = [result for entry in load("gke_mixed.jsonl") for result in gke.unwrap(entry)]
    assert [(r.skipped, r.problem, r.event is not None) for r in results] == [
        ("GKE LogEntry for service container.googleapis.com: not a Kubernetes audit log", None, False),
        (
            "GKE LogEntry with jsonPayload (log projects/acme-prod/logs/events): not a Kubernetes audit log",
            None,
            False,
        ),
        (None, "GKE LogEntry without protoPayload", False),
        (None, None, True),
    ]
    assert results[2].raw == json.dumps(load("gke_mixed.jsonl")[2], separators=(",", ":")).encode()
    assert [r.cluster for r in results] == [
        "prod-eu"
    ] * 4  # skipped and quarantined records are counted by cluster


def test_cluster_name_is_made_a_valid_archive_cluster_name() -> None:
    entry = load("gke_exec.json")
    entry["resource"]["labels"]["cluster_name"] = "prod eu/1"
    assert one(entry).cluster == "prod-eu-1"
    del entry["resource"]["labels"]["cluster_name"]
    assert one(entry).cluster is None and one(entry).event is not None


@pytest.mark.parametrize(
    ("rpc", "verb", "resource_name", "http"),
    [
        (0, "get", "core/v1/namespaces/a/pods/p", 200),
        (0, "create", "core/v1/namespaces/a/pods", 201),
        (0, "create", "core/v1/namespaces/a/pods/p/attach", 101),
        (0, "get", "core/v1/namespaces/a/pods/p/portforward", 101),
        (0, "create", "core/v1/namespaces/a/pods/p/eviction", 201),
        *[
            (rpc, "get", "core/v1/namespaces/a/pods/p", http)
            for rpc, http in {
                1: 499,
                2: 500,
                3: 400,
                4: 504,
                5: 404,
                6: 409,
                7: 403,
                8: 429,
                9: 400,
                10: 409,
                11: 400,
                12: 501,
                13: 500,
                14: 503,
                15: 500,
                16: 401,
                42: 500,
            }.items()
        ],
        (None, "get", "core/v1/namespaces/a/pods/p", 200),  # proto3 JSON omits code 0
    ],
)
def test_rpc_code_to_http(rpc: int | None, verb: str, resource_name: str, http: int) -> None:
    entry = load("gke_exec.json")
    payload = entry["protoPayload"]
    payload["status"] = {} if rpc is None else {"code": rpc}
    payload["resourceName"] = resource_name
    parts = resource_name.split("/")
    subresource = f"{parts[6]}." if len(parts) > 6 else ""
    payload["methodName"] = f"io.k8s.core.v1.pods.{subresource}{verb}"
    status = event_of(entry)["responseStatus"]
    assert status["code"] == http
    assert ("status" in status) == bool(rpc)


@pytest.mark.parametrize(
    ("resource_name", "object_ref", "uri"),
    [
        ("core/v1/namespaces", {"resource": "namespaces"}, "/api/v1/namespaces"),
        (
            "core/v1/namespaces/ns",
            {"resource": "namespaces", "namespace": "ns", "name": "ns"},
            "/api/v1/namespaces/ns",
        ),
        (
            "core/v1/namespaces/ns/status",
            {"resource": "namespaces", "namespace": "ns", "name": "ns", "subresource": "status"},
            "/api/v1/namespaces/ns/status",
        ),
        ("core/v1/namespaces/ns/pods", {"resource": "pods", "namespace": "ns"}, "/api/v1/namespaces/ns/pods"),
        (
            "core/v1/nodes/n1/proxy/metrics/cadvisor",
            {"resource": "nodes", "name": "n1", "subresource": "proxy"},
            "/api/v1/nodes/n1/proxy/metrics/cadvisor",
        ),
        (
            "apps/v1/namespaces/ns/deployments/web/scale",
            {
                "resource": "deployments",
                "namespace": "ns",
                "name": "web",
                "apiGroup": "apps",
                "subresource": "scale",
            },
            "/apis/apps/v1/namespaces/ns/deployments/web/scale",
        ),
        (
            "apis/apps/v1/namespaces/ns/deployments/web",
            {"resource": "deployments", "namespace": "ns", "name": "web", "apiGroup": "apps"},
            "/apis/apps/v1/namespaces/ns/deployments/web",
        ),
        ("api/v1/nodes/n1", {"resource": "nodes", "name": "n1"}, "/api/v1/nodes/n1"),
    ],
)
def test_resource_name_is_split_as_the_api_server_splits_a_path(
    resource_name: str, object_ref: dict[str, str], uri: str
) -> None:
    entry = load("gke_nonresource.json")
    entry["protoPayload"]["methodName"] = "io.k8s.core.v1.things.get"
    entry["protoPayload"]["resourceName"] = resource_name
    event = event_of(entry)
    version = {"apiVersion": "v1"}
    assert event["objectRef"] == {**object_ref, **version}
    assert event["requestURI"] == uri
    assert gke.original(event) == entry


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (
            "resourceName",
            "core/v1",
            "GKE AuditLog resourceName 'core/v1' is not <group>/<version>/[namespaces/",
        ),
        ("resourceName", "core//pods", "GKE AuditLog resourceName 'core//pods' is not <group>/<version>/"),
        ("resourceName", "core/v1/pods/", "GKE AuditLog resourceName 'core/v1/pods/' has an empty name"),
        ("resourceName", "", "GKE LogEntry without protoPayload.resourceName"),
        (
            "methodName",
            "google.container.v1.Get",
            "GKE AuditLog methodName 'google.container.v1.Get' is not io.k8s.",
        ),
        ("methodName", "io.k8s", "GKE AuditLog methodName 'io.k8s' is not io.k8s."),
        ("methodName", "io.k8s.core..get", "GKE AuditLog methodName 'io.k8s.core..get' is not io.k8s."),
        (
            "serviceName",
            None,
            "GKE AuditLog without serviceName: cannot tell whether it is a Kubernetes audit log",
        ),
    ],
)
def test_unreadable_audit_logs_are_problems_that_say_why(field: str, value: Any, problem: str) -> None:
    entry = load("gke_exec.json")
    if value is None:
        del entry["protoPayload"][field]
    else:
        entry["protoPayload"][field] = value
    result = one(entry)
    assert result.event is None and result.problem is not None and result.problem.startswith(problem)
    assert result.raw is not None and b'"insertId"' in result.raw


def test_entry_without_any_identifier_or_time_is_a_problem() -> None:
    entry = load("gke_exec.json")
    del entry["operation"], entry["insertId"]
    assert (
        one(entry).problem
        == "GKE LogEntry without operation.id or insertId: nothing to identify the request by"
    )
    entry = load("gke_exec.json")
    del entry["operation"]
    assert event_of(entry)["auditID"] == entry["insertId"]
    del entry["timestamp"], entry["receiveTimestamp"]
    assert one(entry).problem == "GKE LogEntry without timestamp or receiveTimestamp: cannot place it in time"


# -- lossless --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GKE_FIXTURES)
def test_original_gives_back_every_entry_exactly_also_through_an_archive_row(name: str) -> None:
    assert len(GKE_FIXTURES) == 9
    for entry, result in zip(entries(name), gke.unwrap(load(name)), strict=True):
        if result.event is None:
            continue
        assert gke.original(result.event) == entry
        # key order too, and through the archive's row mapping (the entry lands in `extra`)
        restored = gke.original(row_to_event(row(result.event)))
        assert json.dumps(restored) == json.dumps(entry)
        assert json.loads(row(result.event)["extra"]).keys() == {"fields"}  # nothing else spilled into extra


def test_original_is_none_for_events_that_did_not_come_from_gke() -> None:
    assert gke.original({"auditID": "x"}) is None
    assert gke.original({gke.RESERVED: {"source": "eks", "entry": {}}}) is None
    assert gke.original({gke.RESERVED: {"source": "gke", "entry": "x"}}) is None
    event = event_of(load("gke_create.json"))
    before = copy.deepcopy(event)
    gke.original(event)
    assert event == before  # giving the entry back does not change the Event


def test_secret_bodies_are_held_once_so_redaction_covers_them() -> None:
    """A Secret patch body has no `kind`: only the objectRef tells redaction it is a Secret's. A copy of the
    body inside the kept entry would not be redacted; holding it once, as requestObject, it is."""
    value = "cG9zdGdyZXM6Ly9kYi5pbnRlcm5hbDo1NDMyL3BheW1lbnRz"  # under a key that names no credential
    event = event_of(load("gke_secret_patch.json"))
    assert value in json.dumps(event)
    assert redact_event(event)
    assert value not in json.dumps(event)
    assert value not in json.dumps(gke.original(event))
    assert gke.original(event)["protoPayload"]["request"]["data"] == {"replica-dsn": MARK}


# -- detection and hostile input ------------------------------------------------------------------------
def test_detect() -> None:
    entry = load("gke_exec.json")
    assert gke.detect(entry) and gke.detect([entry])
    assert gke.detect({"resource": {"type": "k8s_cluster"}})
    assert gke.detect({"logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity"})
    native = {"kind": "Event", "auditID": "a", "stage": "ResponseComplete", "verb": "get", "requestURI": "/x"}
    for other in (
        [],
        [native],
        native,
        {"kind": "EventList", "items": [native]},
        {"records": []},
        {"awslogs": {}},
    ):
        assert not gke.detect(other), other
    for scalar in (None, 1, "x", [1], [[entry]]):
        assert not gke.detect(scalar)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (5, "GKE LogEntry expected, got a JSON number"),
        ("x", "GKE LogEntry expected, got a JSON string"),
        (None, "GKE LogEntry expected, got a JSON null"),
        ([1], "GKE LogEntry expected, got a JSON number (array item 0)"),
        ([{}, True], "GKE LogEntry expected, got a JSON boolean (array item 1)"),
        ({"protoPayload": []}, "GKE LogEntry field protoPayload is a JSON array, expected an object"),
        (
            {"protoPayload": {"serviceName": "k8s.io", "methodName": 7}},
            "GKE LogEntry field protoPayload.methodName is a JSON number, expected a string",
        ),
    ],
)
def test_wrong_shapes_are_problems(document: Any, problem: str) -> None:
    assert list(gke.unwrap(document))[-1].problem == problem


_WRONG = (None, 0, 1.5, True, "x", [], {}, [{}], "core/v1//")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _paths(item, (*prefix, index))
    return paths


@pytest.mark.parametrize("name", ["gke_create.json", "gke_exec.json", "gke_gcloud_read.json"])
def test_every_field_of_the_wrong_type_gives_one_judgement_never_an_exception(name: str) -> None:
    document = load(name)
    tried = 0
    for path in _paths(document):
        for wrong in _WRONG:
            mutated = copy.deepcopy(document)
            parent = mutated
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = wrong
            results = list(gke.unwrap(mutated))
            assert len(results) == (len(document) if isinstance(document, list) else 1)
            for result in results:
                assert [
                    result.event is not None,
                    result.skipped is not None,
                    result.problem is not None,
                ].count(True) == 1
                if result.event is not None:
                    with contextlib.suppress(NotAnEvent):  # judged by the archive, with its own reason
                        event_to_row(copy.deepcopy(result.event))
                    assert gke.original(result.event) is not None
            tried += 1
    assert tried > 300


def test_typed_fields_name_the_field_and_the_type() -> None:
    cases = {
        ("protoPayload", "requestMetadata", "callerIp"): (
            5,
            "GKE LogEntry field protoPayload.requestMetadata.callerIp is a JSON number, expected a string",
        ),
        ("protoPayload", "status", "code"): (
            True,
            "GKE LogEntry field protoPayload.status.code is a JSON boolean, expected an integer",
        ),
        ("protoPayload", "request"): (
            "{}",
            "GKE LogEntry field protoPayload.request is a JSON string, expected an object",
        ),
        ("labels",): ([], "GKE LogEntry field labels is a JSON array, expected an object"),
        ("operation",): ("x", "GKE LogEntry field operation is a JSON string, expected an object"),
        ("resource", "labels", "cluster_name"): (
            None,
            "GKE LogEntry field resource.labels.cluster_name is a JSON null, expected a string",
        ),
    }
    for path, (wrong, problem) in cases.items():
        entry = load("gke_create.json")
        parent = entry
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = wrong
        assert one(entry).problem == problem, path
