"""Moves spooled batches into the archive through the normal ingest path, in a thread of its own.

A flush closes the active segment, ingests every closed segment in one run (dedupe, redaction, quarantine,
one manifest), and deletes the segments only after that manifest committed. Segments left by a crash are
simply closed segments: the first flush replays them, and dedupe absorbs what was already committed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from kanalytics.serve import spool as spooling
from kanalytics.serve.logs import log
from kanalytics.sources import jsontext
from kanalytics.sources.documents import NATIVE
from kanalytics.sources.records import Block, Record

if TYPE_CHECKING:
    from kanalytics.archive.api import Store
    from kanalytics.archive.ingest import IngestSummary
    from kanalytics.serve.metrics import Metrics

ORIGIN = "webhook"
_RETRY_SECONDS = 5.0


class Flusher:
    def __init__(
        self,
        store: Store,
        spool: spooling.Spool,
        metrics: Metrics,
        *,
        cluster: str | None,
        redact: bool,
        flush_events: int,
        flush_seconds: float,
        on_commit: Callable[[int], object] | None = None,
    ) -> None:
        self.store, self.spool, self.metrics = store, spool, metrics
        # Evaluation at commit (docs/evaluation.md): called after each committed flush with the last manifest
        # seq before it. A failure there loses nothing (the events are committed; results are computed when
        # first read) and is logged, never retried as a flush.
        self.on_commit = on_commit
        self.cluster, self.redact = cluster, redact
        self.flush_events, self.flush_seconds = flush_events, flush_seconds
        self.last_error: str | None = None
        self.last_success = time.time()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kanalytics-flusher", daemon=True)
        self._flush_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """Tell the flusher that events arrived (it checks the size trigger)."""
        if self.spool.events >= self.flush_events:
            self._wake.set()

    def stop(self) -> None:
        """Stop the loop and flush what is spooled (SIGTERM: the last batch goes into the archive)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=120)
        self.flush()

    def keeping_up(self) -> bool:
        """False when the last flush failed or the oldest spooled entry waits far past the time trigger."""
        return self.last_error is None and self.spool.oldest_age() < max(60.0, 4 * self.flush_seconds)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=min(1.0, self.flush_seconds))
            self._wake.clear()
            if self._stop.is_set():
                return
            due = self.spool.events >= self.flush_events or (
                self.spool.bytes > 0 and self.spool.oldest_age() >= self.flush_seconds
            )
            if due and not self.flush():
                self._stop.wait(_RETRY_SECONDS)

    def flush(self) -> bool:
        """One flush; True when it committed (or there was nothing to do). Failures keep the segments."""
        with self._flush_lock:
            self.spool.rotate()
            segments = self.spool.closed_segments()
            if not segments:
                return True
            started = time.perf_counter()
            counted = [0]
            since = self._committed_seq()
            try:
                summary = self._ingest(segments, counted)
            except Exception as exc:  # the spool keeps the batches; the next flush retries them
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.metrics.flush_failures.inc()
                log("error", "flush failed", segments=len(segments), error=self.last_error)
                return False
            self.spool.delete(segments, events=counted[0])
            seconds = time.perf_counter() - started
            self.last_error, self.last_success = None, time.time()
            self._record(summary, seconds)
            log(
                "info", "flushed", segments=len(segments), read=summary.read, archived=summary.archived,
                duplicates=summary.duplicates, quarantined=summary.quarantined,
                manifest=summary.manifest_seq, seconds=round(seconds, 3),
            )  # fmt: skip
            self._evaluate(since)
            return True

    def _committed_seq(self) -> int:
        from kanalytics.archive.chain import committed_seq

        return committed_seq(self.store.layout)

    def _evaluate(self, since: int) -> None:
        if self.on_commit is None:
            return
        started = time.perf_counter()
        try:
            self.on_commit(since)
        except Exception as exc:  # the batch is committed; its results are computed on first read instead
            self.metrics.evaluation_failures.inc()
            log("error", "evaluation at commit failed", error=f"{type(exc).__name__}: {exc}")
            return
        self.metrics.evaluation_duration.observe(time.perf_counter() - started)

    def _ingest(self, segments: list[Path], counted: list[int]) -> IngestSummary:
        from kanalytics.archive.ingest import Ingestor

        # Store.ingest_events takes Event dicts only; quarantining spooled problems needs Records.
        ingestor = Ingestor(self.store.layout, cluster=self.cluster, redact=self.redact, keys=self.store.keys)
        return ingestor.run(_records(segments, counted))

    def _record(self, summary: IngestSummary, seconds: float) -> None:
        self.metrics.archived.inc(summary.archived)
        self.metrics.duplicates.inc(summary.duplicates)
        for reason, count in summary.quarantine_reasons.items():
            self.metrics.quarantined.labels(reason=_reason_label(reason)).inc(count)
        self.metrics.last_flush.set(self.last_success)
        self.metrics.flush_duration.observe(seconds)


def _records(segments: list[Path], counted: list[int]) -> Iterator[Record | Block]:
    """The spooled entries as ingest input, one entry at a time (memory: one body): a batch without an
    envelope cluster as one Block of JSON Lines (converted in the ingest's worker processes), a batch from an
    envelope naming its cluster as Records carrying it, a problem as an error Record."""
    line = 0
    for path in segments:
        for entry in spooling.read_segment(path):
            counted[0] += entry.events
            if entry.kind == spooling.PROBLEM:
                reason, _, raw = entry.payload.partition(b"\0")
                line += 1
                yield Record(ORIGIN, line, error=reason.decode("utf-8", "replace"), raw=raw)
                continue
            head, _, body = entry.payload.partition(b"\n")
            if not head:
                yield Block(ORIGIN, line + 1, body + b"\n", shape=NATIVE)
                line += entry.events
                continue
            cluster = head.decode()
            for text in body.split(b"\n"):
                line += 1
                yield Record(ORIGIN, line, value=jsontext.loads(text), raw=text, cluster=cluster)


def _reason_label(reason: str) -> str:
    """A label of bounded cardinality for a quarantine reason: numbers folded, cut at 80 characters."""
    return re.sub(r"\d+", "N", reason)[:80]
