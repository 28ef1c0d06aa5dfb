"""Incremental ingest: read inputs past their saved offsets, commit, then save the new offsets; and `follow`.

The offsets are saved only after the manifest committed (see `offsets`). `follow` tails the inputs: it polls
them every `poll_seconds`, and once new lines appear it opens a batch that it commits when it holds
`flush_events` events or is `flush_seconds` old, or when `stop()` turns true (SIGINT/SIGTERM in the CLI). A
batch holds the archive's writer lock while it is open, never between batches. Batches are converted in
this process (no worker pool), so a signal to the process group cannot break a pool mid-batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from kanalytics.archive import offsets
from kanalytics.archive.ingest import Ingestor, IngestSummary
from kanalytics.archive.layout import Layout
from kanalytics.errors import UsageError
from kanalytics.sources.cursor import ReadProgress, Tracker
from kanalytics.sources.documents import AUTO
from kanalytics.sources.records import Block, PathNotice, Record

if TYPE_CHECKING:
    from kanalytics.archive.signing import Keys

FLUSH_EVENTS = 10_000
FLUSH_SECONDS = 30.0
POLL_SECONDS = 1.0


def ingest(
    layout: Layout,
    paths: list[str],
    *,
    cluster: str | None,
    redact: bool,
    keys: Keys | None,
    progress: Callable[[int], None] | None = None,
    shape: str = AUTO,
    full: bool = False,
) -> IngestSummary:
    """One ingest of `paths` that reads each file only past its saved offset (everything when `full`)."""
    known, problem = offsets.load(layout, cluster)
    tracker = Tracker(known, full=full, shape=shape)
    summary = Ingestor(layout, cluster=cluster, redact=redact, keys=keys).run(
        tracker.read_inputs(paths, progress)
    )
    summary.incremental = tracker.progress
    _save(layout, cluster, tracker, summary.incremental)  # after the commit: a kill before it only re-reads
    if problem is not None:
        summary.incremental.resets.insert(0, problem)
    return summary


def _save(layout: Layout, cluster: str | None, tracker: Tracker, progress: ReadProgress) -> None:
    """Save the offsets; failing to (a full disk) loses nothing committed, so it is reported, not raised."""
    try:
        offsets.save(layout, cluster, tracker.states())
    except OSError as exc:
        progress.resets.append(
            f"could not save the read offsets in {layout.url}/_state ({exc.strerror or exc}); the next ingest "
            "reads these files again and drops what is already archived"
        )


def follow(
    layout: Layout,
    paths: list[str],
    *,
    cluster: str | None,
    redact: bool,
    keys: Keys | None,
    stop: Callable[[], bool],
    on_batch: Callable[[IngestSummary], None],
    shape: str = AUTO,
    flush_events: int = FLUSH_EVENTS,
    flush_seconds: float = FLUSH_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    """Tail `paths` until `stop()`, committing a batch at a time; returns how many batches were committed."""
    if "-" in paths:
        raise UsageError(
            "cannot follow stdin ('-')", hint="follow files or folders, or ingest stdin without --follow"
        )
    known, problem = offsets.load(layout, cluster)
    tracker = Tracker(known, shape=shape)
    batches = 0
    while not stop():
        if not tracker.pending(paths):
            _sleep(poll_seconds, stop)
            continue
        batch = _Batch(tracker, paths, stop, flush_events, flush_seconds, poll_seconds)
        summary = Ingestor(layout, cluster=cluster, redact=redact, workers=1, keys=keys).run(batch.items())
        summary.incremental = batch.progress
        _save(layout, cluster, tracker, summary.incremental)
        if problem is not None:
            summary.incremental.resets.insert(0, problem)
            problem = None
        batches += 1
        on_batch(summary)
    return batches


class _Batch:
    """The items of one `follow` batch: passes over the inputs until it is full, old enough, or stopped."""

    def __init__(
        self,
        tracker: Tracker,
        paths: list[str],
        stop: Callable[[], bool],
        flush_events: int,
        flush_seconds: float,
        poll_seconds: float,
    ) -> None:
        self.tracker = tracker
        self.paths = paths
        self.stop = stop
        self.flush_events = flush_events
        self.flush_seconds = flush_seconds
        self.poll_seconds = poll_seconds
        self.progress = ReadProgress()

    def items(self) -> Iterator[Record | Block | PathNotice]:
        started = time.monotonic()
        events = 0
        while True:
            for item in self.tracker.read_inputs(self.paths):
                events += _events_in(item)
                yield item
            self.progress.add(self.tracker.progress)
            while True:
                if self.stop() or events >= self.flush_events:
                    return
                left = self.flush_seconds - (time.monotonic() - started)
                if left <= 0:
                    return
                _sleep(min(self.poll_seconds, left), self.stop)
                if self.tracker.pending(self.paths):
                    break


def _events_in(item: Record | Block | PathNotice) -> int:
    if isinstance(item, Block):
        return item.data.count(b"\n") + (0 if item.data.endswith(b"\n") else 1)
    return 1 if isinstance(item, Record) else 0


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep, waking every 0.1 s to see whether to stop."""
    deadline = time.monotonic() + seconds
    while not stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.1, left))
