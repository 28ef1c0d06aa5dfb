"""The columnar conversion gives the Python path's rows exactly, and leaves every unusual shape to it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanalytics.archive.columnar import columnar_block
from kanalytics.archive.convert import Converted, convert_block
from kanalytics.sources.files import read_file
from kanalytics.sources.records import Block
from tests.archive.test_roundtrip import audit_events
from tests.conftest import shared_data

_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-./:", min_size=1, max_size=12)
# Strings redaction acts on (or nearly): the columnar path must leave each to the Python path or map it the same.
_tricky = st.sampled_from(
    [
        "Bearer abcdefghijklmnop",
        "token: s3cr3t",
        "password=hunter2",
        "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
        "https://user:pw@example.com/",
        "tokenizer",
        "keyboard",
        "secretary",
        "1.5",
        "a\nb",
        'quote " inside',
        "é and ü",
    ]
)
_value = _word | _tricky
_body = st.recursive(
    _value | st.integers(-(2**40), 2**40) | st.booleans(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_word | _tricky, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def plain_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events in the API server's own shape: most take the columnar path."""
    second = draw(st.integers(0, 86_399))
    micros = draw(st.integers(0, 999_999))
    day = draw(st.integers(1, 28))
    stamp = f"2026-10-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{micros:06d}Z"
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": draw(st.sampled_from(["Metadata", "Request", "RequestResponse"])),
        "auditID": str(draw(st.uuids())),
        "stage": draw(st.sampled_from(["ResponseStarted", "ResponseComplete"])),
        "requestURI": "/api/v1/" + draw(_word),
        "verb": draw(st.sampled_from(["get", "list", "create", "patch"])),
        "user": draw(
            st.fixed_dictionaries(
                {"username": _value},
                optional={
                    "uid": _word,
                    "groups": st.lists(_value, max_size=3),
                    "extra": st.dictionaries(_word, st.lists(_value, max_size=2), max_size=2),
                },
            )
        ),
        "requestReceivedTimestamp": stamp,
        "stageTimestamp": stamp,
    }
    optional = {
        "sourceIPs": st.lists(_word, max_size=2),
        "userAgent": _value,
        "objectRef": st.fixed_dictionaries(
            {"resource": st.sampled_from(["pods", "configmaps", "secrets", "tokenreviews"])},
            optional={"namespace": _word, "name": _value, "apiVersion": _word, "apiGroup": _word},
        ),
        "impersonatedUser": st.fixed_dictionaries({"username": _word}, optional={"groups": st.lists(_word)}),
        "responseStatus": st.fixed_dictionaries(
            {"metadata": st.just({})},
            optional={"code": st.integers(-(2**33), 2**33) | st.sampled_from([200, 403]), "reason": _value},
        ),
        "annotations": st.dictionaries(
            st.sampled_from(["authorization.k8s.io/decision", "authorization.k8s.io/reason", "x"]),
            _value | st.integers(0, 3),
            max_size=3,
        ),
        "requestObject": _body,
        "responseObject": _body,
        "someFutureField": _body,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            event[key] = draw(strategy)
    return event


def _lines(events: list[dict[str, Any]], style: int) -> bytes:
    if style == 0:
        text = [json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in events]
    elif style == 1:
        text = [json.dumps(e) for e in events]  # spaces, \u escapes
    else:
        text = [json.dumps(e, indent=None, separators=(" , ", " : "), ensure_ascii=False) for e in events]
    return ("\n".join(text) + "\n").encode()


def _both(block: Block, redact: bool = True) -> tuple[Converted, Converted]:
    return convert_block(block, redact, columnar=False), convert_block(block, redact, min_rows=1)


def assert_identical(python: Converted, columnar: Converted) -> None:
    """Every column of every row (JSON text byte for byte, the hash), and every count and problem."""
    assert (python.read, python.redacted, python.skipped) == (
        columnar.read,
        columnar.redacted,
        columnar.skipped,
    )
    assert python.quarantine == columnar.quarantine
    if python.batch is None:
        assert columnar.batch is None
        return
    assert columnar.batch is not None
    assert columnar.batch.schema.equals(python.batch.schema)
    for name in python.batch.schema.names:
        assert columnar.batch.column(name).to_pylist() == python.batch.column(name).to_pylist(), name


@given(st.lists(plain_events() | audit_events(), min_size=1, max_size=12), st.integers(0, 2), st.booleans())
@settings(max_examples=150, deadline=None)
def test_both_paths_give_identical_rows(events: list[dict[str, Any]], style: int, redact: bool) -> None:
    assert_identical(*_both(Block("in.jsonl", 1, _lines(events, style)), redact))


@given(st.lists(plain_events(), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_compact_plain_events_without_credentials_take_the_columnar_path(
    events: list[dict[str, Any]],
) -> None:
    for event in events:  # the words redaction looks for, and floats, are the Python path's (tested above)
        (
            event.pop("requestObject", None),
            event.pop("responseObject", None),
            event.pop("someFutureField", None),
        )
        event["user"] = {"username": "alice", "groups": ["dev"]}
        event.pop("userAgent", None)
        event.pop("objectRef", None)
        event.pop("annotations", None)
        event.pop("responseStatus", None)
    split = columnar_block(Block("in.jsonl", 1, _lines(events, 0)), min_rows=1)
    assert split is not None
    assert split.python == []
    assert split.row_lines == list(range(1, len(events) + 1))


_PLAIN = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Metadata",
    "auditID": "0b6f1c36-7c59-4a53-9a57-4d6a2c0f5a11",
    "stage": "ResponseComplete",
    "requestURI": "/api/v1/namespaces/dev/pods/web",
    "verb": "get",
    "user": {"username": "alice", "groups": ["dev", "system:authenticated"]},
    "sourceIPs": ["10.0.0.1"],
    "userAgent": "kubectl/v1.30.0",
    "objectRef": {"resource": "pods", "namespace": "dev", "name": "web", "apiVersion": "v1"},
    "responseStatus": {"metadata": {}, "code": 200},
    "requestReceivedTimestamp": "2026-10-01T00:00:07.337133Z",
    "stageTimestamp": "2026-10-01T00:00:07.343546Z",
    "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
}


def _variant(change: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    event = {k: v for k, v in json.loads(json.dumps(_PLAIN)).items() if k not in drop}
    for key, value in change.items():
        event[key] = value
    return event


# One line per reason the Python path exists; each must leave the columnar path and still convert identically.
FALLBACKS = {
    "non-string where a string is expected": _variant({"userAgent": 5}),
    "list with a non-string item": _variant({"sourceIPs": ["10.0.0.1", 7]}),
    "legacy timestamp only": _variant(
        {"timestamp": "2026-10-01T00:00:07.337133Z"}, drop=("requestReceivedTimestamp", "stageTimestamp")
    ),
    "timestamp without microseconds": _variant({"stageTimestamp": "2026-10-01T00:00:07Z"}),
    "timestamp below a microsecond": _variant({"stageTimestamp": "2026-10-01T00:00:07.343546123Z"}),
    "timestamp with an offset": _variant({"stageTimestamp": "2026-10-01T02:00:07.343546+02:00"}),
    "timestamp before 1970": _variant({"stageTimestamp": "1969-12-31T23:59:59.000000Z"}),
    "Secret body": _variant(
        {
            "objectRef": {"resource": "secrets", "namespace": "dev", "name": "db"},
            "requestObject": {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}},
        }
    ),
    "TokenReview token": _variant(
        {
            "objectRef": {"resource": "tokenreviews", "apiGroup": "authentication.k8s.io"},
            "requestObject": {"kind": "TokenReview", "spec": {"token": "abc.def.ghi"}},
        }
    ),
    "credential in the URI": _variant({"requestURI": "/api/v1/namespaces/dev/pods/web?access_token=abc"}),
    "bearer token in a string": _variant({"userAgent": "curl Bearer abcdefghijklmnopq"}),
    "unknown key in objectRef": _variant({"objectRef": {"resource": "pods", "resourceVersion": "7"}}),
    "unknown key in user": _variant({"user": {"username": "alice", "odd": 1}}),
    "empty user": _variant({"user": {}}),
    "explicit null": _variant({"userAgent": None}),
    "float": _variant({"requestObject": {"replicas": 1.5}}),
    "exponent": _variant({"requestObject": {"replicas": 1e22}}),
    "integer beyond 64 bits": _variant({"requestObject": {"n": 2**70}}),
    "missing auditID": _variant({}, drop=("auditID",)),
    "empty auditID": _variant({"auditID": ""}),
    "another kind": _variant({"kind": "Pod"}),
    "an EventList": {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [_PLAIN]},
    "a GKE LogEntry": {"protoPayload": {"serviceName": "k8s.io", "methodName": "io.k8s.core.v1.pods.get"}},
    "an AKS record": {"category": "kube-audit", "properties": {"log": json.dumps(_PLAIN)}},
    "an array": [_PLAIN],
}


@pytest.mark.parametrize("reason", sorted(FALLBACKS))
def test_each_unusual_shape_takes_the_python_path(reason: str) -> None:
    line = json.dumps(FALLBACKS[reason], separators=(",", ":"))
    data = (json.dumps(_PLAIN, separators=(",", ":")) + "\n" + line + "\n").encode()
    split = columnar_block(Block("in.jsonl", 1, data), min_rows=1)
    assert split is not None
    assert split.row_lines == [1]
    assert [number for number, _, _ in split.python] == [2]
    assert_identical(*_both(Block("in.jsonl", 1, data)))


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(_PLAIN).replace('"alice"', '"\\u0061lice"'),  # an escape DuckDB would write differently
        json.dumps(_PLAIN).replace("/api/v1", "\\/api\\/v1"),
    ],
)
def test_escapes_take_the_python_path(text: str) -> None:
    data = (json.dumps(_PLAIN) + "\n" + text + "\n").encode()
    split = columnar_block(Block("in.jsonl", 1, data), min_rows=1)
    assert split is not None and split.row_lines == [1]
    assert [number for number, _, _ in split.python] == [2]
    assert_identical(*_both(Block("in.jsonl", 1, data)))


