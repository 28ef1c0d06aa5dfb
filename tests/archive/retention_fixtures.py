"""Helpers for the retention, holds, verify and compaction tests: small archives over chosen days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import kanalytics
from kanalytics.api import Archive
from kanalytics.config import Settings, parse_settings
from tests.conftest import make_event


def day_events(
    day: date, count: int = 3, *, namespace: str = "default", hour: int = 12
) -> list[dict[str, Any]]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return [
        make_event(
            start + timedelta(minutes=i),
            objectRef={"resource": "pods", "namespace": namespace, "apiVersion": "v1"},
        )
        for i in range(count)
    ]


def build_archive(
    root: Path, days: Iterable[date], *, cluster: str = "c1", batches: int = 1, per_day: int = 3
) -> Archive:
    """An archive with `batches` ingests (so `batches` files per partition) of `per_day` events per day."""
    archive = kanalytics.open_archive(root)
    days = list(days)
    for _ in range(batches):
        events = [e for d in days for e in day_events(d, per_day)]
        archive.store.ingest_events(events, cluster=cluster)  # the archive layer: no evaluation at commit
    return archive


def settings(**retention: Any) -> Settings:
    raw: dict[str, Any] = {"retention": retention}
    if "timezone" in retention:
        raw["timezone"] = retention.pop("timezone")
    return parse_settings(raw)


def data_files(archive: Archive) -> list[Path]:
    return sorted(archive.layout.events.rglob("*.parquet"))


def rel(archive: Archive, path: Path) -> str:
    return path.relative_to(archive.root).as_posix()


def days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]
