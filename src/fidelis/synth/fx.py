"""Monthly exchange rates from the bundled ECB table, as a (month x currency) numpy matrix.

The generator converts each order's value from the reporting currency with the rate of the order's
month, the same table the ingest pipeline converts back with, so that round trips are close.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

FX_RESOURCE = "data/fx_monthly_ecb.csv"


@dataclass(frozen=True)
class FxMatrix:
    """`rates[m, c]` = units of `currencies[c]` per 1 unit of the reporting currency in month m."""

    first_month: np.datetime64  # datetime64[M] of row 0
    currencies: tuple[str, ...]
    rates: np.ndarray

    def rate(self, month: np.ndarray, currency_index: np.ndarray) -> np.ndarray:
        """Element-wise rate for datetime64[M] months and currency indices; fails on a missing rate."""
        row = (month - self.first_month).astype(np.int64)
        rates = self.rates[row, currency_index]
        missing = np.isnan(rates)
        if missing.any():
            at = int(np.argmax(missing))
            raise ValueError(
                f"the bundled FX table has no {self.currencies[currency_index[at]]} rate for {month[at]}; "
                "choose a window within the table's coverage"
            )
        return rates


def load_fx_table() -> pd.DataFrame:
    """The bundled table: month (YYYY-MM), currency, units_per_eur."""
    path = resources.files("fidelis.ingest").joinpath(FX_RESOURCE)
    with resources.as_file(path) as file:
        return pd.read_csv(file, dtype={"month": str, "currency": str, "units_per_eur": float})


def fx_matrix(currencies: tuple[str, ...], reporting: str, first: np.datetime64, last: np.datetime64) -> FxMatrix:
    """Rates for every month from `first` to `last` (datetime64[M]); NaN where the table has none."""
    table = load_fx_table()
    months = np.arange(first, last + 1, dtype="datetime64[M]")
    wide = table.pivot(index="month", columns="currency", values="units_per_eur")
    wide["EUR"] = 1.0
    wide = wide.reindex(index=[str(m) for m in months])
    needed = sorted(set(currencies) | {reporting})
    unknown = [c for c in needed if c not in wide.columns]
    if unknown:
        raise ValueError(f"no exchange rates for {', '.join(unknown)} in the bundled FX table")
    if wide[reporting].isna().any():
        month = wide.index[wide[reporting].isna().to_numpy()][0]
        raise ValueError(f"the bundled FX table has no {reporting} rate for {month}; choose an earlier window")
    per_reporting = wide[list(currencies)].to_numpy() / wide[[reporting]].to_numpy()
    return FxMatrix(first, tuple(currencies), per_reporting)
