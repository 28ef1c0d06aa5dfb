"""Lossless: export gives back Events equal to the input as JSON objects (timestamps as instants)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kanalytics
from kanalytics.archive.convert import convert_block
from kanalytics.archive.rows import event_to_row, row_to_event
from kanalytics.sources.records import Block

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | _text
    | st.floats(allow_nan=False, allow_infinity=False)
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)
_instant = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)


def _ts(value: datetime, style: int) -> str:
    if style == 0:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == 1:
        return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.astimezone(UTC).isoformat()


@st.composite
def audit_events(draw: st.DrawFn) -> dict[str, Any]:
    when = draw(_instant)
    style = draw(st.integers(0, 2))
    if style == 1:
        when = when.replace(microsecond=0)
    event: dict[str, Any] = {
        "auditID": draw(st.uuids()).hex,
        "stage": draw(st.sampled_from(["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"])),
        "requestURI": "/" + draw(_text),
        "verb": draw(st.sampled_from(["get", "list", "create", "patch", "delete", "watch"])),
        "user": draw(
            st.fixed_dictionaries(
                {"username": _text},
                optional={
                    "uid": _text,
                    "groups": st.lists(_text, max_size=3),
                    "extra": st.dictionaries(_text, st.lists(_text, max_size=2), max_size=2),
                    "odd": _json,
                },
            )
        ),
    }
    legacy = draw(st.booleans())
    if legacy:
        event["timestamp"] = _ts(when, 1 if style == 1 else 0)
        event["metadata"] = {"creationTimestamp": _ts(when, 1)}
    else:
        event["requestReceivedTimestamp"] = _ts(when, style)
        stage = when + timedelta(microseconds=draw(st.integers(0, 10**7)))
        event["stageTimestamp"] = _ts(stage, 0)
    optional = {
        "kind": st.just("Event"),
        "apiVersion": st.sampled_from(["audit.k8s.io/v1", "audit.k8s.io/v1beta1"]),
        "level": st.sampled_from(["Metadata", "Request", "RequestResponse"]),
        "sourceIPs": st.lists(_text, max_size=3),
        "userAgent": _text,
        "objectRef": st.fixed_dictionaries(
            {},
            optional={
                "resource": _text,
                "namespace": _text,
                "name": _text,
                "subresource": _text,
                "apiGroup": _text,
                "apiVersion": _text,
                "uid": _text,
                "resourceVersion": _text,
            },
        ),
        "impersonatedUser": st.fixed_dictionaries(
            {"username": _text}, optional={"groups": st.lists(_text, max_size=2), "uid": _text}
        ),
        "responseStatus": st.fixed_dictionaries(
            {"metadata": st.just({})}, optional={"code": st.integers(100, 599), "reason": _text, "x": _json}
        ),
        "requestObject": _json
        | st.lists(st.fixed_dictionaries({"op": _text, "path": _text, "value": _json})),
        "responseObject": _json,
        "annotations": st.dictionaries(_text, _text, max_size=3),
        "someFutureField": _json,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            event[key] = draw(strategy)
    return event


def as_instants(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    for key in ("requestReceivedTimestamp", "stageTimestamp"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key].replace("Z", "+00:00"))
    return out


def canonical(event: dict[str, Any]) -> Any:
    # JSON equality: compare through a JSON round trip so int/float and tuple/list forms agree
    return json.loads(json.dumps(as_instants(event), default=str))


@given(audit_events())
@settings(max_examples=300, deadline=None)
def test_row_mapping_is_exact(event: dict[str, Any]) -> None:
    assert canonical(row_to_event(event_to_row(json.loads(json.dumps(event))))) == canonical(event)


@given(st.lists(audit_events(), min_size=1, max_size=8))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_archive_export_round_trip(tmp_path_factory: Any, events: list[dict[str, Any]]) -> None:
    root: Path = tmp_path_factory.mktemp("arch")
    source = root / "in.jsonl"
    source.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    archive = kanalytics.open_archive(root / "a")
    summary = archive.ingest([source], redact=False)
    assert summary.quarantined == 0
    out = io.BytesIO()
    archive.export(out)
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    key = lambda e: json.dumps(canonical(e), sort_keys=True)  # noqa: E731
    unique = {key(e): e for e in events}  # identical events are deduplicated by design
    assert sorted(map(key, exported)) == sorted(unique)


@given(st.lists(audit_events(), min_size=1, max_size=8), st.booleans(), st.booleans())
@settings(max_examples=100, deadline=None)
def test_columnar_and_python_conversion_give_identical_rows(
    events: list[dict[str, Any]], ascii_only: bool, redact: bool
) -> None:
    """Ingest converts plain lines with DuckDB (archive/columnar.py), the rest in Python: same rows either way,
    every column (JSON text byte for byte, the content hash), same counts and quarantine."""
    block = Block(
        "in.jsonl", 1, "".join(json.dumps(e, ensure_ascii=ascii_only) + "\n" for e in events).encode()
    )
    python = convert_block(block, redact, columnar=False)
    columnar = convert_block(block, redact, min_rows=1)
    assert (columnar.read, columnar.redacted, columnar.quarantine) == (
        python.read,
        python.redacted,
        python.quarantine,
    )
    assert python.batch is not None and columnar.batch is not None
    assert columnar.batch.schema.equals(python.batch.schema)
    assert columnar.batch.to_pylist() == python.batch.to_pylist()
