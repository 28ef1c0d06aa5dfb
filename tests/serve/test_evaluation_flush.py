"""The webhook receiver evaluates each committed flush (docs/evaluation.md): its results are stored under
_findings/ without waiting for a read, and a finding is stored within a bounded time of the POST."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import kanalytics
from kanalytics.catalog import evaluate
from tests.serve.conftest import event_list

CASE = Path(__file__).resolve().parents[1] / "cases" / "attack-tool-ua" / "fire.jsonl"
DAY = datetime(2026, 10, 14, tzinfo=UTC)


@pytest.mark.slow
def test_the_webhook_receiver_evaluates_each_flush(receiver_factory: Any) -> None:
    events = [json.loads(line) for line in CASE.read_text().splitlines() if line.strip()]
    receiver = receiver_factory("--flush-seconds", "1", "--cluster", "prod")
    assert receiver.post(event_list(events)).status_code == 200
    store = kanalytics.open_archive(receiver.archive).store
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not store.findings_files():
        time.sleep(0.2)
    assert store.findings_files(), receiver.log()
    assert receiver.metric("kanalytics_evaluation_failures_total") == 0
    archive = kanalytics.open_archive(receiver.archive)
    rows = evaluate.ensure(
        archive.store, archive.catalog, archive.settings, start=DAY, end=DAY + timedelta(days=1), read=True
    )
    assert rows.stats.refreshed == 0
    assert [f.query_id for f in rows.findings["attack-tool-ua"]] == ["attack-tool-ua"]
