"""The catalog on Spark gives DuckDB's findings: the same rows, finding ids and suppressions per query.

Both engines run every detection and anomaly over the same demo archive and period with the same settings
(`runner.run_catalog` with and without `engine=`); the rows are compared after sorting, so a difference names
the query and shows the rows only one engine returned. Queries Spark cannot run must be listed as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kanalytics.catalog.findings import finding_id, json_safe
from kanalytics.catalog.loader import load_catalog
from kanalytics.catalog.model import CatalogRun
from kanalytics.catalog.runner import NOT_RUN_ON, run_catalog
from kanalytics.catalog.spark_engine import SparkEngine
from kanalytics.config import load_settings
from tests.spark.conftest import PERIOD

pytestmark = pytest.mark.slow
KINDS = ("detection", "anomaly")


def _ids() -> list[str]:
    return sorted(q.id for q in load_catalog().queries.values() if q.header.kind in KINDS)


@pytest.fixture(scope="module")
def runs(demo: tuple[Path, Path], engine: SparkEngine) -> tuple[CatalogRun, CatalogRun]:
    from kanalytics.archive.api import Store

    root, config = demo
    settings = load_settings(config)
    catalog = load_catalog(settings=settings)
    store = Store(root)
    common: dict[str, Any] = {"settings": settings, "catalog": catalog, "kinds": KINDS}
    duck = run_catalog(store, *PERIOD, **common)
    spark = run_catalog(store, *PERIOD, engine=engine, **common)
    return duck, spark


def _rows(table: Any) -> list[str]:
    return sorted(json.dumps(json_safe(r), sort_keys=True, default=str) for r in table.to_pylist())


@pytest.mark.parametrize("query_id", _ids())
def test_spark_gives_duckdbs_findings(query_id: str, runs: tuple[CatalogRun, CatalogRun]) -> None:
    duck, spark = runs[0].results[query_id], runs[1].results[query_id]
    if spark.status == "not-evaluable" and spark.reason.startswith(NOT_RUN_ON):
        assert spark.query.header.spark, f"{query_id} is not marked `spark:` but did not run: {spark.reason}"
        pytest.skip(f"not portable: {spark.reason}")
    assert (spark.status, spark.reason) == (duck.status, duck.reason)
    if duck.table is not None:
        assert spark.table is not None
        assert spark.table.schema == duck.table.schema
        only_duckdb = sorted(set(_rows(duck.table)) - set(_rows(spark.table)))[:3]
        only_spark = sorted(set(_rows(spark.table)) - set(_rows(duck.table)))[:3]
        assert (only_duckdb, only_spark) == ([], [])
        assert _rows(spark.table) == _rows(duck.table)
    assert spark.suppressed == duck.suppressed
    ids = sorted(finding_id(f) for f in runs[1].findings if f.query_id == query_id)
    assert ids == sorted(finding_id(f) for f in runs[0].findings if f.query_id == query_id)


def test_the_period_has_findings_to_compare(runs: tuple[CatalogRun, CatalogRun]) -> None:
    """Guard against a vacuous comparison: the demo's incidents fire, and suppressions happen."""
    duck, spark = runs
    assert len(duck.findings) > 20
    assert sum(len(r.suppressed) for r in duck.results.values()) > 0
    marked = {q.header.id for q in load_catalog().queries.values() if q.header.spark}  # not run on Spark
    assert len(spark.findings) == len([f for f in duck.findings if f.query_id not in marked])
