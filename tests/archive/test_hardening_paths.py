"""Paths from manifests: one validator, verify flags forged paths, and no writer acts outside the archive.

Also: with a verify key configured, recovery acts on no manifest whose signature does not verify, and verify
says plainly what an unsigned archive cannot prove.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import kanalytics
from kanalytics.api import Archive
from kanalytics.archive import signing
from kanalytics.archive.holds import list_holds
from kanalytics.archive.layout import relpath_problem
from kanalytics.archive.manifest import FileEntry, Manifest, encode, last_manifest
from kanalytics.archive.retention import apply_retention
from kanalytics.archive.verify import UNSIGNED_NOTE, verify_archive
from kanalytics.errors import ArchiveError, IntegrityError
from tests.archive.retention_fixtures import build_archive, day_events, settings
from tests.conftest import REPO

TRAVERSAL = "events/cluster=c1/date=2025-01-01/../../../../victim.txt"


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(signing.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv(signing.VERIFY_KEY_ENV, raising=False)
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)
    yield
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)


def kanalytics_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KANALYTICS_")}
    return subprocess.run(
        [sys.executable, "-m", "kanalytics", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**environ, **(env or {})},
        timeout=120,
    )


def forge(archive: Archive, operation: str, *, added: list[Any] = (), removed: list[Any] = (),  # type: ignore[assignment]
          details: dict[str, Any] | None = None) -> str:  # fmt: skip
    """Append a well-linked manifest as an attacker with write access would: returns its relative path."""
    last = last_manifest(archive.layout)
    assert last is not None
    forged = Manifest(
        seq=last.seq + 1,
        created_at="2026-10-02T00:00:00.000000Z",
        operation=operation,
        prev_sha256=last.sha256,
        files_added=list(added),
        files_removed=list(removed),
        details=details or {},
    )
    path = archive.layout.manifest_file(forged.seq)
    path.write_bytes(encode(forged))
    return path.relative_to(archive.root).as_posix()


def victim_outside(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("not the archive's to delete\n")
    return victim


@pytest.mark.parametrize(
    ("relpath", "kind", "problem"),
    [
        (TRAVERSAL, "events", "is not normalised (empty, '.' or '..' segment)"),
        ("/etc/passwd", "events", "is absolute"),
        ("events/cluster=c1/date=2025-01-01/./f.parquet", "events", "is not normalised (empty, '.' or '..' segment)"),
        ("events/cluster=c1//date=2025-01-01/f.parquet", "events", "is not normalised (empty, '.' or '..' segment)"),
        ("events\\cluster=c1\\date=2025-01-01\\f.parquet", "events", "contains a backslash or a control character"),
        ("events/cluster=c1/date=2025-01-01/f\x00.parquet", "events", "contains a backslash or a control character"),
        ("events/cluster=c1/date=2025-01-01/f\n.parquet", "events", "contains a backslash or a control character"),
        ("_state/writer.lock", "events", "is not a file directly under events/ inside a cluster=/date= partition"),
        ("events/f.parquet", "events", "is not a file directly under events/ inside a cluster=/date= partition"),
        ("events/cluster=c1/date=2025-13-01/f.parquet", "events",
         "is not a file directly under events/ inside a cluster=/date= partition"),
        ("events/cluster=c1/date=2025-01-01/f.parquet", "quarantine", "is not a file directly under _quarantine/"),
        ("_quarantine/sub/b.jsonl.zst", "quarantine", "is not a file directly under _quarantine/"),
        ("events/cluster=c1/date=2025-01-01/f.parquet", "secrets", "has an unknown kind 'secrets'"),
        ("", "events", "is not a path"),
        ("events/cluster=c1/date=2025-01-01/f.parquet", "events", None),
        ("_quarantine/b.jsonl.zst", "quarantine", None),
    ],
)  # fmt: skip
def test_one_validator_for_every_manifest_path(relpath: str, kind: str, problem: str | None) -> None:
    assert relpath_problem(relpath, kind) == problem


def test_forged_files_removed_is_invalid_and_ingest_deletes_nothing_outside(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    victim = victim_outside(tmp_path)
    rel = forge(archive, "compact", removed=[FileEntry(TRAVERSAL, "0" * 64, 28)])
    # verify: a failure, naming the manifest and the path (exit 1), not a clean pass
    result = kanalytics_cli("verify", "--archive", str(archive.root))
    assert result.returncode == 1, result.stdout
    assert (
        f"Manifest {rel} INVALID: files_removed[0] path {TRAVERSAL!r} is not normalised "
        "(empty, '.' or '..' segment): forged or corrupted"
    ) in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1].startswith("1/2 manifests valid, 1/1 files valid")
    # the next writer's recovery refuses the manifest: exit 1, the file outside is still there
    source = tmp_path / "more.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in day_events(date(2025, 1, 2))))
    ingest = kanalytics_cli("ingest", str(source), "--archive", str(archive.root), "--cluster", "c1")
    assert ingest.returncode == 1, ingest.stderr
    assert f"{rel}: refusing this manifest: files_removed[0] path {TRAVERSAL!r}" in ingest.stderr
    assert "Traceback" not in ingest.stderr
    assert victim.read_text() == "not the archive's to delete\n"


def test_forged_path_is_refused_with_signing_and_verify_keys_configured(tmp_path: Path) -> None:
    private, public = signing.generate_keypair(tmp_path / "keys")
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)
    victim = victim_outside(tmp_path)
    forge(archive, "compact", removed=[FileEntry(TRAVERSAL, "0" * 64, 28)])
    env = {signing.SIGNING_KEY_ENV: str(private), signing.VERIFY_KEY_ENV: str(public)}
    assert kanalytics_cli("verify", "--archive", str(archive.root), env=env).returncode == 1
    source = tmp_path / "more.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in day_events(date(2025, 1, 2))))
    ingest = kanalytics_cli("ingest", str(source), "--archive", str(archive.root), "--cluster", "c1", env=env)
    assert ingest.returncode == 1 and "refusing this manifest" in ingest.stderr
    assert victim.exists()


def test_forged_files_added_is_not_hashed_and_retention_deletes_nothing(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    victim = victim_outside(tmp_path)
    rel = forge(archive, "ingest", added=[FileEntry(TRAVERSAL, "0" * 64, victim.stat().st_size, rows=1)])
    report = verify_archive(archive.layout)
    assert not report.ok
    assert [p.line() for p in report.problems] == [
        f"Manifest {rel} INVALID: files_added[0] path {TRAVERSAL!r} is not normalised "
        "(empty, '.' or '..' segment): forged or corrupted"
    ]
    assert (report.files_total, report.files_valid) == (1, 1)  # the genuine file only: the victim is not read
    with pytest.raises(ArchiveError, match="refusing this manifest: files_added\\[0\\]"):
        apply_retention(archive.layout, settings(keep_days=10), today=date(2025, 3, 1))
    assert victim.exists()
    with pytest.raises(ArchiveError, match="refusing this manifest"):
        archive.sql("SELECT count(*) AS n FROM events")  # readers do not guess which files are committed


def test_symlink_escape_is_a_verify_failure_and_no_writer_follows_it(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    partition = archive.root / "events/cluster=c1/date=2025-01-01"
    outside = tmp_path / "outside"
    partition.rename(outside)
    partition.symlink_to(outside, target_is_directory=True)
    (name,) = [p.name for p in outside.iterdir()]
    report = verify_archive(archive.layout)
    assert [p.line() for p in report.problems] == [
        f"File events/cluster=c1/date=2025-01-01/{name} INVALID: leads outside the archive through a symlink",
        "File events/cluster=c1/date=2025-01-01 INVALID: a symlink in no manifest (unexpected file)",
    ]
    with pytest.raises(ArchiveError, match=r"leads outside .* through a symlink"):
        apply_retention(archive.layout, settings(keep_days=10), today=date(2025, 3, 1))
    with pytest.raises(ArchiveError, match="through a symlink"):
        archive.sql("SELECT count(*) AS n FROM events")
    assert (outside / name).exists()


def test_forged_hold_is_invalid_and_not_trusted(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1)])
    rel = forge(archive, "hold-add", details={"id": "H1", "cluster": "../../x", "from": "2025-01-01",
                                             "to": "2025-01-02", "reason": "r", "owner": "o"})  # fmt: skip
    report = verify_archive(archive.layout)
    assert [p.line() for p in report.problems] == [
        f"Manifest {rel} INVALID: hold-add H1 has invalid details (invalid cluster name '../../x'): "
        "forged or corrupted"
    ]
    with pytest.raises(ArchiveError, match=r"0000000002\.json: hold-add H1 has invalid details"):
        list_holds(archive.layout)


def test_recovery_refuses_an_unsigned_manifest_when_a_verify_key_is_configured(tmp_path: Path) -> None:
    private, public = signing.generate_keypair(tmp_path / "keys")
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1), date(2025, 1, 2)])
    genuine = last_manifest(archive.layout)
    assert genuine is not None
    target = genuine.files_added[0]
    # Well-formed, well-linked, safe paths: only its missing signature gives it away.
    rel = forge(archive, "retention-delete", removed=[target])
    os.environ.pop(signing.SIGNING_KEY_ENV, None)
    os.environ.pop(signing.VERIFY_KEY_ENV, None)
    os.environ[signing.VERIFY_KEY_ENV] = str(public)
    with pytest.raises(IntegrityError) as caught:
        archive.ingest_events(day_events(date(2025, 1, 3)), cluster="c1")
    assert caught.value.message == (
        f"{rel}: refusing to act on this manifest: it is not signed "
        f"(verify key {signing.fingerprint(signing.load_public_key(public))}); nothing was renamed or deleted"
    )
    assert caught.value.exit_code == 1
    assert archive.layout.path(target.path).exists()
    # A forged signature fails the same way.
    archive.layout.manifest_file(2).with_suffix(".sig").write_bytes(
        archive.layout.manifest_file(1).with_suffix(".sig").read_bytes()
    )
    with pytest.raises(IntegrityError, match="signature is for another manifest"):
        archive.ingest_events([], cluster="c1")
    assert archive.layout.path(target.path).exists()


def test_without_a_verify_key_an_appended_deletion_passes_so_verify_says_so(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "a", [date(2025, 1, 1), date(2025, 1, 2)])
    genuine = last_manifest(archive.layout)
    assert genuine is not None
    forge(archive, "retention-delete", removed=[genuine.files_added[0]])
    result = kanalytics_cli("verify", "--archive", str(archive.root))
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and f"note: {UNSIGNED_NOTE}" in lines
    assert lines[-1] == "2/2 manifests valid, 1/1 files valid; deleted by policy: 1 file (2025-01-01)"


def test_signed_archive_has_no_unsigned_note(tmp_path: Path) -> None:
    private, public = signing.generate_keypair(tmp_path / "keys")
    os.environ[signing.SIGNING_KEY_ENV] = str(private)  # open_archive loads it
    archive = kanalytics.open_archive(tmp_path / "a")
    archive.ingest_events(day_events(date(2025, 1, 1)), cluster="c1")
    report = verify_archive(archive.layout, public_key=signing.load_public_key(public))
    assert report.ok and report.notes == []
