"""EKS CloudWatch Logs envelopes: every shape gives back exactly the native Events it wraps, skips what is not
audit, and turns every malformed input into a problem naming the envelope, never an exception."""

from __future__ import annotations

import base64
import gzip
import zlib
from collections import Counter
from typing import Any

import pytest

from kanalytics.sources import eks
from kanalytics.sources.envelope import RAW_LIMIT

from .fixtures import export_lines, load, natives, tally

SCHEDULER = "EKS log stream kube-scheduler-9c8d7e6f5a4b3c2d: not an audit stream"
AUTHENTICATOR = "EKS log stream authenticator-1a2b3c4d5e6f7a8b: not an audit stream"
TEXT_LINE = "EKS CloudWatch export line holds text, not an audit Event (another log stream)"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def awslogs(value: bytes) -> dict[str, Any]:
    return {"awslogs": {"data": b64(gzip.compress(value))}}


def audit_payload(*messages: Any) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "logGroup": "/aws/eks/prod-eu-1/cluster",
        "logStream": "kube-apiserver-audit-1",
        "logEvents": [{"id": str(i), "timestamp": 1, "message": m} for i, m in enumerate(messages)],
    }


# -- each shape gives back the native Events ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "skipped", "cluster"),
    [
        ("eks-subscription.json", {}, "prod-eu-1"),
        ("eks-awslogs.json", {}, "prod-eu-1"),
        ("eks-firehose.json", {AUTHENTICATOR: 1}, "prod-eu-1"),
        ("eks-firehose-plain.json", {AUTHENTICATOR: 1}, "prod-eu-1"),
        ("eks-filter-log-events.json", {SCHEDULER: 2}, None),
        ("eks-get-log-events.json", {}, None),
    ],
)
def test_shape_gives_the_native_events(name: str, skipped: dict[str, int], cluster: str | None) -> None:
    document = load(name)
    assert eks.detect(document)
    result = tally(eks.unwrap(document))
    assert result.events == natives()
    assert result.skipped == Counter(skipped)
    assert result.problems == Counter()
    assert result.clusters == {cluster}


def test_integers_beyond_64_bits_stay_exact() -> None:
    (patch,) = [
        e
        for e in tally(eks.unwrap(load("eks-awslogs.json"))).events
        if e["verb"] == "patch" and e["level"] == "Request"
    ]
    assert patch["requestObject"][2]["value"] == 18446744073709551617
    assert isinstance(patch["requestObject"][2]["value"], int)


def test_control_message_is_one_skip() -> None:
    result = tally(eks.unwrap(load("eks-control.json")))
    assert result.skipped == Counter({eks.CONTROL: 1})
    assert (result.events, result.problems) == ([], Counter())
    assert result.clusters == {None}  # a CONTROL_MESSAGE's logGroup is empty


def test_other_streams_are_skipped_with_their_name() -> None:
    result = tally(eks.unwrap(load("eks-other-stream.json")))
    assert result.skipped == Counter({SCHEDULER: 2})
    assert (result.events, result.problems) == ([], Counter())
    assert result.clusters == {"prod-eu-1"}


def test_truncated_and_unparsable_messages_are_problems() -> None:
    payload = load("eks-truncated.json")
    result = tally(eks.unwrap(payload))
    assert result.problems == Counter(
        {
            "EKS CloudWatch message truncated by CloudWatch ([Truncated...])": 1,
            "EKS CloudWatch message is not JSON: unexpected character, expected a string key: line 1 column 2 (char 1)": 1,
        }
    )
    assert [r.raw for r in result.results] == [e["message"].encode() for e in payload["logEvents"]]
    assert result.clusters == {"prod-eu-1"}


def test_truncated_mark_followed_by_newline_is_still_truncated() -> None:
    result = tally(eks.unwrap(audit_payload('{"kind":"Event","auditID":"x[Truncated...]\n')))
    assert result.problems == Counter({eks.TRUNCATED: 1})


# -- CloudWatch export to S3: `<ISO timestamp> <message>` lines --------------------------------------------
def test_export_lines_give_the_native_events() -> None:
    lines = export_lines()
    assert eks.detect_line(lines[0])
    assert not eks.detect_line(lines[1])  # another stream's text: the file is recognised by its JSON lines
    result = tally(item for line in lines for item in eks.unwrap_line(line))
    assert result.events == natives()
    assert result.skipped == Counter({TEXT_LINE: 1})
    assert result.problems == Counter()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'2021-08-09T08:07:21.883Z {"kind":"Event"}\n', True),
        (b'2021-08-09T08:07:21Z {"kind":"Event"}', True),
        (b'2021-08-09T08:07:21.883489+02:00 {"kind":"Event"}', True),
        (b'{"kind":"Event","auditID":"a"}', False),  # a native JSON line
        (b'2021-08-09 08:07:21.883 {"kind":"Event"}', False),  # Logs Insights CSV time, not ISO
        (b"2021-08-09T08:07:21.883Z I0809 08:07:21 scheduler.go:609] bound", False),
        (b"I0809 08:07:21.868376 10 scheduler.go:609] bound", False),
        (b"", False),
    ],
)
def test_detect_line(line: bytes, expected: bool) -> None:
    assert eks.detect_line(line) is expected


