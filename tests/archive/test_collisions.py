"""auditID collisions across days: ingest counts what `integrity-audit-id-conflict` reports.

Dedupe is per (cluster, day) partition, so an auditID and stage reused with different content on another day
used to be archived without a word in the ingest summary, while the detection (which groups by cluster,
auditID and stage over the period) reported it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import kanalytics
from kanalytics.archive.collisions import DayIndex
from kanalytics.catalog.runner import run_query
from tests.conftest import make_event

DAY1 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)
DAY3 = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)


def _reused(ts: datetime, original: dict) -> dict:
    return make_event(
        ts, auditID=original["auditID"], verb="delete", requestURI="/api/v1/namespaces/x/pods/y"
    )


def _detected_copies(archive: kanalytics.api.Archive) -> dict[str, int]:
    result = run_query(
        archive,
        "integrity-audit-id-conflict",
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 10, 4, tzinfo=UTC),
    )
    assert result.status == "ok" and result.table is not None
    return {row["audit_id"]: row["copies"] for row in result.table.to_pylist()}


def test_auditid_reused_on_another_day_is_counted_like_the_detection(tmp_path: Path) -> None:
    original = make_event(DAY1)
    archive = kanalytics.open_archive(tmp_path / "a")
    summary = archive.ingest_events(
        [original, _reused(DAY2, original), _reused(DAY3, original), make_event(DAY2)]
    )
    assert (summary.archived, summary.collisions) == (4, 2)
    assert [e["partition"] for e in summary.collision_examples] == [
        "events/cluster=default/date=2026-10-02",
        "events/cluster=default/date=2026-10-03",
    ]
    assert {e["audit_id"] for e in summary.collision_examples} == {original["auditID"]}
    assert _detected_copies(archive) == {original["auditID"]: 3}  # 3 copies: 2 beyond the first


def test_reuse_against_an_archived_day_counts_once_whichever_day_comes_first(tmp_path: Path) -> None:
    original = make_event(DAY2)
    archive = kanalytics.open_archive(tmp_path / "a")
    assert archive.ingest_events([original, make_event(DAY1)]).collisions == 0
    # This run touches day 1 first (a fresh reuse), then loads day 2, which already holds the original.
    summary = archive.ingest_events([_reused(DAY1, original), make_event(DAY2)])
    assert (summary.archived, summary.collisions) == (2, 1)
    # Re-ingesting everything adds no event and no collision: the archive already held them.
    again = archive.ingest_events([original, _reused(DAY1, original)])
    assert (again.duplicates, again.collisions) == (2, 0)
    assert _detected_copies(archive) == {original["auditID"]: 2}


def test_same_auditid_in_two_clusters_is_no_collision(tmp_path: Path) -> None:
    original = make_event(DAY1)
    archive = kanalytics.open_archive(tmp_path / "a")
    assert archive.ingest_events([original], cluster="one").collisions == 0
    assert archive.ingest_events([_reused(DAY2, original)], cluster="two").collisions == 0
    assert _detected_copies(archive) == {}


def test_day_index_forgets_an_evicted_day() -> None:
    index = DayIndex()
    day1, day2 = date(2026, 10, 1).toordinal(), date(2026, 10, 2).toordinal()
    assert index.observe(7, day1, archived=True) == 0
    assert index.observe(7, day1, archived=False) == 0  # same day: the partition's dedupe state decides
    assert index.observe(7, day2, archived=True) == 0  # two archived days: the archive's own, not this run's
    assert index.observe(7, day2 + 1, archived=False) == 1
    index.forget([7], day2 + 1)
    index.forget([7], day2)
    assert index.by_key == {7: day1 * 2 + 1}
    index.forget([7], day1)
    assert index.by_key == {}
