"""Read JSON documents as a stream: pretty-printed Events, EventLists or arrays, one or several in a row.

Memory is bounded by one item, never by the document: a top-level array and an EventList's `items` are
read one element at a time, so a webhook dump of any size streams. A value longer than the item limit is
quarantined by its head and skipped with a bracket scanner; so is an element that is not valid JSON. When
the input turns out to be JSON Lines after all (a first line that is not JSON by itself, then lines that
are), the rest is handed back to the line reader, so each bad line is quarantined on its own.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from kanalytics.sources import jsontext
from kanalytics.sources.decompress import StreamDamaged
from kanalytics.sources.documents import AUTO, document_records
from kanalytics.sources.records import Block, Record

LineReader = Callable[[Iterator[bytes], int], Iterator[Record | Block]]

_NON_BLANK = re.compile(r"[^ \t\r\n]")
_STRUCTURE = re.compile(r'[\[{]+|[\]}]+|"|,')
_IN_STRING = re.compile(r'["\\]')
_ITEMS_KEY = re.compile(r'"items"\s*:\s*\[')
_EVENTLIST_HEAD_CHARS = 64 * 1024
_AMBIGUOUS_TAIL = 16  # a parse error this close to the end of the buffer may only mean "read more"


class _Invalid(Exception):
    def __init__(self, message: str, at_end: bool = False) -> None:
        super().__init__(message)
        self.at_end = at_end  # the input ended inside the value (a truncated document)


class _TooLong(Exception):
    pass


class _NotADocument(Exception):
    """The structure is not a JSON document here: read the rest as JSON Lines."""


class _Text:
    """Decoded text of the input with a read position; text before the position (or the mark) is dropped."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.mark: int | None = None  # keep text from here (the start of the value being parsed)
        self.eof = False
        self.damage: StreamDamaged | None = None

    def fill(self) -> bool:
        """Append the next chunk of input; False at the end of the input."""
        if self.eof:
            return False
        try:
            text = self._decoder.decode(next(self._chunks))
        except StopIteration:
            text, self.eof = self._decoder.decode(b"", final=True), True
        except StreamDamaged as exc:
            text, self.eof, self.damage = self._decoder.decode(b"", final=True), True, exc
        keep = self.pos if self.mark is None else min(self.pos, self.mark)
        if keep:
            self.buf = self.buf[keep:]
            self.pos -= keep
            if self.mark is not None:
                self.mark -= keep
        self.buf += text
        return True

    def advance(self, end: int) -> None:
        self.line += self.buf.count("\n", self.pos, end)
        self.pos = end

    def char(self) -> str:
        """The next non-blank character with the position on it, or '' at the end of the input."""
        while True:
            found = _NON_BLANK.search(self.buf, self.pos)
            if found is not None:
                self.advance(found.start())
                return self.buf[self.pos]
            self.advance(len(self.buf))
            if not self.fill():
                return ""

    def value(self, limit: int) -> tuple[Any, int]:
        """Parse the JSON value at the position: (value, end). Reads more input as needed, up to `limit`."""
        while True:
            try:
                value, end = jsontext.DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                ambiguous = exc.pos >= len(self.buf) - _AMBIGUOUS_TAIL or exc.msg.startswith("Unterminated")
                if self.eof or not ambiguous:
                    line = self.line + self.buf.count("\n", self.pos, exc.pos)
                    raise _Invalid(f"{exc.msg} (line {line})", at_end=self.eof and ambiguous) from None
            except (ValueError, RecursionError) as exc:
                raise _Invalid(str(exc) if isinstance(exc, ValueError) else "nested too deeply") from None
            else:
                if end < len(self.buf) or self.eof:
                    return value, end
            if len(self.buf) - self.pos > limit:
                raise _TooLong
            self.fill()

    def next_line_parses(self) -> bool:
        """True when the line at the position is complete JSON by itself (the input is JSON Lines)."""
        while (newline := self.buf.find("\n", self.pos)) == -1 and not self.eof:
            if len(self.buf) - self.pos > _EVENTLIST_HEAD_CHARS:
                return False  # a long line is judged by the document reader (it may be a big document)
            self.fill()
        line = self.buf[self.pos : len(self.buf) if newline == -1 else newline]
        try:
            jsontext.DECODER.decode(line)
        except (ValueError, RecursionError):
            return False
        return True

    def head(self, size: int) -> bytes:
        return self.buf[self.pos : self.pos + size].encode("utf-8", "surrogateescape")

    def rest(self) -> Iterator[bytes]:
        """The input from the position on, as bytes (for the line reader)."""
        pending, _ = self._decoder.getstate()
        data = self.buf[self.pos :].encode("utf-8", "surrogateescape") + pending
        self.buf, self.pos = "", 0
        if data:
            yield data
        if self.damage is not None:
            raise self.damage
        if not self.eof:
            yield from self._chunks


