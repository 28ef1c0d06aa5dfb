"""The committed state: the replay of the manifest chain, which files are live and which were removed and why.

Writers, readers and `verify` all take the archive's file set from here, never from a directory listing, so
a file copied into a partition is not read and a file a change removed is not counted. Readers use
`snapshot`, cached per process and extended manifest by manifest as the chain grows.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kanalytics.archive.layout import TMP_PREFIX, Layout, Partition, check_relpath
from kanalytics.archive.manifest import FileEntry, Manifest, manifest_names, manifest_paths, read_manifest
from kanalytics.errors import ArchiveError
from kanalytics.vocabulary import RETENTION_OPERATION


@dataclass
class ChainState:
    """The replay of a manifest chain: which files are live, and which were removed and why."""

    manifests: list[Manifest] = field(default_factory=list)
    live: dict[str, tuple[FileEntry, int]] = field(default_factory=dict)
    deleted_by_policy: dict[str, tuple[FileEntry, int]] = field(default_factory=dict)
    superseded: dict[str, tuple[FileEntry, int]] = field(default_factory=dict)
    # live event files by partition, kept up to date by `apply`, so pruning a month never scans a year
    partitions: dict[Partition, dict[str, FileEntry]] = field(default_factory=dict)
    # live findings files (stored detection results) by partition, the same way; never read as events
    findings: dict[Partition, dict[str, FileEntry]] = field(default_factory=dict)

    def apply(self, manifest: Manifest) -> None:
        self.manifests.append(manifest)
        for entry in manifest.files_removed:
            if self.live.pop(entry.path, None) is not None:
                self._index(entry, add=False)
            target = self.deleted_by_policy if manifest.operation == RETENTION_OPERATION else self.superseded
            target[entry.path] = (entry, manifest.seq)
        for entry in manifest.files_added:
            if entry.path in self.live:
                self._index(self.live[entry.path][0], add=False)
            self.live[entry.path] = (entry, manifest.seq)
            self._index(entry, add=True)
            self.superseded.pop(entry.path, None)
            self.deleted_by_policy.pop(entry.path, None)

    def _index(self, entry: FileEntry, *, add: bool) -> None:
        index = {"events": self.partitions, "findings": self.findings}.get(entry.kind)
        partition = Partition.from_relpath(entry.path, entry.kind) if index is not None else None
        if index is None or partition is None:
            return
        files = index.setdefault(partition, {})
        if add:
            files[entry.path] = entry
        else:
            files.pop(entry.path, None)
            if not files:
                del index[partition]

    def copy(self) -> ChainState:
        return ChainState(
            list(self.manifests),
            dict(self.live),
            dict(self.deleted_by_policy),
            dict(self.superseded),
            {p: dict(files) for p, files in self.partitions.items()},
            {p: dict(files) for p, files in self.findings.items()},
        )

    def live_by_partition(self) -> dict[Partition, list[FileEntry]]:
        """The live events files of each partition, in partition and path order."""
        return _sorted_index(self.partitions)

    def findings_by_partition(self) -> dict[Partition, list[FileEntry]]:
        """The live findings files of each partition, in partition and path order."""
        return _sorted_index(self.findings)

    @property
    def last(self) -> Manifest | None:
        return self.manifests[-1] if self.manifests else None


def _sorted_index(index: dict[Partition, dict[str, FileEntry]]) -> dict[Partition, list[FileEntry]]:
    return {p: [files[k] for k in sorted(files)] for p, files in sorted(index.items())}


def replay(layout: Layout) -> ChainState:
    """Replay the chain as written, fresh from disk: the writers' view of the archive.

    Every path is checked while the manifests are parsed; a manifest naming an unsafe path raises.
    """
    state = ChainState()
    for name in manifest_names(layout):
        state.apply(read_manifest(layout, name))
    return state


# -- readers: a per-process snapshot, keyed on the newest manifest ------------------------------------------
@dataclass
class _Cached:
    names: list[str]
    newest: tuple[int, int, int]  # (inode, mtime_ns, size) of the newest manifest
    state: ChainState


_cache: dict[Path, _Cached] = {}
_cache_lock = threading.Lock()


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def snapshot(layout: Layout) -> ChainState:
    """The committed state now, for readers (do not modify it). Thousands of manifests are parsed once per
    process; later calls list the folder, stat the newest manifest and parse only what was appended (on an
    object store: list `_manifests/` only after the newest name known, never `events/`)."""
    if layout.remote:
        return _remote_snapshot(layout)
    paths = manifest_paths(layout)
    key = layout.root.resolve()
    if not paths:
        _cache.pop(key, None)
        return ChainState()
    names = [p.name for p in paths]
    newest = _stat_key(paths[-1])
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached.names == names and cached.newest == newest:
        return cached.state
    count = len(cached.names) if cached is not None else 0
    if (
        cached is not None
        and 0 < count < len(names)
        and names[:count] == cached.names
        and _stat_key(paths[count - 1]) == cached.newest
    ):
        state = cached.state.copy()
        appended = paths[count:]
    else:
        state, appended = ChainState(), paths
    for path in appended:
        state.apply(Manifest.from_bytes(path.read_bytes(), str(path)))
    with _cache_lock:
        _cache[key] = _Cached(names, newest, state)
    return state


_remote_cache: dict[str, tuple[list[str], ChainState]] = {}


def _remote_snapshot(layout: Layout) -> ChainState:
    """Committed manifests are created once (conditional put) and never rewritten by the archive, so the
    cached replay is extended by what a LIST after the newest known name returns."""
    key = layout.url
    with _cache_lock:
        cached = _remote_cache.get(key)
    known, state = cached if cached is not None else ([], ChainState())
    appended = manifest_names(layout, after=known[-1] if known else None)
    if not appended:
        return state
    state = state.copy()
    for name in appended:
        state.apply(read_manifest(layout, name))
    with _cache_lock:
        _remote_cache[key] = ([*known, *appended], state)
    return state


def committed_seq(layout: Layout) -> int:
    """The seq of the last committed manifest (0 for an empty archive): what "the changes after this one"
    (evaluation at commit) is measured from."""
    last = snapshot(layout).last
    return last.seq if last else 0


def readable_path(layout: Layout, entry: FileEntry | str) -> Path:
    """Where a committed file (an entry, or its relative path) can be read: its final name, or its temporary
    name while a killed change waits for the next writer to rename it (the manifest committed it already)."""
    if layout.remote:
        return _fetched(layout, entry)
    relpath = entry if isinstance(entry, str) else entry.path
    final = layout.path(relpath)
    if not final.exists():
        tmp = layout.tmp_path(relpath)
        if tmp.exists():
            return tmp
    return final


def _fetched(layout: Layout, entry: FileEntry | str) -> Path:
    """A verified local copy of a committed object (kanalytics.archive.s3.S3Storage.fetch)."""
    from kanalytics.archive import s3

    if isinstance(entry, str):
        live = snapshot(layout).live.get(check_relpath(entry))
        if live is None:
            raise ArchiveError(
                f"{layout.url}: {entry} is not a committed file",
                hint="the archive changed while it was read; run the command again",
            )
        entry = live[0]
    assert isinstance(layout.storage, s3.S3Storage)
    return layout.storage.fetch(check_relpath(entry.path, entry.kind), entry.sha256, entry.bytes)


def committed_entries(
    state: ChainState,
    first: date | None = None,
    last: date | None = None,
    clusters: Sequence[str] | None = None,
) -> list[tuple[Partition, list[FileEntry]]]:
    """The committed events file entries per partition (pruned like `committed_files`), in partition order."""
    chosen: list[tuple[Partition, list[FileEntry]]] = []
    for partition, files in sorted(state.partitions.items()):
        if clusters and partition.cluster not in clusters:
            continue
        if (first and partition.date < first) or (last and partition.date > last):
            continue
        chosen.append((partition, [files[k] for k in sorted(files)]))
    return chosen


def committed_files(
    layout: Layout,
    state: ChainState,
    first: date | None = None,
    last: date | None = None,
    clusters: Sequence[str] | None = None,
) -> list[tuple[Partition, list[Path]]]:
    """The committed event files per partition (pruned to [first, last] and `clusters`), in partition order."""
    return [
        (partition, [readable_path(layout, e) for e in entries])
        for partition, entries in committed_entries(state, first, last, clusters)
    ]


def partition_paths(layout: Layout, partition: Partition) -> list[Path]:
    """The committed files of one partition now (ingest's dedupe reads these, never a folder listing)."""
    state = snapshot(layout)
    found = committed_files(layout, state, partition.date, partition.date, [partition.cluster])
    return found[0][1] if found else []


def check_committed(layout: Layout, state: ChainState) -> None:
    """Refuse an archive whose events no manifest commits (`_manifests/` missing or emptied): reading the
    folders instead would read whatever anyone copied there."""
    if state.manifests or layout.remote or not layout.events.is_dir():
        return  # an object store is never listed under events/ (readers name committed keys only)
    stray = next((p for p in layout.events.rglob("*.parquet") if not p.name.startswith(TMP_PREFIX)), None)
    if stray is not None:
        raise ArchiveError(
            f"{layout.root}: events/ holds data files (e.g. {stray.relative_to(layout.root).as_posix()}) but "
            "no manifest commits them, so nothing can be read as archived",
            hint="restore _manifests/ from a backup, or re-ingest the original audit logs into a new archive; "
            "`kanalytics verify` lists the files",
        )


def utc_day(value: datetime | None) -> date | None:
    return value.astimezone(UTC).date() if value is not None else None


__all__ = [
    "RETENTION_OPERATION",
    "ChainState",
    "check_committed",
    "committed_entries",
    "committed_files",
    "committed_seq",
    "partition_paths",
    "readable_path",
    "replay",
    "snapshot",
]
