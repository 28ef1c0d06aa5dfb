"""The installed version of kanalytics (bottom layer: every module may read it)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kanalytics")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
