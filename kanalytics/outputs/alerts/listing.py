"""What `kanalytics alerts list|retry` ask of an archive's outbox: its deliveries and counts, and re-queueing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kanalytics.errors import ArchiveError, UsageError
from kanalytics.outputs.alerts.outbox import STATES, Delivery, Outbox

if TYPE_CHECKING:
    from kanalytics.archive.layout import Layout

# The shortest alert-id prefix `retry` takes: the table shows 8 characters; fewer could match by accident.
MIN_ID_PREFIX = 4


@dataclass(frozen=True)
class DeliveryListing:
    deliveries: list[Delivery]  # newest alert first
    counts: dict[tuple[str, str], int]  # (sink, state) -> deliveries, over the whole outbox

    def to_json(self) -> dict[str, Any]:
        return {
            "deliveries": [d.to_json() for d in self.deliveries],
            "counts": [
                {"sink": sink, "state": state, "deliveries": n} for (sink, state), n in self.counts.items()
            ],
        }


def list_deliveries(
    layout: Layout, *, state: str | None = None, sink: str | None = None, limit: int = 100
) -> DeliveryListing:
    """The archive's deliveries (of one state, of one sink), newest alert first, and the counts of all."""
    if state is not None and state not in STATES:
        raise UsageError(f"unknown delivery state {state!r}", hint=f"use one of: {', '.join(STATES)}")
    outbox = _outbox(layout)
    return DeliveryListing(outbox.deliveries(state=state, sink=sink, limit=limit), outbox.counts())


def retry(
    layout: Layout,
    *,
    alert_ids: Sequence[str] = (),
    sink: str | None = None,
    all_failed: bool = False,
    now: datetime | None = None,
) -> int:
    """Put dead deliveries (with `all_failed`, retrying ones too) of these alerts (ids or prefixes of them) and
    this sink back to pending; returns how many. The next delivery pass sends them."""
    short = [a for a in alert_ids if len(a) < MIN_ID_PREFIX]
    if short:
        raise UsageError(
            f"alert id {short[0]!r} is too short", hint=f"give at least {MIN_ID_PREFIX} characters of the id"
        )
    states = ("dead", "retrying") if all_failed else ("dead",)
    return _outbox(layout).retry(alert_ids=alert_ids, sink=sink, states=states, now=now)


def _outbox(layout: Layout) -> Outbox:
    if not layout.is_archive():
        raise ArchiveError(
            f"{layout.url} is not a kanalytics archive (no events/ or _manifests/ inside)",
            hint="give the archive that `kanalytics serve` or `ingest` writes to (--archive)",
        )
    return Outbox.at(layout)
