"""The archive on an S3-compatible object store: the storage primitives, the writer lease and the read cache.

Endpoint, region and credentials come from the standard AWS environment and files (AWS_ENDPOINT_URL(_S3),
AWS_REGION, AWS_ACCESS_KEY_ID..., AWS_PROFILE, ~/.aws), resolved once by a boto3 Session and handed as the
same values to pyarrow's S3FileSystem, so MinIO, Ceph, R2 and GCS's S3 interface work. Credentials are
never part of a message, a repr or a URL.

Commits are conditional puts (`If-None-Match: *`): two writers cannot both create `_manifests/<seq>.json`.
The writer lock is a lease object in `_state/` created the same way, renewed with `If-Match` on its ETag
while the writer works, and taken over (again with `If-Match`) only after it expired.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kanalytics.errors import ArchiveError, ArchiveLockedError, StorageError, UsageError

if TYPE_CHECKING:
    import pyarrow.fs as pafs

LEASE_SECONDS = 60.0
CACHE_ENV = "KANALYTICS_S3_CACHE"
_INSTALL_HINT = "install the object-store extra: pip install 'kanalytics[s3]'"
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


@dataclass(frozen=True)
class S3Settings:
    """What one boto3 Session resolved: the values pyarrow gets too. `repr` hides the secrets."""

    endpoint_url: str | None
    region: str | None
    access_key: str | None
    secret_key: str | None
    session_token: str | None

    def __repr__(self) -> str:
        return f"S3Settings(endpoint_url={self.endpoint_url!r}, region={self.region!r}, credentials=<hidden>)"


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError("an s3:// archive needs boto3, which is not installed", hint=_INSTALL_HINT) from None
    return boto3


def resolve_settings() -> tuple[S3Settings, Any]:
    """(settings, client) from the standard AWS configuration, resolved once."""
    boto3 = _boto3()
    from botocore.config import Config

    session = boto3.Session()
    client = session.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))
    creds = session.get_credentials()
    frozen = creds.get_frozen_credentials() if creds is not None else None
    endpoint = client.meta.endpoint_url
    custom = endpoint if endpoint and not endpoint.rstrip("/").endswith("amazonaws.com") else None
    settings = S3Settings(
        endpoint_url=custom,
        region=session.region_name or client.meta.region_name,
        access_key=frozen.access_key if frozen else None,
        secret_key=frozen.secret_key if frozen else None,
        session_token=frozen.token if frozen else None,
    )
    return settings, client


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


class S3Storage:
    """`s3://bucket/prefix`: keys under the prefix; no folder listing is ever needed to read committed files."""

    remote = True

    def __init__(self, bucket: str, prefix: str, settings: S3Settings, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.settings = settings
        self.client = client
        self._fs: pafs.S3FileSystem | None = None
        self._errors = client.exceptions

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        rest = url[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if len(bucket) < 3 or any(c in bucket for c in "?#@"):
            raise UsageError(
                f"invalid archive URL {url!r}: the bucket name is missing or invalid",
                hint="give s3://bucket/prefix (bucket names have 3 to 63 characters)",
            )
        settings, client = resolve_settings()
        return cls(bucket, prefix, settings, client)

    def __repr__(self) -> str:
        return f"S3Storage({self.url()!r})"

    # -- keys ----------------------------------------------------------------------------------------------
    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def url(self, key: str = "") -> str:
        base = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{base}/{key}" if key else base

    def _fail(self, key: str, exc: BaseException, action: str = "cannot access") -> StorageError:
        return StorageError(
            self.url(key),
            f"{type(exc).__name__}: {_code(exc) or exc}",
            action=action,
            hint="check the bucket, the endpoint (AWS_ENDPOINT_URL) and the credentials' permissions",
        )

    # -- primitives ----------------------------------------------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        with self.open_input(key) as stream:
            return stream.read()

    def open_input(self, key: str) -> IO[bytes]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors.NoSuchKey:
            raise FileNotFoundError(self.url(key)) from None
        except Exception as exc:
            if _code(exc) in ("404", "NoSuchKey"):
                raise FileNotFoundError(self.url(key)) from None
            raise self._fail(key, exc) from None
        stream: IO[bytes] = response["Body"]
        return stream

    def write_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as exc:
            raise self._fail(key, exc, "cannot write") from None

    def put_if_absent(self, key: str, data: bytes) -> bool:
        return self.put_conditional(key, data, if_none_match=True) is not None

    def put_conditional(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> str | None:
        """Put with a precondition; the new ETag, or None when the precondition failed."""
        extra: dict[str, str] = {}
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)
        except Exception as exc:
            if _code(exc) in _PRECONDITION:
                return None
            raise self._fail(key, exc, "cannot write") from None
        etag: str = response["ETag"]
        return etag

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(key, exc) from None
        return response

    def upload(self, local: Path, key: str) -> None:
        try:
            self.client.upload_file(str(local), self.bucket, self._key(key))
        except Exception as exc:
            raise self._fail(key, exc, "cannot write") from None

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail(key, exc, "cannot delete") from None

    def size(self, key: str) -> int | None:
        head = self.head(key)
        return int(head["ContentLength"]) if head is not None else None

    def list(self, prefix: str, start_after: str | None = None, limit: int | None = None) -> list[str]:
        """Keys under `prefix/`, sorted (S3 lists in key order); StartAfter skips what the caller knows."""
        full = self._key(prefix).rstrip("/") + "/"
        cut = len(self._key(""))
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full}
        if start_after is not None:
            args["StartAfter"] = self._key(start_after)
        if limit is not None:
            args["PaginationConfig"] = {"MaxItems": limit, "PageSize": min(limit, 1000)}
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**args):
                keys += [item["Key"][cut:] if cut else item["Key"] for item in page.get("Contents", [])]
                if limit is not None and len(keys) >= limit:
                    return keys[:limit]
        except Exception as exc:
            raise self._fail(prefix, exc) from None
        return keys

    def arrow_filesystem(self) -> tuple[pafs.FileSystem, str]:
        if self._fs is None:
            import pyarrow.fs as pafs

            s = self.settings
            scheme, host = "https", None
            if s.endpoint_url:
                scheme, _, host = s.endpoint_url.partition("://")
            self._fs = pafs.S3FileSystem(
                access_key=s.access_key,
                secret_key=s.secret_key,
                session_token=s.session_token,
                region=s.region or "us-east-1",
                endpoint_override=host.rstrip("/") if host else None,
                scheme=scheme,
                allow_bucket_creation=False,
                allow_bucket_deletion=False,
            )
        return self._fs, f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    # -- the read cache ------------------------------------------------------------------------------------
    def cache_root(self) -> Path:
        """Local copies of committed files, by archive URL (no credentials in it) and relative path."""
        base = Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "kanalytics-s3-cache")
        tag = hashlib.sha256(f"{self.settings.endpoint_url}|{self.url()}".encode()).hexdigest()[:16]
        return base / tag

    def fetch(self, key: str, sha256: str, size: int) -> Path:
        """A local copy of a committed object whose content equals what the manifest recorded.

        Committed names are unique and never rewritten, so a copy that was verified once stays valid; a
        download whose SHA-256 differs from the manifest raises (the object was changed behind the archive's
        back) instead of being read.
        """
        path = self.cache_root() / key
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == size and path.with_name(path.name + ".sha256").read_text() == sha256:
                return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        digest = hashlib.sha256()
        try:
            with self.open_input(key) as stream, open(tmp, "wb") as out:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                from kanalytics.errors import IntegrityError

                raise IntegrityError(
                    f"{self.url(key)}: its SHA-256 differs from the manifest's; it was not read",
                    hint="the object was changed after it was committed: run `kanalytics verify`",
                )
            os.replace(tmp, path)
            path.with_name(path.name + ".sha256").write_text(sha256)
        finally:
            tmp.unlink(missing_ok=True)
        return path


# -- the writer lease -----------------------------------------------------------------------------------------
class Lease:
    """The writer lock on an object store: `_state/writer.lease` holding owner and expiry.

    Created with If-None-Match (one creator wins), renewed by a background thread with If-Match on the ETag
    it last wrote, taken over only when expired (If-Match on the expired lease's ETag, so two takers cannot
    both win). A writer whose lease was lost still cannot commit over another: the manifest put is
    conditional too.
    """

    def __init__(self, storage: S3Storage, key: str, seconds: float = LEASE_SECONDS) -> None:
        self.storage = storage
        self.key = key
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "expires": time.time() + self.seconds}).encode()

    def acquire(self) -> None:
        etag = self.storage.put_conditional(self.key, self._body(), if_none_match=True)
        if etag is None:
            etag = self._take_over()
        self.etag = etag
        self._thread = threading.Thread(target=self._renew_loop, name="kanalytics-lease", daemon=True)
        self._thread.start()

    def _take_over(self) -> str:
        head = self.storage.head(self.key)
        holder, expires = "unknown", 0.0
        if head is not None:
            with contextlib.suppress(ValueError, FileNotFoundError, TypeError, KeyError):
                data = json.loads(self.storage.read_bytes(self.key))
                holder, expires = str(data["owner"]), float(data["expires"])
        if head is None:
            etag = self.storage.put_conditional(self.key, self._body(), if_none_match=True)
        elif expires < time.time():
            etag = self.storage.put_conditional(self.key, self._body(), if_match=head["ETag"])
        else:
            etag = None
        if etag is None:
            raise ArchiveLockedError(
                f"archive {self.storage.url()} is being written by another process ({holder}, lease "
                f"valid for {max(0, expires - time.time()):.0f} s more)",
                hint="wait for it to finish (a dead writer's lease expires by itself); readers can run meanwhile",
            )
        return etag

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            with self._mutex:
                if self.etag is None:
                    return
                try:
                    etag = self.storage.put_conditional(self.key, self._body(), if_match=self.etag)
                except ArchiveError:
                    continue  # a transient failure: the next round retries well before expiry
                if etag is None:
                    self.lost = True  # taken over after it expired: the conditional manifest put still guards
                    self.etag = None
                    return
                self.etag = etag

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._mutex:
            if self.etag is not None and not self.lost:
                head = self.storage.head(self.key)
                if head is not None and head["ETag"] == self.etag:
                    self.storage.delete(self.key)
            self.etag = None


@contextlib.contextmanager
def lease(storage: S3Storage, key: str, seconds: float = LEASE_SECONDS) -> Iterator[Lease]:
    held = Lease(storage, key, seconds)
    held.acquire()
    try:
        yield held
    finally:
        held.release()


__all__ = ["LEASE_SECONDS", "Lease", "S3Settings", "S3Storage", "lease", "resolve_settings"]
