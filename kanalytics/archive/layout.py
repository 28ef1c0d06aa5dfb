"""Where things live in an archive: every path is computed here and nowhere else."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import weakref
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kanalytics.archive.storage import Storage, storage_for
from kanalytics.errors import ArchiveError, UsageError

EVENTS_DIR = "events"
FINDINGS_DIR = "_findings"
DISPOSITIONS_DIR = "_dispositions"
MANIFESTS_DIR = "_manifests"
QUARANTINE_DIR = "_quarantine"
STATE_DIR = "_state"
LOCK_FILE = "writer.lock"
READERS_LOCK_FILE = "readers.lock"
PURGED_FILE = "purged-through"
DELETE_GRACE_ENV = "KANALYTICS_S3_DELETE_GRACE"
DEFAULT_DELETE_GRACE_SECONDS = 3600.0
TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"
# The folder each kind of committed file lives in: a manifest entry of another kind, or outside its folder,
# is forged or corrupted.
KIND_DIRS = {
    "events": EVENTS_DIR,
    "quarantine": QUARANTINE_DIR,
    "findings": FINDINGS_DIR,
    "dispositions": DISPOSITIONS_DIR,
}
# The kinds whose files live in `cluster=/date=` partitions: events, and the detection results about them.
PARTITIONED_KINDS = ("events", "findings")
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")

# \Z, not $: `$` also matches before a trailing newline, so "evil\n" would pass.
_CLUSTER_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_PARTITION = re.compile(r"\Acluster=(?P<cluster>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})\Z")
_FINDINGS_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.parquet\Z")


def manifest_name(seq: int) -> str:
    return f"{seq:010d}.json"


def check_cluster_name(name: str) -> str:
    if not _CLUSTER_NAME.match(name):
        raise UsageError(
            f"invalid cluster name {name!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 100 characters), starting with a letter or digit",
        )
    return name


def relpath_problem(relpath: object, kind: str | None = None) -> str | None:
    """Why `relpath` is not a safe path for a committed file (of `kind`, or of any kind), or None.

    The one check for every path read from a manifest: a normalised relative POSIX path, without empty, `.`
    or `..` segments, backslashes or control characters, under its kind's folder (events and findings files
    inside a `cluster=/date=` partition, findings files named `*.parquet`). Symlinks are checked on disk by
    `Layout.path`.
    """
    if not isinstance(relpath, str) or not relpath:
        return "is not a path"
    if _UNSAFE_CHARS.search(relpath):
        return "contains a backslash or a control character"
    if relpath.startswith("/"):
        return "is absolute"
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "is not normalised (empty, '.' or '..' segment)"
    kinds = [kind] if kind is not None else list(KIND_DIRS)
    if kind is not None and kind not in KIND_DIRS:
        return f"has an unknown kind {kind!r}"
    for candidate in kinds:
        top = KIND_DIRS[candidate]
        if candidate in PARTITIONED_KINDS:
            partition = Partition.from_relpath(relpath, candidate)
            if (
                len(parts) == 4
                and partition is not None
                and _CLUSTER_NAME.match(partition.cluster)
                and (candidate != "findings" or _FINDINGS_NAME.match(parts[3]))
            ):
                return None
        elif len(parts) == 2 and parts[0] == top:
            return None
    where = " or ".join(f"{KIND_DIRS[k]}/" for k in kinds)
    return f"is not a file directly under {where}" + (
        " inside a cluster=/date= partition" if any(k in PARTITIONED_KINDS for k in kinds) else ""
    )


def check_relpath(relpath: str, kind: str | None = None) -> str:
    """`relpath` when it is safe (see `relpath_problem`); otherwise an ArchiveError naming it."""
    problem = relpath_problem(relpath, kind)
    if problem is not None:
        raise ArchiveError(
            f"refusing the archive path {relpath!r}: it {problem}",
            hint="the manifest that names it was forged or corrupted; run `kanalytics verify`",
        )
    return relpath


@dataclass(frozen=True, order=True)
class Partition:
    """A (cluster, UTC date): the unit of events files, of the findings files about them, of holds and of
    retention."""

    cluster: str
    date: date

    @property
    def relpath(self) -> str:
        """The events folder of the partition."""
        return self.folder("events")

    @property
    def findings_relpath(self) -> str:
        """The folder of the partition's findings files (detection results about its events)."""
        return self.folder("findings")

    def folder(self, kind: str) -> str:
        return f"{KIND_DIRS[kind]}/cluster={self.cluster}/date={self.date.isoformat()}"

    @classmethod
    def from_relpath(cls, relpath: str, kind: str = "events") -> Partition | None:
        """Parse `events/cluster=c/date=d` (or `_findings/...` for kind "findings"), or a file under it; None
        when the path is not a partition of that kind."""
        parts = relpath.split("/")
        if len(parts) < 3 or kind not in PARTITIONED_KINDS or parts[0] != KIND_DIRS[kind]:
            return None
        match = _PARTITION.match("/".join(parts[1:3]))
        if not match:
            return None
        try:
            return cls(match["cluster"], date.fromisoformat(match["date"]))
        except ValueError:
            return None


