"""Chart builders on tiny hand-made tables: the traces, their order and their values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from fidelis.report import charts


def _months() -> pd.DataFrame:
    return pd.DataFrame({
        "group": ["Europe", "Europe", "United Kingdom", "United Kingdom"],
        "period": ["2024-01", "2024-02", "2024-01", "2024-02"],
        "period_start": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 1), date(2024, 2, 1)],
        "customers_active": [2, 0, 50, 40],
        "net_revenue": [Decimal("10.50"), Decimal("0.00"), Decimal("900.00"), Decimal("750.25")],
        "repeat_purchase_rate": [0.5, None, 0.2, 0.25],
    })


def test_market_trend_draws_a_line_per_market_largest_first() -> None:
    figure = charts.market_trend(_months(), "net_revenue", title="Net revenue", y_title="GBP", currency="GBP")
    assert [trace.type for trace in figure.data] == ["scatter", "scatter"]
    assert [trace.name for trace in figure.data] == ["United Kingdom", "Europe"]
    uk, europe = figure.data
    assert list(uk.y) == [900.0, 750.25] and list(europe.y) == [10.5, 0.0]
    assert [pd.Timestamp(x).date() for x in uk.x] == [date(2024, 1, 1), date(2024, 2, 1)]


def test_market_trend_leaves_gaps_and_hides_tiny_markets() -> None:
    figure = charts.market_trend(_months(), "repeat_purchase_rate", title="Repeat", y_title="", share=True,
                                 min_active_customers=10)
    uk, europe = figure.data
    assert list(europe.y) == [0.5, None]
    assert uk.visible is True and europe.visible == "legendonly"
    assert figure.layout.yaxis.tickformat == ".0%"


def test_market_trend_without_values_is_none() -> None:
    frame = _months().assign(nps=None)
    assert charts.market_trend(frame, "nps", title="NPS", y_title="") is None
    assert charts.market_trend(frame.iloc[0:0], "net_revenue", title="x", y_title="") is None


def _cohorts() -> pd.DataFrame:
    rows = []
    for cohort, size, active in (("2024-01", 10, [10, 4, 2]), ("2024-02", 5, [5, 1]), ("2024-03", 4, [4])):
        for offset, count in enumerate(active):
            rows.append({"dimension": "all", "group": "all", "cohort": cohort, "months_since_first": offset,
                         "cohort_size": size, "customers_active": count, "retention_rate": count / size,
                         "revenue_per_customer_cumulative": Decimal(10 * (offset + 1))})
    return pd.DataFrame(rows)


def test_cohort_retention_heatmap() -> None:
    figure = charts.cohort_retention(_cohorts())
    (heatmap,) = figure.data
    assert heatmap.type == "heatmap"
    assert list(heatmap.y) == ["2024-01", "2024-02", "2024-03"] and list(heatmap.x) == [0, 1, 2]
    assert [list(row) for row in heatmap.z] == [[100.0, 40.0, 20.0], [100.0, 20.0, None], [100.0, None, None]]
    assert list(heatmap.customdata[0][1]) == [4, 10]
    assert heatmap.zmax == 40.0  # month 0 is 100% by definition; the scale follows the later months


def test_cohort_retention_keeps_the_most_recent_cohorts() -> None:
    figure = charts.cohort_retention(_cohorts(), limit=2)
    assert list(figure.data[0].y) == ["2024-02", "2024-03"]


def test_cohort_revenue_heatmap() -> None:
    (heatmap,) = charts.cohort_revenue(_cohorts(), "EUR").data
    assert [list(row) for row in heatmap.z][0] == [10.0, 20.0, 30.0]
    assert "EUR" in heatmap.hovertemplate


def test_rfm_grid_is_five_by_five_with_blanks() -> None:
    grid = pd.DataFrame({"r_score": [5, 1], "f_score": [5, 1], "customers": [7, 3],
                         "net_value": [Decimal("700.0000"), Decimal("30.0000")], "revenue_share": [0.9, 0.1]})
    (heatmap,) = charts.rfm_grid(grid, "GBP").data
    assert list(heatmap.y) == ["5", "4", "3", "2", "1"] and list(heatmap.x) == ["1", "2", "3", "4", "5"]
    z = [list(row) for row in heatmap.z]
    assert z[0] == [None, None, None, None, 7] and z[4] == [3, None, None, None, None]
    assert list(heatmap.customdata[0][4]) == [700.0, 0.9]
    assert charts.rfm_grid(grid.iloc[0:0], "GBP") is None


def test_segment_shares_compares_customers_and_revenue() -> None:
    segments = pd.DataFrame({"segment": ["Champions", "Lost"], "customers": [2, 8],
                             "customer_share": [0.2, 0.8], "revenue_share": [0.7, 0.3]})
    figure = charts.segment_shares(segments)
    assert [(trace.type, trace.name) for trace in figure.data] == [
        ("bar", "share of customers"), ("bar", "share of net revenue")]
    assert list(figure.data[1].y) == ["Lost", "Champions"]  # largest revenue share at the top
    assert list(figure.data[1].x) == [0.3, 0.7]


def test_value_tiers_stack_shares_per_market_in_tier_order() -> None:
    tiers = pd.DataFrame({"market": ["Europe", "Europe", "United Kingdom"],
                          "value_tier": ["low", "high", "mid"], "customers": [3, 1, 6],
                          "net_value": [Decimal("30"), Decimal("600"), Decimal("1800")]})
    figure = charts.value_tiers(tiers)
    assert [trace.name for trace in figure.data] == ["high", "mid", "low"]
    assert figure.layout.barmode == "stack"
    high, mid, low = figure.data
    assert list(high.y) == ["Europe (4)", "United Kingdom (6)"]
    assert list(high.x) == [0.25, None]
    assert list(low.x)[0] == 0.75 and list(mid.x)[1] == 1.0
    money = charts.value_tiers(tiers, measure="net_value", currency="GBP")
    assert list(money.data[0].customdata) == [600.0, None]


@pytest.mark.parametrize("builder", [charts.lifecycle, charts.value_tiers, charts.segment_shares])
def test_empty_tables_give_no_chart(builder) -> None:
    assert builder(pd.DataFrame()) is None


def test_lifecycle_stages_in_lifecycle_order() -> None:
    stages = pd.DataFrame({"market": ["Europe"] * 3, "lifecycle_stage": ["churned", "active", "new"],
                           "customers": [5, 3, 2]})
    figure = charts.lifecycle(stages)
    assert [trace.name for trace in figure.data] == ["new", "active", "churned"]
    assert [list(trace.x) for trace in figure.data] == [[0.2], [0.3], [0.5]]
