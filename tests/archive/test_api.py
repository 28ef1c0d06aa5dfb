"""The Python API investigators use in notebooks: filters, timelines, bound parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import kanalytics
from kanalytics.errors import QueryError
from tests.conftest import make_event


@pytest.fixture
def archive(tmp_path: Path):
    arch = kanalytics.open_archive(tmp_path / "a")
    arch.ingest_events(
        [
            make_event(user={"username": "alice", "groups": []}, verb="get"),
            make_event(user={"username": "bob", "groups": []}, verb="delete", sourceIPs=["203.0.113.9"]),
            make_event(
                user={"username": "admin", "groups": []},
                impersonatedUser={"username": "alice"},
                verb="create",
                objectRef={"resource": "secrets", "namespace": "payments", "name": "db"},
            ),
            make_event(ts=datetime(2026, 10, 3, tzinfo=UTC), user={"username": "alice", "groups": []}),
        ]
    )
    return arch


def test_events_filters_combine(archive) -> None:
    assert archive.events(user="alice").height == 2
    assert archive.events(user="alice", verb="get").height == 1
    assert archive.events(source_ip="203.0.113.9")["user_name"].to_list() == ["bob"]
    assert archive.events(start=datetime(2026, 10, 2, tzinfo=UTC)).height == 1
    assert "event_hash" not in archive.events().columns


def test_timeline_includes_impersonation_and_is_ordered(archive) -> None:
    line = archive.timeline(user="alice")
    assert line.height == 3
    assert line["ts"].is_sorted()
    assert archive.timeline(name="db", namespace="payments")["user_name"].to_list() == ["admin"]
    with pytest.raises(QueryError):
        archive.timeline()


def test_sql_parameters_are_bound_not_formatted(archive) -> None:
    hostile = "alice' OR '1'='1"
    assert archive.sql("SELECT * FROM events WHERE user_name = $u", params={"u": hostile}).height == 0
    assert archive.sql("SELECT * FROM events WHERE user_name = $u", params={"u": "alice"}).height == 2


def test_sql_binds_start_and_end_when_the_query_uses_them(archive) -> None:
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
    frame = archive.sql(
        "SELECT count(*) AS n FROM events WHERE request_ts >= $start AND request_ts < $end",
        start=start,
        end=end,
    )
    assert frame["n"][0] == 3
    assert archive.sql("SELECT count(*) AS n FROM events", start=start, end=end)["n"][0] == 3  # pruning only
