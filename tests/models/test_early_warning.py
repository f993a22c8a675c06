"""Risk bands, value at risk, the at-risk list and band changes between runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fidelis.analytics.config import RiskBands
from fidelis.models.early_warning import (
    AT_RISK,
    LOW,
    WATCH,
    at_risk_list,
    band_changes,
    risk_bands,
    value_at_risk,
)

BANDS = RiskBands(watch_from=0.4, at_risk_from=0.7)


def test_thresholds_are_inclusive_from_below() -> None:
    bands = risk_bands(np.array([0.0, 0.39, 0.4, 0.69, 0.7, 1.0]), BANDS)
    assert list(bands) == [LOW, LOW, WATCH, WATCH, AT_RISK, AT_RISK]


def test_at_risk_list_ranks_by_value_at_risk_and_keeps_only_the_band() -> None:
    scores = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "churn_probability": [0.9, 0.8, 0.75, 0.5, 0.95],
                           "clv": [100.0, 500.0, 80.0, 10_000.0, 100.0]})
    scores["risk_band"] = risk_bands(scores["churn_probability"].to_numpy(), BANDS)
    scores["value_at_risk"] = value_at_risk(scores["clv"], scores["churn_probability"])
    listed = at_risk_list(scores, 3)
    assert list(listed["customer_id"]) == [2, 5, 1]  # 400, 95, 90; customer 4 is only 'watch'
    assert listed["value_at_risk"].tolist() == [400.0, 95.0, 90.0]


def test_band_changes_list_crossings_and_newcomers_only() -> None:
    previous = pd.DataFrame({"customer_id": [1, 2, 3], "risk_band": [LOW, WATCH, AT_RISK],
                             "churn_probability": [0.1, 0.5, 0.8]})
    current = pd.DataFrame({"customer_id": [1, 2, 3, 4], "risk_band": [LOW, AT_RISK, AT_RISK, WATCH],
                            "churn_probability": [0.2, 0.75, 0.9, 0.45]})
    changes = band_changes(current, previous)
    assert changes["customer_id"].tolist() == [2, 4]
    assert changes.iloc[0].to_dict() == {"customer_id": 2, "previous_band": WATCH, "risk_band": AT_RISK,
                                         "previous_probability": 0.5, "churn_probability": 0.75}
    assert pd.isna(changes.iloc[1]["previous_band"])


def test_first_run_has_no_changes() -> None:
    current = pd.DataFrame({"customer_id": [1], "risk_band": [AT_RISK], "churn_probability": [0.9]})
    changes = band_changes(current, None)
    assert changes.empty and list(changes.columns) == ["customer_id", "previous_band", "risk_band",
                                                       "previous_probability", "churn_probability"]
