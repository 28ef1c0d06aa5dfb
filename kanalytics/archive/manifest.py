"""The manifest chain: every change to the archive appends `_manifests/<seq>.json`, linked by SHA-256.

A manifest records the files it added and removed (path, SHA-256, bytes, rows, time range), the operation
and its details, and the hash of the previous manifest. Writing the manifest is the commit point of every
change: data files are written under hidden temporary names first, the manifest is renamed into place, then
the data files are renamed to their final names. `recover` finishes or rolls back an interrupted change.

Files a change removes are deleted only when no reader holds the readers lock (see `lock.readers_idle`):
a reader that resolved the previous state keeps finding its files until it is done, and the next writer
run deletes what was left. Every path a manifest names is checked when it is parsed (`layout.check_relpath`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from kanalytics.archive.fsutil import atomic_write_bytes, fsync_dir
from kanalytics.archive.layout import (
    MANIFESTS_DIR,
    PURGED_FILE,
    STATE_DIR,
    TMP_PREFIX,
    TMP_SUFFIX,
    Layout,
    relpath_problem,
)
from kanalytics.archive.lock import readers_idle
from kanalytics.errors import ArchiveError, ArchiveLockedError, IntegrityError
from kanalytics.vocabulary import Operation

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kanalytics.archive.signing import Keys

MANIFEST_FORMAT = "kanalytics.manifest"
MANIFEST_VERSION = 1
PURGED_KEY = f"{STATE_DIR}/{PURGED_FILE}"


@dataclass(frozen=True)
class FileEntry:
    """One file added to (or removed from) the archive."""

    path: str
    sha256: str
    bytes: int
    kind: str = "events"  # events | quarantine | findings | dispositions (layout.KIND_DIRS)
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
    def from_bytes(cls, data: bytes, origin: str, *, check_paths: bool = True) -> Manifest:
        """Parse a manifest; with `check_paths` (every writer and reader) refuse one naming an unsafe path."""
        try:
            raw = orjson.loads(data)
            if raw.get("format") != MANIFEST_FORMAT:
                raise ValueError("not a kanalytics manifest")
            manifest = cls(
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
        problems = entry_problems(manifest) if check_paths else []
        if problems:
            raise ArchiveError(
                f"{origin}: refusing this manifest: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                hint="it was forged or corrupted; nothing was read or changed. Run `kanalytics verify`, "
                "then restore the archive (or at least _manifests/) from a backup",
            )
        return manifest

    def without_unsafe_entries(self) -> Manifest:
        """The manifest with only the entries `entry_problems` accepts (verify goes on checking the rest)."""
        keep = [e for e in self.files_added if _entry_problem(e) is None]
        drop = [e for e in self.files_removed if _entry_problem(e) is None]
        return Manifest(**{**self.__dict__, "files_added": keep, "files_removed": drop})


def _entry_problem(entry: FileEntry) -> str | None:
    if not isinstance(entry.kind, str):
        return "has no valid kind"
    problem = relpath_problem(entry.path, entry.kind)
    if problem is not None:
        return problem
    if (
        not isinstance(entry.sha256, str)
        or not isinstance(entry.bytes, int)
        or not isinstance(entry.rows, int)
    ):
        return "has no valid sha256, bytes or rows"
    return None


def entry_problems(manifest: Manifest) -> list[str]:
    """Every files_added/files_removed entry whose path or fields cannot be trusted, as one line each."""
    found = []
    for name, entries in (("files_added", manifest.files_added), ("files_removed", manifest.files_removed)):
        for index, entry in enumerate(entries):
            problem = _entry_problem(entry)
            if problem is not None:
                found.append(f"{name}[{index}] path {entry.path!r} {problem}")
    return found


def encode(manifest: Manifest) -> bytes:
    return orjson.dumps(manifest.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def manifest_names(layout: Layout, after: str | None = None) -> list[str]:
    """The names (`0000000001.json`) of the committed manifests in sequence order, after `after` if given:
    on an object store one LIST of `_manifests/` from `after` on, so a reader that knows the chain up to
    some seq pays only for what was appended since."""
    if not layout.remote:
        names = [p.name for p in manifest_paths(layout)]
        return [n for n in names if after is None or n > after]
    start = f"{MANIFESTS_DIR}/{after}" if after is not None else None
    keys = layout.storage.list(MANIFESTS_DIR, start_after=start)
    names = [k.rsplit("/", 1)[1] for k in keys]
    return [n for n in names if n.endswith(".json") and not n.startswith(TMP_PREFIX) and "/" not in n]


def read_manifest(layout: Layout, name: str) -> Manifest:
    """Parse the committed manifest `name` (from `manifest_names`)."""
    if not layout.remote:
        path = layout.manifests / name
        return Manifest.from_bytes(path.read_bytes(), str(path))
    key = f"{MANIFESTS_DIR}/{name}"
    return Manifest.from_bytes(layout.storage.read_bytes(key), layout.storage.url(key))


def manifest_paths(layout: Layout) -> list[Path]:
    """The committed manifests in sequence order (zero-padded names sort as numbers); local archives only
    (`manifest_names` works on both)."""
    try:
        with os.scandir(layout.manifests) as entries:
            names = sorted(
                e.name for e in entries if e.name.endswith(".json") and not e.name.startswith(TMP_PREFIX)
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [layout.manifests / name for name in names]


def iter_manifests(layout: Layout) -> Iterator[Manifest]:
    for name in manifest_names(layout):
        yield read_manifest(layout, name)


def last_manifest(layout: Layout) -> Manifest | None:
    names = manifest_names(layout)
    return read_manifest(layout, names[-1]) if names else None


def append_manifest(
    layout: Layout,
    operation: Operation,
    *,
    added: Iterable[FileEntry] = (),
    removed: Iterable[FileEntry] = (),
    details: dict[str, Any] | None = None,
    keys: Keys | None = None,
) -> Manifest:
    """Commit a change: write the next manifest atomically (signed by `keys.signer`, if any). Call with the
    writer lock held."""
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
    if layout.remote:
        return _append_remote(layout, manifest, data, keys)
    try:
        _sign(layout, manifest.seq, data, keys.signer if keys else None)
        atomic_write_bytes(layout.manifest_file(manifest.seq), data)
    except BaseException:
        if not layout.manifest_file(manifest.seq).exists():  # not committed: roll the change back now
            with contextlib.suppress(OSError):  # a read-only disk refuses even this; report the cause
                for entry in manifest.files_added:
                    layout.tmp_path(entry.path).unlink(missing_ok=True)
                signature_file(layout, manifest.seq).unlink(missing_ok=True)
        raise
    return Manifest(**{**manifest.__dict__, "sha256": hashlib.sha256(data).hexdigest()})


def _append_remote(layout: Layout, manifest: Manifest, data: bytes, keys: Keys | None) -> Manifest:
    """Commit on an object store: upload the staged files under their final (unique, not yet named by any
    manifest, so invisible) keys, then create the manifest with a conditional put: of two writers racing
    for the same seq exactly one wins; the loser's uploads are deleted and it raises."""
    uploaded: list[str] = []
    storage = layout.storage
    try:
        for entry in manifest.files_added:
            staged = layout.tmp_path(entry.path)
            if staged.is_file():
                storage.upload(staged, entry.path)
                uploaded.append(entry.path)
        key = layout.manifest_key(manifest.seq)
        signer = keys.signer if keys else None
        if signer is not None:
            from kanalytics.archive import signing

            sig = signing.signature_bytes(signer, manifest.seq, hashlib.sha256(data).hexdigest())
            storage.write_bytes(signature_key(manifest.seq), sig)
        if not storage.put_if_absent(key, data):
            raise ArchiveLockedError(
                f"{storage.url(key)}: another writer committed manifest seq {manifest.seq} first; "
                "nothing of this change was committed",
                hint="two writers raced for the archive (a writer whose lease expired?); run the command again",
            )
    except BaseException:
        with contextlib.suppress(Exception):  # the original error is the one to report
            for relpath in uploaded:
                storage.delete(relpath)
        raise
    return Manifest(**{**manifest.__dict__, "sha256": hashlib.sha256(data).hexdigest()})


