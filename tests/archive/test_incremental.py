"""Incremental ingest: saved offsets per file, rotation and compression recognised, resets reported, --follow."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kanalytics
from kanalytics.archive.offsets import OFFSETS_FILE
from kanalytics.archive.quarantine import read_quarantine
from kanalytics.errors import KanalyticsError
from kanalytics.sources import cursor
from tests.conftest import REPO, make_event


def append(path: Path, count: int, opener=open) -> list[dict]:
    events = [make_event() for _ in range(count)]
    with opener(path, "at") as handle:
        handle.writelines(json.dumps(event) + "\n" for event in events)
    return events


def ingest(archive, *paths: Path, full: bool = False):
    summary = archive.ingest(list(paths), incremental=True, full=full)
    assert (
        summary.read == summary.archived + summary.duplicates + summary.quarantined + summary.records_skipped
    )
    return summary


def counts(summary) -> tuple[int, int, int]:
    return summary.read, summary.archived, summary.duplicates


def total(archive) -> int:
    return archive.sql("SELECT count(*) AS n FROM events")["n"][0]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder


@pytest.fixture
def archive(tmp_path: Path):
    return kanalytics.open_archive(tmp_path / "a")


def test_rerun_on_unchanged_folder_reads_nothing(logs: Path, archive) -> None:
    for name in ("audit.log.2", "audit.log.1", "audit.log"):
        append(logs / name, 10)
    assert counts(ingest(archive, logs)) == (30, 30, 0)
    again = ingest(archive, logs)
    assert counts(again) == (0, 0, 0)
    assert again.manifest_seq is None
    progress = again.incremental
    assert (progress.files, progress.unchanged, progress.resumed, progress.new) == (3, 3, 0, 0)
    assert progress.nothing_new() and progress.resets == []
    assert (archive.root / "_state" / OFFSETS_FILE).exists()


def test_appended_lines_are_read_once_and_partial_line_waits(logs: Path, archive) -> None:
    active = logs / "audit.log"
    append(active, 20)
    ingest(archive, logs)
    append(active, 7)
    late = make_event()
    line = json.dumps(late).encode()
    with open(active, "ab") as handle:
        handle.write(line[:40])  # the writer is in the middle of a line
    second = ingest(archive, logs)
    assert counts(second) == (7, 7, 0)
    assert second.incremental.resumed == 1
    assert second.incremental.bytes_skipped > 0
    with open(active, "ab") as handle:
        handle.write(line[40:] + b"\n")
    third = ingest(archive, logs)
    assert counts(third) == (1, 1, 0)  # the completed line, whole, not quarantined
    assert third.quarantined == 0
    assert total(archive) == 28


def test_line_numbers_continue_after_the_offset(logs: Path, archive) -> None:
    active = logs / "audit.log"
    append(active, 5)
    ingest(archive, logs)
    with open(active, "ab") as handle:
        handle.write(b"not json\n")
    summary = ingest(archive, logs)
    assert summary.quarantined == 1
    (record,) = list(read_quarantine(archive.root / summary.quarantine_file))
    assert record["line"] == 6


def test_rotation_by_rename_keeps_the_offset(logs: Path, archive) -> None:
    active = logs / "audit.log"
    append(active, 10)
    ingest(archive, logs)
    append(active, 4)  # written after the last ingest, then rotated away with a partial line
    with open(active, "ab") as handle:
        handle.write(json.dumps(make_event()).encode())  # no newline: the writer stopped here
    os.rename(active, logs / "audit.log.1")
    append(active, 3)  # the new active file
    summary = ingest(archive, logs)
    # 4 appended + the rotated file's unterminated last line (it no longer grows) + 3 new
    assert counts(summary) == (8, 8, 0)
    assert (summary.incremental.resumed, summary.incremental.new) == (1, 1)
    assert total(archive) == 18


def test_rotated_and_compressed_copy_is_recognised(logs: Path, archive) -> None:
    append(logs / "audit.log", 30)
    ingest(archive, logs)
    os.rename(logs / "audit.log", logs / "audit.log.1")
    append(logs / "audit.log", 2)
    ingest(archive, logs)
    # logrotate: audit.log.1 -> audit.log.2.gz (new inode, compressed), audit.log -> audit.log.1
    with gzip.open(logs / "audit.log.2.gz", "wb") as packed:
        packed.write((logs / "audit.log.1").read_bytes())
    (logs / "audit.log.1").unlink()
    os.rename(logs / "audit.log", logs / "audit.log.1")
    summary = ingest(archive, logs)
    assert counts(summary) == (0, 0, 0)
    assert summary.incremental.unchanged == 2
    assert summary.incremental.bytes_skipped > 0


def test_unchanged_files_are_not_read_past_their_head(logs: Path, archive, monkeypatch) -> None:
    append(logs / "audit.log", 5)
    append(logs / "audit.log.1.gz", 5, opener=gzip.open)
    (logs / "events.json").write_text(json.dumps([make_event()], indent=2))
    ingest(archive, logs)

    def no_read(*args, **kwargs):
        raise AssertionError(f"read again: {args}")

    monkeypatch.setattr(cursor, "_Window", no_read)
    monkeypatch.setattr(cursor.files, "read_file", no_read)
    summary = ingest(archive, logs)
    assert counts(summary) == (0, 0, 0)
    assert summary.incremental.unchanged == 3


def test_compressed_copy_with_lines_written_after_the_last_ingest(logs: Path, archive) -> None:
    append(logs / "audit.log", 10)
    ingest(archive, logs)
    append(logs / "audit.log", 5)  # never ingested before it was compressed away
    with gzip.open(logs / "audit.log.1.gz", "wb") as packed:
        packed.write((logs / "audit.log").read_bytes())
    (logs / "audit.log").unlink()
    summary = ingest(archive, logs)
    assert counts(summary) == (5, 5, 0)
    assert counts(ingest(archive, logs)) == (0, 0, 0)  # and the .gz itself is now known
    assert total(archive) == 15


def test_truncation_is_reported_and_read_from_the_start(logs: Path, archive, tmp_path: Path) -> None:
    active = logs / "audit.log"
    append(active, 10)
    ingest(archive, logs)
    active.write_bytes(b"")  # copytruncate, or `> audit.log`
    append(active, 2)
    summary = ingest(archive, logs)
    assert counts(summary) == (2, 2, 0)
    (reset,) = summary.incremental.resets
    assert reset.startswith(f"{active}: truncated (now ") and reset.endswith("read from the start")
    assert summary.incremental.reread == 1


def test_replacement_in_place_is_reported(logs: Path, archive) -> None:
    active = logs / "audit.log"
    first = append(active, 40)
    ingest(archive, logs)
    # same path and inode, different first bytes, longer than what was read
    with open(active, "r+") as handle:
        handle.seek(0)
        handle.writelines(json.dumps(e) + "\n" for e in [make_event() for _ in range(50)])
    summary = ingest(archive, logs)
    assert counts(summary) == (50, 50, 0)
    assert summary.incremental.resets == [
        f"{active}: replaced (its first bytes changed since the last ingest); read from the start"
    ]
    assert total(archive) == len(first) + 50


def test_kill_between_manifest_and_state_duplicates_nothing(logs: Path, archive) -> None:
    active = logs / "audit.log"
    append(active, 10)
    ingest(archive, logs)
    state = archive.root / "_state" / OFFSETS_FILE
    saved = state.read_bytes()
    append(active, 5)
    assert counts(ingest(archive, logs)) == (5, 5, 0)
    state.write_bytes(saved)  # as if killed after the manifest committed, before the offsets were saved
    rerun = ingest(archive, logs)
    assert counts(rerun) == (5, 0, 5)  # read again, absorbed by dedupe
    assert total(archive) == 15
    assert counts(ingest(archive, logs)) == (0, 0, 0)


def test_damaged_state_file_is_reported_and_everything_read_again(logs: Path, archive) -> None:
    append(logs / "audit.log", 3)
    ingest(archive, logs)
    (archive.root / "_state" / OFFSETS_FILE).write_text("{not json")
    summary = ingest(archive, logs)
    assert counts(summary) == (3, 0, 3)
    assert "could not be read" in summary.incremental.resets[0]


def test_full_reads_everything_again(logs: Path, archive) -> None:
    append(logs / "audit.log", 6)
    ingest(archive, logs)
    summary = ingest(archive, logs, full=True)
    assert counts(summary) == (6, 0, 6)
    assert summary.incremental.reread == 1
    assert counts(ingest(archive, logs)) == (0, 0, 0)  # and the offsets were still saved


def test_not_incremental_by_default_in_the_api(logs: Path, archive) -> None:
    append(logs / "audit.log", 4)
    archive.ingest([logs])
    summary = archive.ingest([logs])
    assert counts(summary) == (4, 0, 4)
    assert summary.incremental is None
    assert not (archive.root / "_state" / OFFSETS_FILE).exists()


def test_document_file_is_one_unit(logs: Path, archive) -> None:
    doc = logs / "events.json"
    doc.write_text(json.dumps({"kind": "EventList", "items": [make_event(), make_event()]}, indent=2))
    assert counts(ingest(archive, logs)) == (2, 2, 0)
    assert counts(ingest(archive, logs)) == (0, 0, 0)
    doc.write_text(
        json.dumps({"kind": "EventList", "items": [make_event(), make_event(), make_event()]}, indent=2)
    )
    summary = ingest(archive, logs)
    assert counts(summary)[0] == 3  # re-read whole when it changes (a document cannot be resumed)


@pytest.mark.parametrize("shape", ["EventList", "array", "one Event"])
def test_a_one_line_document_without_a_final_newline_is_read_whole(logs: Path, archive, shape: str) -> None:
    """Exports are often one JSON document on one line with no newline at the end (an AKS Event Hubs capture,
    a JSON array of Events): it is complete, not a line being written, so it is read (it was skipped as
    "nothing new" forever), and a second ingest finds nothing new in it."""
    events = [make_event(), make_event()] if shape != "one Event" else [make_event()]
    body = (
        {"kind": "EventList", "items": events}
        if shape == "EventList"
        else events
        if shape == "array"
        else events[0]
    )
    (logs / "export.json").write_bytes(json.dumps(body).encode())
    assert counts(ingest(archive, logs)) == (len(events), len(events), 0)
    assert counts(ingest(archive, logs)) == (0, 0, 0)
    assert total(archive) == len(events)


def test_the_aks_event_hubs_sample_is_archived_by_the_cli(tmp_path: Path) -> None:
    sample = REPO.parent / "shared" / "data" / "k8s-audit" / "aks-sysdig" / "event.json"
    if not sample.is_file():
        pytest.skip(f"the shared real samples are not at {sample.parent} (../shared next to the repository)")
    archive = tmp_path / "archive"
    first = cli("ingest", str(sample), "--archive", str(archive))
    assert first.returncode == 0, first.stderr
    assert b"read 22: archived 22, duplicates 0, quarantined 0" in first.stdout
    again = cli("ingest", str(sample), "--archive", str(archive))
    assert b"nothing new in 1 file(s)" in again.stdout


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "kanalytics", *args], input=stdin, capture_output=True, cwd=REPO, timeout=120
    )


def test_cli_remembers_says_nothing_new_and_never_tracks_stdin(logs: Path, tmp_path: Path) -> None:
    arch = str(tmp_path / "a")
    append(logs / "audit.log", 5)
    first = cli("ingest", str(logs), "-a", arch)
    assert first.returncode == 0, first.stderr
    second = cli("ingest", str(logs), "-a", arch)
    assert second.returncode == 0
    assert second.stdout.decode().startswith("nothing new in 1 file(s)")
    full = cli("ingest", str(logs), "-a", arch, "--full", "--json")
    assert json.loads(full.stdout)["duplicates"] == 5
    data = (logs / "audit.log").read_bytes()
    for _ in range(2):  # stdin is read whole every time
        piped = cli("ingest", "-", "-a", arch, "--json", stdin=data)
        body = json.loads(piped.stdout)
        assert (body["read"], body["duplicates"]) == (5, 5)
    state = json.loads((tmp_path / "a" / "_state" / OFFSETS_FILE).read_text())
    assert [entry["path"] for entry in state["sources"]["*"]] == [str(logs / "audit.log")]


def test_cli_follow_tails_commits_batches_and_stops_on_sigterm(logs: Path, tmp_path: Path) -> None:
    arch = tmp_path / "a"
    active = logs / "audit.log"
    append(active, 3)
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kanalytics",
            "ingest",
            str(logs),
            "-a",
            str(arch),
            "--follow",
            "--json",
            "--flush-events",
            "5",
            "--flush-seconds",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 30
        for _ in range(4):  # a writer appending while the follower runs
            time.sleep(0.5)
            append(active, 3)
        archive = kanalytics.open_archive(arch)
        while time.monotonic() < deadline:
            if archive.store.layout.is_archive() and total_or_zero(archive) == 15:
                break
            time.sleep(0.2)
        assert total_or_zero(archive) == 15
        append(active, 2)  # read, then committed by the stop
        time.sleep(1.5)
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    batches = _json_docs(out.decode())
    assert sum(b["archived"] for b in batches) == 17
    assert len(batches) >= 2
    assert b"stopped following after" in err
    assert total(kanalytics.open_archive(arch)) == 17
    # the offsets were saved: a normal ingest afterwards reads nothing
    assert counts(ingest(kanalytics.open_archive(arch), logs)) == (0, 0, 0)


def total_or_zero(archive) -> int:
    try:
        return total(archive)
    except KanalyticsError:
        return 0


def _json_docs(text: str) -> list[dict]:
    decoder = json.JSONDecoder()
    docs, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        doc, index = decoder.raw_decode(text, index)
        docs.append(doc)
    return docs
