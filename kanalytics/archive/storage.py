"""Where an archive's bytes live: the few primitives the archive needs, on a local folder or an object store.

Every archive module reaches committed files through a `Storage` by archive-relative key (`events/cluster=c/
date=d/x.parquet`, `_manifests/0000000001.json`), so the same layout and guarantees hold on a folder and on a
bucket. `LocalStorage` keeps the local semantics exactly (fsync'd atomic renames; locks stay flock in
`lock.py`); `S3Storage` (kanalytics/archive/s3.py) commits with conditional puts instead of renames.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from kanalytics.archive.fsutil import atomic_write_bytes, fsync_dir
from kanalytics.errors import UsageError

if TYPE_CHECKING:
    import pyarrow.fs as pafs

S3_SCHEME = "s3://"


class Storage(Protocol):
    """The primitives of an archive root, by archive-relative POSIX key."""

    remote: bool  # True: no local path, no flock, no rename (an object store)

    def url(self, key: str = "") -> str:
        """How the root (or a key under it) is shown to people and other engines; never holds credentials."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The whole object; FileNotFoundError when absent."""
        ...

    def open_input(self, key: str) -> IO[bytes]:
        """A binary stream of the object (for hashing without holding it in memory)."""
        ...

    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace the object atomically: readers see the old one or the whole new one."""
        ...

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create the object only if no object has the key: the commit point. False when one exists."""
        ...

    def upload(self, local: Path, key: str) -> None:
        """Store a finished local file under its final key."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error when it is absent."""
        ...

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when it is absent."""
        ...

    def list(self, prefix: str, start_after: str | None = None, limit: int | None = None) -> list[str]:
        """The keys under `prefix` (a folder, without a trailing slash), sorted; after `start_after` if given,
        at most `limit`."""
        ...

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow FileSystem and the base path of the root in it, for engines that read Parquet."""
        ...


def is_remote_root(root: str | os.PathLike[str]) -> bool:
    return str(root).startswith(S3_SCHEME)


class ArchiveURL(str):
    """An object-store archive root (`s3://bucket/prefix`), kept as text: a Path would fold its `//`."""

    __slots__ = ()

    def resolve(self) -> ArchiveURL:
        """A URL is absolute already (callers that key caches on `root.resolve()` work on both kinds)."""
        return self


def archive_root(root: str | os.PathLike[str]) -> Path | ArchiveURL:
    """An archive root as given: a local Path, or an `s3://` URL."""
    return ArchiveURL(str(root).rstrip("/")) if is_remote_root(root) else Path(root)


def storage_for(root: str | os.PathLike[str]) -> Storage:
    """The storage of an archive root: `s3://bucket/prefix` or a local folder."""
    if is_remote_root(root):
        from kanalytics.archive import s3  # boto3 is imported only by object-store archives

        return s3.S3Storage.from_url(str(root))
    if "://" in str(root):
        raise UsageError(
            f"unsupported archive URL {str(root)!r}",
            hint="give a local folder or s3://bucket/prefix (S3-compatible stores: MinIO, Ceph, R2, GCS)",
        )
    return LocalStorage(Path(root))


class LocalStorage:
    """A folder on a local (or POSIX network) file system: the archive exactly as it has always been."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def url(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)

    def read_bytes(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def open_input(self, key: str) -> IO[bytes]:
        return open(self.root / key, "rb")

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self.root / key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Link a finished temporary file to the key: link(2) fails when the name exists, like If-None-Match."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.put")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
        return True

    def upload(self, local: Path, key: str) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local, path)
        fsync_dir(path.parent)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def size(self, key: str) -> int | None:
        try:
            return (self.root / key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def list(self, prefix: str, start_after: str | None = None, limit: int | None = None) -> list[str]:
        top = self.root / prefix
        if not top.is_dir():
            return []
        keys = sorted(p.relative_to(self.root).as_posix() for p in top.rglob("*") if p.is_file())
        keys = [k for k in keys if start_after is None or k > start_after]
        return keys[:limit] if limit is not None else keys

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem(), str(self.root.resolve())
