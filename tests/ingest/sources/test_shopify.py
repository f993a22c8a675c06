"""The Shopify orders-export layout: detection, forward fill within an order, refunds, cancellations."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from fidelis.errors import MappingError
from fidelis.ingest.parse import timestamp_expr
from fidelis.ingest.readers import read_raw
from fidelis.ingest.sources import REGISTRY
from fidelis.ingest.sources.base import ORDER_FIELDS, SourceOptions
from fidelis.ingest.sources.shopify import SOURCE

# The documented export header (abridged in the middle of the tax columns, as exports vary there).
FULL_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount",
    "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
    "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable",
    "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing Address1", "Billing Address2",
    "Billing Company", "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone",
    "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping Address2", "Shipping Company",
    "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Notes",
    "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level", "Source",
    "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Phone", "Receipt Number", "Duties",
    "Billing Province Name", "Shipping Province Name", "Payment ID", "Payment Terms Name",
    "Next Payment Due At", "Payment References",
]


def _order(name: str, **fields: str) -> dict[str, str]:
    """The first row of an order, with the order-level columns most tests need."""
    return {"Name": name, "Financial Status": "paid", "Currency": "USD", "Total": "0",
            "Created at": "2023-01-05 09:00:00 -0500", "Source": "web", **fields}


def _line(name: str, qty: str, price: str, sku: str, **fields: str) -> dict[str, str]:
    return {"Name": name, "Lineitem quantity": qty, "Lineitem price": price, "Lineitem sku": sku,
            "Lineitem name": f"Item {sku}", **fields}


ROWS = [
    # Paid order: date from Created at, phone from Billing Phone, country falls back to Billing Country.
    {**_order("#1001", **{"Paid at": "2023-01-05 10:00:00 -0500", "Billing Name": "Ann Lee",
                          "Billing Country": "US", "Billing Phone": "+1 555 0100", "Total": "35.00"}),
     **_line("#1001", "2", "10.00", "A", Email="ann@example.com")},
    _line("#1001", "1", "15.00", "B", Email="ann@example.com", **{"Created at": "2023-01-05 09:00:00 -0500"}),
    # Partially refunded, no Paid at, Name and Email only on the first row, shipping country wins.
    {**_order("#1002", **{"Currency": "EUR", "Financial Status": "partially_refunded",
                          "Refunded Amount": "5.00",
                          "Shipping Country": "DE", "Billing Country": "AT", "Shipping Name": "Bo Berg",
                          "Created at": "2023-02-01 08:00:00 +0100", "Source": "pos"}),
     **_line("#1002", "1", "40.00", "C", Email="bo@example.com")},
    _line("", "3", "2.50", "D"),
    # Cancelled before payment: cancellation lines, no refund row.
    {**_order("#1003", **{"Financial Status": "voided", "Cancelled at": "2023-03-02 12:00:00 -0500",
                          "Refunded Amount": "0.00", "Email": "cy@example.com"}),
     **_line("#1003", "1", "9.99", "E")},
    _line("#1003", "2", "1.00", "F"),
    # Cancelled and fully refunded, shipping and tax included: one refund row worth the lines only.
    {**_order("#1004", **{"Financial Status": "refunded", "Cancelled at": "2023-04-03 12:00:00 -0500",
                          "Refunded Amount": "23.50", "Email": "di@example.com", "Total": "23.50"}),
     **_line("#1004", "1", "20.00", "G")},
    # No email on the order: it must not inherit #1004's. Partial refund above the line value is capped.
    {**_order("#1005", **{"Financial Status": "partially_refunded", "Refunded Amount": "50.00",
                          "Paid at": "2023-05-05 10:00:00 +05:30"}),
     **_line("#1005", "3", "10.00", "H")},
]


def _write(path: Path, rows: list[dict[str, str]], header: list[str] = FULL_HEADER,
           quoting: int = csv.QUOTE_ALL) -> Path:
    """Write an export. Quoted by default: see test_reader_keeps_unquoted_rows_starting_with_hash."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="", quoting=quoting)
        writer.writeheader()
        writer.writerows([{k: v for k, v in row.items() if k in header} for row in rows])
    return path


def _staged(path: Path) -> list[dict[str, str | None]]:
    """What the pipeline would stage: the main select UNION ALL the extra rows, as dicts."""
    con = duckdb.connect()
    header = read_raw(con, path)
    staging = SOURCE.staging(header, path, SourceOptions())
    main = ", ".join(f"{staging.expressions[f]} AS {f}" for f in ORDER_FIELDS)
    extra = SOURCE.extra_rows_sql(header, SourceOptions())
    sql = f"SELECT _row, {main} FROM raw UNION ALL ({extra}) ORDER BY source_order_id, _row"
    relation = con.sql(sql)
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


@pytest.fixture
def staged(tmp_path: Path) -> dict[str, list[dict[str, str | None]]]:
    """Staged rows grouped by source_order_id."""
    grouped: dict[str, list[dict[str, str | None]]] = {}
    for row in _staged(_write(tmp_path / "orders_export.csv", ROWS)):
        grouped.setdefault(row["source_order_id"], []).append(row)
    return grouped