def read_documents(
    chunks: Iterator[bytes],
    origin: str,
    max_item: int,
    head_bytes: int,
    lines: LineReader,
    shape: str = AUTO,
) -> Iterator[Record | Block]:
    """Records of the JSON documents in `chunks`, read as `shape` (see `documents.document_records`);
    `lines` reads whatever turns out to be JSON Lines."""
    reader = _Reader(_Text(chunks), origin, max_item, head_bytes, shape)
    text = reader.text
    try:
        if text.char() == "\ufeff":
            text.advance(text.pos + 1)
        first = True
        while text.char():
            if not first and text.next_line_parses():
                raise _NotADocument
            first = False
            yield from reader.top_level()
    except _NotADocument:
        yield from lines(text.rest(), text.line)
        return
    if text.damage is not None:
        yield Record(origin, text.line, error=str(text.damage))


class _Reader:
    def __init__(self, text: _Text, origin: str, max_item: int, head_bytes: int, shape: str) -> None:
        self.text = text
        self.origin = origin
        self.max_item = max_item
        self.head_bytes = head_bytes
        self.shape = shape

    def top_level(self) -> Iterator[Record]:
        text = self.text
        char = text.char()
        if char == "[":
            yield from self._array(unwrap_items=True)
            return
        if char != "{":
            raise _NotADocument
        start, line = text.pos, text.line
        text.mark = start
        try:
            value, end = text.value(self.max_item)
        except (_Invalid, _TooLong) as exc:
            items = _eventlist_items(text.buf, start)
            if items is not None:  # too big, or some items are bad: read it item by item
                yield from self._eventlist_items(items)
            elif isinstance(exc, _TooLong):
                yield self._skip(
                    line,
                    f"JSON document longer than {self.max_item} characters that is not "
                    "an EventList or array (only those are read in parts)",
                )
            elif exc.at_end:
                reason = f"not valid JSON: {exc}; the input ends inside this document"
                yield self._skip(line, self._truncated(reason))
            else:
                raise _NotADocument from None  # e.g. JSON Lines whose first line is broken
            return
        raw = text.buf[start:end]
        text.mark = None
        text.advance(end)
        yield from self._records(value, line, raw, unwrap_items=True)

    def _eventlist_items(self, items: int) -> Iterator[Record]:
        """Stream an EventList's `items` from their `[`; the EventList's other fields are not kept."""
        text = self.text
        text.mark = None
        text.advance(items)
        yield from self._array(unwrap_items=False)
        while text.char() == ",":  # fields after `items` (rare): skipped, as for a small EventList
            text.advance(text.pos + 1)
            _skip_value(text)
        if text.char() == "}":
            text.advance(text.pos + 1)
        elif not text.eof:
            raise _NotADocument

    def _array(self, unwrap_items: bool) -> Iterator[Record]:
        text = self.text
        text.advance(text.pos + 1)  # the "["
        first = True
        while True:
            char = text.char()
            if char == "]":
                text.advance(text.pos + 1)
                return
            if char and not first:
                if char != ",":
                    raise _NotADocument
                text.advance(text.pos + 1)
                char = text.char()
            if not char:
                yield self._ended("the input ends inside a JSON array (document truncated?)")
                return
            first = False
            yield from self._element(unwrap_items)

    def _element(self, unwrap_items: bool) -> Iterator[Record]:
        text = self.text
        start, line = text.pos, text.line
        text.mark = start
        try:
            value, end = text.value(self.max_item)
        except _Invalid as exc:
            yield self._skip(
                line, self._truncated(f"not valid JSON: {exc}") if exc.at_end else f"not valid JSON: {exc}"
            )
            return
        except _TooLong:
            yield self._skip(line, f"JSON value longer than {self.max_item} characters in a document")
            return
        raw = text.buf[start:end]
        text.mark = None
        text.advance(end)
        yield from self._records(value, line, raw, unwrap_items)

    def _records(self, value: Any, line: int, text: str, unwrap_items: bool) -> Iterator[Record]:
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            yield Record(
                self.origin, line, error="not UTF-8 text", raw=text.encode("utf-8", "surrogateescape")
            )
            return
        if unwrap_items:
            yield from document_records(value, self.origin, line, raw, self.shape)
        else:  # an item of a streamed EventList
            yield Record(self.origin, line, value=value, raw=raw)

    def _skip(self, line: int, reason: str) -> Record:
        """Quarantine the value at the position by its head, and move past it."""
        text = self.text
        head = text.head(self.head_bytes)
        text.mark = None
        _skip_value(text)
        return Record(self.origin, line, error=reason, raw=head)

    def _ended(self, reason: str) -> Record:
        return Record(self.origin, self.text.line, error=self._truncated(reason))

    def _truncated(self, reason: str) -> str:
        """The reason for input cut short: the stream's own damage report when there is one (given once)."""
        text = self.text
        if text.damage is not None:
            reason, text.damage = str(text.damage), None
        return reason


