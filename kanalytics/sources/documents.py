"""From input text to candidate Events: the one place that knows the input shapes.

Readers frame input into Blocks (JSON Lines) and Records (whole documents, problems). `document_events` turns
one parsed JSON document into the Events it holds, trying each input shape in `SHAPES` (native Event,
EventList, array today; a managed-cloud envelope reader plugs in there as one more function). `block_records`
parses the lines of a Block into Records and runs where the archive converts blocks, in worker processes, so
each line is parsed exactly once. The archive (`archive/convert.py`) only maps Records to rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kanalytics.sources import jsontext, native
from kanalytics.sources.records import Block, Record

BOM = b"\xef\xbb\xbf"
NOT_AN_EVENT = "not an audit event: not a JSON object, EventList or array"

# Each shape returns the Events inside a document, or None when the document is not of that shape.
Shape = Callable[[Any], "list[Any] | None"]
SHAPES: tuple[Shape, ...] = (native.unwrap,)


def document_events(document: Any) -> list[Any] | None:
    """The candidate Events in one parsed document, or None when no input shape knows it."""
    for shape in SHAPES:
        events = shape(document)
        if events is not None:
            return events
    return None


def block_records(block: Block) -> Iterator[Record]:
    """The Records of every non-blank line of a Block: one per Event a line holds (with the line's bytes
    when it holds one), or one problem Record saying why the line is not an Event. A BOM on the input's
    first line is dropped."""
    origin = block.origin
    number = block.first_line - 1
    for raw in block.data.split(b"\n"):
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        data = raw.strip()
        if not data:
            continue
        try:
            document = jsontext.loads(data)
        except RecursionError:
            yield Record(origin, number, error="not valid JSON: nested too deeply", raw=data)
            continue
        except ValueError as exc:
            why = "not UTF-8 text" if not_utf8(data) else f"not valid JSON: {exc}"
            yield Record(origin, number, error=why, raw=data)
            continue
        events = document_events(document)
        if events is None:
            yield Record(origin, number, error=NOT_AN_EVENT, raw=data)
        elif len(events) == 1:
            yield Record(origin, number, value=events[0], raw=data)
        else:
            for event in events:
                yield Record(origin, number, value=event)


def not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