def test_detects_the_export_and_nothing_else_claims_it() -> None:
    assert SOURCE.detect(FULL_HEADER)
    others = [name for name, source in REGISTRY.items() if name != "shopify" and source.detect(FULL_HEADER)]
    assert others == []


def test_does_not_detect_other_layouts() -> None:
    online_retail = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                     "CustomerID", "Country"]
    survey = ["response_id", "email", "submitted_at", "nps", "comment"]
    assert not SOURCE.detect(online_retail)
    assert not SOURCE.detect(survey)
    assert not SOURCE.detect(["Name", "Email", "Financial Status", "Lineitem quantity", "Lineitem name"])


def test_reader_keeps_unquoted_rows_starting_with_hash(tmp_path: Path) -> None:
    """Real exports write Name unquoted, so every order row starts with '#'; none may be dropped."""
    path = _write(tmp_path / "orders_export.csv", ROWS, quoting=csv.QUOTE_MINIMAL)
    con = duckdb.connect()
    read_raw(con, path)
    assert con.sql("SELECT count(*) FROM raw").fetchone()[0] == len(ROWS)


def test_read_options_leave_the_format_to_the_file_name() -> None:
    assert SOURCE.read_options(SourceOptions()) == {}


def test_sale_lines_fill_order_fields_within_the_order(staged) -> None:
    first, second = staged["#1001"]
    assert [r["sku"] for r in (first, second)] == ["A", "B"]
    for row in (first, second):
        assert row["order_kind"] == "sale"
        assert row["source_original_order_id"] is None
        assert row["ordered_at"] == "2023-01-05 09:00:00 -0500"  # Created at (the order date) beats Paid at
        assert row["email"] == "ann@example.com"
        assert row["phone"] == "+1 555 0100"
        assert row["customer_name"] == "Ann Lee"
        assert row["country"] == "US"  # no Shipping Country: Billing Country
        assert row["currency"] == "USD"
        assert row["channel"] == "web"
        assert row["source_customer_id"] is None and row["category"] is None
    assert (second["quantity"], second["unit_price"], second["description"]) == ("1", "15.00", "Item B")


def test_empty_name_continues_the_order_above(staged) -> None:
    sales = [r for r in staged["#1002"] if r["order_kind"] == "sale"]
    assert [r["sku"] for r in sales] == ["C", "D"]
    assert {(r["email"], r["country"], r["currency"], r["customer_name"], r["channel"]) for r in sales} == {
        ("bo@example.com", "DE", "EUR", "Bo Berg", "pos")
    }
    assert {r["ordered_at"] for r in sales} == {"2023-02-01 08:00:00 +0100"}  # Created at


def test_dates_parse_to_the_instant_written(tmp_path: Path) -> None:
    """Through the pipeline's own date parsing: the offset is honoured, a naive time is UTC."""
    rows = [{**_order("#1", **{"Created at": "2023-05-05 10:00:00 +05:30"}), **_line("#1", "1", "5", "X")},
            {**_order("#2", **{"Created at": "2023-05-05 10:00:00"}), **_line("#2", "1", "5", "X")}]
    path = _write(tmp_path / "o.csv", rows)
    con = duckdb.connect()
    header = read_raw(con, path)
    staging = SOURCE.staging(header, path, SourceOptions())
    parsed = timestamp_expr("ordered_at", staging)
    sql = f"SELECT {parsed} FROM (SELECT _row, {staging.expressions['ordered_at']} AS ordered_at FROM raw)"
    instants = [ts.astimezone(UTC) for (ts,) in con.sql(sql + " ORDER BY _row").fetchall()]
    assert instants == [datetime(2023, 5, 5, 4, 30, tzinfo=UTC), datetime(2023, 5, 5, 10, 0, tzinfo=UTC)]


def test_values_do_not_leak_into_the_next_order(staged) -> None:
    (sale,) = staged["#1005"]
    assert sale["email"] is None
    assert sale["country"] is None


def test_partial_refund_is_one_return_row(staged) -> None:
    (refund,) = staged["#1002/refund"]
    assert refund["order_kind"] == "return"
    assert refund["source_original_order_id"] == "#1002"
    assert (refund["quantity"], Decimal(refund["unit_price"])) == ("-1", Decimal("5.00"))
    assert (refund["sku"], refund["description"]) == (None, "refund")
    assert refund["ordered_at"] == "2023-02-01 08:00:00 +0100"  # no refund date in the export
    assert (refund["email"], refund["country"], refund["currency"]) == ("bo@example.com", "DE", "EUR")
    assert refund["_row"] == staged["#1002"][0]["_row"]
    assert "#1002/cancel" not in staged


def test_partial_refund_is_capped_at_the_line_value(staged) -> None:
    (refund,) = staged["#1005/refund"]
    assert Decimal(refund["unit_price"]) == Decimal("30")  # 50 refunded, lines worth 3 x 10


