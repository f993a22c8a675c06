"""Targets on the golden data set (tests/analytics/golden_data.py) and the loyalty-index example of
docs/metrics.md, worked out by hand. As of 2024-04-30: every month from 2023-05 up to 2024-04 is
complete (April ends at the as-of instant; 2023-04 began before the first order), 2024-Q2 is not, so
the current quarter is 2024-Q1.

Monthly KPIs by market used below (see test_kpis_golden.py for their arithmetic):

    Europe         aov 2023-04 150.00, 2024-04 159.99; clv_historical 2024-01 225.00, 2024-04 264.99;
                   return_rate_value 2024-02 0.09375, 2024-04 0.0; repeat rate 2024-Q1 1.0 (2/2)
    North America  net_revenue 2024-01 100.00, 2024-04 150.00; customer_base 2023-08 1, 2024-04 3;
                   nps 2024-02 100, 2024-04 empty
    Southeast Asia first month with orders 2024-01: repeat rate 0.0, nps empty

Status with a deadline: on track when progress >= (end of current period - end of baseline period)
/ (deadline - end of baseline period); here both periods end on the first of the next month.
"""

from __future__ import annotations

import gc
from datetime import date
from decimal import Decimal

import ibis
import pandas as pd
import pytest
from tests.analytics.golden_data import (
    AS_OF,
    EMPTY,
    build_golden_warehouse,
    build_warehouse,
    is_empty,
    mismatches,
)

import fidelis.analytics as fa
from fidelis.analytics.config import AnalyticsConfig
from fidelis.analytics.targets import target_progress
from fidelis.warehouse import open_warehouse

TARGETS = [
    # 0. lift, no baseline_period: 2023-04 began before the first order (2023-04-10), so it is not
    #    complete; the first complete month with Europe orders is 2024-01 (AOV 300, order 104).
    #    target 300 x 1.10 = 330; current 159.99; progress (159.99 - 300) / 30 = -4.667; no deadline.
    dict(market="Europe", metric="aov", period="month", lift=0.10),
    # 1. lift from 2024-01 (CLV 225): target 337.5; progress (264.99 - 225) / 112.5 = 0.35547;
    #    time elapsed 2024-02-01 -> 2024-05-01 = 90 d of 2024-02-01 -> 2025-01-31 = 365 d: 0.2466.
    dict(market="Europe", metric="clv_historical", period="month", lift=0.5, baseline_period="2024-01",
         deadline="2025-01-31"),
    # 2. value from 2024-01 (net revenue 100): target 400; progress (150 - 100) / 300 = 0.16667;
    #    elapsed 90 d of 2024-02-01 -> 2024-12-31 = 334 d: 0.2695 > progress: behind.
    dict(market="North America", metric="net_revenue", period="month", value=400, baseline_period="2024-01",
         deadline="2024-12-31"),
    # 3. value: baseline 2023-08 (first month with North America orders): base 1; current 3 = target.
    dict(market="North America", metric="customer_base", period="month", value=3),
    # 4. a falling target: return rate 0.09375 in 2024-02 down to 0.05; current 0.0 is past it.
    #    progress (0 - 0.09375) / (0.05 - 0.09375) = 2.142857.
    dict(market="Europe", metric="return_rate_value", period="month", value=0.05, baseline_period="2024-02"),
    # 5. a market with no orders at all
    dict(market="United Kingdom", metric="repeat_purchase_rate", period="month", lift=0.10, benchmark=0.22),
    # 6. a relative lift on a baseline of 0 (Southeast Asia's repeat rate in 2024-01)
    dict(market="Southeast Asia", metric="repeat_purchase_rate", period="month", lift=0.25),
    # 7. no value in the baseline period (Southeast Asia has no feedback, so no NPS)
    dict(market="Southeast Asia", metric="nps", period="month", value=50),
    # 8. no value in the current period (no North America feedback in 2024-04)
    dict(market="North America", metric="nps", period="month", value=50, baseline_period="2024-02"),
    # 9. a baseline period outside the data
    dict(market="Europe", metric="orders", period="month", value=5, baseline_period="2022-01"),
    # 10. quarterly, from 2024-Q1 (repeat rate 1.0): target 1.15; current quarter is 2024-Q1 itself.
    dict(market="Europe", metric="repeat_purchase_rate", period="quarter", lift=0.15, baseline_period="2024-Q1",
         benchmark=0.22),
]

EXPECTED = [
    dict(market="Europe", metric="aov", period="month", baseline_period="2024-01", baseline=300.0, target=330.0,
         current_period="2024-04", current=159.99, progress=-4.667, benchmark=EMPTY, deadline=EMPTY,
         status="in progress", note=EMPTY),
    dict(market="Europe", metric="clv_historical", period="month", baseline_period="2024-01", baseline=225.0,
         target=337.5, current_period="2024-04", current=264.99, progress=0.3555, deadline=date(2025, 1, 31),
         status="on track", note=EMPTY),
    dict(market="North America", metric="net_revenue", period="month", baseline_period="2024-01", baseline=100.0,
         target=400.0, current_period="2024-04", current=150.0, progress=0.1667, deadline=date(2024, 12, 31),
         status="behind", note=EMPTY),
    dict(market="North America", metric="customer_base", period="month", baseline_period="2023-08", baseline=1.0,
         target=3.0, current_period="2024-04", current=3.0, progress=1.0, status="achieved", note=EMPTY),
    dict(market="Europe", metric="return_rate_value", period="month", baseline_period="2024-02", baseline=0.09375,
         target=0.05, current_period="2024-04", current=0.0, progress=2.1429, status="achieved", note=EMPTY),
    dict(market="United Kingdom", metric="repeat_purchase_rate", period="month", baseline=EMPTY, target=EMPTY,
         current=EMPTY, progress=EMPTY, benchmark=0.22, status="no data"),
    dict(market="Southeast Asia", metric="repeat_purchase_rate", period="month", baseline_period="2024-01",
         baseline=0.0, target=EMPTY, current=0.0, progress=EMPTY, status="no data"),
    dict(market="Southeast Asia", metric="nps", period="month", baseline_period="2024-01", baseline=EMPTY,
         progress=EMPTY, status="no data"),
    dict(market="North America", metric="nps", period="month", baseline_period="2024-02", baseline=100.0,
         target=50.0, current_period="2024-04", current=EMPTY, progress=EMPTY, status="no data"),
    dict(market="Europe", metric="orders", period="month", baseline=EMPTY, current=EMPTY, progress=EMPTY,
         status="no data"),
    dict(market="Europe", metric="repeat_purchase_rate", period="quarter", baseline_period="2024-Q1", baseline=1.0,
         target=1.15, current_period="2024-Q1", current=1.0, progress=0.0, benchmark=0.22, status="in progress",
         note=EMPTY),
]

