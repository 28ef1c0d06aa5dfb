"""A request body into spool entries: decompress within the limit, parse, unwrap, redact, frame per event.

Redaction happens here, before the spool, so no Secret value is written under the archive even for the
seconds a batch waits in `_state/spool/`. Events over the event limit and bodies that are not JSON become
PROBLEM entries (quarantined by the flusher with the reason); the request is still told what happened.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from kanalytics.archive.redact import redact_event
from kanalytics.archive.scrub import scrub_lexical
from kanalytics.serve import spool
from kanalytics.sources import documents, eks, jsontext
from kanalytics.sources.envelope import RAW_LIMIT, bounded


class TooLarge(Exception):
    """The (decompressed) body is over the body limit."""


class Malformed(Exception):
    """The body is not what the endpoint accepts; `str()` is the reason for the client and the quarantine."""


@dataclass
class Batch:
    """What one request adds to the spool: entries, the events in them and the problems among them."""

    entries: list[tuple[int, int, bytes]] = field(default_factory=list)
    events: int = 0
    problems: int = 0


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """`body` decoded per Content-Encoding ("gzip" or identity), refusing more than `limit` bytes of output."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise Malformed(f"unsupported Content-Encoding {encoding!r}: send identity or gzip")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise Malformed(f"the gzip body cannot be decompressed: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge
    return out


def problem_entry(reason: str, raw: bytes) -> tuple[int, int, bytes]:
    """A PROBLEM entry: the reason and the first RAW_LIMIT bytes, scrubbed of credentials by their shape."""
    text = bounded(raw).decode("utf-8", "replace")
    clean, _ = scrub_lexical(text, assume_secret="secret" in text.lower())
    return (spool.PROBLEM, 1, reason.encode() + b"\0" + clean.encode()[: RAW_LIMIT * 4])


def audit_batch(data: bytes, *, redact: bool, max_event_bytes: int) -> Batch:
    """An EventList, a single Event or an array of them; anything else raises Malformed."""
    try:
        document = jsontext.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"the body is not valid JSON: {exc}") from None
    events = documents.webhook_events(document)
    if events is None:
        raise Malformed(
            f"the body is a JSON {type(document).__name__}, not an audit EventList, Event or array of Events"
        )
    return _frame(events, redact=redact, max_event_bytes=max_event_bytes)


def firehose_batch(data: bytes, *, redact: bool, max_event_bytes: int) -> tuple[str, Batch]:
    """A Kinesis Data Firehose HTTP-endpoint request carrying CloudWatch subscription payloads of EKS."""
    try:
        document = jsontext.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise Malformed("not a Firehose request: expected an object with requestId and records")
    request_id = str(document.get("requestId", ""))
    batch = Batch()
    by_cluster: dict[str | None, list[Any]] = {}
    for item in eks.unwrap(document):  # the Firehose delivery shape; CloudWatch payloads inside
        if item.event is not None:
            by_cluster.setdefault(item.cluster, []).append(item.event)
        elif item.problem is not None:
            batch.entries.append(problem_entry(item.problem, item.raw or b""))
            batch.problems += 1
    for cluster, events in by_cluster.items():
        framed = _frame(events, redact=redact, max_event_bytes=max_event_bytes, cluster=cluster)
        batch.entries += framed.entries
        batch.events += framed.events
        batch.problems += framed.problems
    return request_id, batch


def _frame(events: list[Any], *, redact: bool, max_event_bytes: int, cluster: str | None = None) -> Batch:
    """One EVENTS entry (first line: the cluster the envelope named, or empty) plus a PROBLEM per bad event."""
    batch = Batch()
    lines: list[bytes] = [(cluster or "").encode()]
    for event in events:
        if redact and isinstance(event, dict):
            redact_event(event)
        try:
            line = jsontext.dumps_bytes(event)
        except (ValueError, TypeError, RecursionError) as exc:
            batch.entries.append(problem_entry(f"cannot archive this event: {exc}", repr(event).encode()))
            batch.problems += 1
            continue
        if len(line) > max_event_bytes:
            reason = f"event of {len(line)} bytes is over the event limit of {max_event_bytes} bytes"
            batch.entries.append(problem_entry(reason, line))
            batch.problems += 1
            continue
        lines.append(line)
    if len(lines) > 1:
        batch.entries.append((spool.EVENTS, len(lines) - 1, b"\n".join(lines)))
        batch.events = len(lines) - 1
    return batch
