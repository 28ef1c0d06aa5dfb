"""What every command does first: open the archive through the façade with its configuration, and progress."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kanalytics.api import Archive
    from kanalytics.catalog.runner import Progress


def open_cli_archive(archive: str | Path, config: Path | None) -> Archive:
    """The façade for `--archive`/`--config` (settings loaded once, with the environment's keys)."""
    from kanalytics.api import open_archive

    return open_archive(archive, config=config)


@contextlib.contextmanager
def query_progress(label: str, *, quiet: bool = False) -> Iterator[Progress | None]:
    """A rich progress bar over catalog queries on a terminal (stderr); None when piped or `quiet`."""
    import sys

    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[query]}"), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=None, query="")

        def tick(done: int, total: int, query_id: str) -> None:
            bar.update(task, completed=done, total=total, query=query_id)

        yield tick