def test_unknown_top_level_keys_stay_on_the_columnar_path() -> None:
    data = json.dumps(_variant({"someFutureField": {"a": [1, "b"]}})).encode()
    split = columnar_block(Block("in.jsonl", 1, data), min_rows=1)
    assert split is not None and split.row_lines == [1]
    python, columnar = _both(Block("in.jsonl", 1, data))
    assert_identical(python, columnar)
    assert columnar.batch is not None
    assert json.loads(columnar.batch.column("extra")[0].as_py()) == {
        "fields": {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "someFutureField": {"a": [1, "b"]}}
    }


def test_a_line_that_is_not_json_sends_the_whole_block_to_the_python_path() -> None:
    data = (json.dumps(_PLAIN) + "\nnot json\n").encode()
    assert columnar_block(Block("in.jsonl", 1, data), min_rows=1) is None
    python, columnar = _both(Block("in.jsonl", 1, data))
    assert_identical(python, columnar)
    assert [(line, reason[:14]) for _, line, reason, _ in columnar.quarantine] == [(2, "not valid JSON")]


def test_rows_keep_input_order_across_paths_and_blank_lines_and_a_bom() -> None:
    lines = [json.dumps(_variant({"auditID": f"id-{n}", "userAgent": 5 if n % 2 else "k"})) for n in range(6)]
    data = b"\xef\xbb\xbf" + "\n\n".join(lines).encode() + b"\n\n"
    python, columnar = _both(Block("in.jsonl", 1, data))
    assert_identical(python, columnar)
    assert columnar.batch is not None
    assert columnar.batch.column("audit_id").to_pylist() == [f"id-{n}" for n in range(6)]
    assert columnar.read == 6


