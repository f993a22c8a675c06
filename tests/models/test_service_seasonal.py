"""`predict_clv(seasonal=True)` on a shop whose customers buy three times as often in December."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from tests.analytics.golden_data import build_warehouse

from fidelis.config import Settings
from fidelis.models.service import predict_clv

CUSTOMERS = 120
MONTHLY_RATE = 0.6  # purchases per customer per month, outside December


@pytest.fixture(scope="module")
def seasonal_warehouse(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(11)
    customers = [(number, "Europe", "DE") for number in range(1, CUSTOMERS + 1)]
    orders, order_id = [], 1000
    for customer, _, _ in customers:
        for month_start in (date(2020 + m // 12, m % 12 + 1, 1) for m in range(36)):
            rate = MONTHLY_RATE * (3.0 if month_start.month == 12 else 1.0)
            for _ in range(rng.poisson(rate)):
                at = datetime.combine(month_start, datetime.min.time()) + timedelta(
                    days=int(rng.integers(0, 28)), hours=int(rng.integers(8, 20)))
                order_id += 1
                orders.append((order_id, "sale", None, customer, at.isoformat(sep=" "), "DE", "Europe", "web",
                               f"{rng.uniform(20, 80):.2f}"))
    return build_warehouse(tmp_path_factory.mktemp("seasonal") / "warehouse.duckdb",
                           customers=customers, orders=orders)


def test_december_is_detected_and_the_forecast_adjusted(seasonal_warehouse) -> None:
    result = predict_clv(seasonal_warehouse, horizon_days=31, as_of=date(2022, 11, 30), seasonal=True,
                         settings=Settings(reporting_currency="EUR", environment="test"))
    season = result.seasonality
    assert season.detected and season.months_of_history == 35  # 2020-01 .. 2022-11
    others = np.mean([season.index[m] for m in range(1, 12)])
    assert season.index[12] / others == pytest.approx(3.0, rel=0.2)
    assert result.seasonal_factor == pytest.approx(season.index[12])  # the horizon is December exactly
    scores = result.scores
    np.testing.assert_allclose(scores["expected_purchases_seasonal"],
                               scores["expected_purchases"] * result.seasonal_factor)


def test_a_horizon_without_december_is_adjusted_down(seasonal_warehouse) -> None:
    result = predict_clv(seasonal_warehouse, horizon_days=90, as_of=date(2022, 2, 28), seasonal=True, refit=True,
                         settings=Settings(reporting_currency="EUR", environment="test"))
    assert result.seasonality.detected
    assert result.seasonal_factor < 1  # March to May: ordinary months, below an average that holds December
