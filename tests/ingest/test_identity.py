"""One customer across shops: keys, links, merges, and their explanation."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from fidelis.config import Settings
from fidelis.customers.service import CustomerNotFoundError, explain_customer
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions

HEADER = "order,date,customer,email,country,amount,qty"
MAPPING = """
[source]
name = "{source}"
default_currency = "EUR"
[columns]
order_id = "order"
ordered_at = "date"
customer_id = "customer"
email = "email"
country = "country"
line_amount = "amount"
quantity = "qty"
"""


def load(tmp_path: Path, warehouse: Path, source: str, rows: list[str]) -> None:
    """Load `rows` (one line each, quantity 1) as a file of the shop `source`."""
    data = tmp_path / f"{source}-{len(list(tmp_path.glob('*.csv')))}.csv"
    data.write_text("\n".join([HEADER, *[row + ",1" for row in rows]]) + "\n", encoding="utf-8")
    mapping = tmp_path / f"{source}.toml"
    mapping.write_text(MAPPING.format(source=source), encoding="utf-8")
    ingest_file(data, warehouse_path=warehouse, settings=Settings(reporting_currency="EUR"),
                options=SourceOptions(mapping_path=mapping))


def customer_of(con: duckdb.DuckDBPyConnection, source: str, order: str) -> int:
    return con.execute("SELECT customer_id FROM orders WHERE source = ? AND source_order_id = ?",
                       [source, order]).fetchone()[0]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    wh = tmp_path / "wh.duckdb"
    load(tmp_path, wh, "shop_a", ["A1,2023-01-05,c1,anna@example.com,DE,10", "A2,2023-01-06,c2,bob@example.com,FR,20"])
    load(tmp_path, wh, "shop_b", ["B1,2023-02-01,k9, Anna@Example.COM ,DE,30", "B2,2023-02-02,,,DE,5"])
    return wh


def test_same_email_in_another_shop_is_the_same_customer(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert customer_of(con, "shop_a", "A1") == customer_of(con, "shop_b", "B1")
        assert customer_of(con, "shop_a", "A2") != customer_of(con, "shop_a", "A1")
        assert customer_of(con, "shop_b", "B2") is None  # a guest order: no id, no email
        assert con.execute("SELECT is_guest FROM orders WHERE source_order_id = 'B2'").fetchone()[0]
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
        assert con.execute("SELECT email FROM customers WHERE customer_id = 1").fetchone()[0] == "anna@example.com"


def test_a_record_joining_two_customers_merges_them_and_says_why(tmp_path: Path, warehouse: Path) -> None:
    load(tmp_path, warehouse, "shop_b", ["B3,2023-03-01,k9,bob@example.com,DE,7"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        survivor = customer_of(con, "shop_a", "A1")
        assert customer_of(con, "shop_a", "A2") == survivor == customer_of(con, "shop_b", "B3")
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 1
        explanation = explain_customer(con, customer_id=survivor)
        merged_away = explain_customer(con, customer_id=2)
    keys = {(k["key_type"], k["key_value"]) for k in explanation["keys"]}
    assert keys == {("source_id", "shop_a:c1"), ("source_id", "shop_a:c2"), ("source_id", "shop_b:k9"),
                    ("email", "anna@example.com"), ("email", "bob@example.com")}
    assert [(m["merged_customer_id"], m["into_customer_id"]) for m in explanation["merges"]] == [(2, 1)]
    assert explanation["merges"][0]["via_key_value"] == "bob@example.com"  # the key seen with shop_b:k9
    assert {(link["source_key"], link["email"]) for link in explanation["links"]} >= {
        ("shop_b:k9", "anna@example.com"), ("shop_b:k9", "bob@example.com")}
    assert merged_away["merged_into"] == 1 and merged_away["profile"] is None


def test_unknown_customer_is_a_clear_error(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con, pytest.raises(CustomerNotFoundError, match="999"):
        explain_customer(con, customer_id=999)


def test_a_file_of_guests_only_creates_no_customers(tmp_path: Path) -> None:
    warehouse = tmp_path / "guests.duckdb"
    load(tmp_path, warehouse, "kiosk", ["G1,2023-01-05,,,DE,10", "G2,2023-01-06,,,FR,12"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*), bool_and(is_guest) FROM orders").fetchone() == (2, True)
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def test_ids_stay_unique_across_loads_and_merges(tmp_path: Path, warehouse: Path) -> None:
    load(tmp_path, warehouse, "shop_b", ["B3,2023-03-01,k9,bob@example.com,DE,7"])
    load(tmp_path, warehouse, "shop_c", ["C1,2023-04-01,z1,zoe@example.com,ES,9"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, column in (("orders", "order_id"), ("order_lines", "line_id"), ("customers", "customer_id")):
            total, distinct = con.execute(f"SELECT count(*), count(DISTINCT {column}) FROM {table}").fetchone()
            assert total == distinct, table
        keys = con.execute("SELECT count(*), count(DISTINCT (key_type, key_value)) FROM customer_keys").fetchone()
        assert keys[0] == keys[1]
        # The new customer does not reuse the id of the customer merged away (2).
        assert con.execute("SELECT customer_id FROM orders WHERE source_order_id = 'C1'").fetchone()[0] == 3


def test_explain_follows_merges_of_merges(tmp_path: Path) -> None:
    """C is merged into B, then B into A: C's id leads to A, and A's explanation shows both merges."""
    wh = tmp_path / "chain.duckdb"
    load(tmp_path, wh, "s", ["X1,2023-01-01,a,a@example.com,DE,1", "X2,2023-01-02,b,b@example.com,DE,1",
                             "X3,2023-01-03,c,c@example.com,DE,1"])
    load(tmp_path, wh, "t", ["Y1,2023-02-01,k1,b@example.com,DE,1", "Y2,2023-02-01,k1,c@example.com,DE,1"])
    load(tmp_path, wh, "u", ["Z1,2023-03-01,m1,a@example.com,DE,1", "Z2,2023-03-01,m1,b@example.com,DE,1"])
    with duckdb.connect(str(wh), read_only=True) as con:
        assert explain_customer(con, customer_id=3)["merged_into"] == 1
        merges = {(m["merged_customer_id"], m["into_customer_id"]) for m in explain_customer(con, customer_id=1)["merges"]}
    assert merges == {(3, 2), (2, 1)}
