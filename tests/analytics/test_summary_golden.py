"""The customer summary of the golden data set (tests/analytics/golden_data.py), worked out by hand
from docs/metrics.md. As of 2024-04-30: the as-of instant T0 is 2024-05-01 00:00 UTC and the last
observed day is 2024-04-30.

RFM, n = 8 customers: score = 1 + floor(5 x rank / 8), rank = customers strictly worse, so rank
0..7 gives 1, 1, 2, 2, 3, 4, 4, 5; tied customers share the rank of the lowest of them.

    days_since_last (fewer is better): c6 386.5 (rank 0 -> 1), c5 254.625 (1 -> 1), c4 106.667
      (2 -> 2), c8 90 (3 -> 2), c2 = c3 = 20.333 (both 4 -> 3; without the tie rule one would get 4),
      c7 18.583 (6 -> 4), c1 10.583 (7 -> 5)
    purchases: c3, c4, c6, c7, c8 have 1 (rank 0 -> 1), c5 2 (5 -> 4), c2 3 (6 -> 4), c1 4 (7 -> 5)
    net_value: c4 90 (0 -> 1), c6 150 (1 -> 1), c3 199.97 (2 -> 2), c5 = c7 = 200 (both 3 -> 2; without
      the tie rule one would get 3), c2 424.50 (5 -> 4), c8 500 (6 -> 4), c1 510 (7 -> 5)

Segments (first matching default rule): 55 Champions, 34 Loyal, 31 About to sleep, 21 Hibernating,
14 At risk, 11 Lost, 41 Promising.
Value tiers: high above 500, low below 200, mid 200..500 inclusive.
Lifecycle: new if the first purchase is <= 30 days before T0, else active if the last is <= 90
days, at risk <= 180, dormant <= 365, churned beyond.
"""

from __future__ import annotations

import gc
from decimal import Decimal as D

import ibis
import pandas as pd
import pytest
from tests.analytics.golden_data import AS_OF, EMPTY, build_golden_warehouse, mismatches

import fidelis.analytics as fa
from fidelis.warehouse import open_warehouse


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> pd.DataFrame:
    path = build_golden_warehouse(tmp_path_factory.mktemp("golden_summary") / "w.duckdb")
    with open_warehouse(path, read_only=True) as wh:
        inputs = fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR", as_of=AS_OF)
        frame = fa.customer_summary(inputs, fa.load_analytics_config()).to_pandas()
        del inputs
        gc.collect()
    return frame


