"""Seasonality: detected when a month really differs, not claimed on flat data or short history."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fidelis.models.seasonality import MIN_MONTHS, seasonality_of


def _months(values: list[float], start: str = "2021-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"), dtype=float)


def _daily_rate_series(rate_per_day: np.ndarray, start: str = "2021-01-01") -> pd.Series:
    index = pd.date_range(start, periods=len(rate_per_day), freq="MS")
    return pd.Series(rate_per_day * index.days_in_month.to_numpy(), index=index, dtype=float)


def test_christmas_peak_is_detected_with_its_size() -> None:
    rng = np.random.default_rng(3)
    months = 36
    base_per_day = 20 * 1.01 ** np.arange(months)  # a growing shop: trend, not season
    december = np.array([2.0 if (m % 12) == 11 else 1.0 for m in range(months)])
    expected = _daily_rate_series(base_per_day * december)
    season = seasonality_of(pd.Series(rng.poisson(expected.to_numpy()), index=expected.index, dtype=float))
    assert season.detected
    assert season.index[12] == pytest.approx(max(season.index.values()))
    assert season.index[12] / np.mean([season.index[m] for m in range(1, 12)]) == pytest.approx(2.0, rel=0.15)
    assert "Dec" in season.note


def test_flat_history_is_not_called_seasonal() -> None:
    rng = np.random.default_rng(5)
    season = seasonality_of(_daily_rate_series(rng.poisson(300, 36).astype(float)))
    assert not season.detected
    assert season.factor(date(2024, 11, 1), 90) == 1.0
    assert "no seasonality" in season.note


def test_short_history_claims_nothing() -> None:
    season = seasonality_of(_months([100.0] * (MIN_MONTHS - 1)))
    assert not season.detected and season.index == {}
    assert f"{MIN_MONTHS - 1} complete months" in season.note
    assert season.factor(date(2024, 1, 1), 30) == 1.0


def test_factor_is_the_mean_index_over_the_horizon_days() -> None:
    season = seasonality_of(_daily_rate_series(np.tile([1.0] * 11 + [3.0], 3) * 10))
    assert season.detected
    december_only = season.factor(date(2024, 12, 1), 31)
    assert december_only == pytest.approx(season.index[12])
    half = season.factor(date(2024, 11, 16), 31)  # 15 November days, 16 December days
    assert half == pytest.approx((15 * season.index[11] + 16 * season.index[12]) / 31)
    assert np.mean(list(season.index.values())) == pytest.approx(1.0)


def test_empty_months_do_not_break_the_logarithm() -> None:
    values = [0.0, 50.0] * 12
    season = seasonality_of(_months(values))
    assert all(np.isfinite(v) for v in season.index.values())
    assert season.p_value is not None and np.isfinite(season.p_value)