# what each 'no data' note must say (words taken from the situation, not the exact sentence)
NOTES = {
    5: ("United Kingdom", "no orders"),
    6: ("0", "2024-01"),
    7: ("nps", "2024-01"),
    8: ("nps", "2024-04"),
    9: ("2022-01",),
}


def golden_config(targets: list[dict]) -> AnalyticsConfig:
    rules = [rule.model_dump() for rule in fa.load_analytics_config().rfm_segments]
    return AnalyticsConfig.model_validate({"rfm_segments": rules, "targets": targets})


@pytest.fixture(scope="module")
def progress(tmp_path_factory) -> pd.DataFrame:
    path = build_golden_warehouse(tmp_path_factory.mktemp("golden_targets") / "w.duckdb")
    config = golden_config(TARGETS)
    with open_warehouse(path, read_only=True) as wh:
        inputs = fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR", as_of=AS_OF)
        kpis = {period: fa.kpi_table(inputs, config, by="market", period=period) for period in ("month", "quarter")}
        del inputs
        gc.collect()
    return target_progress(config, kpis)


def test_one_row_per_target_in_order(progress) -> None:
    assert len(progress) == len(TARGETS)
    assert progress["market"].tolist() == [target["market"] for target in TARGETS]


@pytest.mark.parametrize("index", range(len(TARGETS)))
def test_target_progress(progress, index) -> None:
    actual = progress.iloc[index].to_dict()
    problems = mismatches(actual, EXPECTED[index], cents=False)
    assert not problems, f"target {index}:\n  " + "\n  ".join(problems)
    if index in NOTES:
        assert isinstance(actual["note"], str)
        for word in NOTES[index]:
            assert word in actual["note"], (word, actual["note"])


def test_status_is_one_of_the_documented_ones(progress) -> None:
    assert set(progress["status"]) <= {"achieved", "on track", "behind", "in progress", "no data"}
    # every 'no data' row explains itself, and never shows a made-up progress
    for row in progress.itertuples():
        if row.status == "no data":
            assert isinstance(row.note, str) and row.note and is_empty(row.progress)


# ---------------------------------------------------------------- the loyalty index example

def test_loyalty_index_example_of_the_docs(tmp_path) -> None:
    """docs/metrics.md: repeat rate 0.25, CLV 300 (scale 500), CSAT 0.8, no NPS -> components 25, 60,
    80; index (0.3 x 25 + 0.3 x 60 + 0.2 x 80) / 0.8 = 41.5 / 0.8 = 51.875 -> 51.88.

    Built as one month: c11 buys twice (100 + 200), c12, c13, c14 once (300 each): 4 buyers, 1 repeat
    (0.25); net 1200 over a base of 4 (CLV 300). Five CSAT answers 5, 5, 4, 4, 1: 4/5 = 0.8. No NPS.
    """
    customers = [(11, "Europe", "DE"), (12, "Europe", "DE"), (13, "Europe", "FR"), (14, "Europe", "FR")]
    orders = [
        (1, "sale", None, 11, "2024-03-02 10:00:00", "DE", "Europe", "web", "100.00"),
        (2, "sale", None, 11, "2024-03-09 10:00:00", "DE", "Europe", "web", "200.00"),
        (3, "sale", None, 12, "2024-03-03 10:00:00", "DE", "Europe", "web", "300.00"),
        (4, "sale", None, 13, "2024-03-04 10:00:00", "FR", "Europe", "web", "300.00"),
        (5, "sale", None, 14, "2024-03-05 10:00:00", "FR", "Europe", "web", "300.00"),
    ]
    feedback = [(i, 10 + i if i <= 4 else 11, None, f"2024-03-2{i} 12:00:00", None, None, None, csat)
                for i, csat in enumerate([5, 5, 4, 4, 1], start=1)]
    path = build_warehouse(tmp_path / "w.duckdb", customers=customers, orders=orders, feedback=feedback)
    config = fa.load_analytics_config()
    with open_warehouse(path, read_only=True) as wh:
        inputs = fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR",
                                        as_of=date(2024, 3, 31))
        table = fa.kpi_table(inputs, config, by=None, period="month")
        del inputs
        gc.collect()
    row = table.iloc[0].to_dict()
    assert table["period"].tolist() == ["2024-03"]
    problems = mismatches(row, dict(customers_active=4, customers_repeat=1, repeat_purchase_rate=0.25,
                                    clv_historical=Decimal("300.00"), csat_responses=5, csat=0.8, nps_responses=0,
                                    nps=EMPTY, loyalty_index=51.88))
    assert not problems, problems
