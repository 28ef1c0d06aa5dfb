"""Verification: the tamper matrix (each alteration caught with the right message), signing and checkpoints."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

import kanalytics
from kanalytics.api import Archive
from kanalytics.archive import signing
from kanalytics.archive.manifest import last_manifest
from kanalytics.archive.retention import apply_retention
from kanalytics.archive.verify import UNSIGNED_NOTE, verify_archive
from kanalytics.errors import IntegrityError
from tests.archive.retention_fixtures import day_events, settings

DAYS = [date(2025, 1, d) for d in (1, 2, 3, 4)]


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(signing.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv(signing.VERIFY_KEY_ENV, raising=False)
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)
    yield
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return signing.generate_keypair(tmp_path / "keys")


def one_manifest_per_day(root: Path) -> Archive:
    """Manifest n adds the one file of DAYS[n-1], so a problem maps to exactly one date."""
    archive = kanalytics.open_archive(root)
    for day in DAYS:
        archive.ingest_events(day_events(day), cluster="c1")
    return archive


def file_of(archive: Archive, day: date) -> Path:
    (path,) = (archive.root / f"events/cluster=c1/date={day.isoformat()}").glob("*.parquet")
    return path


def lines(archive: Archive, **kwargs: object) -> list[str]:
    return verify_archive(archive.layout, **kwargs).lines()  # type: ignore[arg-type]


def test_untouched_archive_verifies_clean(tmp_path: Path) -> None:
    archive = one_manifest_per_day(tmp_path / "a")
    report = verify_archive(archive.layout)
    assert report.ok
    assert report.summary() == "4/4 manifests valid, 4/4 files valid"
    assert report.lines() == [
        "Results requested for the beginning to now",
        f"note: {UNSIGNED_NOTE}",  # an unsigned chain proves less, and verify says so
        "4/4 manifests valid, 4/4 files valid",
    ]


def _flip_byte(archive: Archive) -> str:
    path = file_of(archive, DAYS[1])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return f"File {path.relative_to(archive.root).as_posix()} INVALID: hash value doesn't match (recorded in manifest 2)"


def _delete_file(archive: Archive) -> str:
    path = file_of(archive, DAYS[1])
    path.unlink()
    return f"File {path.relative_to(archive.root).as_posix()} INVALID: not found"


def _stray_file(archive: Archive) -> str:
    stray = archive.root / "events/cluster=c1/date=2025-01-02/injected.parquet"
    stray.write_bytes(file_of(archive, DAYS[0]).read_bytes())
    return "File events/cluster=c1/date=2025-01-02/injected.parquet INVALID: present but in no manifest (unexpected file)"


def _edit_manifest(archive: Archive) -> str:
    path = archive.layout.manifest_file(2)
    raw = orjson.loads(path.read_bytes())
    raw["files_added"][0]["rows"] = 2  # hide an event: make the record claim fewer rows
    path.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return "Manifest _manifests/0000000002.json INVALID: hash value doesn't match the link in manifest 3; chain broken"


def _drop_manifest(archive: Archive) -> str:
    archive.layout.manifest_file(2).unlink()
    return "Manifest _manifests/0000000003.json INVALID: manifest 2 before it not found: chain broken"


def _reorder_manifests(archive: Archive) -> str:
    two, three = archive.layout.manifest_file(2), archive.layout.manifest_file(3)
    a, b = two.read_bytes(), three.read_bytes()
    two.write_bytes(b)
    three.write_bytes(a)
    return (
        "Manifest _manifests/0000000002.json INVALID: has sequence 3 but is stored as 2: moved or reordered; "
        "chain broken"
    )


@pytest.mark.parametrize(
    "tamper", [_flip_byte, _delete_file, _stray_file, _edit_manifest, _drop_manifest, _reorder_manifests]
)
def test_tamper_matrix_without_keys(tmp_path: Path, tamper: object) -> None:
    archive = one_manifest_per_day(tmp_path / "a")
    expected = tamper(archive)  # type: ignore[operator]
    report = verify_archive(archive.layout)
    assert not report.ok
    assert expected in report.lines()
    assert "2025-01-02" in report.unvalidated_dates
    assert "could not be validated: " in report.summary()


def test_tamper_summary_counts_and_range(tmp_path: Path) -> None:
    archive = one_manifest_per_day(tmp_path / "a")
    _flip_byte(archive)
    report = verify_archive(archive.layout)
    assert report.summary() == "4/4 manifests valid, 3/4 files valid; could not be validated: 2025-01-02"


def test_dropping_the_last_manifest_leaves_its_files_unexpected(tmp_path: Path) -> None:
    archive = one_manifest_per_day(tmp_path / "a")
    archive.layout.manifest_file(4).unlink()
    report = verify_archive(archive.layout)
    assert [p.message for p in report.problems] == ["present but in no manifest (unexpected file)"]
    assert report.unvalidated_dates == ["2025-01-04"]


def test_signed_archive_verifies_and_every_writer_signs(
    tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = keys
    monkeypatch.setenv(signing.SIGNING_KEY_ENV, str(private))
    archive = one_manifest_per_day(tmp_path / "a")
    apply_retention(
        archive.layout, settings(keep_days=30), today=date(2025, 2, 1), keys=archive.keys
    )  # a second writer
    assert sorted(p.name for p in archive.layout.manifests.glob("*.sig")) == [
        f"{n:010d}.sig" for n in range(1, 6)
    ]
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    assert report.ok, report.lines()
    assert report.summary() == "5/5 manifests valid, 3/3 files valid; deleted by policy: 1 file (2025-01-01)"


def test_resigned_with_another_key_is_caught(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = one_manifest_per_day(tmp_path / "a")
    # The attacker edits manifest 4 and signs it with their own key.
    path = archive.layout.manifest_file(4)
    raw = orjson.loads(path.read_bytes())
    raw["details"]["read"] = 0
    data = orjson.dumps(raw)
    path.write_bytes(data)
    rogue, _ = signing.generate_keypair(tmp_path / "rogue")
    rogue_key = signing.load_private_key(rogue)
    import hashlib

    sig = signing.signature_bytes(rogue_key, 4, hashlib.sha256(data).hexdigest())
    (archive.layout.manifests / "0000000004.sig").write_bytes(sig)
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    fp = signing.fingerprint(rogue_key.public_key())
    assert (
        f"Signature _manifests/0000000004.sig INVALID: signature made with an unknown key (fingerprint {fp})"
        in (report.lines())
    )
    assert report.manifests_valid == 3


def test_stripped_or_edited_signature_is_caught(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = one_manifest_per_day(tmp_path / "a")
    (archive.layout.manifests / "0000000004.sig").unlink()
    path = archive.layout.manifest_file(4)
    path.write_bytes(path.read_bytes().replace(b'"read": 3', b'"read": 4'))
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    assert "Signature _manifests/0000000004.json INVALID: not found (manifest is unsigned)" in report.lines()
    # Without the key the last manifest's edit is invisible to the chain alone: that is what keys are for.
    (archive.layout.manifests / "0000000003.sig").write_bytes(b"{}")
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    assert (
        "Signature _manifests/0000000003.sig INVALID: signature file has an invalid format" in report.lines()
    )


def test_unsigned_prefix_before_signing_was_enabled_is_a_note(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    private, public = keys
    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events(day_events(DAYS[0]), cluster="c1")
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events(day_events(DAYS[1]), cluster="c1")
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    assert report.ok
    assert (
        "note: manifests 1..1 predate signing; they are covered by the hash chain up to the first signed "
        "manifest" in report.lines()
    )


def test_checkpoint_catches_rollback_and_full_rewrite(tmp_path: Path) -> None:
    archive = one_manifest_per_day(tmp_path / "a")
    last = last_manifest(archive.layout)
    assert last is not None
    held = (last.seq, last.sha256)
    assert verify_archive(archive.layout, checkpoint=held).ok
    # Roll back: drop the newest manifest and its file, as if an old backup were restored.
    archive.layout.manifest_file(4).unlink()
    file_of(archive, DAYS[3]).unlink()
    report = verify_archive(archive.layout, checkpoint=held)
    assert report.manifests_valid == 3 and report.files_valid == 3
    assert report.problems[0].message == "manifest 4 not found: archive rolled back or replaced"
    # Full rewrite: a fresh archive with a consistent chain of its own.
    forged = one_manifest_per_day(tmp_path / "forged")
    report = verify_archive(forged.layout, checkpoint=held)
    assert report.ok is False
    assert report.lines()[1] == (
        "Checkpoint _manifests/0000000004.json INVALID: hash value doesn't match the checkpoint: "
        "chain rewritten or replaced"
    )
    assert report.unvalidated_dates == [d.isoformat() for d in DAYS]


def test_from_to_limits_hashing_but_not_the_chain(tmp_path: Path) -> None:
    archive = one_manifest_per_day(tmp_path / "a")
    _flip_byte(archive)  # 2025-01-02
    archive.layout.manifest_file(1).write_bytes(b"garbage")
    report = verify_archive(archive.layout, start=date(2025, 1, 3), end=date(2025, 1, 4))
    assert report.files_total == 2 and report.files_valid == 2
    assert (
        report.lines()[1]
        == "Manifest _manifests/0000000001.json INVALID: invalid format (edited or corrupted); chain broken"
    )


def test_interrupted_commit_leftovers_are_notes_not_problems(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = one_manifest_per_day(tmp_path / "a")
    (archive.layout.manifests / "0000000005.sig").write_bytes(b"{}")  # killed between signature and manifest
    tmp = archive.root / "events/cluster=c1/date=2025-01-04/.x.parquet.tmp"
    tmp.write_bytes(b"partial")
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    assert report.ok
    assert len(report.notes) == 2


def test_cli_verify_exit_codes_and_json(tmp_path: Path) -> None:
    from kanalytics.cli import app

    archive = one_manifest_per_day(tmp_path / "a")
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--archive", str(archive.root)], standalone_mode=False)
    assert ok.exception is None
    assert ok.output.splitlines()[-1] == "4/4 manifests valid, 4/4 files valid"
    _delete_file(archive)
    bad = runner.invoke(app, ["verify", "--archive", str(archive.root), "--json"], standalone_mode=False)
    assert isinstance(bad.exception, IntegrityError)
    data = orjson.loads(bad.output)
    assert data["ok"] is False and data["problems"][0]["message"] == "not found"


def test_cli_keygen_and_checkpoint(tmp_path: Path) -> None:
    from kanalytics.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["keygen", "--out", str(tmp_path / "k")], standalone_mode=False)
    assert result.exception is None
    assert os.stat(tmp_path / "k" / signing.PRIVATE_KEY_NAME).st_mode & 0o777 == 0o600
    archive = one_manifest_per_day(tmp_path / "a")
    env = {signing.SIGNING_KEY_ENV: str(tmp_path / "k" / signing.PRIVATE_KEY_NAME)}
    cp = runner.invoke(app, ["checkpoint", "--archive", str(archive.root)], env=env, standalone_mode=False)
    head = cp.output.splitlines()[0]
    assert signing.parse_checkpoint(cp.output) == (4, head.split(":")[1])
    assert "kanalytics.checkpoint.v1" in cp.output
    again = runner.invoke(
        app, ["verify", "--archive", str(archive.root), "--checkpoint", head], standalone_mode=False
    )
    assert again.exception is None


def test_cli_verify_against_a_saved_signed_checkpoint_note(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    from kanalytics.cli import app

    private, public = keys
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = one_manifest_per_day(tmp_path / "a")
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)
    runner = CliRunner()
    env = {signing.SIGNING_KEY_ENV: str(private)}
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(
        runner.invoke(
            app, ["checkpoint", "--archive", str(archive.root)], env=env, standalone_mode=False
        ).output
    )
    args = ["verify", "--archive", str(archive.root), "--checkpoint", str(saved), "--public-key", str(public)]
    assert runner.invoke(app, args, standalone_mode=False).exception is None
    saved.write_text(saved.read_text().replace("\n4:", "\n3:"))  # the note now claims another seq
    forged = runner.invoke(app, args, standalone_mode=False)
    assert isinstance(forged.exception, IntegrityError)
    assert forged.exception.message.endswith("checkpoint signature verification failed")
