"""Early warning: risk bands on the churn probability, value at risk, and who crossed a band.

The campaigns work reacts to customers *crossing into* "at risk", not to everyone who is there
(a win-back offer sent every week to the same customers is spam), so each scoring run is
compared with the previous one and the crossings are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fidelis.analytics.config import RiskBands

LOW, WATCH, AT_RISK = "low", "watch", "at risk"
BANDS = (LOW, WATCH, AT_RISK)


def risk_bands(churn_probability: np.ndarray, bands: RiskBands) -> np.ndarray:
    """The band of each probability: low below `watch_from`, at risk from `at_risk_from`, else watch."""
    probability = np.asarray(churn_probability, dtype=float)
    return np.select([probability >= bands.at_risk_from, probability >= bands.watch_from],
                     [AT_RISK, WATCH], default=LOW).astype(object)


def value_at_risk(clv: np.ndarray, churn_probability: np.ndarray) -> np.ndarray:
    """Expected value lost: the customer's CLV times the probability that they churn."""
    return np.asarray(clv, dtype=float) * np.asarray(churn_probability, dtype=float)


def at_risk_list(scores: pd.DataFrame, size: int) -> pd.DataFrame:
    """The `size` customers in the "at risk" band with the most value at risk, highest first.

    Ties (equal value at risk) are broken by customer id so that a list is the same on every run.
    """
    at_risk = scores[scores["risk_band"] == AT_RISK]
    ranked = at_risk.sort_values(["value_at_risk", "customer_id"], ascending=[False, True], kind="stable")
    return ranked.head(size).reset_index(drop=True)


def band_changes(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Customers whose band differs from the previous run's (or who were not scored then).

    Both frames have customer_id, risk_band and churn_probability. Without a previous run there
    is nothing to compare with, so nothing has changed.
    """
    columns = ["customer_id", "previous_band", "risk_band", "previous_probability", "churn_probability"]
    if previous is None:
        return pd.DataFrame({name: pd.Series(dtype=object if "band" in name else float) for name in columns}
                            ).astype({"customer_id": "int64"})
    before = previous[["customer_id", "risk_band", "churn_probability"]].rename(
        columns={"risk_band": "previous_band", "churn_probability": "previous_probability"})
    joined = current[["customer_id", "risk_band", "churn_probability"]].merge(before, on="customer_id", how="left")
    changed = joined[joined["previous_band"].isna() | (joined["previous_band"] != joined["risk_band"])]
    return changed[columns].sort_values("customer_id", kind="stable").reset_index(drop=True)