def signature_key(seq: int) -> str:
    return f"{MANIFESTS_DIR}/{seq:010d}.sig"


def read_signature(layout: Layout, seq: int) -> bytes | None:
    """The detached signature of manifest `seq`, or None when there is none."""
    try:
        if layout.remote:
            return layout.storage.read_bytes(signature_key(seq))
        return signature_file(layout, seq).read_bytes()
    except FileNotFoundError:
        return None


def signature_file(layout: Layout, seq: int) -> Path:
    """The detached Ed25519 signature of manifest `seq` (see kanalytics.archive.signing)."""
    return layout.manifests / f"{seq:010d}.sig"


def _sign(layout: Layout, seq: int, data: bytes, key: Ed25519PrivateKey | None) -> None:
    """Write the signature before the manifest, so a kill never leaves a committed but unsigned manifest.

    A kill between the two leaves a signature for a seq that has no manifest yet; the next commit overwrites
    it and verify ignores it.
    """
    if key is not None:
        from kanalytics.archive import signing  # cryptography is imported only by writers that sign

        sig = signing.signature_bytes(key, seq, hashlib.sha256(data).hexdigest())
        atomic_write_bytes(signature_file(layout, seq), sig)


def publish(layout: Layout, relpaths: Iterable[str]) -> None:
    """Give committed files their final names.

    While readers are active the final name is a hard link and the temporary name stays, since a reader
    that resolved the commit before the rename may open the file by it; the next writer removes it.
    """
    if layout.remote:  # uploaded under the final keys before the commit: drop the staged copies
        for relpath in relpaths:
            layout.tmp_path(relpath).unlink(missing_ok=True)
        return
    directories: set[Path] = set()
    with readers_idle(layout) as idle:
        for relpath in relpaths:
            tmp, final = layout.tmp_path(relpath), layout.path(relpath)
            if tmp.exists():
                _give_final_name(tmp, final, keep_tmp=not idle)
                directories.add(final.parent)
    for directory in directories:
        fsync_dir(directory)


