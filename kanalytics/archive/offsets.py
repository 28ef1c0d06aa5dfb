"""The saved read offsets of incremental ingest: `_state/ingest-offsets.json`, written atomically.

The file is written only after the ingest's manifest has committed. A kill between the two leaves the old
offsets, so the next run reads those lines again and the archive's dedupe drops them: nothing is lost and
nothing is archived twice. Offsets are kept per `--cluster` value (the same folder ingested under two
cluster names is read once for each). A damaged or unknown state file is not trusted: ingest reads
everything again (dedupe absorbs it) and says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kanalytics.archive.fsutil import atomic_write_bytes
from kanalytics.archive.layout import STATE_DIR, Layout
from kanalytics.sources.cursor import FileState

OFFSETS_FILE = "ingest-offsets.json"
OFFSETS_KEY = f"{STATE_DIR}/{OFFSETS_FILE}"
VERSION = 1
MAX_FILES_KEPT = 10_000  # per cluster: rotated files long deleted are forgotten first
AUTO_CLUSTER = "*"  # the key of ingests without --cluster (clusters named by the envelopes)


def _path(layout: Layout) -> Path | str:
    """The offsets file (on an object store: its URL; it is read and written by key)."""
    return layout.storage.url(OFFSETS_KEY) if layout.remote else layout.state / OFFSETS_FILE


def _read_all(layout: Layout) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    path = _path(layout)
    try:
        raw = layout.storage.read_bytes(OFFSETS_KEY) if layout.remote else Path(path).read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, f"{path} could not be read ({exc}); every input file is read again"
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("sources"), dict)
    ):
        return {}, f"{path} is not a version-{VERSION} offsets file; every input file is read again"
    return data["sources"], None


def load(layout: Layout, cluster: str | None) -> tuple[list[FileState], str | None]:
    """The saved states of `cluster`'s ingests, and a warning when the file could not be trusted."""
    sources, problem = _read_all(layout)
    try:
        return [FileState.from_json(item) for item in sources.get(cluster or AUTO_CLUSTER, [])], problem
    except (KeyError, TypeError) as exc:
        return [], f"{_path(layout)} holds a malformed entry ({exc}); every input file is read again"


def save(layout: Layout, cluster: str | None, states: list[FileState]) -> None:
    """Replace `cluster`'s states (call after the manifest committed); other clusters' are kept."""
    sources, _ = _read_all(layout)
    kept = states[-MAX_FILES_KEPT:]  # the Tracker lists the files it saw last at the end
    sources[cluster or AUTO_CLUSTER] = [state.to_json() for state in kept]
    payload = {"version": VERSION, "sources": sources}
    data = json.dumps(payload, indent=1, sort_keys=True).encode() + b"\n"
    if layout.remote:
        layout.storage.write_bytes(OFFSETS_KEY, data)  # a PUT replaces an object atomically
    else:
        atomic_write_bytes(Path(_path(layout)), data)
