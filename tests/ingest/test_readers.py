"""Every format is read as text first, so the pipeline alone decides what a value means."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from fidelis.config import Settings
from fidelis.errors import WarehouseError
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions
from fidelis.warehouse import open_warehouse

MAPPING = """
[source]
name = "app"
timezone = "America/New_York"
default_currency = "USD"
[columns]
order_id = "id"
ordered_at = "at"
customer_id = "customer"
quantity = "qty"
unit_price = "price"
"""


def test_json_lines_offsets_and_ids_arrive_as_written(tmp_path: Path) -> None:
    data, mapping = tmp_path / "orders.jsonl", tmp_path / "app.toml"
    rows = [{"id": 1, "at": "2020-01-05T10:00:00+01:00", "customer": 17850.0, "qty": 1, "price": 30.0},
            {"id": 2, "at": "2020-01-05 10:00:00", "customer": 17851, "qty": 2, "price": 5}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mapping.write_text(MAPPING)
    warehouse = tmp_path / "wh.duckdb"
    ingest_file(data, warehouse_path=warehouse, settings=Settings(reporting_currency="USD"),
                options=SourceOptions(mapping_path=mapping))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        times = [r[0].isoformat() for r in con.execute("SELECT ordered_at FROM orders ORDER BY order_id").fetchall()]
    assert times == ["2020-01-05T09:00:00+00:00", "2020-01-05T15:00:00+00:00"]  # offset kept; naive in New York


def test_online_retail_as_the_original_xlsx(tmp_path: Path) -> None:
    frame = pd.DataFrame({"InvoiceNo": ["536365", "C536379"], "StockCode": ["85123A", "D"],
                          "Description": ["WHITE HANGING HEART T-LIGHT HOLDER", "Discount"], "Quantity": [6, -1],
                          "InvoiceDate": ["2010-12-01 08:26:00", "2010-12-01 09:41:00"], "UnitPrice": [2.55, 27.5],
                          "CustomerID": [17850.0, 14527.0], "Country": ["United Kingdom", "United Kingdom"]})
    path = tmp_path / "Online Retail.xlsx"
    frame.to_excel(path, index=False)
    report = ingest_file(path, warehouse_path=tmp_path / "wh.duckdb", settings=Settings(reporting_currency="GBP"))
    assert report.source_format == "online_retail"
    assert report.lines_by_fate["sale"] == 1 and report.lines_by_fate["cancellation"] == 1


def test_a_foreign_duckdb_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")
    with pytest.raises(WarehouseError, match="not a Fidelis warehouse"):
        open_warehouse(path)
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert tables == [("orders",)]