EXPECTED = {
    # 104 01-05 10:00 (300), 109 02-10 09:00 (50), 110 02-10 15:00 (70), 119 04-20 10:00 (120);
    # return 114 (30). The cancellation 121 of 119 is after T0.
    # recency 01-05 10:00 -> 04-20 10:00 = 26+29+31+20 = 106 d; tenure 01-05 10:00 -> T0 = 116 d 14 h
    # = 116.583333; since last 10 d 14 h = 10.583333. Days 01-05, 02-10, 04-20: frequency_by_day 2,
    # recency_by_day 106, tenure_by_day 01-05 -> 04-30 = 116. Net 540 - 30 = 510 (high: > 500);
    # mean 510/4 = 127.50; repeat mean (50+70+120)/3 = 80.
    1: dict(market="Europe", country_code="DE", first_purchase_at=utc("2024-01-05 10:00"),
            last_purchase_at=utc("2024-04-20 10:00"), purchases=4, frequency=3, recency_days=106.0,
            tenure_days=116.583333, days_since_last=10.583333, frequency_by_day=2, recency_by_day=106,
            tenure_by_day=116, sales_value=D("540.00"), refunds=1, refunds_value=D("30.00"), net_value=D("510.00"),
            monetary_mean=127.5, monetary_repeat_mean=80.0, r_score=5, f_score=5, m_score=5, rfm_cell="555",
            segment="Champions", value_tier="high", lifecycle_stage="active"),
    # 106 01-20 18:00 (100, NA), 111 02-14 12:00 (200, Europe), 115 04-10 16:00 (150, NA); unlinked
    # cancellation 116 (25.50); 120 is at T0 and does not count. recency 81 d - 2 h = 80.916667;
    # tenure 102 d - 18 h = 101.25; since last 21 d - 16 h = 20.333333; by day: 2, 81, 01-20 -> 04-30
    # = 101. Net 450 - 25.50 = 424.50 (mid); mean 424.50/3 = 141.50; repeat mean (200+150)/2 = 175.
    2: dict(market="North America", country_code="US", first_purchase_at=utc("2024-01-20 18:00"),
            last_purchase_at=utc("2024-04-10 16:00"), purchases=3, frequency=2, recency_days=80.916667,
            tenure_days=101.25, days_since_last=20.333333, frequency_by_day=2, recency_by_day=81, tenure_by_day=101,
            sales_value=D("450.00"), refunds=1, refunds_value=D("25.50"), net_value=D("424.50"),
            monetary_mean=141.5, monetary_repeat_mean=175.0, r_score=3, f_score=4, m_score=4, rfm_cell="344",
            segment="Loyal", value_tier="mid", lifecycle_stage="active"),
    # 117 04-10 16:00 (199.97): one-time buyer, first purchase 20.33 d before T0: new; 199.97 < 200: low.
    3: dict(market="Europe", country_code="FR", first_purchase_at=utc("2024-04-10 16:00"),
            last_purchase_at=utc("2024-04-10 16:00"), purchases=1, frequency=0, recency_days=0.0,
            tenure_days=20.333333, days_since_last=20.333333, frequency_by_day=0, recency_by_day=0,
            tenure_by_day=20, sales_value=D("199.97"), refunds=0, refunds_value=D("0.00"), net_value=D("199.97"),
            monetary_mean=199.97, monetary_repeat_mean=EMPTY, r_score=3, f_score=1, m_score=2, rfm_cell="312",
            segment="About to sleep", value_tier="low", lifecycle_stage="new"),
    # 105 01-15 08:00 (90): 107 d - 8 h = 106.666667 since last: at risk; by day 01-15 -> 04-30 = 106.
    4: dict(market="Southeast Asia", country_code="SG", first_purchase_at=utc("2024-01-15 08:00"),
            last_purchase_at=utc("2024-01-15 08:00"), purchases=1, frequency=0, recency_days=0.0,
            tenure_days=106.666667, days_since_last=106.666667, frequency_by_day=0, recency_by_day=0,
            tenure_by_day=106, sales_value=D("90.00"), refunds=0, refunds_value=D("0.00"), net_value=D("90.00"),
            monetary_mean=90.0, monetary_repeat_mean=EMPTY, r_score=2, f_score=1, m_score=1, rfm_cell="211",
            segment="Hibernating", value_tier="low", lifecycle_stage="at risk"),
    # 102 2023-08-05 09:00 (120), 103 2023-08-20 09:00 (80): recency 15 d; tenure 270 d - 9 h =
    # 269.625; since last 255 d - 9 h = 254.625: dormant; by day 1, 15, 2023-08-05 -> 2024-04-30 =
    # 269. Net exactly 200: mid. Repeat mean 80.
    5: dict(market="North America", country_code="CA", first_purchase_at=utc("2023-08-05 09:00"),
            last_purchase_at=utc("2023-08-20 09:00"), purchases=2, frequency=1, recency_days=15.0,
            tenure_days=269.625, days_since_last=254.625, frequency_by_day=1, recency_by_day=15, tenure_by_day=269,
            sales_value=D("200.00"), refunds=0, refunds_value=D("0.00"), net_value=D("200.00"),
            monetary_mean=100.0, monetary_repeat_mean=80.0, r_score=1, f_score=4, m_score=2, rfm_cell="142",
            segment="At risk", value_tier="mid", lifecycle_stage="dormant"),
    # 101 2023-04-10 12:00 (150): 2023-04-10 -> 2024-04-10 is 366 d (29 February 2024), + 21 d - 12 h
    # = 386.5: churned; by day 386.
    6: dict(market="Europe", country_code="DE", first_purchase_at=utc("2023-04-10 12:00"),
            last_purchase_at=utc("2023-04-10 12:00"), purchases=1, frequency=0, recency_days=0.0,
            tenure_days=386.5, days_since_last=386.5, frequency_by_day=0, recency_by_day=0, tenure_by_day=386,
            sales_value=D("150.00"), refunds=0, refunds_value=D("0.00"), net_value=D("150.00"),
            monetary_mean=150.0, monetary_repeat_mean=EMPTY, r_score=1, f_score=1, m_score=1, rfm_cell="111",
            segment="Lost", value_tier="low", lifecycle_stage="churned"),
    # The February sale 112 is voided by 113: neither counts, so the first purchase is 118 04-12
    # 10:00 (200): 19 d - 10 h = 18.583333: new; no refunds; net exactly 200: mid.
    7: dict(market="Southeast Asia", country_code="SG", first_purchase_at=utc("2024-04-12 10:00"),
            last_purchase_at=utc("2024-04-12 10:00"), purchases=1, frequency=0, recency_days=0.0,
            tenure_days=18.583333, days_since_last=18.583333, frequency_by_day=0, recency_by_day=0,
            tenure_by_day=18, sales_value=D("200.00"), refunds=0, refunds_value=D("0.00"), net_value=D("200.00"),
            monetary_mean=200.0, monetary_repeat_mean=EMPTY, r_score=4, f_score=1, m_score=2, rfm_cell="412",
            segment="Promising", value_tier="mid", lifecycle_stage="new"),
    # 108 2024-02-01 00:00 (500): exactly 90 d before T0: still active; by day 02-01 -> 04-30 = 89.
    # Net exactly 500: mid.
    8: dict(market="North America", country_code="US", first_purchase_at=utc("2024-02-01 00:00"),
            last_purchase_at=utc("2024-02-01 00:00"), purchases=1, frequency=0, recency_days=0.0,
            tenure_days=90.0, days_since_last=90.0, frequency_by_day=0, recency_by_day=0, tenure_by_day=89,
            sales_value=D("500.00"), refunds=0, refunds_value=D("0.00"), net_value=D("500.00"),
            monetary_mean=500.0, monetary_repeat_mean=EMPTY, r_score=2, f_score=1, m_score=4, rfm_cell="214",
            segment="Hibernating", value_tier="mid", lifecycle_stage="active"),
}

