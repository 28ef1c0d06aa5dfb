"""`$timezone`: hour-of-day, weekday and day logic follows `Settings.timezone`, not UTC or the machine's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kanalytics import open_archive
from kanalytics.api import Archive
from kanalytics.catalog.loader import Catalog
from kanalytics.catalog.runner import Session, run_catalog
from kanalytics.config import Settings

BERLIN = "Europe/Berlin"  # CEST (UTC+2) throughout 2026-10-05 .. 2026-10-24
ALICE = "alice@example.com"
# Baseline: Mon 5 - Fri 16 October. Alice works a late shift, 15:00-23:59 Berlin (13:00-21:59 UTC), Mon-Fri.
BASELINE_START = datetime(2026, 10, 5, tzinfo=UTC)
# Period: Sat 17 - Mon 19 October in Berlin (the same instants are used for the UTC runs).
PERIOD = (datetime(2026, 10, 16, 22, tzinfo=UTC), datetime(2026, 10, 19, 22, tzinfo=UTC))
# Saturday 00:30 Berlin = Friday 22:30 UTC: a Friday late hour in UTC, but a Saturday in Berlin.
SATURDAY_BERLIN = datetime(2026, 10, 16, 22, 30, tzinfo=UTC)
# Monday 00:30 Berlin = Sunday 22:30 UTC: a Sunday in UTC, but her usual Monday late shift in Berlin.
MONDAY_BERLIN = datetime(2026, 10, 18, 22, 30, tzinfo=UTC)
# 02:00 UTC on Sunday 18 October is 04:00 in Berlin.
TWO_AM_UTC = datetime(2026, 10, 18, 2, 0, tzinfo=UTC)
_counter = 0


def event(t: datetime, user: str = ALICE, code: int = 200) -> dict[str, Any]:
    global _counter
    _counter += 1
    stamp = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-0000-0000-{_counter:012d}",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/apps/pods",
        "verb": "list",
        "user": {"username": user, "groups": ["developers", "system:authenticated"]},
        "sourceIPs": ["10.20.0.15"],
        "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
        "objectRef": {"resource": "pods", "namespace": "apps", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": stamp,
        "stageTimestamp": stamp,
        "annotations": {
            "authorization.k8s.io/decision": "forbid" if code == 403 else "allow",
            "authorization.k8s.io/reason": "",
        },
    }


def baseline() -> list[dict[str, Any]]:
    out = []
    day = BASELINE_START
    while day < PERIOD[0] - timedelta(days=1):
        if day.weekday() < 5:
            out += [event(day + timedelta(hours=h, minutes=20)) for h in range(13, 22)]
        day += timedelta(days=1)
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    events = [*baseline(), event(SATURDAY_BERLIN), event(MONDAY_BERLIN), event(TWO_AM_UTC, code=403)]
    archive = open_archive(tmp_path_factory.mktemp("tz") / "archive")
    archive.ingest_events(events, cluster="test")
    return archive


def _run(archive: Archive, catalog: Catalog, zone: str, *ids: str) -> dict[str, list[dict[str, Any]]]:
    run = run_catalog(
        archive,
        *PERIOD,
        settings=Settings(timezone=zone),
        catalog=catalog,
        query_ids=ids,
        baseline_start=BASELINE_START,
    )
    for qid, result in run.results.items():
        assert result.status == "ok", f"{qid} ({zone}): {result.reason}"
    return {qid: r.table.to_pylist() if r.table is not None else [] for qid, r in run.results.items()}


def test_off_hours_uses_the_configured_zone(archive: Archive, catalog: Catalog) -> None:
    utc = _run(archive, catalog, "UTC", "off-hours-activity")["off-hours-activity"]
    berlin = _run(archive, catalog, BERLIN, "off-hours-activity")["off-hours-activity"]

    # UTC: Friday 22:30 is next to her usual 21:00 hour on a weekday, so quiet; Sunday 02:00 and 22:30 are one
    # off-pattern Sunday.
    assert [r["ts"] for r in utc] == [TWO_AM_UTC], utc
    assert "on 2026-10-18 (Sunday) between 02:00 and 22:30 UTC" in utc[0]["summary"]
    # Each UTC day is judged against the days before it, earlier days of the period included (Friday 22:30).
    assert "UTC hours 13,14,15,16,17,18,19,20,21,22, weekdays 1,2,3,4,5" in utc[0]["baseline"]
    # Berlin: Saturday 00:30 is off her weekdays; Monday 00:30 is her usual late shift; 02:00 UTC is 04:00.
    by_ts = {r["ts"]: r for r in berlin}
    assert set(by_ts) == {SATURDAY_BERLIN, TWO_AM_UTC}, berlin
    saturday, sunday = by_ts[SATURDAY_BERLIN], by_ts[TWO_AM_UTC]
    assert "on 2026-10-17 (Saturday) between 00:30 and 00:30 Europe/Berlin" in saturday["summary"]
    assert saturday["summary"].endswith("outside their usual weekdays")
    assert "on 2026-10-18 (Sunday) between 04:00 and 04:00 Europe/Berlin" in sunday["summary"]
    assert "Europe/Berlin hours 0,15,16,17,18,19,20,21,22,23, weekdays 1,2,3,4,5,6" in sunday["baseline"]


def test_metrics_bucket_by_local_hour_weekday_and_day(archive: Archive, catalog: Catalog) -> None:
    ids = ("activity-heatmap", "events-per-day", "daily-volume-by-identity-type", "denied-requests-per-day")
    utc = _run(archive, catalog, "UTC", *ids)
    berlin = _run(archive, catalog, BERLIN, *ids)

    def heat(rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
        return {(r["weekday"], r["hour"]) for r in rows}

    assert heat(utc["activity-heatmap"]) == {(5, 22), (7, 22), (7, 2)}
    assert heat(berlin["activity-heatmap"]) == {(6, 0), (1, 0), (7, 4)}

    def days(rows: list[dict[str, Any]], column: str = "events") -> dict[str, int]:
        return {r["day"].isoformat(): r[column] for r in rows}

    # The period is 17-19 October in Berlin; in UTC the same instants touch four days (16th and 19th partly).
    assert days(utc["events-per-day"]) == {"2026-10-16": 1, "2026-10-17": 0, "2026-10-18": 2, "2026-10-19": 0}
    assert days(berlin["events-per-day"]) == {"2026-10-17": 1, "2026-10-18": 1, "2026-10-19": 1}
    assert days(utc["daily-volume-by-identity-type"]) == {"2026-10-16": 1, "2026-10-18": 2}
    assert days(berlin["daily-volume-by-identity-type"]) == {
        "2026-10-17": 1,
        "2026-10-18": 1,
        "2026-10-19": 1,
    }
    assert days(berlin["denied-requests-per-day"], "forbidden") == {
        "2026-10-17": 0,
        "2026-10-18": 1,
        "2026-10-19": 0,
    }


def test_session_zone_does_not_leak(
    archive: Archive, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner pins the DuckDB session zone, so a connection opened in another zone changes nothing."""
    connect = archive.connect

    def tokyo_connection(*args: Any, **kwargs: Any) -> Any:
        con = connect(*args, **kwargs)
        con.execute("SET TimeZone = 'Asia/Tokyo'")
        return con

    monkeypatch.setattr(archive, "connect", tokyo_connection)
    rows = _run(archive, catalog, "UTC", "off-hours-activity", "activity-heatmap", "hourly-coverage-gaps")
    assert {(r["weekday"], r["hour"]) for r in rows["activity-heatmap"]} == {(5, 22), (7, 22), (7, 2)}
    assert [r["ts"] for r in rows["off-hours-activity"]] == [TWO_AM_UTC]
    # Queries that label times "UTC" without $timezone (strftime / date_trunc on a TIMESTAMPTZ) rely on the pin.
    con = tokyo_connection(*PERIOD)
    Session(con, *PERIOD, Settings(timezone=BERLIN))
    assert con.sql("SELECT strftime(TIMESTAMPTZ '2026-10-18 02:00:00+00', '%H:%M')").fetchall() == [
        ("02:00",)
    ]
    con.close()


def test_hourly_gaps_follow_the_period_start(tmp_path: Path, catalog: Catalog) -> None:
    """Hours are counted from the period start, so a half-hour zone's clock hours are the buckets."""
    start = datetime(2026, 10, 16, 18, 30, tzinfo=UTC)  # midnight 17 October in Asia/Kolkata (UTC+5:30)
    # Ten events in each local clock hour, except 03:00-04:00 local (21:30-22:30 UTC), which gets none.
    events = [
        event(start + timedelta(hours=h, minutes=5 * i), user="system:kube-scheduler")
        for h in range(24)
        if h != 3
        for i in range(10)
    ]
    archive = open_archive(tmp_path / "archive")
    archive.ingest_events(events, cluster="test")
    run = run_catalog(
        archive,
        start,
        start + timedelta(days=1),
        settings=Settings(timezone="Asia/Kolkata"),
        catalog=catalog,
        query_ids=["hourly-coverage-gaps"],
        baseline_start=start,
    )
    rows = run.results["hourly-coverage-gaps"].table.to_pylist()  # type: ignore[union-attr]
    assert [(r["hour_utc"], r["events"]) for r in rows] == [(start + timedelta(hours=3), 0)]
