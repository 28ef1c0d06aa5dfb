"""Hostile input: huge, deep, truncated, unreadable. Memory stays bounded, one bad record never stops a run.

Unreadable paths: the tests run as root, for whom mode 000 is still readable, and no other user can run
this virtualenv's interpreter (it lives under /root), so the PermissionError is injected where the reader
meets it: at `open()` of a file and at `os.scandir()` of a folder.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
import zstandard
from typer.testing import CliRunner

import kanalytics
from kanalytics.archive.quarantine import read_quarantine
from kanalytics.sources import cursor, files
from tests.conftest import REPO, make_event


def jsonl(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def quarantined(root: Path, summary: Any) -> list[dict[str, Any]]:
    return list(read_quarantine(root / summary.quarantine_file)) if summary.quarantine_file else []


def counts(summary: Any) -> tuple[int, int, int, int]:
    assert summary.read == summary.archived + summary.duplicates + summary.quarantined
    return (summary.read, summary.archived, summary.duplicates, summary.quarantined)


def exported(archive: Any) -> list[dict[str, Any]]:
    out = io.BytesIO()
    archive.export(out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


# -- long lines and big documents -------------------------------------------------------------------------
def test_jsonl_whose_first_line_is_longer_than_a_read_streams_line_by_line(
    tmp_path: Path, monkeypatch
) -> None:
    """Was: a first line longer than one read made the file "a document": read whole, or lost whole."""
    monkeypatch.setattr(files, "BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(files, "MAX_DOCUMENT_BYTES", 1 << 20, raising=False)  # the old whole-file cap
    first = make_event(requestObject={"blob": "x" * 200_000})
    rest = [make_event() for _ in range(3000)]  # ~3 MB in all: over the old cap
    source = tmp_path / "audit.log"
    source.write_bytes(jsonl([first, *rest]))
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (3001, 3001, 0, 0)


def test_over_long_line_keeps_its_head_and_later_line_numbers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(files, "BLOCK_BYTES", 256)  # the long line spans many reads: discarded while reading
    monkeypatch.setattr(files, "QUARANTINE_HEAD_BYTES", 100)
    long_line = json.dumps(make_event(requestObject={"blob": "y" * 10_000})).encode()
    lines = [json.dumps(make_event()).encode(), long_line, json.dumps(make_event()).encode(), b"not json"]
    source = tmp_path / "audit.log.gz"
    source.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (4, 2, 0, 2)
    records = {r["line"]: r for r in quarantined(tmp_path / "a", summary)}
    assert records[2]["reason"] == (
        f"line longer than 1000 bytes ({len(long_line)} bytes); its first 100 bytes are kept"
    )
    assert records[2]["raw"] == long_line[:100].decode()
    assert records[4]["reason"].startswith("not valid JSON")


def test_over_long_last_line_without_newline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(files, "BLOCK_BYTES", 256)
    monkeypatch.setattr(files, "QUARANTINE_HEAD_BYTES", 100)
    source = tmp_path / "audit.log"
    source.write_bytes(jsonl([make_event()]) + b"z" * 5000)
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (2, 1, 0, 1)
    (record,) = quarantined(tmp_path / "a", summary)
    assert (record["line"], record["reason"]) == (
        2,
        "line longer than 1000 bytes (5000 bytes); its first 100 bytes are kept",
    )
    assert record["raw"] == "z" * 100


def _eventlist(events: list[dict[str, Any]]) -> str:
    return json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events}, indent=2)


def test_eventlist_larger_than_the_item_limit_is_read_item_by_item(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(files, "BLOCK_BYTES", 1000)
    monkeypatch.setattr(files, "QUARANTINE_HEAD_BYTES", 50)
    events = [make_event() for _ in range(100)]
    events[40] = make_event(requestObject={"blob": "b" * 10_000})  # one item over the limit
    body = _eventlist(events)
    source = tmp_path / "batch.json"
    source.write_text(body)
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (100, 99, 0, 1)
    (record,) = quarantined(tmp_path / "a", summary)
    item_line = body.count("\n", 0, body.index(json.dumps(events[40]["auditID"]))) - 3  # `{` above auditID
    assert record["line"] == item_line
    assert record["reason"] == "JSON value longer than 4096 characters in a document"
    assert len(record["raw"]) == 50 and record["raw"].startswith("{")


def test_minified_eventlist_on_one_over_long_line_and_bad_items(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 4096)
    items = [json.dumps(make_event()) for _ in range(50)]
    items[10] = '{"kind": "Event", "auditID": tru}'  # not JSON: skipped to the next item
    items[20] = "[1, 2]"  # JSON, not an event
    body = (
        '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[' + ",".join(items) + "]}"
    )
    source = tmp_path / "batch.json"
    source.write_text(body)
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (50, 48, 0, 2)
    reasons = sorted(r["reason"] for r in quarantined(tmp_path / "a", summary))
    assert reasons[0] == "not an audit event: a JSON list, not an object"
    assert reasons[1].startswith("not valid JSON: Expecting value")


def test_several_pretty_printed_documents_in_a_row(tmp_path: Path) -> None:
    events = [make_event() for _ in range(5)]
    body = (
        json.dumps(events[0], indent=2)
        + "\n"
        + _eventlist(events[1:3])
        + "\n"
        + json.dumps(events[3:], indent=1)
    )
    source = tmp_path / "dump.json"
    source.write_text(body)
    archive = kanalytics.open_archive(tmp_path / "a")
    assert counts(archive.ingest([source])) == (5, 5, 0, 0)
    assert sorted(e["auditID"] for e in exported(archive)) == sorted(e["auditID"] for e in events)


def test_jsonl_with_a_broken_first_line_is_still_read_line_by_line(tmp_path: Path) -> None:
    events = [make_event() for _ in range(10)]
    source = tmp_path / "audit.log"
    source.write_bytes(json.dumps(make_event()).encode()[:60] + b"\n" + jsonl(events))
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (11, 10, 0, 1)
    (record,) = quarantined(tmp_path / "a", summary)
    assert record["line"] == 1 and record["reason"].startswith("not valid JSON")


def test_truncated_pretty_printed_document_is_one_record(tmp_path: Path) -> None:
    events = [make_event() for _ in range(20)]
    body = _eventlist(events)
    source = tmp_path / "batch.json"
    source.write_text(body[: len(body) // 2])
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    _, archived, _, bad = counts(summary)
    assert 8 <= archived < 20 and bad == 2  # the cut item, and the array the input ends in
    reasons = [r["reason"] for r in quarantined(tmp_path / "a", summary)]
    assert reasons[-1] == "the input ends inside a JSON array (document truncated?)"


# -- one bad event never stops the run ---------------------------------------------------------------------
def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [1000, 10_000])
def test_deeply_nested_event_is_quarantined_and_the_rest_archived(tmp_path: Path, depth: int) -> None:
    good = [make_event() for _ in range(500)]
    deep = json.dumps(make_event(requestObject={"x": 0})).replace('{"x": 0}', _nested(depth))
    deep_list = "[" * depth + "]" * depth
    source = tmp_path / "audit.log"
    source.write_bytes(
        jsonl(good[:250]) + deep.encode() + b"\n" + deep_list.encode() + b"\n" + jsonl(good[250:])
    )
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (502, 500, 0, 2)
    reasons = {r["line"]: r["reason"] for r in quarantined(tmp_path / "a", summary)}
    if depth == 1000:  # orjson parses it; serialising the body is too deep
        assert reasons[251].startswith("cannot archive this event (RecursionError)")
        assert reasons[252] == "not an audit event: a JSON list, not an object"
    else:
        assert reasons[251].startswith("not valid JSON") and reasons[252].startswith("not valid JSON")


def test_deep_event_via_the_cli_exits_3_not_70(tmp_path: Path) -> None:
    deep = json.dumps(make_event(requestObject={"x": 0})).replace('{"x": 0}', _nested(1000))
    source = tmp_path / "audit.log"
    source.write_bytes(jsonl([make_event() for _ in range(50)]) + deep.encode() + b"\n")
    result = subprocess.run(
        [sys.executable, "-m", "kanalytics", "ingest", str(source), "-a", str(tmp_path / "a"), "--json"],
        capture_output=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["archived"], summary["quarantined"]) == (51, 50, 1)


@pytest.mark.parametrize(
    "stamp", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "10000-01-01T00:00:00Z"]
)
def test_request_timestamp_outside_years_1_to_9999_is_quarantined(tmp_path: Path, stamp: str) -> None:
    events = [make_event(), make_event(requestReceivedTimestamp=stamp), make_event()]
    source = tmp_path / "audit.log"
    source.write_bytes(jsonl(events))
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (3, 2, 0, 1)
    (record,) = quarantined(tmp_path / "a", summary)
    assert record["line"] == 2
    assert record["reason"].startswith("not an audit event: no usable requestReceivedTimestamp")
    if not stamp.startswith("10000"):  # a year datetime can read, whose UTC instant it cannot hold
        assert record["reason"].endswith(f"(timestamp {stamp!r} is outside the years 0001-9999 in UTC)")


def test_extreme_but_valid_instants_round_trip_as_rfc3339(tmp_path: Path) -> None:
    early = make_event(
        requestReceivedTimestamp="0001-01-01T00:00:00Z", stageTimestamp="0001-01-01T00:00:00.5Z"
    )
    late = make_event(
        requestReceivedTimestamp="9999-12-31T23:59:59.999999Z", stageTimestamp="9999-12-31T23:59:59-01:00"
    )
    archive = kanalytics.open_archive(tmp_path / "a")
    assert counts(archive.ingest_events([early, late])) == (2, 2, 0, 0)
    out = {e["auditID"]: e for e in exported(archive)}
    assert out[early["auditID"]]["requestReceivedTimestamp"] == "0001-01-01T00:00:00.000000Z"
    assert out[early["auditID"]]["stageTimestamp"] == "0001-01-01T00:00:00.500000Z"
    assert out[late["auditID"]]["requestReceivedTimestamp"] == "9999-12-31T23:59:59.999999Z"
    assert out[late["auditID"]]["stageTimestamp"] == "9999-12-31T23:59:59-01:00"  # kept verbatim
    assert archive.sql("SELECT count(*) AS n FROM events WHERE year(request_ts) = 1")["n"][0] == 1


def test_nan_and_infinity_are_quarantined_never_stored_as_null(tmp_path: Path) -> None:
    big = 2**70
    archive = kanalytics.open_archive(tmp_path / "a")
    given = [
        make_event(requestObject={"n": float("nan")}),
        make_event(requestObject={"n": float("inf"), "big": big}),
        make_event(requestObject={"n": float("nan"), "big": big}),
        make_event(requestObject={"n": None, "big": big}),  # a real null is fine
    ]
    summary = archive.ingest_events(given)
    assert counts(summary) == (4, 1, 0, 3)
    reasons = {r["reason"] for r in quarantined(tmp_path / "a", summary)}
    assert reasons == {
        "cannot archive this event (ValueError): NaN or Infinity cannot be written as standard JSON"
    }
    assert exported(archive)[0]["requestObject"] == {"n": None, "big": big}

    template = json.dumps(make_event(requestObject={"n": 0, "big": big}))
    source = tmp_path / "audit.log"
    source.write_text(
        template.replace('"n": 0', '"n": NaN') + "\n" + template.replace('"n": 0', '"n": 1e400') + "\n"
    )
    summary = archive.ingest([source])
    assert counts(summary) == (2, 0, 0, 2)
    reasons = sorted(r["reason"] for r in quarantined(tmp_path / "a", summary))
    assert reasons == [
        "not valid JSON: NaN is not valid JSON",
        "not valid JSON: number 1e400 is too large for a double",
    ]


# -- truncated and damaged compressed input --------------------------------------------------------------
def test_gzip_cut_in_half_keeps_the_readable_lines(tmp_path: Path) -> None:
    content = jsonl([make_event() for _ in range(1000)])
    packed = gzip.compress(content)
    cut = packed[: len(packed) // 2]
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    whole_lines = readable.count(b"\n")
    source = tmp_path / "audit.log.gz"
    source.write_bytes(cut)
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (whole_lines + 1, whole_lines, 0, 1) and whole_lines > 400
    (record,) = quarantined(tmp_path / "a", summary)
    assert record["line"] == whole_lines + 1
    assert record["reason"] == (
        f"input truncated after byte {len(readable)} of decompressed data: the gzip stream ends early "
        f"(at compressed byte {len(cut)}); whole lines before that point were read"
    )
    assert record["raw"] == readable[readable.rfind(b"\n") + 1 :].decode()


def test_zstd_whose_second_frame_is_cut_is_reported(tmp_path: Path) -> None:
    compressor = zstandard.ZstdCompressor()
    first = jsonl([make_event() for _ in range(500)])
    second = compressor.compress(jsonl([make_event() for _ in range(500)]))
    data = compressor.compress(first) + second[:20]
    source = tmp_path / "audit.log.zst"
    source.write_bytes(data)
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (501, 500, 0, 1)
    (record,) = quarantined(tmp_path / "a", summary)
    assert record["reason"].startswith(f"input truncated after byte {len(first)} of decompressed data")
    assert f"the zstd stream ends early (at compressed byte {len(data)})" in record["reason"]


def test_complete_zstd_frames_with_checksums_and_skippable_frames_are_fine(tmp_path: Path) -> None:
    events = [make_event() for _ in range(300)]
    checked = zstandard.ZstdCompressor(write_checksum=True, write_content_size=False)
    skippable = b"\x50\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"hello"
    data = checked.compress(jsonl(events[:100])) + skippable + checked.compress(jsonl(events[100:]))
    source = tmp_path / "audit.log.zst"
    source.write_bytes(data)
    summary = kanalytics.open_archive(tmp_path / "a").ingest([source])
    assert counts(summary) == (300, 300, 0, 0)


def test_gzip_with_concatenated_members_and_padding(tmp_path: Path) -> None:
    events = [make_event() for _ in range(20)]
    source = tmp_path / "audit.log.gz"
    source.write_bytes(gzip.compress(jsonl(events[:10])) + gzip.compress(jsonl(events[10:])) + b"\0" * 100)
    assert counts(kanalytics.open_archive(tmp_path / "a").ingest([source])) == (20, 20, 0, 0)


# -- folders: unreadable, special and skipped paths -----------------------------------------------------
@pytest.fixture
def messy_folder(tmp_path: Path, monkeypatch) -> Path:
    logs = tmp_path / "logs"
    (logs / "private").mkdir(parents=True)
    (logs / "audit.log").write_bytes(jsonl([make_event() for _ in range(30)]))
    (logs / "secret.log").write_bytes(jsonl([make_event()]))
    (logs / "private" / "audit.log").write_bytes(jsonl([make_event()]))
    (logs / "README.md").write_text("notes")
    os.mkfifo(logs / "pipe")
    (logs / "gone.log").symlink_to(tmp_path / "nowhere")
    real_open, real_scandir = open, os.scandir

    def deny_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == "secret.log":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def deny_scandir(path: Any = ".") -> Any:
        if Path(path).name == "private":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(files, "open", deny_open, raising=False)
    monkeypatch.setattr(cursor, "open", deny_open, raising=False)  # incremental ingest (the CLI) opens too
    monkeypatch.setattr(files.os, "scandir", deny_scandir)
    return logs


def test_unreadable_paths_are_named_and_counted_the_rest_ingested(tmp_path: Path, messy_folder: Path) -> None:
    summary = kanalytics.open_archive(tmp_path / "a").ingest([messy_folder])
    assert counts(summary) == (32, 30, 0, 2)
    assert sorted(summary.unreadable) == [
        f"{messy_folder}/private/ (Permission denied)",
        f"{messy_folder / 'secret.log'} (Permission denied)",
    ]
    reasons = {r["origin"]: (r["line"], r["reason"]) for r in quarantined(tmp_path / "a", summary)}
    assert reasons == {
        f"{messy_folder}/private/": (0, "cannot read this folder: Permission denied"),
        str(messy_folder / "secret.log"): (0, "cannot read this file: Permission denied"),
    }
    assert summary.skipped == {
        "dangling symlink": 1,
        "not a log file name": 1,
        "not a regular file (FIFO, socket or device)": 1,
    }
    assert sorted(Path(p).name for p in summary.skipped_examples) == ["README.md", "gone.log", "pipe"]


def test_ingest_command_exits_3_and_prints_what_it_could_not_read(tmp_path: Path, messy_folder: Path) -> None:
    from kanalytics.cli import app

    result = CliRunner().invoke(app, ["ingest", str(messy_folder), "-a", str(tmp_path / "a")])
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("read 32: archived 30, duplicates 0, quarantined 2")
    assert (
        f"could not read 2 input path(s), each quarantined as one record (check permissions, then ingest "
        f"them again): {messy_folder}/private/ (Permission denied), {messy_folder / 'secret.log'} "
        "(Permission denied)"
    ) in lines
    skipped = next(line for line in lines if line.startswith("skipped "))
    assert skipped.startswith(
        "skipped 3 path(s) in input folders (1 dangling symlink, 1 not a log file name, "
        "1 not a regular file (FIFO, socket or device)): "
    )


# -- memory: real sizes, measured in a subprocess --------------------------------------------------------
def _peak_rss_mib(args: list[str]) -> tuple[float, dict[str, Any]]:
    """Run `kanalytics ingest --json` in a fresh process; its peak RSS (largest of it and its workers)."""
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "sys.stderr.buffer.write(r.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(r.stdout.decode())\n"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "kanalytics", "ingest", "--json", *args]
    result = subprocess.run(command, capture_output=True, cwd=REPO, timeout=300, check=True)
    peak_kib, _, summary = result.stdout.decode().partition("\n")
    return int(peak_kib) / 1024, json.loads(summary)


@pytest.mark.slow
def test_gzip_of_one_huge_line_is_read_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "one-line.gz"
    size = 600 * 1024 * 1024
    with gzip.open(source, "wb", compresslevel=1) as out:
        out.write(jsonl([make_event()]))
        piece = b"x" * (8 << 20)
        for _ in range(size // len(piece)):
            out.write(piece)
    peak, summary = _peak_rss_mib([str(source), "-a", str(tmp_path / "a")])
    assert (summary["read"], summary["archived"], summary["quarantined"]) == (2, 1, 1)
    assert summary["quarantine_reasons"] == {
        f"line longer than {files.MAX_LINE_BYTES} bytes ({size} bytes); its first "
        f"{files.QUARANTINE_HEAD_BYTES} bytes are kept": 1
    }
    assert peak < 300, f"peak RSS {peak:.0f} MiB for a {size >> 20} MiB line"


@pytest.mark.slow
def test_big_pretty_printed_eventlist_streams_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "webhook-dump.json"
    count = 150_000
    with open(source, "w") as out:
        out.write('{\n  "kind": "EventList",\n  "apiVersion": "audit.k8s.io/v1",\n  "items": [\n')
        template = make_event()  # one call: make_event's clock must not move days ahead for other tests
        for n in range(count):
            template["auditID"] = str(uuid.UUID(int=n + 1 << 64))
            out.write((",\n" if n else "") + json.dumps(template, indent=2))
        out.write("\n  ]\n}\n")
    size_mib = source.stat().st_size / (1 << 20)
    peak, summary = _peak_rss_mib([str(source), "-a", str(tmp_path / "a")])
    assert (summary["read"], summary["archived"], summary["quarantined"]) == (count, count, 0)
    assert size_mib > 100 and peak < 600, f"peak RSS {peak:.0f} MiB for a {size_mib:.0f} MiB document"
