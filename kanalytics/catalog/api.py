"""The catalog's Python entry points that `Archive.run` and `Archive.findings` delegate to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from kanalytics.catalog.model import SEVERITY_ORDER, Finding, QueryResult
from kanalytics.errors import UsageError

if TYPE_CHECKING:
    from kanalytics.archive.api import Archive
    from kanalytics.catalog.loader import Catalog
    from kanalytics.config import Settings


def run(
    archive: Archive,
    query_id: str,
    start: datetime,
    end: datetime,
    *,
    clusters: Sequence[str] | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
) -> QueryResult:
    """Run one catalog query over [start, end); see `kanalytics.catalog.runner.run_query`."""
    from kanalytics.catalog.runner import run_query

    return run_query(archive, query_id, start, end, clusters=clusters, settings=settings, catalog=catalog)


def findings(
    archive: Archive,
    start: datetime,
    end: datetime,
    *,
    clusters: Sequence[str] | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    min_severity: str | None = None,
) -> list[Finding]:
    """Every detection and anomaly finding of [start, end), most severe first."""
    from kanalytics.catalog.runner import run_catalog

    floor = severity_floor(min_severity)
    run_ = run_catalog(
        archive,
        start,
        end,
        clusters=clusters,
        settings=settings,
        catalog=catalog,
        kinds=("detection", "anomaly"),
        keep_tables=False,
    )
    return [f for f in run_.findings if SEVERITY_ORDER[f.severity] >= floor]


def severity_floor(min_severity: str | None) -> int:
    """The numeric floor of `min_severity` (None: everything); a UsageError for unknown names."""
    if min_severity is None:
        return 0
    try:
        return SEVERITY_ORDER[min_severity.lower()]
    except KeyError:
        raise UsageError(
            f"unknown severity {min_severity!r}", hint=f"use one of: {', '.join(SEVERITY_ORDER)}"
        ) from None
