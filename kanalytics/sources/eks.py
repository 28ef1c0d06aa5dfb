"""EKS: unwrap CloudWatch Logs envelopes (subscription payloads, Firehose, `aws logs` output, S3 export lines).

Shapes, judged from content (FORMATS.md section 2):
  - `{"awslogs":{"data": base64(gzip(payload))}}`, what a Lambda subscription receives;
  - the payload itself `{messageType, logGroup, logStream, logEvents:[{id, timestamp, message}]}` (as
    Firehose → S3 writes it, one per line);
  - a Firehose HTTP-endpoint delivery `{requestId, timestamp, records:[{data: base64}]}`, each record one or
    more (possibly gzipped) payloads, or Events when Firehose extracted the messages;
  - `aws logs filter-log-events` / `get-log-events` output `{"events":[{logStreamName?, message, …}]}`;
  - CloudWatch's export to S3, lines `<ISO timestamp> <message>` (`detect_line` / `unwrap_line`).
Each `message` is one audit Event as JSON text. Only streams named `kube-apiserver-audit…` hold audit
events; the other streams of the group (authenticator, scheduler, …) are skipped with their name.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterator
from typing import Any

from kanalytics.sources import decompress, jsontext
from kanalytics.sources.envelope import Unwrapped, bounded, clip, cluster_name, inner_event, kind_of, raw_json

__all__ = ["FORMAT", "MAX_PAYLOAD_BYTES", "detect", "detect_line", "is_export_line", "unwrap", "unwrap_line"]

FORMAT = "eks"
# A subscription payload is at most ~1 MiB decoded (a PutLogEvents batch); far more is a gzip bomb.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
AUDIT_STREAM_PREFIX = "kube-apiserver-audit"
TRUNCATED_MARK = "[Truncated...]"
TRUNCATED = "EKS CloudWatch message truncated by CloudWatch ([Truncated...])"
CONTROL = "EKS CloudWatch CONTROL_MESSAGE: a subscription check, it holds no log events"
_MESSAGE_TYPES = ("DATA_MESSAGE", "CONTROL_MESSAGE")
_OUTPUT_KEYS = ("nextToken", "nextForwardToken", "nextBackwardToken", "searchedLogStreams")
_LOG_GROUP = re.compile(r"\A/aws/eks/(?P<cluster>[^/]+)/cluster\Z")
_EXPORT_LINE = re.compile(
    rb"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}) (?P<message>.*)\Z", re.S
)
_SPACE = re.compile(r"[ \t\r\n]*")
_CHUNK_BYTES = 1 << 20


# -- detection ----------------------------------------------------------------------------------------------
def detect(document: Any) -> bool:
    """True when `document` is one of the EKS CloudWatch Logs envelopes."""
    return isinstance(document, dict) and (
        _is_awslogs(document)
        or _is_payload(document)
        or _is_firehose(document)
        or _is_log_events_output(document)
    )


def detect_line(line: bytes) -> bool:
    """True when `line` is a CloudWatch S3 export line holding a JSON message (`<ISO timestamp> {…}`)."""
    match = _EXPORT_LINE.match(line)
    return match is not None and match["message"].lstrip().startswith(b"{")


def is_export_line(line: bytes) -> bool:
    """True when `line` has the `<ISO timestamp> ` prefix of a CloudWatch S3 export line, whatever its message
    (a text message is another stream's: only a file that also holds `detect_line` lines is an export)."""
    return _EXPORT_LINE.match(line) is not None


def _is_awslogs(document: dict[str, Any]) -> bool:
    return isinstance(document.get("awslogs"), dict)


def _is_payload(document: dict[str, Any]) -> bool:
    return document.get("messageType") in _MESSAGE_TYPES or (
        "logEvents" in document and "logGroup" in document
    )


def _is_firehose(document: dict[str, Any]) -> bool:
    return isinstance(document.get("requestId"), str) and "records" in document


def _is_log_events_output(document: dict[str, Any]) -> bool:
    events = document.get("events")
    if not isinstance(events, list):
        return False
    if any(key in document for key in _OUTPUT_KEYS):
        return True
    first = events[0] if events else None
    return isinstance(first, dict) and "message" in first and ("eventId" in first or "ingestionTime" in first)


# -- unwrapping ---------------------------------------------------------------------------------------------
def unwrap(document: Any) -> Iterator[Unwrapped]:
    """Every record of an EKS envelope, judged (see the module docstring)."""
    if not isinstance(document, dict):
        yield _problem(f"not an EKS CloudWatch envelope: a JSON {kind_of(document)}", document)
    elif _is_awslogs(document):
        yield from _awslogs(document)
    elif _is_payload(document):
        yield from _payload(document, "EKS subscription payload")
    elif _is_firehose(document):
        yield from _firehose(document)
    elif _is_log_events_output(document):
        yield from _log_events_output(document)
    else:
        yield _problem(
            "not an EKS CloudWatch envelope (no awslogs, messageType/logEvents, Firehose records or events)",
            document,
        )


def unwrap_line(line: bytes) -> Iterator[Unwrapped]:
    """The record of one CloudWatch S3 export line; a text message (another log stream) is skipped."""
    line = line.rstrip(b"\r\n")
    match = _EXPORT_LINE.match(line)
    if match is None:
        yield Unwrapped(
            problem="EKS CloudWatch export line does not start with '<ISO timestamp> '", raw=bounded(line)
        )
        return
    message = match["message"]
    if not message.lstrip().startswith(b"{"):
        yield Unwrapped(
            skipped="EKS CloudWatch export line holds text, not an audit Event (another log stream)"
        )
        return
    yield _message_bytes(message, None)


def _awslogs(document: dict[str, Any]) -> Iterator[Unwrapped]:
    where = "EKS awslogs.data"
    data = document["awslogs"].get("data")
    if not isinstance(data, str):
        yield _problem(f"{where} is not a string (expected base64 of gzip)", document)
        return
    decoded = _decode(data, where)
    if isinstance(decoded, str):
        yield _problem(decoded, document)
        return
    for value in decoded:
        if isinstance(value, dict) and _is_payload(value):
            yield from _payload(value, where)
        else:
            yield _problem(f"{where} does not hold a CloudWatch Logs subscription payload", value)


def _firehose(document: dict[str, Any]) -> Iterator[Unwrapped]:
    records = document["records"]
    if not isinstance(records, list):
        yield _problem(f"EKS Firehose delivery: records is a JSON {kind_of(records)}, not an array", document)
        return
    for index, record in enumerate(records):
        where = f"EKS Firehose record {index}"
        data = record.get("data") if isinstance(record, dict) else None
        if not isinstance(data, str):
            yield _problem(f"{where} has no data string (expected base64)", record)
            continue
        decoded = _decode(data, f"{where} data")
        if isinstance(decoded, str):
            yield _problem(decoded, record)
            continue
        for value in decoded:
            if isinstance(value, dict) and _is_payload(value):
                yield from _payload(value, where)
            elif isinstance(value, dict) and ("auditID" in value or value.get("kind") == "Event"):
                yield Unwrapped(event=value)  # Firehose with message extraction delivers the Events
            else:
                yield _problem(
                    f"{where} holds neither a CloudWatch Logs subscription payload nor an Event", value
                )


def _payload(payload: dict[str, Any], where: str) -> Iterator[Unwrapped]:
    group = payload.get("logGroup")
    match = _LOG_GROUP.match(group) if isinstance(group, str) else None
    cluster = cluster_name(match["cluster"]) if match else None
    message_type = payload.get("messageType")
    if message_type == "CONTROL_MESSAGE":
        yield Unwrapped(skipped=CONTROL, cluster=cluster)
        return
    if message_type != "DATA_MESSAGE":
        yield _problem(
            f"{where}: messageType is {clip(message_type)}, expected DATA_MESSAGE or CONTROL_MESSAGE", payload
        )
        return
    stream = payload.get("logStream")
    events = payload.get("logEvents")
    if not isinstance(stream, str):
        yield _problem(f"{where}: logStream is a JSON {kind_of(stream)}, not a string", payload)
    elif not isinstance(events, list):
        yield _problem(f"{where}: logEvents is a JSON {kind_of(events)}, not an array", payload)
    elif not stream.startswith(AUDIT_STREAM_PREFIX):
        skipped = _not_audit(stream)
        for _ in events:
            yield Unwrapped(skipped=skipped, cluster=cluster)
    else:
        for item in events:
            yield _log_event(item, "log event", cluster)


def _log_events_output(document: dict[str, Any]) -> Iterator[Unwrapped]:
    for item in document["events"]:
        stream = item.get("logStreamName") if isinstance(item, dict) else None
        if stream is None or (isinstance(stream, str) and stream.startswith(AUDIT_STREAM_PREFIX)):
            yield _log_event(item, "aws logs event", None)  # get-log-events names no stream
        elif isinstance(stream, str):
            yield Unwrapped(skipped=_not_audit(stream))
        else:
            yield _problem(
                f"EKS aws logs event: logStreamName is a JSON {kind_of(stream)}, not a string", item
            )


def _log_event(item: Any, what: str, cluster: str | None) -> Unwrapped:
    message = item.get("message") if isinstance(item, dict) else None
    if not isinstance(message, str):
        return _problem(f"EKS CloudWatch {what} has no message string", item, cluster)
    if not message.strip():
        return _problem(f"EKS CloudWatch {what} has an empty message", item, cluster)
    return _message_bytes(message.encode("utf-8", "surrogatepass"), cluster)


def _message_bytes(message: bytes, cluster: str | None) -> Unwrapped:
    if message.rstrip().endswith(TRUNCATED_MARK.encode()):
        return Unwrapped(problem=TRUNCATED, raw=bounded(message), cluster=cluster)
    return inner_event(message, "EKS CloudWatch message", cluster)


# -- decoding -----------------------------------------------------------------------------------------------
def _decode(data: str, where: str) -> list[Any] | str:
    """The JSON documents in base64 of (possibly gzipped) text, or the problem with it."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        return f"{where} is not base64: {clip(str(exc))}"
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in decompress.chunks(io.BytesIO(raw), _CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_PAYLOAD_BYTES:
                return (
                    f"{where} decompresses to more than {MAX_PAYLOAD_BYTES >> 20} MiB "
                    "(a CloudWatch payload is about 1 MiB); not read"
                )
            parts.append(chunk)
    except decompress.StreamDamaged as exc:
        reason = str(exc).split(";")[0]  # drop "whole lines … were read": none of a payload is kept
        return f"{where} is damaged gzip, not read: {reason}"
    return _documents(b"".join(parts), where)


def _documents(text: bytes, where: str) -> list[Any] | str:
    """One JSON document, or several concatenated or one per line (Firehose batches both ways)."""
    try:
        return [jsontext.loads(text)]
    except (ValueError, RecursionError):
        pass
    try:
        body = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{where} is not UTF-8 text: {exc.reason} at byte {exc.start}"
    values: list[Any] = []
    position = _skip_space(body, 0)
    while position < len(body):
        try:
            value, position = jsontext.DECODER.raw_decode(body, position)
        except (ValueError, RecursionError) as exc:
            return f"{where} is not JSON: {clip(str(exc))}"
        values.append(value)
        position = _skip_space(body, position)
    if not values:
        return f"{where} is empty"
    return values


def _skip_space(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _not_audit(stream: str) -> str:
    return f"EKS log stream {clip(stream)}: not an audit stream"


def _problem(reason: str, value: Any, cluster: str | None = None) -> Unwrapped:
    return Unwrapped(problem=reason, raw=raw_json(value), cluster=cluster)
