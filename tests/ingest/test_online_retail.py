"""The UCI Online Retail file, loaded whole: every line accounted for, nothing doubled."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import duckdb
import pytest

from fidelis.ingest.service import ingest_file

LINES_IN_FILE = 320_705
CUSTOMERS_IN_FILE = 3_360


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, shared_file):
    from fidelis.config import Settings

    path = shared_file("online_retail_2010-12_2011-08.csv.gz")
    warehouse = tmp_path_factory.mktemp("online_retail") / "warehouse.duckdb"
    settings = Settings(reporting_currency="GBP", environment="test")
    first = ingest_file(path, warehouse_path=warehouse, settings=settings)
    second = ingest_file(path, warehouse_path=warehouse, settings=settings)
    return path, warehouse, first, second


def test_every_line_has_exactly_one_fate(loaded) -> None:
    _, _, report, _ = loaded
    fates = report.lines_by_fate
    assert report.rows_read == LINES_IN_FILE
    assert fates["sale"] + fates["cancellation"] + fates["guest"] + fates["quarantined"] == LINES_IN_FILE
    assert fates["return"] == 0 and fates["skipped_existing"] == 0
    assert fates["cancellation"] > 0 and fates["guest"] > 0 and fates["quarantined"] > 0


def test_second_load_adds_nothing(loaded) -> None:
    _, warehouse, first, second = loaded
    assert second.status == "already_loaded"
    assert second.batch_id == first.batch_id
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM batches").fetchone()[0] == 1
        lines = con.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    assert lines == first.lines_by_fate["sale"] + first.lines_by_fate["cancellation"] + first.lines_by_fate["guest"]


def test_all_customers_found_and_ids_normalised(loaded) -> None:
    _, warehouse, report, _ = loaded
    assert report.customers_created == CUSTOMERS_IN_FILE
    with duckdb.connect(str(warehouse), read_only=True) as con:
        keys = [r[0] for r in con.execute("SELECT key_value FROM customer_keys WHERE key_value LIKE '%17850%'").fetchall()]
    assert keys == ["online_retail:17850"]


def test_money_is_conserved_between_file_warehouse_and_quarantine(loaded) -> None:
    """Loaded plus quarantined amounts equal the file's own sum of Quantity x UnitPrice."""
    path, warehouse, _, _ = loaded
    with duckdb.connect(str(warehouse), read_only=True) as con:
        file_total = con.execute(
            "SELECT sum(CAST(Quantity AS DECIMAL(18,4)) * CAST(UnitPrice AS DECIMAL(18,6))) "
            "FROM read_csv(?, all_varchar = true)", [str(path)]
        ).fetchone()[0]
        loaded_total = con.execute("SELECT sum(amount) FROM order_lines").fetchone()[0]
        quarantined_total = con.execute(
            "SELECT sum(CAST(record->>'Quantity' AS DECIMAL(18,4)) * CAST(record->>'UnitPrice' AS DECIMAL(18,6))) "
            "FROM quarantine"
        ).fetchone()[0]
        reporting_equal = con.execute(
            "SELECT bool_and(amount = amount_reporting AND fx_rate = 1) FROM order_lines"
        ).fetchone()[0]
    assert Decimal(loaded_total) + Decimal(quarantined_total) == Decimal(file_total)
    assert reporting_equal  # GBP file into a GBP warehouse converts at exactly 1


def test_cancellations_are_negative_and_sales_positive(loaded) -> None:
    _, warehouse, _, _ = loaded
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = dict(con.execute(
            """SELECT l.line_kind, bool_and(CASE WHEN l.line_kind = 'sale' THEN l.quantity > 0 AND l.amount > 0
                                                  ELSE l.quantity < 0 AND l.amount <= 0 END)
               FROM order_lines l GROUP BY 1""").fetchall())
        cancel_ids = con.execute(
            "SELECT bool_and(source_order_id LIKE 'C%') FROM orders WHERE order_kind = 'cancellation'"
        ).fetchone()[0]
    assert rows == {"sale": True, "cancellation": True}
    assert cancel_ids


def test_quarantine_keeps_the_row_and_reason(loaded) -> None:
    _, warehouse, report, _ = loaded
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_reason = dict(con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1").fetchall())
        sample = con.execute(
            "SELECT record->>'InvoiceNo', source_row FROM quarantine WHERE reason = 'non_positive_price_in_sale' LIMIT 1"
        ).fetchone()
    assert by_reason == report.quarantine_by_reason
    assert set(by_reason) == {"duplicate_line", "negative_quantity_in_sale", "non_positive_price_in_sale"}
    assert sample[0] and sample[1] >= 2


def test_countries_map_to_iso_codes_and_markets(loaded) -> None:
    _, warehouse, _, _ = loaded
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mapped = dict(con.execute(
            "SELECT country_raw, any_value(country_code) FROM orders GROUP BY 1").fetchall())
        markets = dict(con.execute("SELECT country_raw, any_value(market) FROM orders GROUP BY 1").fetchall())
    assert mapped["United Kingdom"] == "GB"
    assert mapped["EIRE"] == "IE"
    assert mapped["USA"] == "US"
    assert mapped["Unspecified"] is None and markets["Unspecified"] == "Unknown"
    assert mapped["Channel Islands"] is None and markets["Channel Islands"] == "United Kingdom"
    assert markets["Singapore"] == "Southeast Asia"


def test_timestamps_are_utc_from_uk_local_time(loaded) -> None:
    """UK local time is UTC in winter and UTC+1 in summer (BST): 08:26 in June is 07:26 UTC."""
    path, warehouse, _, _ = loaded
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        june_invoice, june_local = con.execute(
            "SELECT InvoiceNo, InvoiceDate FROM read_csv(?, all_varchar = true) "
            "WHERE InvoiceDate >= '2011-06-15' AND CustomerID IS NOT NULL AND NOT InvoiceNo LIKE 'C%' LIMIT 1",
            [str(path)],
        ).fetchone()
        winter = con.execute("SELECT ordered_at FROM orders WHERE source_order_id = '536365'").fetchone()[0]
        summer = con.execute("SELECT ordered_at FROM orders WHERE source_order_id = ?", [june_invoice]).fetchone()[0]
        zones = con.execute("SELECT DISTINCT source_timezone FROM orders").fetchall()
    assert winter.isoformat() == "2010-12-01T08:26:00+00:00"
    local = datetime.fromisoformat(june_local)
    assert summer.replace(tzinfo=None) == local - timedelta(hours=1)
    assert zones == [("Europe/London",)]


def test_known_customer_revenue_share_is_reported(loaded) -> None:
    _, _, report, _ = loaded
    share = report.quality["identity"]["known_customer_revenue_share"]
    assert 0.5 < share < 1.0
