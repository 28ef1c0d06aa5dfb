"""A small archive for the report tests: a week with one missing day, hostile log values and incidents."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from factory import event, mixed_day

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 8, tzinfo=UTC)
MISSING_DAY = "2026-10-04"
GENERATED_AT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
SCRIPT_USER = "<script>alert(1)</script>"
IMG_AGENT = "<img src=http://example.invalid/x>"


@pytest.fixture(scope="session")
def report_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import kanalytics

    events = []
    for k in range(7):
        day = START + timedelta(days=k)
        if day.date().isoformat() != MISSING_DAY:
            events += mixed_day(day, 1 + k * 1000, per_hour=1)
    events += mixed_day(START - timedelta(days=20), 900_000, per_hour=1)  # the previous month, for trends
    events.append(event(START + timedelta(days=1, hours=3), n=999_001, user=SCRIPT_USER, agent=IMG_AGENT,
                        verb="list", resource="secrets", name=None, code=403))  # fmt: skip
    events.append(event(START + timedelta(days=1, hours=4), n=999_002, user="eve@example.com", agent=IMG_AGENT,
                        verb="get", resource="secrets", name=SCRIPT_USER))  # fmt: skip
    # A recon tool whose finding summary quotes its user agent: the report must print it escaped.
    events.append(event(START + timedelta(days=1, hours=5), n=999_003, user="mallory@example.com",
                        agent="kube-hunter/0.6 " + IMG_AGENT, verb="list", resource="pods", name=None))  # fmt: skip
    root = tmp_path_factory.mktemp("report") / "archive"
    kanalytics.open_archive(root).ingest_events(events, cluster="prod")
    return root
