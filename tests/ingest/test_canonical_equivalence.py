"""A Shopify export and a generic mapped file with the same facts load to the same canonical rows."""

from __future__ import annotations

from pathlib import Path

import duckdb

from fidelis.config import Settings
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions

SHOPIFY_HEADER = ["Name", "Email", "Financial Status", "Paid at", "Currency", "Subtotal", "Total", "Created at",
                  "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku", "Billing Name",
                  "Billing Country", "Shipping Country", "Phone", "Cancelled at", "Refunded Amount", "Source"]
SHOPIFY_ROWS = [
    ["#1001", "Anna@Example.com", "paid", "2023-03-01 10:05:00 +0100", "EUR", "25.50", "25.50",
     "2023-03-01 10:00:00 +0100", "2", "Mug", "10.00", "MUG-1", "Anna Schmidt", "DE", "DE", "+49 30 1234567",
     "", "0.00", "web"],
    ["#1001", "", "", "", "", "", "", "", "1", "Tea", "5.50", "TEA-1", "", "", "", "", "", "", ""],
    ["#1002", "bob@example.com", "partially_refunded", "2023-03-02 11:30:00 -0500", "USD", "30.00", "30.00",
     "2023-03-02 11:30:00 -0500", "3", "Mug", "10.00", "MUG-1", "Bob Stone", "US", "US", "", "", "10.00", "pos"],
    ["#1003", "carla@example.com", "voided", "", "GBP", "8.00", "8.00", "2023-03-03 09:00:00 +0000",
     "1", "Tea", "8.00", "TEA-1", "Carla Diaz", "GB", "", "", "2023-03-04 09:00:00 +0000", "0.00", "web"],
]

GENERIC_HEADER = ["id", "kind", "of", "when", "mail", "tel", "who", "ctry", "cur", "sku", "item", "qty", "price",
                  "channel"]
GENERIC_ROWS = [
    ["#1001", "order", "", "2023-03-01T09:00:00Z", "anna@example.com", "+49 30 1234567", "Anna Schmidt", "Germany",
     "EUR", "MUG-1", "Mug", "2", "10.00", "web"],
    ["#1001", "order", "", "2023-03-01T09:00:00Z", "anna@example.com", "+49 30 1234567", "Anna Schmidt", "Germany",
     "EUR", "TEA-1", "Tea", "1", "5.50", "web"],
    ["#1002", "order", "", "2023-03-02T16:30:00Z", "bob@example.com", "", "Bob Stone", "United States", "USD",
     "MUG-1", "Mug", "3", "10.00", "pos"],
    ["#1002/refund", "refund", "#1002", "2023-03-02T16:30:00Z", "bob@example.com", "", "Bob Stone",
     "United States", "USD", "", "refund", "1", "10.00", "pos"],
    ["#1003", "order", "", "2023-03-03T09:00:00Z", "carla@example.com", "", "Carla Diaz", "GB", "GBP", "TEA-1", "Tea",
     "1", "8.00", "web"],
    ["#1003/cancel", "void", "#1003", "2023-03-04T09:00:00Z", "carla@example.com", "", "Carla Diaz", "GB", "GBP",
     "TEA-1", "Tea", "1", "8.00", "web"],
]
GENERIC_MAPPING = """
[source]
name = "shop"
[columns]
order_id = "id"
order_kind = "kind"
original_order_id = "of"
ordered_at = "when"
email = "mail"
phone = "tel"
customer_name = "who"
country = "ctry"
currency = "cur"
sku = "sku"
description = "item"
quantity = "qty"
unit_price = "price"
channel = "channel"
[values.order_kind]
sale = ["order"]
return = ["refund"]
cancellation = ["void"]
"""

CANONICAL = {
    "orders": """SELECT o.source_order_id, o.order_kind, orig.source_order_id AS original, o.ordered_at, o.is_guest,
                        o.country_code, o.market, o.channel, o.currency, o.amount, o.amount_reporting, o.fx_rate,
                        o.fx_rate_date, o.line_count, c.email
                 FROM orders o LEFT JOIN orders orig ON orig.order_id = o.original_order_id
                 LEFT JOIN customers c ON c.customer_id = o.customer_id ORDER BY 1""",
    "lines": """SELECT o.source_order_id, l.line_kind, l.sku, l.description, l.quantity, l.unit_price,
                       l.currency, l.amount, l.amount_reporting
                FROM order_lines l JOIN orders o USING (order_id) ORDER BY o.source_order_id, l.line_id""",
    "customers": "SELECT email, phone, name, country_code, market, first_order_at FROM customers ORDER BY email",
}


def canonical(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return {name: con.execute(sql).fetchall() for name, sql in CANONICAL.items()}


def test_shopify_and_generic_files_give_the_same_model(tmp_path: Path, write_csv) -> None:
    settings = Settings(reporting_currency="EUR")
    shopify = write_csv(tmp_path / "orders_export.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)
    generic = write_csv(tmp_path / "orders.csv", GENERIC_HEADER, GENERIC_ROWS)
    mapping = tmp_path / "orders.toml"
    mapping.write_text(GENERIC_MAPPING, encoding="utf-8")
    from_shopify = ingest_file(shopify, warehouse_path=tmp_path / "a.duckdb", settings=settings,
                               options=SourceOptions(source_name="shop"))
    from_generic = ingest_file(generic, warehouse_path=tmp_path / "b.duckdb", settings=settings,
                               options=SourceOptions(mapping_path=mapping))
    assert from_shopify.source_format == "shopify" and from_generic.source_format == "generic"
    assert from_shopify.lines_by_fate == from_generic.lines_by_fate
    a, b = canonical(tmp_path / "a.duckdb"), canonical(tmp_path / "b.duckdb")
    assert a == b
    orders = {row[0]: row for row in a["orders"]}
    assert set(orders) == {"#1001", "#1002", "#1002/refund", "#1003", "#1003/cancel"}
    assert orders["#1002/refund"][1:3] == ("return", "#1002")
    assert orders["#1003/cancel"][1:3] == ("cancellation", "#1003")
    assert str(orders["#1001"][9]) == "25.5000" and orders["#1001"][10] == orders["#1001"][9]  # EUR into EUR
    assert {c[0]: c[1] for c in a["customers"]}["anna@example.com"] == "+49301234567"
