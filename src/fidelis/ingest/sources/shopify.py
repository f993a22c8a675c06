"""Shopify's "orders export" CSV (Admin > Orders > Export).

Layout
------
One row per line item. Order-level columns (Financial Status, Paid at, Currency, Total, the billing
and shipping address, Cancelled at, Refunded Amount, Source, ...) are filled on an order's first row
only and left empty on its other rows, so they are forward-filled *within the order*: an order is the
run of rows that share a Name, and a row with an empty Name continues the order above it. A value is
never carried from one order into the next.

Mapping
-------
source_order_id = Name; ordered_at = Created at, else Paid at; email = Email; phone = Phone, else
Billing Phone, else Shipping Phone; customer_name = Billing Name, else Shipping Name; country =
Shipping Country (ISO alpha-2), else Billing Country; currency = Currency (required); channel = Source
(web, pos, shopify_draft_order, ...); sku / description / quantity / unit_price = Lineitem sku / name /
quantity / price. The export has no customer id, so source_customer_id is NULL and identity comes from
the email. category is NULL: Vendor names a supplier, not a product category. Lineitem price is the
unit price before discounts, and order-level discounts, shipping and taxes are not spread over lines,
so line values are list prices. Timestamps carry their own offset ("2023-01-05 10:00:00 -0500");
the space before the offset is removed so that it is honoured; timestamps without an offset are read
as UTC unless --timezone says otherwise.

Cancellations and refunds
-------------------------
The export shows each order as it is now, not its history. Every line-item row is staged as a 'sale'
line of order Name: the order was placed. What undid it afterwards becomes extra negative rows (see
`extra_rows_sql`), linked to the sale by source_original_order_id = Name:

* Refund row. An order with money refunded (Refunded Amount > 0, or Financial Status 'refunded')
  gets one 'return' row "<Name>/refund": quantity -1, sku NULL, description 'refund'. Its unit_price
  is expressed on the same basis as the sale lines (sum of quantity x Lineitem price): a fully
  refunded order (status 'refunded') gets exactly that line value, so the order nets to zero; a partial
  refund gets Refunded Amount capped at that line value, because refunded money may include shipping
  and tax that the sale lines do not. The export has no refund date: the row is dated Cancelled at when
  present, else the order's own date (so a late refund is dated at the order).
* Cancellation lines. An order that was cancelled (Cancelled at set) or whose payment was voided, and
  that has no refund row, gets one 'cancellation' line "<Name>/cancel" per sale line (same sku,
  description, quantity and price; the pipeline makes the quantity negative), dated Cancelled at, else
  the order's date. A cancelled order is not a purchase, even when the export shows no refund.
* Never both. A cancelled order with a refund row gets the refund row only: the refund already undoes
  the money, and cancellation lines as well would undo it twice. What a cancelled, partially refunded
  order did not refund stays as revenue.
"""

from __future__ import annotations

from pathlib import Path

from fidelis.errors import Location, MappingError
from fidelis.ingest.sources.base import ORDER_FIELDS, SourceOptions, Staging, find_column, text_of

DETECT_COLUMNS = ("Name", "Email", "Financial Status", "Lineitem quantity", "Lineitem name", "Lineitem price")
REQUIRED_COLUMNS = ("Name", "Lineitem quantity", "Lineitem price", "Currency")
DATE_COLUMNS = ("Created at", "Paid at")

_UP_TO_HERE = "ORDER BY _row ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
_MONEY = "DECIMAL(18, 4)"


def _last_above(present: str, carried: str) -> str:
    """`carried` on the last row up to this one where `present` is not NULL (NULL if there is none).

    arg_max over a running frame, not `last_value(... IGNORE NULLS)`: DuckDB 1.5 evaluates the
    latter in time quadratic in the rows when the column is mostly empty (Cancelled at, Phone).
    """
    return f"arg_max({carried}, CASE WHEN {present} IS NOT NULL THEN _row END) OVER ({_UP_TO_HERE})"


