"""The customer profile: contact details normalised, home country and market by majority."""

from __future__ import annotations

from pathlib import Path

import duckdb

from fidelis.config import Settings
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions

MAPPING = """
[source]
name = "shop"
default_currency = "EUR"
[columns]
order_id = "order"
ordered_at = "date"
customer_id = "customer"
phone = "phone"
country = "country"
line_amount = "amount"
quantity = "qty"
"""


def load(tmp_path: Path, rows: list[str]) -> duckdb.DuckDBPyConnection:
    data, mapping = tmp_path / "orders.csv", tmp_path / "orders.toml"
    data.write_text("order,date,customer,phone,country,amount,qty\n" + "\n".join(rows) + "\n")
    mapping.write_text(MAPPING)
    warehouse = tmp_path / "wh.duckdb"
    ingest_file(data, warehouse_path=warehouse, settings=Settings(reporting_currency="EUR"),
                options=SourceOptions(mapping_path=mapping))
    return duckdb.connect(str(warehouse), read_only=True)


def test_market_is_the_market_of_most_orders_not_of_the_top_country(tmp_path: Path) -> None:
    """Three orders to GB, two to DE and two to FR: the top country is GB, the top market Europe."""
    rows = [f"G{i},2023-01-0{i},c1,,GB,10,1" for i in range(1, 4)]
    rows += [f"D{i},2023-02-0{i},c1,,DE,10,1" for i in range(1, 3)]
    rows += [f"F{i},2023-03-0{i},c1,,FR,10,1" for i in range(1, 3)]
    with load(tmp_path, rows) as con:
        assert con.execute("SELECT country_code, market FROM customers").fetchone() == ("GB", "Europe")


def test_phones_become_e164_including_trunk_prefixes_in_brackets(tmp_path: Path) -> None:
    rows = ["A1,2023-01-01,c1,+44 (0)20 7946 0958,GB,10,1", "B1,2023-01-01,c2,+49-30-1234567,DE,10,1",
            "C1,2023-01-01,c3,030 1234567,DE,10,1", "D1,2023-01-01,c4,123,GB,10,1"]
    with load(tmp_path, rows) as con:
        phones = dict(con.execute(
            "SELECT k.key_value, c.phone FROM customers c JOIN customer_keys k USING (customer_id)").fetchall())
    assert phones == {"shop:c1": "+442079460958", "shop:c2": "+49301234567", "shop:c3": "+49301234567",
                      "shop:c4": None}


def test_an_older_export_loaded_later_does_not_bring_back_old_contacts(tmp_path: Path) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    warehouse = tmp_path / "wh.duckdb"
    mapping = tmp_path / "orders.toml"
    mapping.write_text(MAPPING)
    for folder, row in (("new", "N1,2023-06-01,c1,+49 30 7654321,DE,10,1"), ("old", "O1,2021-01-01,c1,+49 30 1234567,DE,10,1")):
        data = tmp_path / folder / "orders.csv"
        data.write_text("order,date,customer,phone,country,amount,qty\n" + row + "\n")
        ingest_file(data, warehouse_path=warehouse, settings=Settings(reporting_currency="EUR"),
                    options=SourceOptions(mapping_path=mapping))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        phone, first = con.execute("SELECT phone, first_order_at FROM customers").fetchone()
    assert phone == "+49307654321" and first.year == 2021