COLUMNS = {
    "customer_id", "market", "country_code", "first_purchase_at", "last_purchase_at", "purchases", "frequency",
    "recency_days", "tenure_days", "days_since_last", "frequency_by_day", "recency_by_day", "tenure_by_day",
    "sales_value", "refunds", "refunds_value", "net_value", "monetary_mean", "monetary_repeat_mean", "r_score",
    "f_score", "m_score", "rfm_cell", "segment", "value_tier", "lifecycle_stage",
}


def test_one_row_per_customer_with_a_purchase(summary) -> None:
    # the guest order 107 has no customer; every customer here has at least one purchase
    assert summary["customer_id"].tolist() == list(EXPECTED)
    assert COLUMNS <= set(summary.columns)


def test_every_row_carries_the_as_of_instant(summary) -> None:
    assert {pd.Timestamp(value) for value in summary["as_of"]} == {utc("2024-05-01 00:00")}


def _comparable(value):
    """Money may come back with four decimals (DECIMAL(18,4)): compare its value to the cent."""
    if isinstance(value, D):
        return value.quantize(D("0.01")) if value == value.quantize(D("0.01")) else value
    return value


@pytest.mark.parametrize("customer_id", list(EXPECTED))
def test_customer_row(summary, customer_id) -> None:
    expected = EXPECTED[customer_id]
    assert COLUMNS - {"customer_id"} <= expected.keys()
    found = summary[summary["customer_id"] == customer_id]
    assert len(found) == 1
    actual = {key: _comparable(value) for key, value in found.iloc[0].to_dict().items()}
    for key in ("first_purchase_at", "last_purchase_at"):
        actual[key] = pd.Timestamp(actual[key])
    problems = mismatches(actual, expected, day_tolerance=1e-6)
    assert not problems, f"customer {customer_id}:\n  " + "\n  ".join(problems)


def test_scores_ignore_row_order(summary) -> None:
    """The tied customers (c2 and c3 on recency, c5 and c7 on net value) get the same, lower score."""
    by_id = summary.set_index("customer_id")
    assert by_id.loc[2, "r_score"] == by_id.loc[3, "r_score"] == 3
    assert by_id.loc[5, "m_score"] == by_id.loc[7, "m_score"] == 2
    assert sorted(by_id["f_score"]) == [1, 1, 1, 1, 1, 4, 4, 5]