def test_shapes_other_than_native_are_not_taken() -> None:
    data = json.dumps(_PLAIN).encode()
    assert columnar_block(Block("in.jsonl", 1, data, shape="gke"), min_rows=1) is None
    native = columnar_block(Block("in.jsonl", 1, data, shape="native"), min_rows=1)
    assert native is not None and native.row_lines == [1]


def _sample_files() -> list[Path]:
    root = shared_data()
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".log"))


@pytest.mark.parametrize("name", ["falco-traces", "audit2rbac", "aks-sysdig", "gke-khi"])
def test_real_samples_give_identical_rows(name: str) -> None:
    files = [p for p in _sample_files() if p.relative_to(shared_data()).parts[0] == name]
    if not files:
        pytest.skip(f"no sample files under ../shared/data/k8s-audit/{name}")
    blocks = 0
    for path in files:
        for item in read_file(path):
            if isinstance(item, Block):
                blocks += 1
                assert_identical(*_both(item))
    assert blocks + len(files) > 0


def test_columnar_rows_are_the_archive_batch_schema() -> None:
    columnar = convert_block(Block("in.jsonl", 1, json.dumps(_PLAIN).encode()), min_rows=1)
    assert columnar.batch is not None
    assert isinstance(columnar.batch, pa.RecordBatch)
    assert columnar.batch.column("_day").to_pylist() == [(date(2026, 10, 1) - date(1970, 1, 1)).days]
    assert columnar.batch.column("_cluster").to_pylist() == [None]


def test_a_block_duckdb_refuses_takes_the_python_path() -> None:
    line = json.dumps(_PLAIN)[:-1] + ', "verb": "delete"}'  # a duplicate key: orjson keeps the last
    data = (json.dumps(_PLAIN) + "\n" + line + "\n").encode()
    assert columnar_block(Block("in.jsonl", 1, data), min_rows=1) is None
    python, columnar = _both(Block("in.jsonl", 1, data))
    assert_identical(python, columnar)
    assert columnar.batch is not None and columnar.batch.column("verb").to_pylist() == ["get", "delete"]


def test_small_blocks_take_the_python_path_whole() -> None:
    data = (json.dumps(_PLAIN) + "\n") * 3
    assert columnar_block(Block("in.jsonl", 1, data.encode()), min_rows=4) is None
    split = columnar_block(Block("in.jsonl", 1, data.encode()), min_rows=3)
    assert split is not None and split.row_lines == [1, 2, 3]


def test_a_body_too_deep_to_hash_takes_the_python_path() -> None:
    deep = json.dumps(_PLAIN)[:-1] + ', "requestObject": ' + '{"a":' * 1000 + "1" + "}" * 1000 + "}"
    data = (json.dumps(_PLAIN) + "\n" + deep + "\n").encode()
    split = columnar_block(Block("in.jsonl", 1, data), min_rows=1)
    assert split is not None and split.row_lines == [1]
    python, columnar = _both(Block("in.jsonl", 1, data))
    assert_identical(python, columnar)
    assert [reason[:26] for _, _, reason, _ in columnar.quarantine] == ["cannot archive this event "]