class _Columns:
    """SQL over `raw` for one Shopify header: per-row text and order-level (forward-filled) text."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.name = text_of(self.actual("Name") or "Name")
        # The order a row belongs to: its own Name, or the last Name above it.
        self.order_key = f"coalesce({self.name}, {_last_above(self.name, self.name)})"

    def actual(self, column: str) -> str | None:
        """The header's spelling of a documented column (exports re-saved by Excel may change case)."""
        return find_column(self.header, column)

    def text(self, column: str) -> str:
        """The column as text, or NULL when this export lacks it (older exports have fewer columns)."""
        actual = self.actual(column)
        return text_of(actual) if actual else "NULL"

    def order_level(self, *columns: str) -> str:
        """The first of `columns` set on this row, else the last such value above it *in the same order*.

        The window carries (Name, value) pairs forward and keeps the value only when its Name is this
        row's order, so an order whose first row lacks the value gets NULL, not the previous order's.
        Several columns are chosen between row by row, before filling: right for columns that all sit
        on the order's first row (Billing / Shipping Phone), and one window instead of several.
        """
        present = [self.text(c) for c in columns if self.actual(c)]
        if not present:
            return "NULL"
        value = present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"
        pair = _last_above(value, f"struct_pack(o := {self.name}, v := {value})")
        same_order = f"struct_extract({pair}, 'o') = {self.order_key}"
        carried = f"CASE WHEN {same_order} THEN struct_extract({pair}, 'v') END"
        return f"coalesce({value}, {carried})"


class ShopifySource:
    name = "shopify"
    dataset = "orders"
    description = "Shopify orders export CSV (Name, Email, Financial Status, Lineitem quantity, ...)"

    def detect(self, header: list[str]) -> bool:
        return all(find_column(header, column) for column in DETECT_COLUMNS)

    def read_options(self, options: SourceOptions) -> dict[str, str]:
        return {}  # CSV as exported, or the same re-saved as XLSX: the file name tells

    def staging(self, header: list[str], path: Path, options: SourceOptions) -> Staging:
        _check_columns(header, path)
        cols = _Columns(header)
        return Staging(
            dataset="orders",
            source_name=options.source_name or self.name,
            expressions=_sale_expressions(cols),
            columns=_source_columns(cols),
            timezone=options.timezone or "UTC",
            default_currency=options.default_currency,
        )

    def extra_rows_sql(self, header: list[str], options: SourceOptions) -> str | None:
        """Refund rows and cancellation lines (see the module docstring), as one SELECT over `raw`.

        Columns: `_row` then ORDER_FIELDS, in that order. A refund row carries the `_row` of its
        order's first row and a cancellation line the `_row` of the line it cancels, so errors point
        at the row the values came from.
        """
        _check_columns(header, None)
        cols = _Columns(header)
        return _extra_rows_sql(cols)


def _check_columns(header: list[str], path: Path | None) -> None:
    """Refuse a file without the columns every order needs, naming them (not a confusing NULL later)."""
    missing = [c for c in REQUIRED_COLUMNS if not find_column(header, c)]
    if not any(find_column(header, c) for c in DATE_COLUMNS):
        missing.append(" or ".join(DATE_COLUMNS))
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing)
        raise MappingError(
            f"not a usable Shopify orders export: missing column(s) {shown}; "
            f"its columns are: {', '.join(header)}",
            Location(path) if path is not None else None,
        )


def _sale_expressions(cols: _Columns) -> dict[str, str]:
    """One 'sale' line per row: what the customer ordered, whatever happened to the order later."""
    # The order date is when the customer ordered (Created at): recency and cohorts are about the
    # customer's decision, not the payment's settlement. Paid at is the fallback. Each is filled
    # within the order on its own, then chosen.
    ordered_at = f"coalesce({cols.order_level('Created at')}, {cols.order_level('Paid at')})"
    return {
        "source_order_id": cols.order_key,
        "order_kind": "'sale'",
        "order_kind_raw": cols.order_level("Financial Status"),
        "source_original_order_id": "NULL",
        "ordered_at": ordered_at,  # the pipeline honours "... -0500" offsets
        "source_customer_id": "NULL",
        "email": cols.order_level("Email"),
        "phone": cols.order_level("Phone", "Billing Phone", "Shipping Phone"),
        "customer_name": cols.order_level("Billing Name", "Shipping Name"),
        "country": cols.order_level("Shipping Country", "Billing Country"),
        "currency": cols.order_level("Currency"),
        "sku": cols.text("Lineitem sku"),
        "description": cols.text("Lineitem name"),
        "category": "NULL",
        "quantity": cols.text("Lineitem quantity"),
        "unit_price": cols.text("Lineitem price"),
        "line_amount": "NULL",
        "channel": cols.order_level("Source"),
    }


