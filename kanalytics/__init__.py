"""kanalytics: columnar analytics, detections and compliance reports for Kubernetes audit logs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from kanalytics.archive.api import Archive

try:
    __version__ = version("kanalytics")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"


def open_archive(path: str | Path) -> Archive:
    """Open the archive at `path` (created on first ingest). Heavy imports happen here, not at import time."""
    from kanalytics.archive.api import open_archive as _open

    return _open(path)


__all__ = ["__version__", "open_archive"]
