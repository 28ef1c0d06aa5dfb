"""The one exception hierarchy: every error a person can act on, with the fields that locate it."""

from __future__ import annotations


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