def dated_partition(relpath: str) -> Partition | None:
    """The partition of an events or a findings path (what dates a file), or None (quarantine, manifests)."""
    for kind in PARTITIONED_KINDS:
        partition = Partition.from_relpath(relpath, kind)
        if partition is not None:
            return partition
    return None


class Layout:
    """The paths of one archive root, and the storage its bytes live in.

    On a local root, `root` is the folder and the Path properties are where files are. On an object store
    (`s3://bucket/prefix`), `root` is a private local staging folder where writers build files before they
    are uploaded under their final keys; the folder properties and `path` then refuse (code that needs a
    local folder must say so), and modules reach committed files by key through `storage`.
    """

    def __init__(self, root: Path | str, storage: Storage | None = None) -> None:
        self.storage: Storage = storage if storage is not None else storage_for(root)
        self.remote = self.storage.remote
        if self.remote:
            self.root = Path(tempfile.mkdtemp(prefix="kanalytics-staging-"))
            weakref.finalize(self, shutil.rmtree, self.root, True)
        else:
            self.root = Path(root)
        self._resolved_root: Path | None = None
        # Object stores have no readers lock: removed files wait this long before a writer deletes them.
        self.delete_grace_seconds = float(os.environ.get(DELETE_GRACE_ENV) or DEFAULT_DELETE_GRACE_SECONDS)

    @property
    def url(self) -> str:
        """The root as people and other engines name it (a folder or `s3://bucket/prefix`)."""
        return self.storage.url()

    def __str__(self) -> str:
        return self.url

    def require_local(self, what: str) -> None:
        """Refuse `what` on an object-store archive (it needs a local folder)."""
        if self.remote:
            raise UsageError(
                f"{what} needs a local archive folder; {self.url} is on an object store",
                hint="run it on a local copy of the archive, or use a command that supports s3:// archives "
                "(see docs/object-storage.md)",
            )

    def _local(self, relpath: str) -> Path:
        if self.remote:
            self.require_local(f"reaching {relpath} as a local file")
        return self.root / relpath

    @property
    def events(self) -> Path:
        return self._local(EVENTS_DIR)

    @property
    def findings(self) -> Path:
        return self._local(FINDINGS_DIR)

    @property
    def dispositions(self) -> Path:
        """Analysts' verdicts on findings and incidents (review evidence: retention never deletes them)."""
        return self._local(DISPOSITIONS_DIR)

    @property
    def manifests(self) -> Path:
        return self._local(MANIFESTS_DIR)

    @property
    def quarantine(self) -> Path:
        return self._local(QUARANTINE_DIR)

    @property
    def state(self) -> Path:
        return self._local(STATE_DIR)

    @property
    def lease_key(self) -> str:
        """The writer lease on an object store (there is no flock there)."""
        return f"{STATE_DIR}/writer.lease"

    @property
    def lock(self) -> Path:
        return self.state / LOCK_FILE

    @property
    def readers_lock(self) -> Path:
        """Readers hold it shared while they may open files; writers delete files only when no one does."""
        return self.state / READERS_LOCK_FILE

    @property
    def purged(self) -> Path:
        """The manifest seq through which every removed file is gone from disk (a writer's bookmark)."""
        return self.state / PURGED_FILE

    def partition_dir(self, partition: Partition) -> Path:
        return self._local(partition.relpath)

    def findings_dir(self, partition: Partition) -> Path:
        return self._local(partition.findings_relpath)

    def data_file(self, partition: Partition, batch_id: str) -> str:
        """Relative path (POSIX) of a data file; manifests record these."""
        return f"{partition.relpath}/{batch_id}.parquet"

    def findings_file(self, partition: Partition, name: str) -> str:
        """Relative path (POSIX) of a findings file of the partition; `name` without `.parquet`."""
        return f"{partition.findings_relpath}/{name}.parquet"

    def disposition_file(self, name: str) -> str:
        """Relative path (POSIX) of a dispositions file; `name` without `.jsonl`."""
        return f"{DISPOSITIONS_DIR}/{name}.jsonl"

    def quarantine_file(self, batch_id: str) -> str:
        return f"{QUARANTINE_DIR}/{batch_id}.jsonl.zst"

    def manifest_file(self, seq: int) -> Path:
        return self.manifests / manifest_name(seq)

    def manifest_key(self, seq: int) -> str:
        return f"{MANIFESTS_DIR}/{manifest_name(seq)}"

    def path(self, relpath: str) -> Path:
        """The file of a committed path: checked (see `check_relpath`) and still inside the root on disk."""
        path = self._local(check_relpath(relpath))
        if self._escapes(relpath):
            raise ArchiveError(
                f"refusing the archive path {relpath!r}: it leads outside {self.root} through a symlink",
                hint="replace the symlink with the real folder or file; run `kanalytics verify`",
            )
        return path

    def _escapes(self, relpath: str) -> bool:
        """Whether a symlink below the root leads `relpath` outside it (lstat per segment: readers call this
        for every file of a period)."""
        current = self.root
        for part in relpath.split("/"):
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return False
            if stat.S_ISLNK(mode):
                if self._resolved_root is None:
                    self._resolved_root = self.root.resolve()
                return not current.resolve().is_relative_to(self._resolved_root)
        return False

    def tmp_path(self, relpath: str) -> Path:
        """Where a file is written before it is committed: a hidden name that readers' globs skip (on an
        object store, in the local staging folder: it is uploaded under its final key before the commit)."""
        final = self.root / check_relpath(relpath) if self.remote else self.path(relpath)
        return final.with_name(f"{TMP_PREFIX}{final.name}{TMP_SUFFIX}")

    def is_archive(self) -> bool:
        if self.remote:
            return bool(self.storage.list(MANIFESTS_DIR, limit=1))
        return self.events.is_dir() or self.manifests.is_dir()

    def partitions(self) -> list[Partition]:
        found: list[Partition] = []
        self.require_local("listing the partition folders")
        if not self.events.is_dir():
            return found
        for cluster_dir in sorted(self.events.glob("cluster=*")):
            for date_dir in sorted(cluster_dir.glob("date=*")):
                partition = Partition.from_relpath(f"{EVENTS_DIR}/{cluster_dir.name}/{date_dir.name}")
                if partition is not None:
                    found.append(partition)
        return found

    def partition_files(self, partition: Partition) -> list[Path]:
        """Data files on disk in a partition (temporary files skipped): what is there, not what was committed;
        readers use `chain.committed_files`."""
        directory = self.partition_dir(partition)
        return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(TMP_PREFIX))
