"""Conversion: candidate Events (Records) into Arrow batches of archive rows.

This is the CPU-heavy half of ingest (parse, redact, map, hash) and it is pure: it runs in worker
processes, one block at a time, and returns rows plus quarantine entries for the writer to take. What an
input document holds is `sources/`' to say (`sources.documents`); this module only maps Events to rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kanalytics.archive.columnar import MIN_ROWS, columnar_block, is_unparsed
from kanalytics.archive.redact import redact_event
from kanalytics.archive.rows import NotAnEvent, event_hash, event_to_values
from kanalytics.archive.schema import ARROW_SCHEMA, COLUMN_NAMES
from kanalytics.sources import jsontext
from kanalytics.sources.documents import block_records, document_records
from kanalytics.sources.records import Block, Record

DAY_COLUMN = "_day"  # UTC days since the epoch of request_ts: the partition date, computed once here
CLUSTER_COLUMN = "_cluster"  # the cluster the input's envelope names (null: none named): the partition's
_DAY_MICROS = 86_400_000_000
BATCH_SCHEMA = ARROW_SCHEMA.append(pa.field(DAY_COLUMN, pa.int32())).append(
    pa.field(CLUSTER_COLUMN, pa.string())
)
_HASH = COLUMN_NAMES.index("event_hash")
_REQUEST_TS = COLUMN_NAMES.index("request_ts")


@dataclass
class Converted:
    """Rows and problems from one block; `read` counts input records (events, bad lines, skipped records);
    `skipped` counts the records deliberately not archived, by reason."""

    batch: pa.RecordBatch | None
    quarantine: list[tuple[str, int, str, bytes | None]] = field(default_factory=list)
    read: int = 0
    redacted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


class _Builder:
    def __init__(self, redact: bool) -> None:
        self.redact = redact
        self.rows: list[list[Any]] = []
        self.lines: list[int] | None = None  # the input line of each row, when the caller merges paths
        self.out = Converted(batch=None)

    def event(self, event: Any, origin: str, line: int, raw: bytes | None, cluster: str | None) -> None:
        """One candidate Event; any failure to archive it becomes its quarantine record, never the run's."""
        self.out.read += 1
        try:
            redacted = self.redact and isinstance(event, dict) and redact_event(event)
            row = event_to_values(event)
            row[_HASH] = event_hash(event)
        except NotAnEvent as exc:
            self._quarantine(origin, line, str(exc), raw if raw is not None else _serialised(event))
            return
        except (RecursionError, ArithmeticError, ValueError, TypeError) as exc:
            # e.g. nesting too deep to serialise, text that is not UTF-8 (UnicodeError is a ValueError)
            reason = f"cannot archive this event ({type(exc).__name__}): {exc}"
            self._quarantine(origin, line, reason, raw if raw is not None else _serialised(event))
            return
        if redacted:
            self.out.redacted += 1
        row.append(row[_REQUEST_TS] // _DAY_MICROS)
        row.append(cluster)
        self.rows.append(row)
        if self.lines is not None:
            self.lines.append(line)

    def skip(self, reason: str) -> None:
        self.out.read += 1
        self.out.skipped[reason] = self.out.skipped.get(reason, 0) + 1

    def problem(self, origin: str, line: int, reason: str, raw: bytes | None) -> None:
        self.out.read += 1
        self._quarantine(origin, line, reason, raw)

    def _quarantine(self, origin: str, line: int, reason: str, raw: bytes | None) -> None:
        self.out.quarantine.append((origin, line, reason, raw))

    def finish(self) -> Converted:
        if self.rows:
            columns = zip(*self.rows, strict=True)  # transpose in C: rows were built in column order
            arrays = [pa.array(values, type=f.type) for values, f in zip(columns, BATCH_SCHEMA, strict=True)]
            self.out.batch = pa.RecordBatch.from_arrays(arrays, schema=BATCH_SCHEMA)
        return self.out


def convert_block(
    block: Block, redact: bool = True, *, columnar: bool = True, min_rows: int = MIN_ROWS
) -> Converted:
    """Convert one block of JSON Lines (runs in a worker process: the lines are parsed here, once).

    Plain native Events are mapped by DuckDB (`columnar.py`); the rest, line by line, by the Python path, which
    gives the same rows (`columnar=False` converts everything the Python way: the tests compare both). Blocks
    with fewer than `min_rows` plain lines take the Python path whole.
    """
    # A block with fewer lines than `min_rows` cannot have enough plain ones: skip the columnar reader before
    # it parses anything, so each line is parsed once.
    worth_it = columnar and block.data.count(b"\n") + 1 >= min_rows
    split = columnar_block(block, min_rows) if worth_it else None
    if split is None:
        return convert_records(block_records(block), redact)
    builder = _Builder(redact)
    builder.lines = []
    for number, data, document in split.python:
        if is_unparsed(document):  # the Python parser gives its own reason
            records = block_records(Block(block.origin, number, data, block.shape))
        else:
            records = document_records(document, block.origin, number, data, block.shape)
        _take(builder, records)
    out = builder.finish()
    out.read += len(split.row_lines)
    if split.rows is None:
        return out
    request_us = pc.cast(split.rows.column("request_ts"), pa.int64())
    fast = split.rows.append_column(
        BATCH_SCHEMA.field(DAY_COLUMN), pc.cast(pc.divide(request_us, _DAY_MICROS), pa.int32())
    ).append_column(BATCH_SCHEMA.field(CLUSTER_COLUMN), pa.nulls(split.rows.num_rows, pa.string()))
    if out.batch is None:
        out.batch = fast.combine_chunks().to_batches()[0]
        return out
    # Both paths' rows in input order (the writer's dedupe keeps the first of two equal events).
    table = pa.concat_tables([pa.Table.from_batches([out.batch]), fast])
    order = pc.sort_indices(pa.array(builder.lines + split.row_lines, type=pa.int64()))
    out.batch = table.take(order).combine_chunks().to_batches()[0]
    return out


def convert_records(records: Iterable[Record], redact: bool = True) -> Converted:
    """Convert Records that were already framed (whole documents, API input, problems found while reading)."""
    builder = _Builder(redact)
    _take(builder, records)
    return builder.finish()


def _take(builder: _Builder, records: Iterable[Record]) -> None:
    for record in records:
        if record.error is not None:
            builder.problem(record.origin, record.line, record.error, record.raw)
        elif record.skipped is not None:
            builder.skip(record.skipped)
        else:
            builder.event(record.value, record.origin, record.line, record.raw, record.cluster)


def _serialised(event: Any) -> bytes | None:
    """The event as JSON for quarantine, or None when even that fails (the reason says why)."""
    try:
        return jsontext.dumps_bytes(event)
    except (RecursionError, ValueError, TypeError):
        return None
