"""The report's tables as CSV and Parquet files, with money kept exact.

Money columns in the analytics tables are pandas object columns holding `decimal.Decimal` (and
None where there is no value). Left to pandas, CSV would print them as-is (scientific notation for
some values) and Parquet would fail or guess; here each such column becomes an Arrow decimal of a
fixed precision (38) and the scale its values need. Both files are written from that one Arrow
table by Arrow's own writers, so CSV shows the same plain fixed-point numbers as Parquet holds,
empty values are empty cells (never "nan" or "None"), and a million-row customer summary, which
arrives as an Arrow table straight from DuckDB, is written without a Python loop over its values.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from fidelis.report.formatting import is_empty

TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_DECIMAL128_PRECISION = 38
TableData = pd.DataFrame | pa.Table


def write_tables(tables: dict[str, TableData], folder: Path) -> list[Path]:
    """Write `folder/NAME.csv` and `folder/NAME.parquet` for each table; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in tables.items():
        if not TABLE_NAME.match(name):
            raise ValueError(f"table name {name!r} is not usable as a file name")
        table = arrow_table(data)
        for path in (folder / f"{name}.csv", folder / f"{name}.parquet"):
            write_arrow(table, path)
            written.append(path)
    return written


def write_table(data: TableData, path: Path) -> None:
    """One table to `path` (.csv or .parquet) under a temporary name first: no half-written file."""
    partial = path.with_name(path.name + ".partial")
    try:
        write_arrow(arrow_table(data), partial, kind=path.suffix.lower())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_arrow(table: pa.Table, path: Path, *, kind: str | None = None) -> None:
    kind = kind or path.suffix.lower()
    if kind == ".parquet":
        pq.write_table(table, path)
    elif kind == ".csv":
        pa_csv.write_csv(_plain_decimal_text(table), path)
    else:
        raise ValueError(f"{path}: only .csv and .parquet tables can be written")


def _plain_decimal_text(table: pa.Table) -> pa.Table:
    """Arrow prints decimals of more than six places in scientific notation ("1E-7"); such columns
    (never money, which has at most four) are turned into fixed-point text first."""
    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale > 6:
            text = [None if value is None else format(value, "f") for value in table.column(index).to_pylist()]
            table = table.set_column(index, field.name, pa.array(text, type=pa.string()))
    return table


def arrow_table(data: TableData) -> pa.Table:
    """An Arrow table whose decimal columns are decimal128(38, scale) (a stable schema)."""
    table = data if isinstance(data, pa.Table) else to_arrow(data)
    fields = []
    for field in table.schema:
        if pa.types.is_decimal(field.type) and field.type.precision <= MAX_DECIMAL128_PRECISION:
            field = field.with_type(pa.decimal128(MAX_DECIMAL128_PRECISION, field.type.scale))
        fields.append(field)
    return table.cast(pa.schema(fields))


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
