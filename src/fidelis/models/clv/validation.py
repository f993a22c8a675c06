"""Checks shared by the CLV models' inputs: one-line errors naming the column and the first bad row.

Validating where data enters means the likelihoods can assume sane input, and a bad row is reported
by column and row (or customer id) instead of surfacing later as a NaN parameter estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fidelis.errors import ModelError


def where(index: int, customer_id: np.ndarray | None) -> str:
    """'row 5' or 'row 5 (customer 'C-17')': where a bad value is, for one-line messages."""
    if customer_id is None:
        return f"row {index}"
    return f"row {index} (customer {customer_id[index]!r})"


def as_column(values: Any, column: str, length: int | None = None) -> np.ndarray:
    """A 1-D float64 array, or ModelError naming the column."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ModelError(f"column '{column}' is not numeric: {error}") from None
    if array.ndim == 0:
        array = array.reshape(1) if length is None else np.full(length, float(array))
    if array.ndim != 1:
        raise ModelError(f"column '{column}' must be one-dimensional, got shape {array.shape}")
    return array


def check_rows(bad: np.ndarray, column: str, problem: str, customer_id: np.ndarray | None) -> None:
    """Raise ModelError if any row is flagged: names the column, the first bad row and the count."""
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    count = int(bad.sum())
    rows = "row" if count == 1 else "rows"
    raise ModelError(f"column '{column}' is {problem} in {count} {rows}, "
                     f"first at {where(first, customer_id)}")


def check_finite(array: np.ndarray, column: str, customer_id: np.ndarray | None) -> None:
    check_rows(~np.isfinite(array), column, "not finite (NaN or infinite)", customer_id)


def check_time(t: Any, customers: int | None = None, name: str = "t") -> np.ndarray:
    """A prediction horizon: finite and >= 0 (a float array of t's shape), one per customer or shared."""
    try:
        array = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ModelError(f"{name} is not numeric: {error}") from None
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ModelError(f"{name} must be finite and >= 0, got {t!r}")
    _check_broadcast(array, customers, name)
    return array


def _check_broadcast(array: np.ndarray, customers: int | None, name: str) -> None:
    if customers is None:
        return
    try:
        np.broadcast_shapes(array.shape, (customers,))
    except ValueError:
        raise ModelError(f"{name} has shape {array.shape}, which does not fit {customers} "
                         "customers") from None


def check_count(k: Any, customers: int | None = None) -> np.ndarray:
    """A purchase count: whole numbers >= 0 (a float array of k's shape)."""
    try:
        array = np.asarray(k, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ModelError(f"k is not numeric: {error}") from None
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array != np.round(array)):
        raise ModelError(f"k must be a whole number >= 0, got {k!r}")
    _check_broadcast(array, customers, "k")
    return array