def _give_final_name(tmp: Path, final: Path, *, keep_tmp: bool) -> None:
    if keep_tmp:
        try:
            os.link(tmp, final)
            return
        except FileExistsError:
            return  # published already
        except OSError:
            pass  # no hard links on this file system: rename (a reader in flight may miss the file)
    os.replace(tmp, final)


@dataclass
class _Purge:
    """Files that committed manifests removed and that are still on disk, and the manifests that say so."""

    files: list[Path] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)  # temporary names of published files
    manifests: list[Manifest] = field(default_factory=list)
    through: int = 0  # every removal up to this seq is gone once `files` are


def recover(layout: Layout, *, keys: Keys | None = None) -> dict[str, int]:
    """Finish or roll back an interrupted change, and delete what committed changes removed once no reader can
    still need it. Needs the writer lock.

    With a verify key (`keys.verifier`), it acts on no manifest whose signature
    does not verify: it raises before renaming or deleting anything.

    On an object store nothing is half-committed (files are staged locally and uploaded before the manifest
    put), so only the deletions of removed files remain, after their grace period.
    """
    if layout.remote:
        deleted, deferred = _purge_remote(layout, keys, None, None)
        return {"rolled_forward": 0, "rolled_back": 0, "deleted": deleted, "deferred": deferred}
    last = last_manifest(layout)
    committed = {f.path for f in last.files_added} if last else set()
    forward: list[str] = []
    back: list[Path] = []
    leftovers: list[Path] = []
    for tmp in _temporary_files(layout):
        relpath = _final_relpath(layout, tmp)
        if relpath is None:
            back.append(tmp)
        elif layout.path(relpath).exists():
            leftovers.append(tmp)
        elif relpath in committed:
            forward.append(relpath)
        else:
            back.append(tmp)
    purge = _plan_purge(layout, leftovers)
    _require_verified(layout, ([last] if forward and last else []) + purge.manifests, keys)
    for tmp in back:
        tmp.unlink(missing_ok=True)
    publish(layout, forward)
    deleted, deferred = _purge(layout, purge)
    return {
        "rolled_forward": len(forward),
        "rolled_back": len(back),
        "deleted": deleted,
        "deferred": deferred,
    }


