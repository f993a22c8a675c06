"""The Spark test helper copies warehouse tables faithfully: ibis on Spark agrees with ibis on DuckDB."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import ibis
import pandas as pd
import pytest
from tests.analytics.spark_support import spark_backend_from_duckdb, spark_session


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Kolkata'")  # instants must not depend on the session zone
    con.execute(
        """CREATE TABLE orders (
            order_id BIGINT NOT NULL, customer_id BIGINT, amount DECIMAL(18,4), discount_pct DECIMAL(6,2),
            quantity SMALLINT, ordered_at TIMESTAMPTZ NOT NULL, order_date DATE, paid BOOLEAN,
            country VARCHAR, attributes JSON)"""
    )
    con.execute(
        """INSERT INTO orders VALUES
            (1, 10, 12345678901234.5678, 12.50, 2, '2011-01-31 23:30:00+00', '2011-01-31', true, 'DE',
             '{"a": 1}'),
            (2, 10, 0.0001, 0.00, 1, '2011-02-01 00:30:00.123456+00', '2011-02-01', false, 'DE', NULL),
            (3, NULL, NULL, NULL, NULL, '2010-12-01 08:26:00-05', NULL, NULL, NULL, NULL),
            (4, 11, -7.2500, 99.99, -32768, '2024-02-29 23:59:59.999999+00', '2024-02-29', true, 'ü',
             '[1]')"""
    )
    con.execute("CREATE TABLE returns (order_id BIGINT, refund DECIMAL(18,4), returned_at TIMESTAMPTZ)")
    yield con
    con.close()


@pytest.fixture(scope="module")
def backends(con):
    spark_session()  # skips here (fails under CI) without Java
    return spark_backend_from_duckdb(con, ["orders", "returns"]), ibis.duckdb.from_connection(con)


def test_types_survive_the_copy(backends) -> None:
    spark, _ = backends
    schema = spark.table("orders").schema()
    assert schema["amount"] == ibis.dtype("decimal(18, 4)")
    assert schema["discount_pct"] == ibis.dtype("decimal(6, 2)")
    assert schema["order_id"].is_int64() and schema["quantity"].is_int16()
    assert schema["ordered_at"].is_timestamp() and schema["order_date"].is_date()
    assert schema["paid"].is_boolean() and schema["attributes"].is_string()


def test_spark_aggregates_equal_duckdb(backends) -> None:
    spark, duck = backends

    def summary(backend):
        orders = backend.table("orders")
        return (
            orders.aggregate(
                rows=orders.count(),
                with_amount=orders.amount.count(),
                customers=orders.customer_id.nunique(),
                missing_customer=orders.customer_id.isnull().sum(),
                amount=orders.amount.sum(),
                discount=orders.discount_pct.sum(),
                quantity=orders.quantity.sum(),
                first=orders.ordered_at.min(),
                last=orders.ordered_at.max(),
            )
            .to_pandas()
            .iloc[0]
        )

    on_spark, on_duck = summary(spark), summary(duck)
    for column in ("rows", "with_amount", "customers", "missing_customer", "quantity"):
        assert on_spark[column] == on_duck[column], column
    assert on_spark["rows"] == 4 and on_spark["missing_customer"] == 1
    assert on_spark["amount"] == on_duck["amount"] == Decimal("12345678901227.3179")
    assert isinstance(on_spark["amount"], Decimal)
    assert on_spark["discount"] == on_duck["discount"] == Decimal("112.49")
    # ibis on Spark gives naive UTC wall-clock times, ibis on DuckDB UTC-aware ones: the same instants.
    for column, expected in (("first", "2010-12-01 13:26:00"), ("last", "2024-02-29 23:59:59.999999")):
        instant = pd.Timestamp(expected, tz="UTC")
        assert pd.Timestamp(on_spark[column]).tz_localize("UTC") == on_duck[column] == instant, column


def test_instants_round_trip_to_the_microsecond(backends, con) -> None:
    spark, _ = backends
    session = spark_session()
    in_spark = session.sql("SELECT order_id, unix_micros(ordered_at) FROM orders ORDER BY order_id").collect()
    in_duck = con.execute("SELECT order_id, epoch_us(ordered_at) FROM orders ORDER BY order_id").fetchall()
    assert [tuple(row) for row in in_spark] == in_duck
    cutoff = ibis.literal(dt.datetime(2011, 2, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    orders = spark.table("orders")
    assert orders.filter(orders.ordered_at < cutoff).count().execute() == 2


def test_empty_table_keeps_its_schema(backends) -> None:
    spark, _ = backends
    returns = spark.table("returns")
    assert returns.schema()["refund"] == ibis.dtype("decimal(18, 4)")
    assert returns.count().execute() == 0


def test_a_missing_table_is_refused(con) -> None:
    spark_session()
    with pytest.raises(ValueError, match="no_such_table"):
        spark_backend_from_duckdb(con, ["no_such_table"])
