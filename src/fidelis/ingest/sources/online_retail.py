"""The UCI "Online Retail" layout (Chen, Sain & Guo 2012) and exports shaped like it.

Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country.
Invoice numbers starting with "C" are cancellations; customer ids are written "17850.0"; prices are
in the shop's currency (GBP for the UCI file); timestamps are UK local time.
"""

from __future__ import annotations

from pathlib import Path

from fidelis.ingest.sources.base import SourceOptions, Staging, text_of

_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")


class OnlineRetailSource:
    name = "online_retail"
    dataset = "orders"
    description = "UCI Online Retail layout (InvoiceNo, StockCode, ..., CustomerID, Country)"

    def detect(self, header: list[str]) -> bool:
        return set(_COLUMNS) <= set(header)

    def read_options(self, options: SourceOptions) -> dict[str, str]:
        return {}  # the UCI original is XLSX, the common copies CSV: the file name tells

    def staging(self, header: list[str], path: Path, options: SourceOptions) -> Staging:
        invoice = text_of("InvoiceNo")
        customer = text_of("CustomerID")
        expressions = {
            "source_order_id": invoice,
            "order_kind": f"CASE WHEN upper({invoice}) LIKE 'C%' THEN 'cancellation' ELSE 'sale' END",
            "order_kind_raw": invoice,
            "source_original_order_id": "NULL",
            "ordered_at": text_of("InvoiceDate"),
            # "17850.0" -> "17850": the id was exported through a float column.
            "source_customer_id": f"regexp_replace({customer}, '\\.0+$', '')",
            "email": "NULL",
            "phone": "NULL",
            "customer_name": "NULL",
            "country": text_of("Country"),
            "currency": "NULL",
            "sku": text_of("StockCode"),
            "description": text_of("Description"),
            "category": "NULL",
            "quantity": text_of("Quantity"),
            "unit_price": text_of("UnitPrice"),
            "line_amount": "NULL",
            "channel": "NULL",
        }
        columns = {
            "source_order_id": "InvoiceNo", "order_kind": "InvoiceNo", "ordered_at": "InvoiceDate",
            "source_customer_id": "CustomerID", "country": "Country", "sku": "StockCode",
            "description": "Description", "quantity": "Quantity", "unit_price": "UnitPrice",
        }
        return Staging(
            dataset="orders",
            source_name=options.source_name or self.name,
            expressions=expressions,
            columns=columns,
            timezone=options.timezone or "Europe/London",
            default_currency=options.default_currency or "GBP",
        )


SOURCE = OnlineRetailSource()