def test_export_line_problems() -> None:
    assert tally(eks.unwrap_line(b"garbage\n")).problems == Counter(
        {"EKS CloudWatch export line does not start with '<ISO timestamp> '": 1}
    )
    assert tally(eks.unwrap_line(b"2021-08-09T08:07:21.883Z {cut[Truncated...]\n")).problems == Counter(
        {eks.TRUNCATED: 1}
    )
    assert tally(eks.unwrap_line(b'2021-08-09T08:07:21.883Z {"kind":')).problems == Counter(
        {"EKS CloudWatch message is not JSON: unexpected end of data: line 1 column 9 (char 8)": 1}
    )
    # only a message that starts an object is taken for an Event; text from other streams is skipped
    assert tally(eks.unwrap_line(b"2021-08-09T08:07:21.883Z [INFO] leader elected")).skipped == Counter(
        {TEXT_LINE: 1}
    )


# -- cluster from the log group -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("group", "cluster"),
    [
        ("/aws/eks/prod-eu-1/cluster", "prod-eu-1"),
        ("/aws/eks/My_Cluster.2/cluster", "My_Cluster.2"),
        ("/aws/eks/bad name!/cluster", "bad-name-"),
        ("/aws/eks/../cluster", None),
        ("/aws/eks/prod/cluster/extra", None),
        ("/aws/lambda/prod", None),
        (7, None),
    ],
)
def test_cluster_from_log_group(group: Any, cluster: str | None) -> None:
    payload = audit_payload('{"kind":"Event"}') | {"logGroup": group}
    assert tally(eks.unwrap(payload)).clusters == {cluster}


