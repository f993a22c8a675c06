"""Plain-language reasons from hand-made contributions: grouping, order, wording, empty strings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fidelis.models.churn import top_reasons
from fidelis.models.churn.features import FEATURES

BASE = {name: np.nan for name in FEATURES} | {"market": "Europe"}


def customer(**values) -> dict:
    return BASE | values


def contributions(rows: list[dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(0.0, index=range(len(rows)), columns=[*FEATURES, "bias"])
    for index, row in enumerate(rows):
        for name, value in row.items():
            frame.loc[index, name] = value
    return frame


def reasons(rows: list[dict], pushes: list[dict[str, float]], **kwargs) -> list[list[str]]:
    table = top_reasons(pd.DataFrame(rows), contributions(pushes), horizon_days=90, currency="GBP", **kwargs)
    assert list(table.columns) == ["reason_1", "reason_2", "reason_3"]
    assert not table.isna().any().any()
    return table.to_numpy().tolist()


LAPSED = customer(days_since_last=124.2, purchases=6, purchase_days=5, gap_mean_days=31, gap_max_days=40,
                  tenure_days=250, spend_90d=80, spend_prev_90d=200, purchases_90d=1, purchases_prev_90d=3,
                  refunds=2, refund_share=0.35, rating_share_mean=0.3, net_value=600, order_value_mean=100)


def test_strongest_groups_first_in_words():
    texts = reasons([LAPSED], [{"days_since_last": 0.5, "overdue_ratio": 0.4, "spend_change_90d": 0.6,
                                "refund_share": 0.3, "rating_share_mean": 0.2, "net_value": -0.9}])
    # recency (0.5 + 0.4) before trend (0.6) before returns (0.3); value pushes away from churn
    assert texts == [["No purchase for 124 days (usually every 31 days)",
                      "Spent 60% less in the last 90 days than the 90 before",
                      "Returned 35% of what they bought"]]


def test_fewer_than_three_pushes_leave_empty_strings():
    texts = reasons([LAPSED, LAPSED], [{"rating_share_mean": 0.3, "days_since_last": -1.0},
                                       {"bias": -2.0, "days_since_last": 0.01}])
    assert texts[0] == ["Gave a low rating (1.5 of 5)", "", ""]
    assert texts[1] == ["", "", ""]  # 0.01 is below the least push, and the customer leans to staying


def test_a_customer_at_risk_only_because_most_churn_is_told_so():
    texts = reasons([LAPSED, LAPSED], [{"bias": 2.0, "days_since_last": 0.01},
                                       {"bias": 2.0, "days_since_last": 0.5}])
    assert texts[0] == ["Most customers do not buy again within 90 days, and nothing here says otherwise", "", ""]
    assert texts[1][0].startswith("No purchase for 124 days")


def test_one_time_buyer_reasons_are_not_repeated():
    once = customer(days_since_last=200.4, purchases=1, purchase_days=1, tenure_days=200.4, net_value=45,
                    order_value_mean=45, p_alive=np.nan, p_no_purchase_h=0.82)
    texts = reasons([once], [{"days_since_last": 0.4, "purchases": 0.3, "net_value": 0.2, "p_no_purchase_h": 0.1}])
    assert texts == [["Bought once only, 200 days ago", "Spent 45.00 GBP on one order",
                      "Buying pattern: 82% chance of no purchase in the next 90 days"]]


def test_p_alive_reason_and_nothing_to_say_is_skipped():
    quiet = customer(days_since_last=50, purchases=4, purchase_days=4, gap_mean_days=20, gap_max_days=25,
                     tenure_days=300, refunds=0, refund_share=0.0, p_alive=0.18, p_no_purchase_h=0.7,
                     categories_bought=1, top_category_share=1.0, complaints=2, feedback_responses=2,
                     rating_share_mean=0.8, csat_mean=4.5)
    texts = reasons([quiet], [{"refund_share": 0.9, "p_alive": 0.5, "categories_bought": 0.3, "complaints": 0.2,
                               "market": 0.1}])
    # no returns: the returns group has nothing true to say, so the next groups speak
    assert texts == [["Likely inactive (P(alive) 0.18)", "Bought from one category only", "Complained 2 times"]]
