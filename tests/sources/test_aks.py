"""AKS diagnostic-setting records: batches and blob lines give back exactly the native Events they wrap, other
categories are skipped with their name, malformed records are problems naming AKS, never exceptions. Also the
cross-check that no envelope's detect fires on another's documents or on native Events."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kanalytics.sources import aks, eks

from .fixtures import FIXTURES, detectors, load, natives, sample, sample_documents, tally

CLUSTER = "TEST-CLUSTER"


def skip_reason(category: str) -> str:
    return f"AKS log category {category}: not an audit category"


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "category": "kube-audit",
        "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C1",
        "properties": {"log": '{"kind":"Event","auditID":"a"}\n', "stream": "stdout"},
    }
    return base | fields


# -- shapes -------------------------------------------------------------------------------------------------
def test_batch_with_string_and_object_logs_gives_the_native_events() -> None:
    document = load("aks-records.json")
    logs = [r["properties"]["log"] for r in document["records"] if r["category"].startswith("kube-audit")]
    assert {type(log) for log in logs} == {str, dict}  # the fixture holds both forms
    assert aks.detect(document)
    result = tally(aks.unwrap(document))
    assert result.events == natives()
    assert result.skipped == Counter(
        {skip_reason("kube-apiserver"): 1, skip_reason("guard"): 1, skip_reason("cluster-autoscaler"): 1}
    )
    assert result.problems == Counter()
    assert result.clusters == {CLUSTER}


def test_blob_layout_lines_give_the_native_events() -> None:
    lines = (FIXTURES / "aks-PT1H.json").read_bytes().splitlines()
    documents = [load_line(line) for line in lines]
    assert all(aks.detect(document) for document in documents)
    result = tally(item for document in documents for item in aks.unwrap(document))
    assert result.events == natives()
    assert result.skipped == Counter({skip_reason("kube-controller-manager"): 1})
    assert result.problems == Counter()
    assert result.clusters == {CLUSTER}


def load_line(line: bytes) -> Any:
    from kanalytics.sources import jsontext

    return jsontext.loads(line)


def test_audit_record_whose_log_is_not_an_event_is_a_problem_naming_aks() -> None:
    result = tally(aks.unwrap(load("aks-bad-log.json")))
    assert result.problems == Counter(
        {
            "AKS kube-audit record: properties.log is not JSON: unexpected character, expected a JSON value: "
            "line 1 column 1 (char 0)": 1,
            "AKS kube-audit record: properties.log is a JSON array, not an audit Event": 1,
        }
    )
    assert [r.raw for r in result.results] == [b"I1007 16:19:19.647880 not an event", b'["an", "array"]']
    assert result.clusters == {CLUSTER}


# -- real samples (../shared/data/k8s-audit/aks-sysdig) -----------------------------------------------------
@pytest.mark.parametrize(
    ("name", "events", "cluster"),
    [("event.json", 22, "KUBETEST"), ("sample_EventHubs_event.json", 1, "KUBEAUDITLOGTESTCLUSTER")],
)
def test_real_sysdig_samples_unwrap_without_problems(name: str, events: int, cluster: str) -> None:
    (document,) = sample_documents(sample(f"aks-sysdig/{name}"))
    assert aks.detect(document)
    result = tally(aks.unwrap(document))
    assert len(result.events) == events
    assert (result.skipped, result.problems) == (Counter(), Counter())
    assert result.clusters == {cluster}
    assert all(e["kind"] == "Event" and e["apiVersion"] == "audit.k8s.io/v1" for e in result.events)
    assert len({e["auditID"] for e in result.events}) == events


def test_real_sysdig_bare_event_is_native_not_aks() -> None:
    (document,) = sample_documents(sample("aks-sysdig/sample_KubeAuditLog_event.json"))
    assert document["kind"] == "Event"
    assert not aks.detect(document)


# -- cluster from resourceId --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("resource_id", "cluster"),
    [
        (
            "/SUBSCRIPTIONS/X/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/KUBETEST",
            "KUBETEST",
        ),
        (
            "/subscriptions/x/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/web-1",
            "web-1",
        ),
        ("/SUBSCRIPTIONS/X/MANAGEDCLUSTERS/my cluster/", "my-cluster"),
        ("/SUBSCRIPTIONS/X/MANAGEDCLUSTERS/-", None),
        ("/SUBSCRIPTIONS/X/VIRTUALMACHINES/VM1", None),
        (5, None),
    ],
)
def test_cluster_from_resource_id(resource_id: Any, cluster: str | None) -> None:
    assert tally(aks.unwrap(record(resourceId=resource_id))).clusters == {cluster}


# -- hostile inputs -----------------------------------------------------------------------------------------
HOSTILE: list[tuple[str, Any, str]] = [
    ("not an object", 5, "not an AKS diagnostic record (a JSON number without records or category)"),
    ("empty object", {}, "not an AKS diagnostic record (a JSON object without records or category)"),
    ("records a number", {"records": 5}, "AKS batch: records is a JSON number, not an array"),
    ("record a number", {"records": [5]}, "AKS record is a JSON number, not an object"),
    ("record an array", {"records": [[]]}, "AKS record is a JSON array, not an object"),
    ("category a number", record(category=5), "AKS record: category is a JSON number, not a string"),
    (
        "category missing",
        {"records": [{"properties": {}}]},
        "AKS record: category is a JSON null, not a string",
    ),
    (
        "properties missing",
        {"category": "kube-audit", "resourceId": "r"},
        "AKS kube-audit record has no properties.log (a JSON string or object)",
    ),
    (
        "properties a string",
        record(properties="x"),
        "AKS kube-audit record has no properties.log (a JSON string or object)",
    ),
    (
        "log a number",
        record(properties={"log": 5}),
        "AKS kube-audit record has no properties.log (a JSON string or object)",
    ),
    (
        "log a list",
        record(category="kube-audit-admin", properties={"log": [1]}),
        "AKS kube-audit-admin record has no properties.log (a JSON string or object)",
    ),
    (
        "log empty",
        record(properties={"log": ""}),
        "AKS kube-audit record: properties.log is empty",
    ),
    (
        "log a number text",
        record(properties={"log": "42\n"}),
        "AKS kube-audit record: properties.log is a JSON number, not an audit Event",
    ),
    (
        "log too deep",
        record(properties={"log": "[" * 5000}),
        "AKS kube-audit record: properties.log is not JSON: depth limit exceeded: line 1 column 1026 (char 1025)",
    ),
    (
        "log with a lone surrogate",
        record(properties={"log": '{"a":"\ud800"}'}),
        "AKS kube-audit record: properties.log is not JSON: str is not valid UTF-8: surrogates not allowed: line 1 column 1 (char 0)",
    ),
]


@pytest.mark.parametrize(
    ("document", "reason"), [(d, r) for _, d, r in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
def test_hostile_input_is_one_problem(document: Any, reason: str) -> None:
    result = tally(aks.unwrap(document))
    assert result.problems == Counter({reason: 1})
    assert (result.events, result.skipped) == ([], Counter())


def test_non_audit_category_is_skipped_whatever_its_log() -> None:
    result = tally(
        aks.unwrap({"records": [record(category="guard", properties=5), record(category="x" * 500)]})
    )
    assert result.skipped == Counter({skip_reason("guard"): 1, skip_reason("x" * 200 + "…"): 1})


# -- detection is exclusive ---------------------------------------------------------------------------------
def _owner(name: str) -> set[str]:
    prefixes = {"eks-": "eks", "aks-": "aks", "gke_": "gke"}  # gke_*.json: the GKE helper's fixtures
    return {owner for prefix, owner in prefixes.items() if name.startswith(prefix)}


def _fixture_documents() -> list[tuple[str, Any, set[str]]]:
    cases: list[tuple[str, Any, set[str]]] = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name == "aks-PT1H.json":
            cases += [
                (f"{path.name}:{i}", load_line(line), {"aks"})
                for i, line in enumerate(path.read_bytes().splitlines())
            ]
        else:
            cases.append((path.name, load(path.name), _owner(path.name)))
    events = natives()
    cases += [(f"native.jsonl:{i}", event, set()) for i, event in enumerate(events)]
    cases.append(
        (
            "EventList",
            {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": events},
            set(),
        )
    )
    cases.append(("array of Events", events, set()))
    cases.append(("empty EventList", {"kind": "EventList", "items": []}, set()))
    return cases


def _sample_documents() -> list[tuple[str, Any, set[str]]]:
    root = sample("")
    cases = []
    for path in sorted(root.rglob("*.json")) + sorted(root.rglob("*.log")):
        folder = path.parent.name
        owner = {"aks"} if folder == "aks-sysdig" else {"gke"} if folder == "gke-khi" else set()
        for i, document in enumerate(sample_documents(path)):
            native = isinstance(document, dict) and document.get("kind") == "Event"
            cases.append((f"{folder}/{path.name}:{i}", document, set() if native else owner))
    return cases


def _check(cases: list[tuple[str, Any, set[str]]]) -> None:
    found = detectors()
    assert {"eks", "aks"} <= set(found)
    wrong = []
    for label, document, owner in cases:
        fired = {name for name, detect in found.items() if detect(document)}
        if fired != owner & set(found):
            wrong.append(f"{label}: expected {sorted(owner)}, detected by {sorted(fired)}")
    assert wrong == []


def test_detection_on_fixtures_is_exclusive() -> None:
    _check(_fixture_documents())


def test_detection_on_real_samples_is_exclusive() -> None:
    _check(_sample_documents())


def test_detect_line_never_fires_on_fixture_or_sample_lines() -> None:
    paths = [p for p in FIXTURES.glob("*") if p.suffix in (".json", ".jsonl")]
    shared = Path(os.fspath(sample("")))
    paths += [p for p in shared.rglob("*") if p.suffix in (".json", ".log")]
    fired = [
        f"{p.name}:{i}"
        for p in paths
        for i, line in enumerate(p.read_bytes().splitlines())
        if eks.detect_line(line)
    ]
    assert fired == []
