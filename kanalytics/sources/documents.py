"""From input text to candidate Events: the one place that knows the input shapes.

Readers frame input into Blocks (JSON Lines) and Records (whole documents, problems). `document_records`
turns one parsed JSON document into Records: it asks each managed-cloud envelope reader (EKS CloudWatch
Logs, AKS diagnostic settings, GKE Cloud Audit Logs) whether the document is theirs, judged from content
only, BEFORE taking an object as a native Event (an AKS record or a GKE LogEntry is a JSON object too,
and would be quarantined as "missing auditID"); what no envelope claims is a native Event, EventList or
array. A `shape` other than "auto" forces one reader, which then gives its own reason for every record
that is not of its shape. `block_records` parses the lines of a Block into Records and runs where the
archive converts blocks, in worker processes, so each line is parsed exactly once; a line that is not
JSON but is a CloudWatch S3 export line (`<ISO timestamp> {...}`) is read as EKS, and so is one with a
text message (another log stream's) when its block holds such lines; otherwise it is quarantined. The archive
(`archive/convert.py`) only maps Records to rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any, Final

from kanalytics.errors import UsageError
from kanalytics.sources import aks, eks, gke, jsontext, native
from kanalytics.sources.envelope import Unwrapped
from kanalytics.sources.records import Block, Record

BOM = b"\xef\xbb\xbf"
NOT_AN_EVENT = "not an audit event: not a JSON object, EventList or array"
AUTO: Final = "auto"
NATIVE: Final = "native"
# The input shapes `--format` can force; "auto" detects each document's own.
SHAPES: Final = (AUTO, NATIVE, eks.FORMAT, aks.FORMAT, gke.FORMAT)
# Envelope readers in the order they are asked (EKS first: a Firehose delivery has `records` like AKS).
ENVELOPES: Final[dict[str, ModuleType]] = {eks.FORMAT: eks, aks.FORMAT: aks, gke.FORMAT: gke}


def check_shape(shape: str) -> str:
    """`shape` when it is one of SHAPES; a UsageError naming them otherwise."""
    if shape not in SHAPES:
        raise UsageError(
            f"unknown input format {shape!r}",
            hint=f"give one of {', '.join(SHAPES)} ('auto' detects each document's own)",
        )
    return shape


def document_records(
    document: Any, origin: str, line: int, raw: bytes | None, shape: str = AUTO
) -> Iterator[Record]:
    """The Records of one parsed document: events, deliberate skips and problems, located at `line`.

    `raw` (the document's bytes) is attached to the Record when the document is one native Event, so a
    bad one is quarantined as it came; an envelope's problems carry the envelope reader's bounded bytes.
    """
    reader = _reader(document, shape)
    if reader is not None:
        yield from _envelope_records(reader.unwrap(document), origin, line)
        return
    if shape == AUTO and isinstance(document, list):
        yield from _array_records(document, origin, line)
        return
    events = native.unwrap(document)
    if events is None:
        yield Record(origin, line, error=NOT_AN_EVENT, raw=raw)
    elif len(events) == 1:
        yield Record(origin, line, value=events[0], raw=raw)
    else:
        for event in events:
            yield Record(origin, line, value=event)


def webhook_events(document: Any) -> list[Any] | None:
    """The Events of an audit webhook body (an EventList, an Event or an array of them); None for any other
    shape. The webhook backend only ever POSTs native Events, so no envelope reader is consulted."""
    return native.unwrap(document)


def native_event(document: dict[str, Any], shape: str = AUTO) -> bool:
    """True when `document_records` takes this object as one native Event (no envelope reader claims it,
    it is not an EventList): what the columnar conversion (`archive/columnar.py`) may map on its own."""
    if shape not in (AUTO, NATIVE):
        return False
    if shape == AUTO and _reader(document, shape) is not None:
        return False
    events = native.unwrap(document)
    return events is not None and len(events) == 1 and events[0] is document


def _reader(document: Any, shape: str) -> ModuleType | None:
    """The envelope reader for `document` (forced, or the first that detects it); None for native."""
    if shape == NATIVE:
        return None
    if shape != AUTO:
        return ENVELOPES[shape]
    for reader in ENVELOPES.values():
        if reader.detect(document):
            return reader
    return None


def _array_records(items: list[Any], origin: str, line: int) -> Iterator[Record]:
    """A JSON array judged item by item: it may hold Events, EventLists or envelope records."""
    for item in items:
        reader = _reader(item, AUTO) if isinstance(item, dict) else None
        if reader is not None:
            yield from _envelope_records(reader.unwrap(item), origin, line)
            continue
        events = native.unwrap(item) if isinstance(item, dict) else None
        for event in events if events is not None else [item]:
            yield Record(origin, line, value=event)


def _envelope_records(judged: Iterable[Unwrapped], origin: str, line: int) -> Iterator[Record]:
    for one in judged:
        if one.event is not None:
            yield Record(origin, line, value=one.event, cluster=one.cluster)
        elif one.skipped is not None:
            yield Record(origin, line, skipped=one.skipped, cluster=one.cluster)
        else:
            yield Record(origin, line, error=one.problem, raw=one.raw, cluster=one.cluster)


def block_records(block: Block) -> Iterator[Record]:
    """The Records of every non-blank line of a Block (see `document_records`), or one problem Record
    saying why the line is not JSON. A BOM on the input's first line is dropped."""
    origin = block.origin
    shape = block.shape
    export = False  # the block holds CloudWatch S3 export lines with audit Events
    texts: list[tuple[int, bytes, str]] = []  # export-like lines with a text message, judged at the end
    for number, data in block_lines(block):
        try:
            document = jsontext.loads(data)
        except RecursionError:
            yield Record(origin, number, error="not valid JSON: nested too deeply", raw=data)
            continue
        except ValueError as exc:
            why = "not UTF-8 text" if not_utf8(data) else f"not valid JSON: {exc}"
            if shape == eks.FORMAT or (shape == AUTO and eks.detect_line(data)):
                export = True
                yield from _envelope_records(eks.unwrap_line(data), origin, number)
            elif shape == AUTO and eks.is_export_line(data):
                texts.append((number, data, why))
            else:
                yield Record(origin, number, error=why, raw=data)
            continue
        yield from document_records(document, origin, number, data, shape)
    for number, data, why in texts:  # another stream's text in an export file is skipped, else quarantined
        if export:
            yield from _envelope_records(eks.unwrap_line(data), origin, number)
        else:
            yield Record(origin, number, error=why, raw=data)


def not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def block_lines(block: Block) -> Iterator[tuple[int, bytes]]:
    """(line number, stripped bytes) of each non-blank line of `block`, the BOM of the input's first line
    removed: how every reader of a block frames its lines."""
    number = block.first_line - 1
    for raw in block.data.split(b"\n"):
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        data = raw.strip()
        if data:
            yield number, data
