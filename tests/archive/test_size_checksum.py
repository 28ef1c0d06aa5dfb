"""Schema v2's 8-byte content checksum: its definition, its encoding, and dedupe against v1 archives."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kanalytics
import kanalytics.archive.columnar as columnar
import kanalytics.archive.convert as convert
import kanalytics.archive.fileformat as fileformat
from kanalytics.archive.rows import event_hash
from kanalytics.archive.schema import ARROW_SCHEMA, SCHEMA_METADATA_KEY, to_logical
from kanalytics.sources import jsontext
from tests.conftest import make_event


def _v1_hash(event: dict) -> bytes:
    """Schema v1's stored hash: all 16 bytes of BLAKE2b-128 over the canonical event."""
    return hashlib.blake2b(jsontext.dumps_bytes(event, sort_keys=True), digest_size=16).digest()


def _jsonl(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _event_files(root: Path) -> list[Path]:
    return sorted((root / "events").rglob("*.parquet"))


def test_checksum_is_the_v1_hash_prefix() -> None:
    event = make_event()
    assert event_hash(event) == _v1_hash(event)[:8]
    assert len(event_hash(event)) == 8
    changed = dict(event, verb="delete" if event["verb"] != "delete" else "get")
    assert event_hash(changed) != event_hash(event)


def test_new_files_are_v2_with_delta_length_checksums(tmp_path: Path) -> None:
    events = [make_event() for _ in range(20)]
    archive = kanalytics.open_archive(tmp_path / "a")
    assert archive.ingest([_jsonl(tmp_path / "in.log", events)]).archived == 20
    (path,) = _event_files(tmp_path / "a")
    parquet = pq.ParquetFile(path)
    assert parquet.schema_arrow.metadata[SCHEMA_METADATA_KEY] == b"2"
    column = parquet.schema_arrow.names.index("event_hash")
    chunk = parquet.metadata.row_group(0).column(column)
    assert "DELTA_LENGTH_BYTE_ARRAY" in chunk.encodings
    stored = pq.read_table(path, columns=["event_hash"])["event_hash"].to_pylist()
    assert sorted(stored) == sorted(event_hash(e) for e in events)


def test_to_logical_turns_v1_fixed_hashes_into_the_logical_type() -> None:
    v1 = pa.table({"audit_id": ["a", "b"], "event_hash": pa.array([b"x" * 16, b"y" * 16], pa.binary(16))})
    logical = to_logical(v1)
    assert logical.schema.field("event_hash").type == ARROW_SCHEMA.field("event_hash").type == pa.binary()
    assert logical["event_hash"].to_pylist() == [b"x" * 16, b"y" * 16]
    v2 = pa.table({"audit_id": ["c"], "event_hash": pa.array([b"z" * 8], pa.binary())})
    assert pa.concat_tables([logical, to_logical(v2)]).num_rows == 3


def test_v2_ingest_dedupes_against_a_v1_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = [make_event() for _ in range(30)]
    v1_schema = ARROW_SCHEMA.with_metadata({SCHEMA_METADATA_KEY: b"1"})
    with monkeypatch.context() as patch:  # the v1 writer: 16-byte hashes, version "1" in the footer
        patch.setattr(convert, "event_hash", _v1_hash)
        patch.setattr(columnar, "event_hash", _v1_hash, raising=False)
        patch.setattr(fileformat, "ARROW_SCHEMA", v1_schema)
        archive = kanalytics.open_archive(tmp_path / "a")
        assert archive.ingest([_jsonl(tmp_path / "first.log", events)]).archived == 30
    (old,) = _event_files(tmp_path / "a")
    assert pq.ParquetFile(old).schema_arrow.metadata[SCHEMA_METADATA_KEY] == b"1"
    assert {len(h) for h in pq.read_table(old)["event_hash"].to_pylist()} == {16}

    archive = kanalytics.open_archive(tmp_path / "a")
    later = [make_event() for _ in range(5)]
    again = archive.ingest([_jsonl(tmp_path / "again.log", events + later)])
    assert (again.read, again.archived, again.duplicates, again.collisions) == (35, 5, 30, 0)
    lengths = archive.sql(
        "SELECT octet_length(event_hash) AS size, count(*) AS n FROM events GROUP BY 1 ORDER BY 1"
    )
    assert list(zip(lengths["size"], lengths["n"], strict=True)) == [(8, 5), (16, 30)]
    distinct = archive.sql(
        "SELECT count(DISTINCT event_hash) AS d, count(DISTINCT audit_id) AS a FROM events"
    )
    assert (distinct["d"][0], distinct["a"][0]) == (35, len({e["auditID"] for e in events + later}))
    # a v1 event with changed content is a collision, kept, not a duplicate
    changed = dict(events[0], userAgent="curl/8.0")
    third = archive.ingest([_jsonl(tmp_path / "third.log", [changed])])
    assert (third.archived, third.duplicates, third.collisions) == (1, 0, 1)
    shutil.rmtree(tmp_path / "a")