def test_cancelled_order_gets_one_cancellation_line_per_sale_line(staged) -> None:
    cancels = staged["#1003/cancel"]
    sales = staged["#1003"]
    assert [r["order_kind"] for r in sales] == ["sale", "sale"]
    assert [(r["sku"], r["quantity"], r["unit_price"]) for r in cancels] == [
        ("E", "1", "9.99"), ("F", "2", "1.00"),
    ]
    for row in cancels:
        assert row["order_kind"] == "cancellation"
        assert row["source_original_order_id"] == "#1003"
        assert row["ordered_at"] == "2023-03-02 12:00:00 -0500"
        assert row["email"] == "cy@example.com"
    assert [r["_row"] for r in cancels] == [r["_row"] for r in sales]
    assert "#1003/refund" not in staged


def test_cancelled_and_refunded_order_is_undone_once_by_the_refund(staged) -> None:
    (refund,) = staged["#1004/refund"]
    assert "#1004/cancel" not in staged
    assert Decimal(refund["unit_price"]) == Decimal("20")  # the lines' worth, not the 23.50 with shipping
    assert refund["ordered_at"] == "2023-04-03 12:00:00 -0500"  # Cancelled at


def test_voided_without_cancel_date_is_cancelled_at_the_order_date(tmp_path: Path) -> None:
    rows = [{**_order("#7", **{"Financial Status": "voided"}), **_line("#7", "1", "5", "X")}]
    staged = _staged(_write(tmp_path / "o.csv", rows))
    assert [(r["source_order_id"], r["order_kind"], r["ordered_at"]) for r in staged] == [
        ("#7", "sale", "2023-01-05 09:00:00 -0500"),
        ("#7/cancel", "cancellation", "2023-01-05 09:00:00 -0500"),
    ]


def test_cancelled_order_without_financial_status_is_still_cancelled(tmp_path: Path) -> None:
    rows = [{**_order("#6", **{"Financial Status": "", "Cancelled at": "2023-01-06 00:00:00 -0500"}),
             **_line("#6", "1", "5", "X")}]
    kinds = [(r["source_order_id"], r["order_kind"]) for r in _staged(_write(tmp_path / "o.csv", rows))]
    assert kinds == [("#6", "sale"), ("#6/cancel", "cancellation")]


def test_refunded_status_without_amount_refunds_the_lines(tmp_path: Path) -> None:
    rows = [{**_order("#8", **{"Financial Status": "refunded"}), **_line("#8", "2", "7.25", "X")}]
    (refund,) = [r for r in _staged(_write(tmp_path / "o.csv", rows)) if r["order_kind"] == "return"]
    assert Decimal(refund["unit_price"]) == Decimal("14.50")


def test_unparseable_refund_is_passed_on_as_written(tmp_path: Path) -> None:
    rows = [{**_order("#9", **{"Refunded Amount": "12,5x"}), **_line("#9", "1", "20", "X")}]
    (refund,) = [r for r in _staged(_write(tmp_path / "o.csv", rows)) if r["order_kind"] == "return"]
    assert refund["unit_price"] == "12,5x"  # the pipeline reports it with its row


def test_plain_paid_order_has_no_extra_rows(tmp_path: Path) -> None:
    rows = [{**_order("#10", **{"Refunded Amount": "0.00"}), **_line("#10", "1", "20", "X")}]
    assert [r["order_kind"] for r in _staged(_write(tmp_path / "o.csv", rows))] == ["sale"]


def test_older_export_without_optional_columns(tmp_path: Path) -> None:
    header = ["Name", "Email", "Financial Status", "Currency", "Created at", "Lineitem quantity",
              "Lineitem name", "Lineitem price"]
    rows = [{**_order("#11", Email="e@example.com"), **_line("#11", "1", "3", "X")}]
    (row,) = _staged(_write(tmp_path / "o.csv", rows, header))
    assert (row["sku"], row["country"], row["phone"], row["channel"]) == (None, None, None, None)
    assert (row["email"], row["currency"], row["quantity"]) == ("e@example.com", "USD", "1")


def test_missing_currency_column_is_named(tmp_path: Path) -> None:
    header = [h for h in FULL_HEADER if h != "Currency"]
    path = _write(tmp_path / "o.csv", [_line("#1", "1", "3", "X")], header)
    with pytest.raises(MappingError, match="'Currency'"):
        SOURCE.staging(header, path, SourceOptions())


def test_options_override_timezone_currency_and_namespace(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    staging = SOURCE.staging(FULL_HEADER, path, SourceOptions(source_name="shop_eu", timezone="Europe/Berlin",
                                                                default_currency="EUR"))
    assert (staging.source_name, staging.timezone) == ("shop_eu", "Europe/Berlin")
    assert staging.default_currency == "EUR"
    default = SOURCE.staging(FULL_HEADER, path, SourceOptions())
    assert (default.source_name, default.timezone, default.default_currency) == ("shopify", "UTC", None)
    assert default.columns["unit_price"] == "Lineitem price"
