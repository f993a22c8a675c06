"""The report's tables as CSV and Parquet files, with money kept exact.

Money columns in the analytics tables are pandas object columns holding `decimal.Decimal` (and
None where there is no value). Left to pandas, CSV would print them as-is (scientific notation for
some values) and Parquet would fail or guess; here each such column becomes a Parquet decimal of a
precision and scale that hold every value, and plain fixed-point text in CSV. Empty values are
empty cells in CSV and nulls in Parquet, never the text "nan" or "None".
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fidelis.report.formatting import is_empty

TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_DECIMAL128_PRECISION = 38


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Write `folder/NAME.csv` and `folder/NAME.parquet` for each table; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        if not TABLE_NAME.match(name):
            raise ValueError(f"table name {name!r} is not usable as a file name")
        csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        csv_ready(frame).to_csv(csv_path, index=False, na_rep="")
        pq.write_table(to_arrow(frame), parquet_path)
        written += [csv_path, parquet_path]
    return written


def decimal_columns(frame: pd.DataFrame) -> list[str]:
    """Object columns whose values are all Decimal (or whole numbers, which are exact) or empty,
    with at least one Decimal."""
    found = []
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        kinds = set(map(type, frame[column].dropna()))
        if Decimal in kinds and kinds <= {Decimal, int}:
            found.append(column)
    return found


def _fixed_point(value) -> str | None:
    return None if is_empty(value) else format(Decimal(value), "f")


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with decimals as fixed-point text ("0.00001", never "1E-5") and empties as None."""
    ready = frame.copy()
    for column in decimal_columns(frame):
        ready[column] = frame[column].map(_fixed_point).astype(object)
    return ready


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """An Arrow table: decimal columns as decimal128 (decimal256 if needed), the rest as pandas maps them."""
    decimals = set(decimal_columns(frame))
    arrays, names = [], []
    for column in frame.columns:
        series = frame[column]
        arrays.append(decimal_array(series) if column in decimals else _plain_array(series))
        names.append(str(column))
    return pa.Table.from_arrays(arrays, names=names)


def decimal_array(values: pd.Series) -> pa.Array:
    """Decimals (None for empty) as decimal128(38, s), s the largest scale present.

    The precision is fixed rather than fitted to the data so that the same table has the same
    schema from one run to the next (2 decimals for cents, 4 for summary values); only values
    beyond 38 digits, which no real amount reaches, widen to decimal256.
    """
    decimals = [None if is_empty(v) else Decimal(v) for v in values]
    present = [d for d in decimals if d is not None and d.is_finite()]
    scale = max((max(0, -d.as_tuple().exponent) for d in present), default=0)
    whole = max((max(0, len(d.as_tuple().digits) + d.as_tuple().exponent) for d in present), default=1)
    if whole + scale <= MAX_DECIMAL128_PRECISION:
        kind = pa.decimal128(MAX_DECIMAL128_PRECISION, scale)
    else:
        kind = pa.decimal256(min(76, whole + scale), scale)
    return pa.array(decimals, type=kind)


def _plain_array(series: pd.Series) -> pa.Array:
    """Non-decimal columns: pandas' own mapping; an object column of mixed types falls back to text."""
    try:
        return pa.Array.from_pandas(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if is_empty(v) else str(v) for v in series], type=pa.string())
