"""The manifest chain: every change to the archive appends `_manifests/<seq>.json`, linked by SHA-256.

A manifest records the files it added and removed (path, SHA-256, bytes, rows, time range), the operation
and its details, and the hash of the previous manifest. Writing the manifest is the commit point of every
change: data files are written under hidden temporary names first, the manifest is renamed into place, then
the data files are renamed to their final names. `recover` finishes or rolls back an interrupted change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from kanalytics.archive.fsutil import atomic_write_bytes, fsync_dir
from kanalytics.archive.layout import TMP_PREFIX, TMP_SUFFIX, Layout
from kanalytics.errors import ArchiveError

MANIFEST_FORMAT = "kanalytics.manifest"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class FileEntry:
    """One file added to (or removed from) the archive."""

    path: str
    sha256: str
    bytes: int
    kind: str = "events"  # events | quarantine
    rows: int = 0
    min_ts: str | None = None
    max_ts: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileEntry:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class Manifest:
    seq: int
    created_at: str
    operation: str
    prev_sha256: str | None
    files_added: list[FileEntry] = field(default_factory=list)
    files_removed: list[FileEntry] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # hash of the manifest file's bytes, filled when read or written

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "seq": self.seq,
            "created_at": self.created_at,
            "operation": self.operation,
            "prev_sha256": self.prev_sha256,
            "files_added": [f.to_json() for f in self.files_added],
            "files_removed": [f.to_json() for f in self.files_removed],
            "details": self.details,
        }

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> Manifest:
        try:
            raw = orjson.loads(data)
            if raw.get("format") != MANIFEST_FORMAT:
                raise ValueError("not a kanalytics manifest")
            return cls(
                seq=int(raw["seq"]),
                created_at=str(raw["created_at"]),
                operation=str(raw["operation"]),
                prev_sha256=raw.get("prev_sha256"),
                files_added=[FileEntry.from_json(f) for f in raw.get("files_added", [])],
                files_removed=[FileEntry.from_json(f) for f in raw.get("files_removed", [])],
                details=dict(raw.get("details", {})),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArchiveError(f"{origin}: unreadable manifest: {exc}") from None


def encode(manifest: Manifest) -> bytes:
    return orjson.dumps(manifest.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def manifest_paths(layout: Layout) -> list[Path]:
    if not layout.manifests.is_dir():
        return []
    return sorted(p for p in layout.manifests.glob("*.json") if not p.name.startswith(TMP_PREFIX))


def iter_manifests(layout: Layout) -> Iterator[Manifest]:
    for path in manifest_paths(layout):
        yield Manifest.from_bytes(path.read_bytes(), str(path))


def last_manifest(layout: Layout) -> Manifest | None:
    paths = manifest_paths(layout)
    return Manifest.from_bytes(paths[-1].read_bytes(), str(paths[-1])) if paths else None


def append_manifest(
    layout: Layout,
    operation: str,
    *,
    added: Iterable[FileEntry] = (),
    removed: Iterable[FileEntry] = (),
    details: dict[str, Any] | None = None,
) -> Manifest:
    """Commit a change: write the next manifest atomically. Call with the writer lock held."""
    previous = last_manifest(layout)
    manifest = Manifest(
        seq=(previous.seq + 1) if previous else 1,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        operation=operation,
        prev_sha256=previous.sha256 if previous else None,
        files_added=list(added),
        files_removed=list(removed),
        details=details or {},
    )
    data = encode(manifest)
    _sign(layout, manifest.seq, data)
    atomic_write_bytes(layout.manifest_file(manifest.seq), data)
    return Manifest(**{**manifest.__dict__, "sha256": hashlib.sha256(data).hexdigest()})


def signature_file(layout: Layout, seq: int) -> Path:
    """The detached Ed25519 signature of manifest `seq` (see kanalytics.archive.signing)."""
    return layout.manifests / f"{seq:010d}.sig"


def _sign(layout: Layout, seq: int, data: bytes) -> None:
    """Write the signature before the manifest, so a kill never leaves a committed but unsigned manifest.

    A kill between the two leaves a signature for a seq that has no manifest yet; the next commit overwrites
    it and verify ignores it.
    """
    from kanalytics.archive import signing  # cryptography is imported only by writers that sign

    key = signing.current_signer()
    if key is not None:
        sig = signing.signature_bytes(key, seq, hashlib.sha256(data).hexdigest())
        atomic_write_bytes(signature_file(layout, seq), sig)


def publish(layout: Layout, relpaths: Iterable[str]) -> None:
    """Move committed files from their temporary names to their final names."""
    directories: set[Path] = set()
    for relpath in relpaths:
        tmp, final = layout.tmp_path(relpath), layout.path(relpath)
        if tmp.exists():
            os.replace(tmp, final)
            directories.add(final.parent)
    for directory in directories:
        fsync_dir(directory)


def recover(layout: Layout) -> dict[str, int]:
    """Finish what the last manifest committed and delete uncommitted temporary files. Needs the lock."""
    last = last_manifest(layout)
    committed = {f.path for f in last.files_added} if last else set()
    rolled_forward = rolled_back = 0
    for tmp in _temporary_files(layout):
        relpath = (
            tmp.relative_to(layout.root).with_name(tmp.name[len(TMP_PREFIX) : -len(TMP_SUFFIX)]).as_posix()
        )
        if relpath in committed and not layout.path(relpath).exists():
            os.replace(tmp, layout.path(relpath))
            rolled_forward += 1
        else:
            tmp.unlink()
            rolled_back += 1
    if last:
        # Files removed by the last change (compaction, retention) may still be present if it was killed.
        for entry in last.files_removed:
            path = layout.path(entry.path)
            if path.exists():
                path.unlink()
    return {"rolled_forward": rolled_forward, "rolled_back": rolled_back}


def _temporary_files(layout: Layout) -> Iterator[Path]:
    for top in (layout.events, layout.quarantine, layout.manifests):
        if top.is_dir():
            yield from (p for p in top.rglob(f"{TMP_PREFIX}*{TMP_SUFFIX}") if p.is_file())