# -- hostile inputs: a problem each, never an exception -------------------------------------------------------
def _bomb() -> dict[str, Any]:
    """gzip of 65 MiB of spaces (65 KiB compressed): over MAX_PAYLOAD_BYTES once decompressed."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    body = (
        b"".join(deflate.compress(block) for _ in range((eks.MAX_PAYLOAD_BYTES >> 20) + 1)) + deflate.flush()
    )
    return {"awslogs": {"data": b64(body)}}


HOSTILE: list[tuple[str, Any, str]] = [
    ("not an object", 5, "not an EKS CloudWatch envelope: a JSON number"),
    (
        "no known key",
        {},
        "not an EKS CloudWatch envelope (no awslogs, messageType/logEvents, Firehose records or events)",
    ),
    ("data missing", {"awslogs": {}}, "EKS awslogs.data is not a string (expected base64 of gzip)"),
    ("data a number", {"awslogs": {"data": 5}}, "EKS awslogs.data is not a string (expected base64 of gzip)"),
    (
        "bad base64",
        {"awslogs": {"data": "!!!notbase64"}},
        "EKS awslogs.data is not base64: Only base64 data is allowed",
    ),
    ("bad padding", {"awslogs": {"data": "abc"}}, "EKS awslogs.data is not base64: Incorrect padding"),
    (
        "non-ASCII base64",
        {"awslogs": {"data": "é"}},
        "EKS awslogs.data is not base64: string argument should contain only ASCII characters",
    ),
    ("empty", {"awslogs": {"data": ""}}, "EKS awslogs.data is empty"),
    (
        "truncated gzip",
        {"awslogs": {"data": b64(gzip.compress(b'{"a":1}' * 100, mtime=0)[:30])}},
        "EKS awslogs.data is damaged gzip, not read: input truncated after byte 700 of decompressed data: "
        "the gzip stream ends early (at compressed byte 30)",
    ),
    (
        "not JSON",
        awslogs(b"hello"),
        "EKS awslogs.data is not JSON: Expecting value: line 1 column 1 (char 0)",
    ),
    ("not UTF-8", awslogs(b"\xff\xfe{}"), "EKS awslogs.data is not UTF-8 text: invalid start byte at byte 0"),
    (
        "not a payload",
        awslogs(b"[1]"),
        "EKS awslogs.data does not hold a CloudWatch Logs subscription payload",
    ),
    (
        "awslogs in awslogs",
        awslogs(b'{"awslogs":{"data":"x"}}'),
        "EKS awslogs.data does not hold a CloudWatch Logs subscription payload",
    ),
    (
        "unknown messageType",
        {"messageType": "BOGUS", "logGroup": "g", "logEvents": []},
        "EKS subscription payload: messageType is BOGUS, expected DATA_MESSAGE or CONTROL_MESSAGE",
    ),
    (
        "messageType a list",
        {"messageType": [1], "logGroup": "g", "logEvents": []},
        "EKS subscription payload: messageType is [1], expected DATA_MESSAGE or CONTROL_MESSAGE",
    ),
    (
        "logStream a number",
        audit_payload() | {"logStream": 7},
        "EKS subscription payload: logStream is a JSON number, not a string",
    ),
    (
        "logEvents a string",
        audit_payload() | {"logEvents": "x"},
        "EKS subscription payload: logEvents is a JSON string, not an array",
    ),
    (
        "logEvents in awslogs wrong",
        awslogs(b'{"messageType":"DATA_MESSAGE","logStream":"kube-apiserver-audit","logEvents":null}'),
        "EKS awslogs.data: logEvents is a JSON null, not an array",
    ),
    (
        "log event a number",
        audit_payload() | {"logEvents": [5]},
        "EKS CloudWatch log event has no message string",
    ),
    ("message a number", audit_payload(5), "EKS CloudWatch log event has no message string"),
    ("message empty", audit_payload(" \n"), "EKS CloudWatch log event has an empty message"),
    (
        "message an array",
        audit_payload("[1,2]"),
        "EKS CloudWatch message is a JSON array, not an audit Event",
    ),
    ("message null", audit_payload("null"), "EKS CloudWatch message is a JSON null, not an audit Event"),
    (
        "message too deep",
        audit_payload("[" * 5000),
        "EKS CloudWatch message is not JSON: depth limit exceeded: line 1 column 1026 (char 1025)",
    ),
    (
        "message with a lone surrogate",
        audit_payload('{"a":"\ud800"}'),
        "EKS CloudWatch message is not JSON: str is not valid UTF-8: surrogates not allowed: line 1 column 1 (char 0)",
    ),
    (
        "records a string",
        {"requestId": "r", "records": "x"},
        "EKS Firehose delivery: records is a JSON string, not an array",
    ),
    (
        "record a number",
        {"requestId": "r", "records": [5]},
        "EKS Firehose record 0 has no data string (expected base64)",
    ),
    (
        "record data a number",
        {"requestId": "r", "records": [{"data": 5}]},
        "EKS Firehose record 0 has no data string (expected base64)",
    ),
    (
        "record data bad base64",
        {"requestId": "r", "records": [{"data": "%%%"}]},
        "EKS Firehose record 0 data is not base64: Only base64 data is allowed",
    ),
    (
        "record holds an array",
        {"requestId": "r", "records": [{"data": b64(b"[1]")}]},
        "EKS Firehose record 0 holds neither a CloudWatch Logs subscription payload nor an Event",
    ),
    (
        "logStreamName a number",
        {"events": [{"logStreamName": 5, "message": "{}"}], "nextToken": "t"},
        "EKS aws logs event: logStreamName is a JSON number, not a string",
    ),
    (
        "aws logs event a string",
        {"events": ["x"], "nextToken": "t"},
        "EKS CloudWatch aws logs event has no message string",
    ),
]


@pytest.mark.parametrize(
    ("document", "reason"), [(d, r) for _, d, r in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
def test_hostile_input_is_one_problem(document: Any, reason: str) -> None:
    result = tally(eks.unwrap(document))
    assert result.problems == Counter({reason: 1})
    assert (result.events, result.skipped) == ([], Counter())


def test_gzip_bomb_over_the_cap_is_a_problem() -> None:
    result = tally(eks.unwrap(_bomb()))
    assert result.problems == Counter(
        {
            "EKS awslogs.data decompresses to more than 64 MiB (a CloudWatch payload is about 1 MiB); not read": 1
        }
    )


def test_raw_of_a_long_bad_message_is_bounded() -> None:
    (item,) = eks.unwrap(audit_payload("x" * (RAW_LIMIT * 3)))
    assert item.problem is not None and item.problem.startswith("EKS CloudWatch message is not JSON: ")
    assert item.raw == b"x" * RAW_LIMIT


def test_long_stream_names_are_clipped_in_reasons() -> None:
    result = tally(eks.unwrap(audit_payload("{}") | {"logStream": "s" * 10_000}))
    assert result.skipped == Counter({f"EKS log stream {'s' * 200}…: not an audit stream": 1})


def test_firehose_delivers_extracted_messages_as_events() -> None:
    """Firehose with CloudWatch message extraction sends the Events themselves, one per line."""
    body = b"\n".join(line for line in (b'{"kind":"Event","auditID":"a"}', b'{"kind":"Event","auditID":"b"}'))
    result = tally(
        eks.unwrap({"requestId": "r", "timestamp": 1, "records": [{"data": b64(gzip.compress(body))}]})
    )
    assert result.events == [{"kind": "Event", "auditID": "a"}, {"kind": "Event", "auditID": "b"}]
    assert result.problems == Counter()
