"""Exact money and rounded ratios for the small aggregate tables.

Backends return sums of DECIMAL columns as `Decimal`; they stay decimals until rounded to the cent
(half up), so DuckDB and Spark give the same figure to the cent. Ratios are floats rounded to six
digits; a zero denominator gives an empty value (None), never NaN or infinity.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

CENT = Decimal("0.01")
RATE_DIGITS = 6


def is_empty(value: Any) -> bool:
    """No value: None, NaN or an infinity, pandas' NA or NaT. The one test every layer uses."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    try:
        return bool(value != value)  # numpy NaN and NaT scalars
    except (TypeError, ValueError):
        return True


def as_float(value: Any) -> float | None:
    """A float for arithmetic and plotting, or None when the value is empty."""
    return None if is_empty(value) else float(value)


def as_decimal(value) -> Decimal:
    """A backend's sum as a Decimal; an empty sum (None, NaN) is zero."""
    if value is None or (isinstance(value, float) and value != value):
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def money_per(total, count) -> Decimal | None:
    """A money total divided by a count, to the cent; None when the count is zero."""
    return cents(as_decimal(total) / Decimal(int(count))) if count else None


def rate(numerator, denominator) -> float | None:
    """numerator / denominator rounded to six digits; None when the denominator is zero or empty."""
    if is_empty(denominator) or not denominator:
        return None
    return round(float(numerator) / float(denominator), RATE_DIGITS)


def running_sums(values, keys) -> list[Decimal]:
    """Cumulative sums of decimals, restarting whenever the key changes (rows sorted by key first)."""
    sums, running, previous = [], Decimal(0), object()
    for key, value in zip(keys, values):
        if key != previous:
            running, previous = Decimal(0), key
        running += value
        sums.append(running)
    return sums


def decimals_to_cents(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column holding Decimal money, rounded to the cent (sums of 4-place amounts)."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and any(isinstance(value, Decimal) for value in values):
            frame[column] = [cents(value) if isinstance(value, Decimal) else value for value in values]
    return frame


def exact_frame(table) -> pd.DataFrame:
    """A pandas frame of an Ibis expression or Arrow table, money kept as Arrow decimals.

    Converting a DECIMAL column to Python `Decimal` objects costs a Python object per value (over a
    minute for a million-customer summary); Arrow-backed decimal columns are exact, zero-copy and
    still behave as numbers in pandas (sums, comparisons, `astype("float64")`).
    """
    arrow = table if isinstance(table, pa.Table) else table.to_pyarrow()
    return arrow.to_pandas(types_mapper=lambda kind: pd.ArrowDtype(kind) if pa.types.is_decimal(kind) else None)
