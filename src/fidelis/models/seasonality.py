"""Seasonality of purchases, and the factor that adjusts a stationary forecast to the calendar.

BG/NBD and Pareto/NBD assume a purchase rate that does not change with the calendar, so over a
horizon that holds a Christmas quarter they forecast too few purchases, and too many over a
summer lull. This module measures a month-of-year index from the purchase history and turns it
into one multiplier for a forecast horizon: the mean index over the horizon's days.

Method (written here because it is a dozen lines of numpy/scipy, not worth a forecasting
library): purchases per day of each complete calendar month, on a log scale, less a straight-line
trend (a growing customer base is not a season); the residuals grouped by month of year give the
index (exp of the group mean, scaled to average 1) and a one-way ANOVA F-test says whether the
months differ more than noise would. At least two full years are needed so that every month of
the year is seen twice; with less, nothing is claimed and the factor is 1.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

MIN_MONTHS = 24
SIGNIFICANCE = 0.01
MIN_AMPLITUDE = 0.15  # the busiest month at least 15% above the quietest, or it is not worth adjusting


@dataclass(frozen=True)
class Seasonality:
    """The month-of-year index of purchases (1 = an average month) and whether it is real."""

    months_of_history: int
    detected: bool
    note: str
    index: dict[int, float] = field(default_factory=dict)  # month 1..12 -> multiplier, mean 1
    p_value: float | None = None
    amplitude: float | None = None  # highest index / lowest index - 1

    def factor(self, start: date, horizon_days: int) -> float:
        """Mean index over the horizon's days [start, start + horizon_days); 1.0 when not detected."""
        if not self.detected or horizon_days <= 0:
            return 1.0
        days = [start + timedelta(days=offset) for offset in range(horizon_days)]
        return float(np.mean([self.index[day.month] for day in days]))

    def to_dict(self) -> dict:
        return {"months_of_history": self.months_of_history, "detected": self.detected, "note": self.note,
                "index": {str(month): round(value, 4) for month, value in self.index.items()},
                "p_value": self.p_value, "amplitude": self.amplitude}


def seasonality_of(monthly_purchases: pd.Series) -> Seasonality:
    """Measure seasonality from purchases per complete calendar month (index: each month's first day).

    Months must be consecutive; partial months at either end are the caller's to drop.
    """
    months = len(monthly_purchases)
    if months < MIN_MONTHS:
        return Seasonality(months, False, f"not enough history to measure seasonality: {months} complete "
                                          f"months, {MIN_MONTHS} needed (two of each calendar month)")
    starts = pd.DatetimeIndex(monthly_purchases.index)
    days_in_month = np.array([calendar.monthrange(d.year, d.month)[1] for d in starts], dtype=float)
    # Half a purchase in an empty month keeps the logarithm finite without inventing a season.
    log_rate = np.log((monthly_purchases.to_numpy(dtype=float) + 0.5) / days_in_month)
    position = np.arange(months, dtype=float)
    slope, intercept = np.polyfit(position, log_rate, 1)
    residual = log_rate - (intercept + slope * position)
    month_of_year = starts.month.to_numpy()
    groups = [residual[month_of_year == month] for month in range(1, 13)]
    p_value = float(stats.f_oneway(*groups).pvalue)
    raw = np.exp([group.mean() for group in groups])
    index = raw / raw.mean()
    amplitude = float(index.max() / index.min() - 1)
    detected = bool(np.isfinite(p_value) and p_value < SIGNIFICANCE and amplitude >= MIN_AMPLITUDE)
    busiest = calendar.month_abbr[int(np.argmax(index)) + 1]
    quietest = calendar.month_abbr[int(np.argmin(index)) + 1]
    note = (f"seasonal: {busiest} runs {index.max():.2f}x an average month and {quietest} {index.min():.2f}x "
            f"(F-test p = {p_value:.2g} over {months} months)" if detected else
            f"no seasonality detected over {months} months (F-test p = {p_value:.2g}, "
            f"busiest/quietest month {amplitude + 1:.2f}x)")
    return Seasonality(months, detected, note, {m: float(index[m - 1]) for m in range(1, 13)},
                       p_value, amplitude)