def _source_columns(cols: _Columns) -> dict[str, str]:
    """Which export column each field came from, for error messages (first choice when several)."""
    wanted = {
        "source_order_id": "Name", "order_kind_raw": "Financial Status", "ordered_at": "Created at",
        "email": "Email", "phone": "Phone", "customer_name": "Billing Name", "country": "Shipping Country",
        "currency": "Currency", "sku": "Lineitem sku", "description": "Lineitem name",
        "quantity": "Lineitem quantity", "unit_price": "Lineitem price", "channel": "Source",
    }
    fallbacks = {"ordered_at": "Paid at", "phone": "Billing Phone", "customer_name": "Shipping Name",
                 "country": "Billing Country"}
    columns = {}
    for field, column in wanted.items():
        actual = cols.actual(column) or (cols.actual(fallbacks[field]) if field in fallbacks else None)
        if actual:
            columns[field] = actual
    return columns


def _extra_rows_sql(cols: _Columns) -> str:
    """The SELECT behind `ShopifySource.extra_rows_sql`.

    `lines` is the sale select plus the order-level facts that decide what undoes the order;
    `valued` adds each line's value and the order's (NULL when any line's numbers do not parse, so a
    bad number is reported once, on the sale line, and never half-undone).
    """
    sale = _sale_expressions(cols)
    refunded = cols.order_level("Refunded Amount")
    selected = ",\n    ".join(f"{expr} AS {field}" for field, expr in sale.items())
    refund_row, cancel_line = _refund_row(), _cancellation_line()
    return f"""
WITH lines AS (
  SELECT _row,
    {selected},
    lower({cols.order_level("Financial Status")}) AS _status,
    {cols.order_level("Cancelled at")} AS _cancelled_at,
    {refunded} AS _refunded
  FROM raw
),
valued AS (
  SELECT *,
    CASE WHEN count(*) OVER o = count(_value) OVER o THEN sum(_value) OVER o END AS _order_value,
    row_number() OVER (PARTITION BY source_order_id ORDER BY _row) AS _nth,
    coalesce(_status = 'refunded', false)
      OR (_refunded IS NOT NULL AND coalesce(try_cast(_refunded AS {_MONEY}) <> 0, true)) AS _has_refund
  FROM (
    SELECT *, try_cast(quantity AS DECIMAL(38, 4)) * try_cast(unit_price AS {_MONEY}) AS _value FROM lines
  )
  WINDOW o AS (PARTITION BY source_order_id)
)
SELECT _row, {", ".join(f"{refund_row.get(f, f)} AS {f}" for f in ORDER_FIELDS)}
FROM valued
WHERE source_order_id IS NOT NULL AND _nth = 1 AND _has_refund
UNION ALL
SELECT _row, {", ".join(f"{cancel_line.get(f, f)} AS {f}" for f in ORDER_FIELDS)}
FROM valued
WHERE source_order_id IS NOT NULL AND NOT _has_refund AND _value IS NOT NULL
  AND (_cancelled_at IS NOT NULL OR _status = 'voided')
"""


def _undo_fields(suffix: str, kind: str) -> dict[str, str]:
    """Fields shared by refund rows and cancellation lines: a new id linked to the sale it undoes."""
    return {
        "source_order_id": f"source_order_id || '{suffix}'",
        "order_kind": f"'{kind}'",
        "source_original_order_id": "source_order_id",
        # The export has no refund date; Cancelled at is the only later date it has.
        "ordered_at": "coalesce(_cancelled_at, ordered_at)",
    }


def _refund_row() -> dict[str, str]:
    """Expressions (over `valued`) of an order's single refund row; unlisted fields are the sale's."""
    refunded = f"abs(try_cast(_refunded AS {_MONEY}))"
    value = (
        f"CASE WHEN _status = 'refunded' AND _order_value IS NOT NULL THEN _order_value "
        f"WHEN {refunded} IS NOT NULL AND _order_value IS NOT NULL THEN least({refunded}, _order_value) END"
    )
    return {
        **_undo_fields("/refund", "return"),
        "sku": "NULL",
        "description": "'refund'",
        "category": "NULL",
        "quantity": "'-1'",
        # Fall back to the text as written, so an unparseable amount is reported by the pipeline.
        "unit_price": f"coalesce(CAST(CAST({value} AS {_MONEY}) AS VARCHAR), _refunded)",
        "line_amount": "NULL",
    }


def _cancellation_line() -> dict[str, str]:
    """Expressions (over `valued`) of the line cancelling one sale line; unlisted fields are the sale's."""
    return _undo_fields("/cancel", "cancellation")


SOURCE = ShopifySource()