def _eventlist_items(buf: str, start: int) -> int | None:
    """Where the `[` of a top-level `items` array starts, when the head of the document is an EventList's."""
    head = buf[start : start + _EVENTLIST_HEAD_CHARS]
    for found in _ITEMS_KEY.finditer(head):
        before = head[: found.start()].rstrip()
        candidate = before.removesuffix(",") + "}"
        try:
            fields = jsontext.DECODER.decode(candidate)
        except (ValueError, RecursionError):
            continue  # `"items"` nested deeper: not the EventList's own key
        if isinstance(fields, dict) and fields.get("kind") == "EventList":
            return start + found.end() - 1
        return None
    return None


def _skip_value(text: _Text) -> bool:
    """Move past one JSON value (valid or not) by counting brackets outside strings; False at the end of input.

    Stops before a `,` or a closing bracket at depth 0, so an element that is not valid JSON ends where its
    array continues. Runs of brackets are one regex match, so deep nesting costs no more than its length.
    """
    depth = 0
    while True:
        found = _STRUCTURE.search(text.buf, text.pos)
        if found is None:
            text.advance(len(text.buf))
            if not text.fill():
                return False
            continue
        token = found.group()
        if token == '"':
            text.advance(found.end())
            if not _skip_string(text):
                return False
        elif token == ",":
            text.advance(found.end() if depth else found.start())
            if not depth:
                return True
        elif token[0] in "[{":
            depth += len(token)
            text.advance(found.end())
        else:
            if len(token) >= depth:
                text.advance(found.start() + depth)
                return True
            depth -= len(token)
            text.advance(found.end())


def _skip_string(text: _Text) -> bool:
    """Move past the rest of a JSON string (the position is just after its opening quote)."""
    while True:
        found = _IN_STRING.search(text.buf, text.pos)
        if found is None:
            text.advance(len(text.buf))
            if not text.fill():
                return False
            continue
        if found.group() == '"':
            text.advance(found.end())
            return True
        if found.end() < len(text.buf):
            text.advance(found.end() + 1)  # the escaped character
            continue
        text.advance(found.end())
        if not text.fill() or text.pos >= len(text.buf):
            return False
        text.advance(text.pos + 1)
