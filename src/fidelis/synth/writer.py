"""Turn coded rows into text columns and write them, a chunk at a time, as CSV or Parquet.

Strings are only materialised per chunk (Arrow `take` from small lookup tables), which keeps
memory flat however many rows there are. CSV is written by Arrow's C++ writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from fidelis.synth.identity import numbered_ids
from fidelis.synth.orders import CHANNELS, ORDER_KINDS, RETURN, Orders, Rows

CHUNK_ROWS = 500_000
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

ORDERS_SCHEMA = pa.schema([
    ("order_id", pa.string()), ("order_date", pa.timestamp("s")), ("order_type", pa.string()),
    ("refund_of", pa.string()), ("customer_id", pa.string()), ("email", pa.string()), ("phone", pa.string()),
    ("customer_name", pa.string()), ("country", pa.string()), ("currency", pa.string()), ("sku", pa.string()),
    ("product", pa.string()), ("category", pa.string()), ("quantity", pa.int32()), ("unit_price", pa.float64()),
    ("line_amount", pa.float64()), ("channel", pa.string()),
])
FEEDBACK_SCHEMA = pa.schema([
    ("feedback_id", pa.string()), ("customer_id", pa.string()), ("email", pa.string()), ("order_id", pa.string()),
    ("submitted_at", pa.timestamp("s")), ("nps", pa.int8()), ("csat", pa.int8()), ("rating", pa.int8()),
    ("text", pa.string()), ("language", pa.string()),
])


@dataclass(frozen=True)
class Lookups:
    """Small string tables the coded rows index into."""

    customer_ids: pa.Array  # per customer
    emails: pa.Array  # per customer, lower case
    phones: pa.Array  # the three phone forms of every customer, form after form
    names: pa.Array
    countries: pa.Array
    currencies: pa.Array
    currency_scale: np.ndarray  # float per currency: 10**decimals
    skus: pa.Array
    products: pa.Array
    categories: pa.Array
    languages: pa.Array
    texts: pa.Array
    order_id_width: int

    @property
    def customer_count(self) -> int:
        return len(self.customer_ids)


def orders_table(rows: Rows, orders: Orders, lk: Lookups) -> pa.Table:
    """One chunk of orders.csv as an Arrow table with exactly ORDERS_SCHEMA."""
    order = rows["order"]
    is_return = pa.array(rows["kind"] == RETURN)
    customer = orders.customer[order]
    currency = orders.currency[order]
    scale = lk.currency_scale[currency]
    number = pc.utf8_lpad(pc.cast(pa.array(orders.number[order]), pa.string()), width=lk.order_id_width,
                          padding="0")
    phone = np.where(customer >= 0, orders.phone_form[order].astype(np.int64) * lk.customer_count + customer, -1)
    columns = [
        pc.binary_join_element_wise(pc.if_else(is_return, "R", "O"), number, ""),
        pa.array(rows["at_s"].astype("datetime64[s]")),
        pc.take(pa.array(ORDER_KINDS), pa.array(rows["kind"])),
        pc.if_else(is_return, pc.binary_join_element_wise("O", number, ""), pa.scalar(None, pa.string())),
        pc.take(lk.customer_ids, _nullable_index(customer)),
        _emails(lk.emails, _nullable_index(customer), orders.email_case[order], orders.email_padded[order]),
        pc.take(lk.phones, _nullable_index(phone)),
        pc.take(lk.names, pa.array(orders.name[order])),
        pc.take(lk.countries, pa.array(orders.country_text[order])),
        pc.take(lk.currencies, pa.array(currency)),
        pc.take(lk.skus, pa.array(rows["sku"])),
        pc.take(lk.products, pa.array(rows["sku"])),
        pc.take(lk.categories, pa.array(rows["sku"])),
        pa.array(rows["qty"], pa.int32()),
        pa.array(rows["unit_minor"] / scale),
        pa.array(rows["unit_minor"] * rows["qty"] / scale),
        pc.take(pa.array(CHANNELS), pa.array(orders.channel[order])),
    ]
    return pa.Table.from_arrays(columns, schema=ORDERS_SCHEMA)


def feedback_table(fb: dict[str, np.ndarray], ids: np.ndarray, orders: Orders, lk: Lookups, id_width: int) -> pa.Table:
    """One chunk of feedback.csv as an Arrow table with exactly FEEDBACK_SCHEMA."""
    order = fb["order"]
    customer = _nullable_index(orders.customer[order])
    columns = [
        numbered_ids("F", ids, id_width),
        pc.take(lk.customer_ids, customer),
        _emails(lk.emails, customer, orders.email_case[order], orders.email_padded[order]),
        numbered_ids("O", orders.number[order], lk.order_id_width),
        pa.array(fb["submitted_s"].astype("datetime64[s]")),
        pa.array(fb["nps"], pa.int8()),
        pa.array(fb["csat"], pa.int8(), mask=fb["csat_missing"]),
        pa.array(fb["rating"], pa.int8(), mask=fb["rating_missing"]),
        pc.take(lk.texts, _nullable_index(fb["text"])),
        pc.take(lk.languages, pa.array(fb["language"])),
    ]
    return pa.Table.from_arrays(columns, schema=FEEDBACK_SCHEMA)


def _nullable_index(index: np.ndarray) -> pa.Array:
    """Arrow indices where negative values are null (so `take` yields null)."""
    return pa.array(np.maximum(index, 0), pa.int64(), mask=index < 0)


def _emails(emails: pa.Array, customer: pa.Array, case: np.ndarray, padded: np.ndarray) -> pa.Array:
    """Each row's e-mail as typed: lower, Title or UPPER case, some with surrounding spaces.

    Only the few rows that differ from lower case are transformed (`replace_with_mask`).
    """
    result = pc.take(emails, customer)
    for code, transform in ((1, pc.utf8_title), (2, pc.utf8_upper)):
        mask = case == code
        if mask.any():
            result = pc.replace_with_mask(result, pa.array(mask), transform(result.filter(pa.array(mask))))
    if padded.any():
        spaced = pc.binary_join_element_wise("  ", result.filter(pa.array(padded)), " ", "")
        result = pc.replace_with_mask(result, pa.array(padded), spaced)
    return result


@contextmanager
def table_sink(path: Path, schema: pa.Schema, fmt: str, compress: bool) -> Iterator[Callable[[pa.Table], None]]:
    """A function writing tables to `path` as CSV (optionally gzip) or Parquet; closes on exit."""
    if fmt == "parquet":
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            yield writer.write_table
        return
    sink = pa.CompressedOutputStream(str(path), "gzip") if compress else pa.OSFile(str(path), "wb")
    with sink, pcsv.CSVWriter(sink, schema, write_options=pcsv.WriteOptions(quoting_style="needed")) as writer:
        yield writer.write_table


def chunks(total: int, size: int = CHUNK_ROWS) -> Iterator[slice]:
    """Consecutive slices covering range(total)."""
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))
