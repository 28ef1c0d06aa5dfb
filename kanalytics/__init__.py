"""kanalytics: columnar analytics, detections and compliance reports for Kubernetes audit logs.

The public Python API is one object: `kanalytics.open_archive(path, config=...)` returns a
`kanalytics.api.Archive` (see docs/api.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kanalytics._version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from kanalytics.api import Archive
    from kanalytics.config import Settings


def open_archive(path: str | Path, *, config: str | Path | Settings | None = None) -> Archive:
    """Open the archive at `path` (created on first ingest); see `kanalytics.api.open_archive`.

    Heavy imports happen here, not at `import kanalytics`."""
    from kanalytics.api import open_archive as _open

    return _open(path, config=config)


__all__ = ["__version__", "open_archive"]
