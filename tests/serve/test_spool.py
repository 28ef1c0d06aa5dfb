"""The spool on its own: entries survive a reopen, a torn tail is ignored, deletion updates the counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kanalytics.serve import spool as spooling
from kanalytics.serve.flusher import _records


def test_entries_survive_a_reopen_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    spool = spooling.Spool(tmp_path)
    spool.append(spooling.EVENTS, 2, b"\n{}\n{}")
    spool.append(spooling.PROBLEM, 1, b"bad json\0{")
    spool.rotate()
    [segment] = spool.closed_segments()
    with segment.open("ab") as handle:  # a crash in the middle of an unacknowledged append
        handle.write(spooling.MAGIC + b"\x01\x00\x00")
    reopened = spooling.Spool(tmp_path)
    assert [(e.kind, e.events, e.payload) for e in spooling.read_segment(segment)] == [
        (spooling.EVENTS, 2, b"\n{}\n{}"),
        (spooling.PROBLEM, 1, b"bad json\0{"),
    ]
    assert reopened.events == 3 and reopened.bytes == segment.stat().st_size
    reopened.append(spooling.EVENTS, 1, b"\n{}")  # a new segment after the replayed one
    reopened.rotate()
    assert [p.name for p in reopened.closed_segments()] == ["000000000001.spool", "000000000002.spool"]


def test_a_corrupt_entry_stops_the_read_at_it(tmp_path: Path) -> None:
    spool = spooling.Spool(tmp_path)
    spool.append(spooling.EVENTS, 1, b"\n{}")
    spool.append(spooling.EVENTS, 1, b'\n{"a":1}')
    spool.rotate()
    [segment] = spool.closed_segments()
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF  # the checksum of the second entry no longer holds
    segment.write_bytes(bytes(data))
    assert [e.payload for e in spooling.read_segment(segment)] == [b"\n{}"]


def test_delete_resets_the_counts_and_records_carry_cluster_and_problems(tmp_path: Path) -> None:
    spool = spooling.Spool(tmp_path)
    spool.append(spooling.EVENTS, 2, b'prod\n{"auditID":"a"}\n{"auditID":"b"}')
    spool.append(spooling.PROBLEM, 1, b"too big\0xyz")
    assert spool.oldest_age() >= 0 and spool.bytes > 0
    spool.rotate()
    segments = spool.closed_segments()
    counted = [0]
    records = list(_records(segments, counted))
    assert [(r.line, r.value, r.cluster, r.error, r.raw) for r in records] == [
        (1, {"auditID": "a"}, "prod", None, b'{"auditID":"a"}'),
        (2, {"auditID": "b"}, "prod", None, b'{"auditID":"b"}'),
        (3, None, None, "too big", b"xyz"),
    ]
    assert counted == [3]
    spool.delete(segments, events=3)
    assert (spool.bytes, spool.events, spool.oldest_age(), list(tmp_path.iterdir())) == (0, 0, 0.0, [])


def test_a_segment_being_created_is_never_listed_as_closed(tmp_path: Path, monkeypatch: Any) -> None:
    """The flusher lists closed segments while requests append: a segment whose file exists but that is not yet
    the active one must not be listed, or the flusher would ingest it half written and delete it, and the
    appends acknowledged after that would land in an unlinked file (found by test_crash under load)."""
    import threading

    spool = spooling.Spool(tmp_path / "spool")
    created, release = threading.Event(), threading.Event()
    original = spooling._Segment.__init__

    def slow_init(self: Any, path: Path) -> None:
        original(self, path)  # the file now exists on disk
        created.set()
        release.wait(5)  # ... and the spool has not made it the active segment yet

    monkeypatch.setattr(spooling._Segment, "__init__", slow_init)
    appender = threading.Thread(target=spool.append, args=(spooling.EVENTS, 1, b"{}\n"))
    appender.start()
    assert created.wait(5)
    listed: list[list[Path]] = []
    lister = threading.Thread(target=lambda: listed.append(spool.closed_segments()))
    lister.start()
    lister.join(0.3)
    release.set()
    appender.join(5)
    lister.join(5)
    assert listed == [[]]  # it waited for the append, then saw the segment as the active one
    spool.rotate()
    assert [p.name for p in spool.closed_segments()] == ["000000000001.spool"]
