"""The same analytics on Spark (local[2]) and on DuckDB give the same tables, money to the cent.

Two data sets: the hand-made golden one (voided sales, unlinked cancellations, guests, ties, empty
periods, feedback) and the bundled Online Retail sample (three months of real orders). The KPI
tables (every group and period), the customer summary with its RFM scores and segments, and the
cohorts are computed by the one code path on both backends and compared cell by cell.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import ibis
import pandas as pd
import pytest
from tests.analytics.golden_data import AS_OF, build_golden_warehouse
from tests.analytics.spark_support import spark_backend_from_duckdb

from fidelis.analytics import (
    cohort_table,
    customer_summary,
    inputs_from_backend,
    kpi_table,
    load_analytics_config,
)
from fidelis.config import Settings
from fidelis.demo import bundled_sample
from fidelis.ingest.service import ingest_file
from fidelis.warehouse import open_warehouse

TABLES = ["orders", "customers", "feedback"]
CASES = [(None, "month"), ("market", "month"), ("market", "quarter"), ("country", "quarter"), ("channel", "year")]


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict[str, tuple[Path, date, str]]:
    """Each data set's warehouse, as-of date and reporting currency."""
    golden = build_golden_warehouse(tmp_path_factory.mktemp("golden_spark") / "w.duckdb")
    sample = tmp_path_factory.mktemp("sample_spark") / "w.duckdb"
    ingest_file(bundled_sample(), warehouse_path=sample, settings=Settings(reporting_currency="GBP"))
    return {"golden": (golden, AS_OF, "EUR"), "online_retail_sample": (sample, date(2011, 2, 28), "GBP")}


@pytest.fixture(scope="module", params=["golden", "online_retail_sample"])
def both(request, warehouses):
    """(DuckDB tables, Spark tables) for one data set: every analytics table on both backends."""
    path, as_of, currency = warehouses[request.param]
    config = load_analytics_config()
    with open_warehouse(path, create=False, read_only=True) as wh:
        duck = _compute(ibis.duckdb.from_connection(wh.con), as_of, currency, config)
        spark = _compute(spark_backend_from_duckdb(wh.con, TABLES), as_of, currency, config)
    return duck, spark


def _compute(backend, as_of: date, currency: str, config) -> dict[str, pd.DataFrame]:
    inputs = inputs_from_backend(backend, reporting_currency=currency, as_of=as_of)
    try:
        tables = {f"kpis_{by}_{period}": kpi_table(inputs, config, by=by, period=period)
                  for by, period in CASES if by != "channel" or _has_channel(inputs)}
        tables["summary"] = customer_summary(inputs, config).to_pandas()
        tables["cohorts"] = cohort_table(inputs)
        return tables
    finally:
        inputs.release()


def _has_channel(inputs) -> bool:
    return bool(inputs.orders.channel.notnull().any().to_pandas())


def test_both_backends_computed_the_same_tables(both) -> None:
    duck, spark = both
    assert duck.keys() == spark.keys()
    for name in duck:
        assert list(duck[name].columns) == list(spark[name].columns), name
        assert len(duck[name]) == len(spark[name]) > 0, name


def test_tables_agree_cell_by_cell(both) -> None:
    duck, spark = both
    for name in duck:
        keys = {"summary": ["customer_id"], "cohorts": ["group", "cohort", "months_since_first"]}.get(
            name, ["group", "period"])
        left = duck[name].sort_values(keys).reset_index(drop=True)
        right = spark[name].sort_values(keys).reset_index(drop=True)
        for column in left.columns:
            mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(left[column], right[column])) if not _same(a, b)]
            assert not mismatches, f"{name}.{column}: first differences {mismatches[:3]}"


def _same(a, b) -> bool:
    """Equal as a person reads them: money to the cent, other numbers to 1e-9, instants in UTC."""
    if _empty(a) or _empty(b):
        return _empty(a) and _empty(b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(a).quantize(Decimal("0.01")) == Decimal(b).quantize(Decimal("0.01"))
    if isinstance(a, pd.Timestamp) or isinstance(b, pd.Timestamp):
        return _utc(a) == _utc(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return a == b


def _empty(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
