"""kill -9 at any moment loses no acknowledged event and, after restart, duplicates none."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx
import pytest

from tests.serve.conftest import TOKEN, archived, event_list, events

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def test_spooled_batches_are_replayed_after_kill_9(receiver_factory: Any) -> None:
    receiver = receiver_factory("--flush-seconds", "3600", "--flush-events", "1000000")
    first = events(20)
    assert receiver.post(event_list(first)).status_code == 200
    receiver.kill()  # acknowledged, only in the spool
    again = receiver_factory("--flush-seconds", "3600", "--flush-events", "1000000")
    second = events(5)
    assert again.post(event_list(second)).status_code == 200
    assert again.post(event_list(first)).status_code == 200  # the retry of a batch whose answer was lost
    assert again.stop() == 0
    assert archived(again.archive) == sorted(e["auditID"] for e in [*first, *second])


class Sender(threading.Thread):
    """Posts 50-event batches until the server dies; an unanswered batch is kept to be retried next round."""

    def __init__(self, url: str, pending: list[list[dict[str, Any]]], acked: set[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.pending, self.acked = url, pending, acked
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0, headers=HEADERS) as client:
            for _ in range(10_000):  # bounded: the server dies long before
                batch = self.pending.pop(0) if self.pending else events(50)
                try:
                    response = client.post("/audit", content=event_list(batch))
                except httpx.TransportError:
                    self.pending.append(batch)  # the API server would retry it
                    return
                if response.status_code == 200:
                    self.acked.update(e["auditID"] for e in batch)
                    self.sent += 1
                else:
                    self.pending.append(batch)


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(receiver_factory: Any) -> None:
    rng = random.Random(12)
    acked: set[str] = set()
    pending: list[list[dict[str, Any]]] = []
    trigger = ("--flush-seconds", "0.3", "--flush-events", "300")  # flushes run often: kills land inside them
    for _ in range(4):
        receiver = receiver_factory(*trigger)
        senders = [Sender(receiver.url, pending, acked) for _ in range(2)]
        for sender in senders:
            sender.start()
        time.sleep(rng.uniform(0.5, 2.5))
        receiver.kill()
        for sender in senders:
            sender.join(timeout=20)
        assert sum(s.sent for s in senders) > 0
    final = receiver_factory(*trigger)
    assert final.stop() == 0
    ids = archived(final.archive)
    assert len(ids) == len(set(ids)), "an event was archived twice"
    assert acked - set(ids) == set(), "acknowledged events were lost"
    assert len(acked) >= 200
