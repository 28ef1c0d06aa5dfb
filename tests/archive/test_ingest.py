"""Ingest behaviour: counts add up, dedupe by content, collisions kept, redaction, quarantine."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import zstandard

import kanalytics
from kanalytics.archive.manifest import iter_manifests
from kanalytics.archive.quarantine import read_quarantine
from kanalytics.archive.redact import REDACTED
from tests.conftest import make_event


def write_jsonl(path: Path, events: list[dict], opener=open) -> Path:
    with opener(path, "wt") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")
    return path


def assert_counts_add_up(summary) -> None:
    assert summary.read == summary.archived + summary.duplicates + summary.quarantined


def test_reingest_adds_nothing(tmp_path: Path) -> None:
    events = [make_event() for _ in range(50)]
    source = write_jsonl(tmp_path / "audit.log", events)
    archive = kanalytics.open_archive(tmp_path / "a")
    first = archive.ingest([source])
    second = archive.ingest([source])
    assert (first.read, first.archived, first.duplicates) == (50, 50, 0)
    assert (second.read, second.archived, second.duplicates) == (50, 0, 50)
    assert second.manifest_seq is None  # nothing changed, nothing committed
    assert archive.sql("SELECT count(*) AS n FROM events")["n"][0] == 50


def test_overlapping_rotated_files_and_compression(tmp_path: Path) -> None:
    events = [make_event() for _ in range(30)]
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "audit.log.2.gz", events[:20], opener=gzip.open)
    with open(logs / "audit.log.1.zst", "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as z:
        z.write("".join(json.dumps(e) + "\n" for e in events[10:25]).encode())
    write_jsonl(logs / "audit.log", events[20:])
    summary = kanalytics.open_archive(tmp_path / "a").ingest([logs])
    assert (summary.read, summary.archived, summary.duplicates, summary.quarantined) == (45, 30, 15, 0)


def test_same_auditid_different_content_is_kept_and_recorded(tmp_path: Path) -> None:
    original = make_event()
    forged = dict(original, verb="delete", requestURI="/api/v1/namespaces/default/pods/x")
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest_events([original, forged])
    assert summary.archived == 2 and summary.collisions == 1
    assert summary.collision_examples[0]["audit_id"] == original["auditID"]
    verbs = archive.sql("SELECT verb FROM events ORDER BY verb")["verb"].to_list()
    assert verbs == ["delete", "list"]


def test_secret_values_redacted_keys_kept(tmp_path: Path) -> None:
    secret = {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": "db",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}}
                )
            },
        },
        "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="},
        "stringData": {"token": "plain"},
    }
    event = make_event(
        level="RequestResponse",
        verb="create",
        objectRef={"resource": "secrets", "namespace": "default", "name": "db", "apiVersion": "v1"},
        requestObject=secret,
        responseObject=secret,
    )
    patch = make_event(
        level="Request",
        verb="patch",
        objectRef={"resource": "secrets", "namespace": "default", "name": "db", "apiVersion": "v1"},
        requestObject=[{"op": "replace", "path": "/data/password", "value": "bmV3"}],
    )
    review = make_event(
        level="RequestResponse",
        verb="create",
        objectRef={"resource": "tokenreviews", "apiGroup": "authentication.k8s.io", "apiVersion": "v1"},
        requestObject={"kind": "TokenReview", "spec": {"token": "eyJhbGciOi.secret.token"}},
    )
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest_events([event, patch, review])
    assert summary.redacted == 3
    stored = archive.sql("SELECT request_object || coalesce(response_object, '') AS body FROM events")["body"]
    text = "\n".join(stored.to_list())
    for secret_value in ("aHVudGVyMg==", "YWRtaW4=", "plain", "bmV3", "eyJhbGciOi"):
        assert secret_value not in text
    assert '"password"' in text and REDACTED in text


def test_redaction_can_be_switched_off(tmp_path: Path) -> None:
    event = make_event(
        level="RequestResponse",
        objectRef={"resource": "secrets", "namespace": "default", "name": "db"},
        requestObject={"kind": "Secret", "data": {"k": "dmFsdWU="}},
    )
    archive = kanalytics.open_archive(tmp_path / "a")
    assert archive.ingest_events([event], redact=False).redacted == 0
    assert "dmFsdWU=" in archive.sql("SELECT request_object FROM events")["request_object"][0]


def test_bad_input_is_quarantined_with_reason_and_counted(tmp_path: Path) -> None:
    good = make_event()
    lines = [
        json.dumps(good).encode(),
        b"this is not json",
        b'{"kind": 0}',
        b"\xff\xfe not utf-8 \x80",
        json.dumps({k: v for k, v in make_event().items() if k != "auditID"}).encode(),
        b"",
        json.dumps(make_event()).encode()[:40],
    ]
    source = tmp_path / "bad.log"
    source.write_bytes(b"\n".join(lines) + b"\n")
    truncated = tmp_path / "trunc.log.gz"
    truncated.write_bytes(
        gzip.compress(("\n".join(json.dumps(make_event()) for _ in range(200))).encode())[:-200]
    )
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest([source, truncated])
    assert_counts_add_up(summary)
    assert summary.quarantined >= 6  # 5 bad lines in bad.log, and at least the truncation record
    records = list(read_quarantine(tmp_path / "a" / summary.quarantine_file))
    reasons = {(Path(r["origin"]).name, r["line"]): r["reason"] for r in records}
    assert reasons[("bad.log", 2)].startswith("not valid JSON")
    assert reasons[("bad.log", 3)] == "not an audit event: kind is 0, expected 'Event'"
    assert reasons[("bad.log", 4)] == "not UTF-8 text"
    assert "missing required field(s) auditID" in reasons[("bad.log", 5)]
    assert any(name == "trunc.log.gz" and "ends early" in why for (name, _), why in reasons.items())
    raw = next(r for r in records if r["line"] == 4 and r["origin"].endswith("bad.log"))
    assert "raw_base64" in raw  # the original bytes are kept even when they are not text
    assert archive.info().quarantined == summary.quarantined


def test_oversize_line_is_quarantined_whole(tmp_path: Path, monkeypatch) -> None:
    from kanalytics.sources import files

    monkeypatch.setattr(files, "MAX_LINE_BYTES", 1024)
    big = json.dumps(make_event(requestObject={"blob": "x" * 5000}))
    source = tmp_path / "big.log"
    source.write_text(big + "\n" + json.dumps(make_event()) + "\n")
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest([source])
    assert (summary.archived, summary.quarantined) == (1, 1)
    record = next(read_quarantine(tmp_path / "a" / summary.quarantine_file))
    assert record["line"] == 1 and record["raw"] == big


def test_eventlist_pretty_printed_with_bom(tmp_path: Path) -> None:
    events = [make_event() for _ in range(3)]
    body = json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events}, indent=2)
    source = tmp_path / "batch.json"
    source.write_bytes(b"\xef\xbb\xbf" + body.encode())
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert (summary.read, summary.archived) == (3, 3)


def test_manifest_chain_records_files(tmp_path: Path) -> None:
    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events([make_event() for _ in range(5)])
    archive.ingest_events([make_event() for _ in range(5)])
    chain = list(iter_manifests(archive.layout))
    assert [m.seq for m in chain] == [1, 2]
    assert chain[1].prev_sha256 == chain[0].sha256
    entry = chain[0].files_added[0]
    assert entry.rows == 5 and len(entry.sha256) == 64 and (tmp_path / "a" / entry.path).is_file()
    assert entry.min_ts <= entry.max_ts


def test_partition_layout_and_schema_version(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from kanalytics.archive.schema import SCHEMA_METADATA_KEY, SCHEMA_VERSION

    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events([make_event()], cluster="prod-eu")
    files = list((tmp_path / "a" / "events" / "cluster=prod-eu" / "date=2026-10-01").glob("*.parquet"))
    assert len(files) == 1
    assert pq.read_schema(files[0]).metadata[SCHEMA_METADATA_KEY] == SCHEMA_VERSION.encode()


def test_dedupe_stays_exact_when_partition_state_is_evicted(tmp_path: Path, monkeypatch) -> None:
    """With room for only a few events of dedupe state, partitions are evicted and reloaded from disk."""
    from datetime import UTC, datetime, timedelta

    from kanalytics.archive import ingest

    monkeypatch.setattr(ingest, "MAX_TRACKED_EVENTS", 5)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    events = [make_event(ts=start + timedelta(days=n % 6, minutes=n)) for n in range(60)]
    # every event twice, the copies interleaved across days so evicted partitions are touched again
    source = write_jsonl(tmp_path / "audit.log", events + events[::-1])
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest([source])
    assert (summary.read, summary.archived, summary.duplicates) == (120, 60, 60)
    assert archive.sql("SELECT count(DISTINCT event_hash) AS d, count(*) AS n FROM events").row(0) == (60, 60)