def purge_removed(
    layout: Layout,
    *,
    trusted: Manifest | None = None,
    on_delete: Callable[[], None] | None = None,
    keys: Keys | None = None,
) -> int:
    """Delete the files committed manifests removed, if no reader holds the readers lock; returns how many
    are left for a later writer run (0 when all are gone). `trusted`: the manifest this process just wrote.

    On an object store (no readers lock) a removed file is deleted only once the manifest that removed it is
    older than the grace period (`delete_grace_seconds`, KANALYTICS_S3_DELETE_GRACE, default 1 h), so a
    reader that resolved the old state keeps finding its files; `grace_seconds=0` purges now (an explicit
    purge). Verify reports the files as deleted by policy or superseded either way."""
    if layout.remote:
        return _purge_remote(layout, keys, trusted, on_delete)[1]
    purge = _plan_purge(layout, [])
    _require_verified(
        layout, [m for m in purge.manifests if trusted is None or m.sha256 != trusted.sha256], keys
    )
    return _purge(layout, purge, on_delete)[1]


def _purge_remote(
    layout: Layout, keys: Keys | None, trusted: Manifest | None, on_delete: Callable[[], None] | None
) -> tuple[int, int]:
    """(deleted, deferred) on an object store: removals older than the grace period are deleted."""
    mark = _purged_through(layout)
    chain = [read_manifest(layout, n) for n in manifest_names(layout, after=f"{mark:010d}.json")]
    now = datetime.now(UTC)
    grace = layout.delete_grace_seconds
    added_later: set[str] = set()
    due: list[tuple[Manifest, list[str]]] = []
    deferred = 0
    through = mark
    blocked = False
    for manifest in reversed(chain):
        removed = [e.path for e in manifest.files_removed if e.path not in added_later]
        added_later.update(e.path for e in manifest.files_added)
        if removed:
            due.append((manifest, removed))
    ripe: list[tuple[Manifest, list[str]]] = []
    for manifest, removed in reversed(due):
        age = (now - datetime.fromisoformat(manifest.created_at.replace("Z", "+00:00"))).total_seconds()
        if age >= grace:
            ripe.append((manifest, removed))
        else:
            deferred += len(removed)
    for manifest in chain:  # the bookmark advances only past manifests whose removals are all gone
        if any(m.seq == manifest.seq for m, _ in due) and not any(m.seq == manifest.seq for m, _ in ripe):
            blocked = True
        if not blocked:
            through = manifest.seq
    _require_verified(layout, [m for m, _ in ripe if trusted is None or m.sha256 != trusted.sha256], keys)
    deleted = 0
    for _, removed in ripe:
        for relpath in removed:
            if layout.storage.size(relpath) is not None:
                layout.storage.delete(relpath)
                deleted += 1
                if on_delete:
                    on_delete()
    if through > mark:
        layout.storage.write_bytes(PURGED_KEY, f"{through}\n".encode())
    return deleted, deferred


