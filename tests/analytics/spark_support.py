"""Spark for tests: one local SparkSession per test run, and warehouse tables copied into it.

`spark_session()` starts (once) a small local Spark with UTC as its session time zone; it needs
Java 17 or 21 (Spark 4.0), from JAVA_HOME or else the PATH. Without it the calling test is
skipped, except under CI (`CI=true`), where it fails. `spark_backend_from_duckdb(con, tables)` copies tables of a
DuckDB warehouse into Spark temporary views of the same names and returns an ibis backend on them.

The copy goes through Parquet written by DuckDB itself, so types stay faithful: DECIMAL(p, s)
stays DECIMAL(p, s), TIMESTAMPTZ becomes Spark TIMESTAMP (the same UTC instant), SMALLINT,
INTEGER, BIGINT, BOOLEAN, DATE and VARCHAR keep their kind. JSON, UUID and ENUM columns become
strings. Spark keeps its default ANSI mode: a division by zero raises instead of giving NULL.
Note that ibis on Spark types a Spark TIMESTAMP as a timestamp without time zone whose
values are UTC wall-clock times, where ibis on DuckDB types TIMESTAMPTZ as `timestamp('UTC')`.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "fidelis-tests",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",  # applies: the driver JVM is started with this configuration
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
"""

# DuckDB types that Parquet or Spark cannot carry as they are: sent as text instead.
_AS_TEXT = re.compile(r"^(JSON|UUID|ENUM\b.*)$", re.IGNORECASE)
# DuckDB types with no faithful Spark counterpart: refused rather than silently changed.
_REFUSED = re.compile(
    r"^(HUGEINT|UHUGEINT|UBIGINT|TIME WITH TIME ZONE|TIMETZ|TIMESTAMP_NS|INTERVAL|BIT)\b", re.IGNORECASE
)


# Spark 4.0 runs on Java 17 and 21; on Java 25 it fails to start ("getSubject is not supported").
JAVA_VERSIONS = range(17, 22)


def _missing_java(reason: str) -> NoReturn:
    message = f"Spark tests need Java 17 or 21 (JAVA_HOME or java on PATH): {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _java_candidates() -> list[Path]:
    """Java installations to try, in order: JAVA_HOME, then the one whose java is on PATH."""
    homes = []
    if home := os.environ.get("JAVA_HOME"):
        homes.append(Path(home))
    if found := shutil.which("java"):
        homes.append(Path(found).resolve().parent.parent)
    return list(dict.fromkeys(homes))


def _java_major(home: Path) -> int | None:
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        done = subprocess.run(
            [str(java), "-version"], check=False, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major  # "1.8.0" is Java 8


@cache
def _start() -> SparkSession:
    from pyspark.sql import SparkSession

    scratch = Path(tempfile.mkdtemp(prefix="fidelis-spark-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J2)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "hostname resolves to loopback" warning
    builder = SparkSession.builder
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    # C1-only JIT and the serial collector: a JVM that runs tiny queries briefly starts and warms up faster.
    java_options = (
        f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile={log_config.as_uri()}"
    )
    session = (
        builder.config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch / "local"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    atexit.register(session.stop)
    return session


def spark_session() -> SparkSession:
    """The shared local SparkSession (started on first use); skips, or fails under CI, without Java."""
    if _start.cache_info().currsize:
        return _start()
    found = []
    for home in _java_candidates():
        major = _java_major(home)
        if major in JAVA_VERSIONS:
            os.environ["JAVA_HOME"] = str(home)  # what Spark's launcher uses
            return _start()
        found.append(f"{home} (Java {major or '?'})")
    _missing_java("found " + ", ".join(found) if found else "none found")


def _select_list(con: duckdb.DuckDBPyConnection, table: str) -> str:
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    if not columns:
        raise ValueError(f"DuckDB has no table {table!r}")
    items = []
    for name, data_type in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if _REFUSED.match(data_type):
            raise TypeError(f"{table}.{name}: DuckDB type {data_type} has no faithful Spark type")
        items.append(f"CAST({quoted} AS VARCHAR) AS {quoted}" if _AS_TEXT.match(data_type) else quoted)
    return ", ".join(items)


def spark_backend_from_duckdb(con: duckdb.DuckDBPyConnection, tables: list[str]):
    """Copy `tables` from DuckDB into Spark temp views of the same names; an ibis backend on Spark.

    The Parquet copies live in a temporary folder until the test process ends (Spark reads lazily).
    Copying a table again replaces its view.
    """
    import ibis

    session = spark_session()
    folder = Path(tempfile.mkdtemp(prefix="fidelis-spark-tables-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for table in tables:
        target = folder / f"{table}.parquet"
        quoted = '"' + table.replace('"', '""') + '"'
        con.execute(f"COPY (SELECT {_select_list(con, table)} FROM {quoted}) TO '{target}' (FORMAT parquet)")
        session.read.parquet(str(target)).createOrReplaceTempView(table)
    return ibis.pyspark.connect(session)
