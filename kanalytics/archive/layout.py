"""Where things live in an archive: every path is computed here and nowhere else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kanalytics.errors import UsageError

EVENTS_DIR = "events"
MANIFESTS_DIR = "_manifests"
QUARANTINE_DIR = "_quarantine"
STATE_DIR = "_state"
LOCK_FILE = "writer.lock"
TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"

_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_PARTITION = re.compile(r"^cluster=(?P<cluster>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})$")


def check_cluster_name(name: str) -> str:
    if not _CLUSTER_NAME.match(name):
        raise UsageError(
            f"invalid cluster name {name!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 100 characters), starting with a letter or digit",
        )
    return name


@dataclass(frozen=True, order=True)
class Partition:
    cluster: str
    date: date

    @property
    def relpath(self) -> str:
        return f"{EVENTS_DIR}/cluster={self.cluster}/date={self.date.isoformat()}"

    @classmethod
    def from_relpath(cls, relpath: str) -> Partition | None:
        """Parse `events/cluster=c/date=d` (or a file under it); None when the path is not a partition."""
        parts = relpath.split("/")
        if len(parts) < 3 or parts[0] != EVENTS_DIR:
            return None
        match = _PARTITION.match("/".join(parts[1:3]))
        if not match:
            return None
        try:
            return cls(match["cluster"], date.fromisoformat(match["date"]))
        except ValueError:
            return None


class Layout:
    """The paths of one archive root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def events(self) -> Path:
        return self.root / EVENTS_DIR

    @property
    def manifests(self) -> Path:
        return self.root / MANIFESTS_DIR

    @property
    def quarantine(self) -> Path:
        return self.root / QUARANTINE_DIR

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def lock(self) -> Path:
        return self.state / LOCK_FILE

    def partition_dir(self, partition: Partition) -> Path:
        return self.root / partition.relpath

    def data_file(self, partition: Partition, batch_id: str) -> str:
        """Relative path (POSIX) of a data file; manifests record these."""
        return f"{partition.relpath}/{batch_id}.parquet"

    def quarantine_file(self, batch_id: str) -> str:
        return f"{QUARANTINE_DIR}/{batch_id}.jsonl.zst"

    def manifest_file(self, seq: int) -> Path:
        return self.manifests / f"{seq:010d}.json"

    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def tmp_path(self, relpath: str) -> Path:
        """Where a file is written before it is committed: a hidden name that readers' globs skip."""
        final = self.root / relpath
        return final.with_name(f"{TMP_PREFIX}{final.name}{TMP_SUFFIX}")

    def is_archive(self) -> bool:
        return self.events.is_dir() or self.manifests.is_dir()

    def partitions(self) -> list[Partition]:
        found: list[Partition] = []
        if not self.events.is_dir():
            return found
        for cluster_dir in sorted(self.events.glob("cluster=*")):
            for date_dir in sorted(cluster_dir.glob("date=*")):
                partition = Partition.from_relpath(f"{EVENTS_DIR}/{cluster_dir.name}/{date_dir.name}")
                if partition is not None:
                    found.append(partition)
        return found

    def partition_files(self, partition: Partition) -> list[Path]:
        """Committed data files of a partition (temporary files are hidden and skipped)."""
        directory = self.partition_dir(partition)
        return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(TMP_PREFIX))
