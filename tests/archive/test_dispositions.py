"""Dispositions as archive data: recorded through the manifest chain, read back, verified, kept by retention."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanalytics.archive import signing
from kanalytics.archive.dispositions import (
    MAX_NOTE,
    Disposition,
    all_dispositions,
    disposition_history,
    from_line,
    latest_dispositions,
    record_disposition,
    to_line,
)
from kanalytics.archive.layout import Layout
from kanalytics.archive.manifest import iter_manifests, last_manifest
from kanalytics.archive.retention import apply_retention, plan_retention
from kanalytics.archive.signing import Keys
from kanalytics.archive.verify import verify_archive
from kanalytics.errors import ArchiveError, UsageError
from tests.archive.retention_fixtures import build_archive, days, settings

AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
FINDING = "f-0123456789abcdef"
INCIDENT = "inc-a1b2c3d4e5f6"


def verdict(target: str = FINDING, **changes: object) -> Disposition:
    base = Disposition(target, "benign", "known maintenance CHG-1042", "alice@acme.example", AT)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def files(layout: Layout) -> list[Path]:
    return sorted(layout.dispositions.glob("*.jsonl"))


def test_recorded_dispositions_read_back_newest_per_target(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "a")
    first = record_disposition(layout, None, verdict(note="  ask the owner  ", verdict="needs-follow-up"))
    members = ("f-00000000000000aa", "f-00000000000000bb")
    incident = record_disposition(layout, None, verdict(INCIDENT, verdict="true-positive", findings=members))
    second = record_disposition(layout, None, verdict(at=AT + timedelta(days=1)))

    assert (first.seq, incident.seq, second.seq) == (1, 2, 3)
    assert first == verdict(note="ask the owner", verdict="needs-follow-up", findings=(FINDING,), seq=1)
    assert latest_dispositions(layout) == {FINDING: second, INCIDENT: incident}
    assert incident.findings == members
    assert disposition_history(layout, FINDING) == [first, second]
    assert all_dispositions(layout) == [first, incident, second]
    assert second.text() == "benign, reviewed by alice@acme.example on 2026-11-04: known maintenance CHG-1042"


def test_each_disposition_is_a_triage_manifest_with_the_file_hash_and_verifies(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2026, 10, 1), 2))
    record_disposition(archive.layout, None, verdict())

    manifest = last_manifest(archive.layout)
    assert manifest is not None and manifest.operation == "triage"
    assert manifest.details == {"target": FINDING, "verdict": "benign", "by": "alice@acme.example"}
    (entry,) = manifest.files_added
    (path,) = files(archive.layout)
    assert entry.path == f"_dispositions/{path.name}" and entry.kind == "dispositions" and entry.rows == 1
    assert entry.bytes == path.stat().st_size == len(to_line(verdict(findings=(FINDING,))))
    assert entry.min_ts == entry.max_ts == "2026-11-03T09:30:00.000000Z"
    report = verify_archive(archive.layout)
    assert report.ok, report.lines()
    assert (report.files_total, report.files_valid) == (3, 3)  # two days of events and the disposition
    # A month's verify (what a report runs) still checks the undated dispositions.
    month = verify_archive(archive.layout, start=date(2026, 10, 1), end=date(2026, 10, 1))
    assert (month.files_total, month.ok) == (2, True)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes().replace(b"benign", b"BENIGN")), "hash value doesn't match"),
        (lambda p: p.unlink(), "not found"),
        (lambda p: p.with_name("forged.jsonl").write_bytes(p.read_bytes()), "present but in no manifest"),
    ],
    ids=["modified", "deleted", "unexpected"],
)
def test_verify_fails_on_a_tampered_disposition(tmp_path: Path, tamper: object, message: str) -> None:
    layout = Layout(tmp_path / "a")
    record_disposition(layout, None, verdict())
    (path,) = files(layout)
    tamper(path)  # type: ignore[operator]
    report = verify_archive(layout, start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert not report.ok
    assert [
        (p.subject, p.path.startswith("_dispositions/"), message in p.message) for p in report.problems
    ] == [("File", True, True)]


def test_a_copied_in_file_is_not_read_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "a")
    recorded = record_disposition(layout, None, verdict())
    (path,) = files(layout)
    path.with_name("copied.jsonl").write_bytes(to_line(verdict(verdict="true-positive")))
    assert latest_dispositions(layout) == {FINDING: recorded}
    path.write_bytes(b"{not json\n")
    with pytest.raises(ArchiveError, match=r"_dispositions/.*\.jsonl:1: unreadable disposition"):
        latest_dispositions(layout)


def test_signed_triage_manifests_verify_with_the_key(tmp_path: Path) -> None:
    private, public = signing.generate_keypair(tmp_path / "keys")
    keys = Keys(signing.load_private_key(private), signing.load_public_key(public))
    layout = Layout(tmp_path / "a")
    record_disposition(layout, keys, verdict())
    report = verify_archive(layout, public_key=keys.verifier)
    assert report.ok and report.signatures_checked, report.lines()


def test_retention_never_deletes_dispositions(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", days(date(2025, 1, 1), 3))
    recorded = record_disposition(archive.layout, None, verdict())
    today = date(2025, 3, 1)
    plan = plan_retention(archive.layout, settings(keep_days=10), today=today)
    assert [(p.date, p.action) for p in plan.partitions] == [
        ("2025-01-01", "delete"), ("2025-01-02", "delete"), ("2025-01-03", "delete"),
    ]  # fmt: skip
    result = apply_retention(archive.layout, settings(keep_days=10), today=today, approved=plan.key())
    assert result.deleted_partitions == 3
    assert latest_dispositions(archive.layout) == {FINDING: recorded}
    assert len(files(archive.layout)) == 1
    assert verify_archive(archive.layout).ok


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"verdict": "fine"}, "unknown verdict 'fine'"),
        ({"target": "F-0123"}, "'F-0123' is not a finding or incident id"),
        ({"target": "inc-xyz"}, "is not a finding or incident id"),
        ({"target": "f-12\n"}, "is not a finding or incident id"),
        ({"by": "   "}, r"needs a reviewer \(--by\)"),
        ({"by": "eve\x1b[2J"}, r"--by contains the control character U\+001B"),
        ({"note": "line one\nline two"}, r"--note contains the control character U\+000A"),
        ({"note": "x" * (MAX_NOTE + 1)}, "--note is 2,001 characters long"),
        ({"at": datetime(2026, 11, 3)}, "has no time zone"),
        ({"findings": ("f-1", "inc-2")}, "'inc-2' is not a finding id"),
        ({"findings": ("f-1",)}, "covers that finding only"),
    ],
)
def test_invalid_dispositions_are_refused_and_nothing_is_written(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    layout = Layout(tmp_path / "a")
    with pytest.raises(UsageError, match=message) as raised:
        record_disposition(layout, None, dataclasses.replace(verdict(), **changes))  # type: ignore[arg-type]
    assert raised.value.hint
    assert list(iter_manifests(layout)) == [] and files(layout) == []


def test_a_note_of_the_maximum_length_is_kept(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "a")
    assert record_disposition(layout, None, verdict(note="n" * MAX_NOTE)).note == "n" * MAX_NOTE


# Text without control, format (bidi) or separator characters: what check_disposition lets in.
PLAIN = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))


@given(
    note=st.text(PLAIN, max_size=200),
    by=st.text(PLAIN, min_size=1, max_size=40),
    members=st.lists(st.from_regex(r"\Af-[0-9a-f]{16}\Z"), max_size=5, unique=True),
)
def test_records_round_trip_through_their_line(note: str, by: str, members: list[str]) -> None:
    stored = verdict(INCIDENT, note=note.strip(), by=by.strip() or "x", findings=tuple(members))
    assert from_line(to_line(stored), "test", 7) == dataclasses.replace(stored, seq=7)


class Killed(BaseException):
    """Stands in for SIGKILL between the commit and the rename."""


def test_a_kill_after_the_commit_leaves_it_readable_and_the_next_writer_publishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout(tmp_path / "a")

    def killed(_: Layout, relpaths: list[str]) -> None:
        if relpaths:  # recover() publishes nothing first; the rename after the commit is the one to kill
            raise Killed

    with monkeypatch.context() as patch:
        patch.setattr("kanalytics.archive.manifest.publish", killed)
        with pytest.raises(Killed):
            record_disposition(layout, None, verdict())
    assert files(layout) == [] and len(list(layout.dispositions.glob(".*.jsonl.tmp"))) == 1
    assert latest_dispositions(layout) == {FINDING: verdict(findings=(FINDING,), seq=1)}
    assert verify_archive(layout).ok
    record_disposition(layout, None, verdict(INCIDENT, findings=(FINDING,)))
    assert len(files(layout)) == 2 and list(layout.dispositions.glob(".*")) == []