def _plan_purge(layout: Layout, leftovers: list[Path]) -> _Purge:
    mark = _purged_through(layout)
    window = [p for p in manifest_paths(layout) if p.stem.isdigit() and int(p.stem) > mark]
    chain = [Manifest.from_bytes(p.read_bytes(), str(p)) for p in window]
    purge = _Purge(leftovers=leftovers, through=chain[-1].seq if chain else mark)
    added_later: set[str] = set()
    for manifest in reversed(chain):
        present = [
            layout.path(e.path)
            for e in manifest.files_removed
            if e.path not in added_later and os.path.lexists(layout.path(e.path))
        ]
        if present:
            purge.files += present
            purge.manifests.append(manifest)
        added_later.update(e.path for e in manifest.files_added)
    return purge


def _purge(layout: Layout, purge: _Purge, on_delete: Callable[[], None] | None = None) -> tuple[int, int]:
    """(deleted, deferred)."""
    if purge.files or purge.leftovers:
        with readers_idle(layout) as idle:
            if not idle:
                return 0, len(purge.files) + len(purge.leftovers)
            for path in [*purge.files, *purge.leftovers]:
                path.unlink(missing_ok=True)
                if on_delete:
                    on_delete()
        for directory in sorted({p.parent for p in purge.files}):
            _remove_if_empty(layout, directory)
    if purge.through > _purged_through(layout):
        atomic_write_bytes(layout.purged, f"{purge.through}\n".encode())
    return len(purge.files) + len(purge.leftovers), 0


def _remove_if_empty(layout: Layout, directory: Path) -> None:
    """A partition folder (of events or findings) that a change emptied goes too; one with other files stays."""
    if not directory.is_dir():
        return
    try:
        if directory.parent.parent not in (layout.events, layout.findings):
            raise OSError("not a partition folder")
        directory.rmdir()
    except OSError:
        fsync_dir(directory)
    else:
        fsync_dir(directory.parent)


def _purged_through(layout: Layout) -> int:
    try:
        if layout.remote:
            return int(layout.storage.read_bytes(PURGED_KEY).decode("ascii").strip())
        return int(layout.purged.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return 0


def _require_verified(layout: Layout, chain: Iterable[Manifest], keys: Keys | None) -> None:
    """Refuse to act on a manifest whose signature does not verify, when a verify key is given."""
    key = keys.verifier if keys else None
    if key is None:
        return
    from kanalytics.archive import signing

    for manifest in {m.seq: m for m in chain}.values():
        sig = read_signature(layout, manifest.seq)
        check = signing.check_signature(sig, key, manifest.seq, manifest.sha256) if sig is not None else None
        if check is None or not check.ok:
            rel = layout.manifest_key(manifest.seq)
            raise IntegrityError(
                f"{rel}: refusing to act on this manifest: "
                f"{'it is not signed' if check is None else check.message} "
                f"(verify key {signing.fingerprint(key)}); nothing was renamed or deleted",
                hint="run `kanalytics verify` with the same key to see what was changed; restore the "
                "archive from a backup, or remove the forged manifest once you have kept it as evidence",
            )


def _final_relpath(layout: Layout, tmp: Path) -> str | None:
    """The committed path a temporary file stands for, or None (a manifest's or an unsafe name)."""
    name = tmp.name
    if len(name) <= len(TMP_PREFIX) + len(TMP_SUFFIX):
        return None
    relpath = tmp.relative_to(layout.root).with_name(name[len(TMP_PREFIX) : -len(TMP_SUFFIX)]).as_posix()
    if relpath_problem(relpath) is not None:
        return None
    try:
        layout.path(relpath)
    except ArchiveError:
        return None
    return relpath


def _temporary_files(layout: Layout) -> Iterator[Path]:
    for top in (layout.events, layout.findings, layout.quarantine, layout.dispositions, layout.manifests):
        if top.is_dir():
            yield from (p for p in top.rglob(f"{TMP_PREFIX}*{TMP_SUFFIX}") if p.is_file())
