"""Calibration/holdout split of a transaction log, and the by-frequency check of a purchase model.

The standard test of a BTYD model (Fader, Hardie & Lee 2005, fig. 4): fit on a calibration period,
predict each customer's purchases in the holdout period that follows, and compare mean predicted and
actual holdout purchases per calibration frequency. Purchases are counted by calendar day (several
on one day are one), the convention of the papers and of `lifetimes`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fidelis.errors import ModelError
from fidelis.models.clv.base import TIME_UNITS, TransactionModel

_DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}


def _purchase_days(transactions: pd.DataFrame, customer_col: str, date_col: str) -> pd.DataFrame:
    """Distinct (customer, day) pairs."""
    for column in (customer_col, date_col):
        if column not in transactions.columns:
            raise ModelError(f"calibration_holdout: column '{column}' is missing "
                             f"(columns: {', '.join(map(str, transactions.columns))})")
    try:
        days = pd.to_datetime(transactions[date_col]).dt.normalize()
    except (TypeError, ValueError) as error:
        raise ModelError(f"calibration_holdout: column '{date_col}' has values that are not dates: "
                         f"{error}") from None
    if days.isna().any():
        row = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise ModelError(f"calibration_holdout: column '{date_col}' is empty at row {row}")
    pairs = pd.DataFrame({"customer": transactions[customer_col].to_numpy(), "day": days.to_numpy()})
    return pairs.drop_duplicates()


def calibration_holdout(transactions: pd.DataFrame, calibration_end: Any, holdout_end: Any,
                        time_unit: str = "weeks", *, customer_col: str = "customer_id",
                        date_col: str = "date") -> pd.DataFrame:
    """Per customer with a purchase up to `calibration_end` (inclusive, by day):

    frequency_cal (repeat purchase days), recency_cal (first to last purchase day), T_cal (first
    purchase day to calibration_end), frequency_holdout (purchase days in (calibration_end,
    holdout_end]) and duration_holdout, times in `time_unit`. Indexed by customer id.
    """
    if time_unit not in TIME_UNITS:
        raise ModelError(f"calibration_holdout: time_unit must be one of {TIME_UNITS}, got {time_unit!r}")
    cal_end, hold_end = pd.Timestamp(calibration_end).normalize(), pd.Timestamp(holdout_end).normalize()
    if hold_end <= cal_end:
        raise ModelError(f"calibration_holdout: holdout_end {hold_end:%Y-%m-%d} is not after "
                         f"calibration_end {cal_end:%Y-%m-%d}")
    days = _purchase_days(transactions, customer_col, date_col)
    calibration = days[days.day <= cal_end]
    if calibration.empty:
        raise ModelError(f"calibration_holdout: no purchase on or before calibration_end {cal_end:%Y-%m-%d}")
    unit = pd.Timedelta(days=_DAYS_PER_UNIT[time_unit])
    grouped = calibration.groupby("customer").day
    first, last = grouped.min(), grouped.max()
    frame = pd.DataFrame({
        "frequency_cal": (grouped.size() - 1).astype(np.float64),
        "recency_cal": (last - first) / unit,
        "T_cal": (cal_end - first) / unit,
    })
    holdout = days[(days.day > cal_end) & (days.day <= hold_end)]
    counts = holdout.groupby("customer").size()
    frame["frequency_holdout"] = counts.reindex(frame.index, fill_value=0).astype(np.float64)
    frame["duration_holdout"] = (hold_end - cal_end) / unit
    frame.index.name = customer_col
    return frame


def holdout_by_frequency(model: TransactionModel, frame: pd.DataFrame,
                         max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency 0..max_frequency-1 and
    'max_frequency or more' (the last row, labelled like '7+')."""
    predicted = model.expected_purchases(frame["duration_holdout"].to_numpy(), frame["frequency_cal"],
                                         frame["recency_cal"], frame["T_cal"])
    bucket = np.minimum(frame["frequency_cal"].to_numpy(), max_frequency).astype(int)
    table = pd.DataFrame({"frequency": bucket, "actual": frame["frequency_holdout"].to_numpy(),
                          "predicted": predicted})
    summary = table.groupby("frequency").agg(customers=("actual", "size"), actual_mean=("actual", "mean"),
                                             predicted_mean=("predicted", "mean")).reset_index()
    summary.insert(1, "label", [f"{f}+" if f == max_frequency else str(f) for f in summary.frequency])
    return summary
