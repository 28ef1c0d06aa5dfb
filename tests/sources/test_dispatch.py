"""The one dispatch (sources/documents.py): every input document is read by the reader of its shape, judged from
content, through both framings (JSON Lines blocks and streamed documents); `--format` forces one reader."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kanalytics.errors import UsageError
from kanalytics.sources import documents
from kanalytics.sources.files import read_inputs
from kanalytics.sources.records import Block, Record

from .fixtures import FIXTURES, natives

EKS_CLUSTER = "prod-eu-1"
AKS_CLUSTER = "TEST-CLUSTER"
SCHEDULER = "EKS log stream kube-scheduler-9c8d7e6f5a4b3c2d: not an audit stream"
AUTHENTICATOR = "EKS log stream authenticator-1a2b3c4d5e6f7a8b: not an audit stream"
TEXT_LINE = "EKS CloudWatch export line holds text, not an audit Event (another log stream)"

# fixture -> (cluster named, records skipped by reason) for the fixtures that wrap all of native.jsonl
WRAPPING = {
    "eks-subscription.json": (EKS_CLUSTER, {}),
    "eks-awslogs.json": (EKS_CLUSTER, {}),
    "eks-firehose.json": (EKS_CLUSTER, {AUTHENTICATOR: 1}),
    "eks-firehose-plain.json": (EKS_CLUSTER, {AUTHENTICATOR: 1}),
    "eks-filter-log-events.json": (None, {SCHEDULER: 2}),
    "eks-get-log-events.json": (None, {}),
    "eks-export.log.gz": (None, {TEXT_LINE: 1}),
    "aks-records.json": (
        AKS_CLUSTER,
        {
            "AKS log category kube-apiserver: not an audit category": 1,
            "AKS log category guard: not an audit category": 1,
            "AKS log category cluster-autoscaler: not an audit category": 1,
        },
    ),
    "aks-PT1H.json": (AKS_CLUSTER, {"AKS log category kube-controller-manager: not an audit category": 1}),
}


def records(path: Path, shape: str = "auto") -> list[Record]:
    """Every Record of one input, blocks parsed as the archive's workers parse them."""
    out: list[Record] = []
    for item in read_inputs([str(path)], shape=shape):
        if isinstance(item, Block):
            out.extend(documents.block_records(item))
        else:
            assert isinstance(item, Record)
            out.append(item)
    return out


@pytest.mark.parametrize("name", sorted(WRAPPING))
def test_each_envelope_gives_the_native_events_it_wraps_with_its_cluster_and_skips(name: str) -> None:
    cluster, skipped = WRAPPING[name]
    found = records(FIXTURES / name)
    assert [r.error for r in found if r.error is not None] == []
    assert [r.value for r in found if r.skipped is None] == natives()
    assert Counter(r.skipped for r in found if r.skipped is not None) == Counter(skipped)
    assert {r.cluster for r in found if r.skipped is None} == {cluster}


def test_native_input_is_still_native() -> None:
    found = records(FIXTURES / "native.jsonl")
    assert [r.value for r in found] == natives()
    assert all(r.raw is not None and r.cluster is None and r.skipped is None for r in found)


def test_envelopes_are_detected_before_an_object_is_taken_for_a_bare_event(tmp_path: Path) -> None:
    # One JSON Lines file mixing all shapes, one document a line: each line goes to its own reader.
    lines = [
        (FIXTURES / "native.jsonl").read_bytes().splitlines()[0],
        json.dumps(json.loads((FIXTURES / "eks-awslogs.json").read_bytes())).encode(),
        json.dumps(json.loads((FIXTURES / "aks-records.json").read_bytes())).encode(),
        json.dumps(json.loads((FIXTURES / "gke_exec.json").read_bytes())).encode(),
        (FIXTURES / "aks-PT1H.json").read_bytes().splitlines()[0],
    ]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"\n".join(lines) + b"\n")
    found = records(mixed)
    assert [r.error for r in found if r.error] == []
    events = [r for r in found if r.value is not None]
    assert [r.line for r in events].count(2) == len(natives())  # the awslogs payload
    assert [(r.cluster, r.value["verb"]) for r in events if r.line == 4] == [("prod-eu", "create")]
    assert {r.cluster for r in events if r.line == 3} == {AKS_CLUSTER}
    assert [r.value["auditID"] for r in events if r.line == 5] == [natives()[0]["auditID"]]


def test_a_gcloud_array_streamed_item_by_item_is_read_as_gke() -> None:
    found = records(FIXTURES / "gke_gcloud_read.json")
    assert found and all(r.error is None for r in found)
    assert all(r.skipped is not None or "_kanalytics" in r.value for r in found)


@pytest.mark.parametrize(
    ("shape", "name", "reason"),
    [
        ("gke", "native.jsonl", "GKE LogEntry without protoPayload"),
        ("aks", "native.jsonl", "not an AKS diagnostic record (a JSON object without records or category)"),
        (
            "eks",
            "native.jsonl",
            "not an EKS CloudWatch envelope (no awslogs, messageType/logEvents, Firehose records or events)",
        ),
        ("native", "aks-records.json", None),  # one bare "Event", judged (quarantined) by the archive
        ("eks", "aks-PT1H.json", None),
    ],
)
def test_forcing_a_format_reads_every_document_with_that_reader(
    shape: str, name: str, reason: str | None
) -> None:
    found = records(FIXTURES / name, shape)
    if shape == "native":
        assert len(found) == 1 and len(found[0].value["records"]) == 9
        return
    if reason is None:  # AKS blob lines, forced as EKS: one problem a line, naming EKS
        assert len(found) == 7
        assert all(r.error and r.error.startswith("not an EKS CloudWatch envelope") for r in found)
    else:
        assert [r.error for r in found] == [reason] * len(natives())


def test_forced_eks_reads_export_lines_and_names_the_lines_that_are_not() -> None:
    found = records(FIXTURES / "eks-export.log.gz", "eks")
    assert [r.value for r in found if r.value is not None] == natives()
    other = Block("x.log", 1, b"not an export line\n", "eks")
    assert [r.error for r in documents.block_records(other)] == [
        "EKS CloudWatch export line does not start with '<ISO timestamp> '"
    ]


def test_timestamped_text_outside_an_export_file_is_still_quarantined() -> None:
    block = Block("app.log", 1, b"2021-08-09T08:07:21.868Z I0809 scheduler.go:609] bound\n")
    [record] = documents.block_records(block)
    assert record.skipped is None and record.error is not None and record.error.startswith("not valid JSON")


def test_an_unknown_format_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(UsageError, match="unknown input format 'cloudtrail'") as caught:
        list(read_inputs([str(FIXTURES / "native.jsonl")], shape="cloudtrail"))
    assert caught.value.hint is not None and "auto, native, eks, aks, gke" in caught.value.hint
