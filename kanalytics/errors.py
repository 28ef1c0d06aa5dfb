"""The one exception hierarchy: every error a person can act on, with the fields that locate it."""

from __future__ import annotations

import errno
import os


class KanalyticsError(Exception):
    """Base class: the CLI prints `str(error)` on stderr and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(KanalyticsError):
    """The caller asked for something that cannot be done as asked (bad dates, unknown names)."""

    exit_code = 2


class ConfigError(KanalyticsError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = 2


class ArchiveError(KanalyticsError):
    """The archive is missing, locked by another writer, or not in a state this version can use."""


class ArchiveLockedError(ArchiveError):
    """Another writer holds the archive lock."""


# errno -> (what failed, what the operator can do). These are conditions of the machine, not bugs.
_WRITE = "cannot write"
_ACCESS = "cannot access"
_STORAGE_CONDITIONS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: (_WRITE, "free space on that file system (df -h), then re-run"),
    errno.EDQUOT: (_WRITE, "raise the disk quota or free space (quota -s), then re-run"),
    errno.EFBIG: (
        _WRITE,
        "the file size limit was reached: raise it (ulimit -f) or use a larger file system",
    ),
    errno.EROFS: (
        _WRITE,
        "the file system is mounted read-only: remount it read-write or point the command at a writable path",
    ),
    errno.EACCES: (
        _ACCESS,
        "check the path's owner and permissions (ls -ld), or run as the user that owns it",
    ),
    errno.EPERM: (_ACCESS, "check the path's owner, permissions and attributes (ls -ld, lsattr)"),
    errno.ENOTDIR: (_ACCESS, "a file is where a folder is expected: check the path"),
    errno.EISDIR: (_ACCESS, "a folder is where a file is expected: check the path"),
    errno.ENAMETOOLONG: (_ACCESS, "use a shorter path"),
    errno.EIO: (_ACCESS, "the device reported an I/O error: check the disk (dmesg) before re-running"),
    errno.EMFILE: (_ACCESS, "too many open files: raise the limit (ulimit -n), then re-run"),
    errno.ENFILE: (_ACCESS, "the system ran out of file handles: close other programs, then re-run"),
}


class StorageError(ArchiveError):
    """The file system refused a read or write (full, over quota, read-only, no permission): an operator
    condition with a path and a cause, never a bug. Writers remove their temporary files before it surfaces."""

    def __init__(
        self, path: str | None, cause: str, *, action: str = _WRITE, hint: str | None = None
    ) -> None:
        where = f" {path}" if path else ""
        super().__init__(f"{action}{where}: {cause}", hint=hint)
        self.path = path
        self.cause = cause

    @classmethod
    def from_os_error(cls, exc: BaseException, fallback_path: str | None = None) -> StorageError | None:
        """The StorageError for `exc` or the first OSError it was raised from; None when the error is not an
        operator condition (then it is a bug). `fallback_path` is named when the OS error carries no path
        (pyarrow and plain writes do not)."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, OSError) and current.errno in _STORAGE_CONDITIONS:
                action, hint = _STORAGE_CONDITIONS[current.errno]
                path = current.filename if current.filename is not None else fallback_path
                return cls(
                    os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else None,
                    os.strerror(current.errno),  # pyarrow's strerror is a sentence around this
                    action=action,
                    hint=hint,
                )
            current = current.__cause__ or current.__context__
        return None


class InputError(KanalyticsError):
    """An input path cannot be read at all (individual bad lines are quarantined, not raised)."""


class QueryError(KanalyticsError):
    """A query file is invalid or a query failed to run; the message names the query id or file."""


class IntegrityError(KanalyticsError):
    """Verification found the archive altered; raised by commands that refuse to act on such an archive."""


class RetentionError(KanalyticsError):
    """A retention policy or legal-hold operation was refused."""


class ReportError(KanalyticsError):
    """A report could not be rendered."""


class MissingDependencyError(KanalyticsError):
    """An optional dependency is not installed; the message says which `pip install` fixes it."""

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed",
            hint=f"pip install {package}",
        )


class DeliveryError(KanalyticsError):
    """A destination (a Splunk HTTP Event Collector) refused what was sent or stayed unreachable; the message
    names the destination, the batch and the server's answer, never a token."""

    def __init__(
        self, message: str, *, hint: str | None = None, status: int | None = None, code: int | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status  # the HTTP status of the last answer (None: no answer)
        self.code = code  # the server's own error code (HEC's `code`), when it gave one
