"""KPIs of the golden data set (tests/analytics/golden_data.py), every figure worked out by hand
from docs/metrics.md. As of 2024-04-30: the as-of instant is 2024-05-01 00:00 UTC.

Counted purchases (guest order 107, voided sale 112, order 120 at the as-of instant are out):

    101 c6 2023-04 Europe DE web 150 | 102 c5 2023-08 NA CA app 120 | 103 c5 2023-08 NA CA app 80
    104 c1 2024-01 Europe DE web 300 | 105 c4 2024-01 SEA SG app 90   | 106 c2 2024-01 NA US web 100
    108 c8 2024-02 NA -- --      500 | 109 c1 2024-02 Europe DE app 50 | 110 c1 2024-02 Europe DE web 70
    111 c2 2024-02 Europe FR mkt 200 | 115 c2 2024-04 NA US web 150    | 117 c3 2024-04 Europe FR web 199.97
    118 c7 2024-04 SEA SG app    200 | 119 c1 2024-04 Europe DE web 120

Counted refunds: 114 (c1, 2024-02, Europe DE web, 30.00, return of 104), 116 (c2, 2024-03, NA US
web, 25.50, unlinked cancellation). 113 cancels 112 in full: both vanish; 121 is after as-of.

Gaps to the customer's previous purchase (exact): 103: 15 d; 109: 2024-01-05 10:00 -> 02-10 09:00
= 35.958333 d; 110: 6 h = 0.25 d; 111: 01-20 18:00 -> 02-14 12:00 = 24.75 d; 115: 02-14 12:00 ->
04-10 16:00 = 56.166667 d; 119: 02-10 15:00 -> 04-20 10:00 = 69.791667 d.

Loyalty index (default weights): 0.3 x 100 x repeat rate + 0.3 x min(100, 100 x CLV / 500)
+ 0.2 x 100 x CSAT + 0.2 x (NPS + 100) / 2, divided by the weights of the components present.
"""

from __future__ import annotations

import gc
from decimal import Decimal as D

import ibis
import pytest
from tests.analytics.golden_data import AS_OF, EMPTY, build_golden_warehouse, is_empty, mismatches

import fidelis.analytics as fa
from fidelis.warehouse import open_warehouse

METRICS = (
    "customer_base", "customers_active", "customers_new", "customers_repeat", "customers_retained", "orders",
    "sales_value", "refund_documents", "refunds_value", "net_revenue", "aov", "purchase_frequency",
    "repeat_purchase_rate", "retention_rate", "active_rate", "clv_historical", "return_rate_orders",
    "return_rate_value", "avg_inter_purchase_days", "feedback_responses", "nps_responses", "nps", "csat_responses",
    "csat", "complaints", "complaint_rate", "loyalty_index",
)
MONTHS = ("2023-04", "2023-05", "2023-06", "2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12",
          "2024-01", "2024-02", "2024-03", "2024-04")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """KPI tables of the golden warehouse, computed once: key (by, period)."""
    path = build_golden_warehouse(tmp_path_factory.mktemp("golden_kpis") / "w.duckdb")
    config = fa.load_analytics_config()
    with open_warehouse(path, read_only=True) as wh:
        inputs = fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR", as_of=AS_OF)
        computed = {(by, period): fa.kpi_table(inputs, config, by=by, period=period)
                    for by, period in [(None, "month"), (None, "quarter"), ("market", "month"),
                                       ("channel", "quarter"), ("country", "quarter")]}
        del inputs
        gc.collect()  # drop the backend's temporary tables while the connection is open
    return computed


def row(table, group: str, period: str) -> dict:
    found = table[(table["group"] == group) & (table["period"] == period)]
    assert len(found) == 1, f"{group} {period}: {len(found)} rows"
    return found.iloc[0].to_dict()


def check(table, group: str, period: str, expected: dict, *, full: bool = True) -> None:
    if full:
        assert set(METRICS) <= expected.keys(), f"missing: {set(METRICS) - expected.keys()}"
    problems = mismatches(row(table, group, period), expected)
    assert not problems, f"{group} {period}:\n  " + "\n  ".join(problems)


def quiet(*, base: int, active_rate, clv, retention, **feedback) -> dict:
    """A period in which the group has no purchase and no refund (and, unless given, no feedback)."""
    values = dict(
        customer_base=base, customers_active=0, customers_new=0, customers_repeat=0, customers_retained=0,
        orders=0, sales_value=D("0.00"), refund_documents=0, refunds_value=D("0.00"), net_revenue=D("0.00"),
        aov=EMPTY, purchase_frequency=EMPTY, repeat_purchase_rate=EMPTY, retention_rate=retention,
        active_rate=active_rate, clv_historical=clv, return_rate_orders=EMPTY, return_rate_value=EMPTY,
        avg_inter_purchase_days=EMPTY, feedback_responses=0, nps_responses=0, nps=EMPTY, csat_responses=0,
        csat=EMPTY, complaints=0, complaint_rate=EMPTY, loyalty_index=EMPTY)
    values.update(feedback)
    return values


def never(retention=EMPTY) -> dict:
    """A period before the group's first purchase: empty base, so active rate and CLV are empty."""
    return quiet(base=0, active_rate=EMPTY, clv=EMPTY, retention=retention)


# ---------------------------------------------------------------- all customers, by month

ALL_MONTHS = {
    # c6 buys 150; feedback 9: nps 7 (passive) -> NPS 0, csat 3 -> CSAT 0/1, no complaint.
    # index: (0.3x0 + 0.3x(100x150/500=30) + 0.2x0 + 0.2x(0+100)/2=50) / 1 = 9 + 10 = 19.
    "2023-04": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("150.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("150.00"), aov=D("150.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=1.0, clv_historical=D("150.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=1, nps_responses=1,
                    nps=0.0, csat_responses=1, csat=0.0, complaints=0, complaint_rate=0.0, loyalty_index=19.0),
    # retention: 0 of April's 1 buyer; then the previous period has no buyer: empty.
    "2023-05": quiet(base=1, active_rate=0.0, clv=D("150.00"), retention=0.0),
    "2023-06": quiet(base=1, active_rate=0.0, clv=D("150.00"), retention=EMPTY),
    "2023-07": quiet(base=1, active_rate=0.0, clv=D("150.00"), retention=EMPTY),
    # c5 buys twice (120 + 80): repeat 1/1; AOV 200/2; gap 15 d; CLV (150+200)/2 = 175.
    # feedback 8: rating 4 of 10 = 40% -> complaint, no NPS/CSAT; complaint rate 1/2 orders.
    # index: (0.3x100 + 0.3x(100x175/500=35)) / 0.6 = 40.5 / 0.6 = 67.5.
    "2023-08": dict(customer_base=2, customers_active=1, customers_new=1, customers_repeat=1, customers_retained=0,
                    orders=2, sales_value=D("200.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("200.00"), aov=D("100.00"), purchase_frequency=2.0, repeat_purchase_rate=1.0,
                    retention_rate=EMPTY, active_rate=0.5, clv_historical=D("175.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=15.0, feedback_responses=1, nps_responses=0,
                    nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=1, complaint_rate=0.5, loyalty_index=67.5),
    "2023-09": quiet(base=2, active_rate=0.0, clv=D("175.00"), retention=0.0),
    "2023-10": quiet(base=2, active_rate=0.0, clv=D("175.00"), retention=EMPTY),
    "2023-11": quiet(base=2, active_rate=0.0, clv=D("175.00"), retention=EMPTY),
    "2023-12": quiet(base=2, active_rate=0.0, clv=D("175.00"), retention=EMPTY),
    # 104 (300) + 105 (90) + 106 (100) = 490 by three new customers; the guest's 999 is left out.
    # AOV 490/3 = 163.333 -> 163.33; CLV (150+200+490)/5 = 168; feedback 1: nps 10, csat 5.
    # index: 0.3x0 + 0.3x33.6 + 0.2x100 + 0.2x100 = 50.08.
    "2024-01": dict(customer_base=5, customers_active=3, customers_new=3, customers_repeat=0, customers_retained=0,
                    orders=3, sales_value=D("490.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("490.00"), aov=D("163.33"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=0.6, clv_historical=D("168.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=1, nps_responses=1,
                    nps=100.0, csat_responses=1, csat=1.0, complaints=0, complaint_rate=0.0, loyalty_index=50.08),
    # 108 (500) + 109 (50) + 110 (70) + 111 (200) = 820 by c8 (new), c1, c2 (both repeat, both
    # active in January: retained 2 of 3). Return 114: 30. Voided 112/113 vanish. AOV 820/4 = 205;
    # frequency 4/3; return rates 1/4 and 30/820 = 0.0365853; gaps (35.958333 + 0.25 + 24.75)/3
    # = 20.319444; CLV (840 + 790)/6 = 271.666 -> 271.67. Feedback 2 (nps 6, csat 2: complaint)
    # and 4 (nps 9, csat 4, 4 of 5 stars): NPS (1-1)/2 = 0, CSAT 1/2, complaints 1/4 orders.
    # index: 0.3x66.6667 + 0.3x54.334 + 0.2x50 + 0.2x50 = 20 + 16.3002 + 20 = 56.30.
    "2024-02": dict(customer_base=6, customers_active=3, customers_new=1, customers_repeat=2, customers_retained=2,
                    orders=4, sales_value=D("820.00"), refund_documents=1, refunds_value=D("30.00"),
                    net_revenue=D("790.00"), aov=D("205.00"), purchase_frequency=1.333333,
                    repeat_purchase_rate=0.666667, retention_rate=0.666667, active_rate=0.5,
                    clv_historical=D("271.67"), return_rate_orders=0.25, return_rate_value=0.036585,
                    avg_inter_purchase_days=20.319444, feedback_responses=2, nps_responses=2, nps=0.0,
                    csat_responses=2, csat=0.5, complaints=1, complaint_rate=0.25, loyalty_index=56.30),
    # No purchase; the unlinked cancellation 116 (25.50) counts: net -25.50, CLV (1630 - 25.50)/6
    # = 267.4166 -> 267.42; return rates and complaint rate have no orders: empty. Feedback 3:
    # nps 8 (passive) -> 0, 2 of 5 stars -> complaint, no CSAT. No buyer: no loyalty index.
    "2024-03": quiet(base=6, active_rate=0.0, clv=D("267.42"), retention=0.0, refund_documents=1,
                     refunds_value=D("25.50"), net_revenue=D("-25.50"), feedback_responses=1, nps_responses=1,
                     nps=0.0, complaints=1),
    # 115 (150, c2) + 117 (199.97, c3 new) + 118 (200, c7 new: the voided February sale was not a
    # purchase) + 119 (120, c1) = 669.97; AOV 669.97/4 = 167.4925 -> 167.49; repeat c1, c2: 2/4;
    # no buyer in March: retention empty. Gaps (56.166667 + 69.791667)/2 = 62.979167. CLV
    # (1604.50 + 669.97)/8 = 284.30875 -> 284.31. Feedback 5 (nps 3, csat 3) and 7 (5 of 5 stars);
    # 6 is at the as-of instant. NPS -100, CSAT 0/1, no complaint.
    # index: 0.3x50 + 0.3x56.862 + 0.2x0 + 0.2x0 = 15 + 17.0586 = 32.06.
    "2024-04": dict(customer_base=8, customers_active=4, customers_new=2, customers_repeat=2, customers_retained=0,
                    orders=4, sales_value=D("669.97"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("669.97"), aov=D("167.49"), purchase_frequency=1.0, repeat_purchase_rate=0.5,
                    retention_rate=EMPTY, active_rate=0.5, clv_historical=D("284.31"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=62.979167, feedback_responses=2, nps_responses=1,
                    nps=-100.0, csat_responses=1, csat=0.0, complaints=0, complaint_rate=0.0, loyalty_index=32.06),
}


def test_all_by_month_has_every_month_from_the_first_purchase_to_as_of(tables) -> None:
    table = tables[(None, "month")]
    assert list(table["period"]) == list(MONTHS)
    assert set(table["group"]) == {"all"} and set(table["dimension"]) == {"all"}
    # April 2024 ends at the as-of instant (2024-05-01 00:00): complete. April 2023 began before the
    # first order (2023-04-10), so the data do not cover it in full: not complete.
    assert table["complete"].tolist() == [False] + [True] * 12


@pytest.mark.parametrize("period", MONTHS)
def test_all_by_month(tables, period) -> None:
    check(tables[(None, "month")], "all", period, ALL_MONTHS[period])


def test_all_by_month_changes(tables) -> None:
    table = tables[(None, "month")]
    check(table, "all", "2024-02", dict(
        customers_active_previous=3, customers_active_change=0, orders_previous=3, orders_change=1,
        net_revenue_previous=D("490.00"), net_revenue_change=D("300.00"),
        aov_previous=D("163.33"), aov_change=D("41.67"),                          # 205 - 163.33
        repeat_purchase_rate_previous=0.0, repeat_purchase_rate_change=0.666667,
        retention_rate_previous=EMPTY, retention_rate_change=EMPTY,
        active_rate_previous=0.6, active_rate_change=-0.1,
        clv_historical_previous=D("168.00"), clv_historical_change=D("103.67"),   # 271.67 - 168
        nps_previous=100.0, nps_change=-100.0, csat_previous=1.0, csat_change=-0.5,
        complaint_rate_previous=0.0, complaint_rate_change=0.25,
        avg_inter_purchase_days_previous=EMPTY, avg_inter_purchase_days_change=EMPTY,
        loyalty_index_previous=50.08, loyalty_index_change=6.22), full=False)
    check(table, "all", "2024-04", dict(
        customers_active_previous=0, customers_active_change=4,
        net_revenue_previous=D("-25.50"), net_revenue_change=D("695.47"),         # 669.97 + 25.50
        aov_previous=EMPTY, aov_change=EMPTY, loyalty_index_previous=EMPTY, loyalty_index_change=EMPTY,
        clv_historical_previous=D("267.42"), clv_historical_change=D("16.89"),
        retention_rate_previous=0.0, retention_rate_change=EMPTY), full=False)
    # the first period has no previous one
    check(table, "all", "2023-04", dict(orders_previous=EMPTY, orders_change=EMPTY, net_revenue_previous=EMPTY,
                                        net_revenue_change=EMPTY), full=False)


# ---------------------------------------------------------------- all customers, by quarter

ALL_QUARTERS = {
    "2023-Q2": ALL_MONTHS["2023-04"],     # April 2023 is the quarter's only activity
    # as August 2023, except retention: 0 of Q2's one buyer came back
    "2023-Q3": {**ALL_MONTHS["2023-08"], "retention_rate": 0.0},
    "2023-Q4": quiet(base=2, active_rate=0.0, clv=D("175.00"), retention=0.0),
    # January + February + March 2024: purchases 104-111 (7 orders, 1310) by c1, c4, c2, c8 (all
    # new); repeat c1, c2: 2/4; refunds 114 + 116 = 55.50 -> net 1254.50. AOV 1310/7 = 187.1428
    # -> 187.14; frequency 7/4; active 4/6; CLV (350 + 1254.50)/6 = 267.42; return rates 2/7 =
    # 0.285714 and 55.50/1310 = 0.0423664; gaps as February. Feedback 1-4: NPS answers 10, 6, 8, 9
    # -> (2 - 1)/4 = 25; CSAT 5, 2, 4 -> 2/3; complaints 2 (csat 2; 2 of 5 stars) / 7 orders.
    # index: 0.3x50 + 0.3x53.484 + 0.2x66.6667 + 0.2x62.5 = 15 + 16.0452 + 13.3333 + 12.5 = 56.88.
    "2024-Q1": dict(customer_base=6, customers_active=4, customers_new=4, customers_repeat=2, customers_retained=0,
                    orders=7, sales_value=D("1310.00"), refund_documents=2, refunds_value=D("55.50"),
                    net_revenue=D("1254.50"), aov=D("187.14"), purchase_frequency=1.75, repeat_purchase_rate=0.5,
                    retention_rate=EMPTY, active_rate=0.666667, clv_historical=D("267.42"),
                    return_rate_orders=0.285714, return_rate_value=0.042366, avg_inter_purchase_days=20.319444,
                    feedback_responses=4, nps_responses=4, nps=25.0, csat_responses=3, csat=0.666667, complaints=2,
                    complaint_rate=0.285714, loyalty_index=56.88),
    # as April 2024, except retention: c1 and c2 of Q1's four buyers bought again -> 2/4
    "2024-Q2": {**ALL_MONTHS["2024-04"], "customers_retained": 2, "retention_rate": 0.5},
}


def test_all_by_quarter(tables) -> None:
    table = tables[(None, "quarter")]
    assert list(table["period"]) == list(ALL_QUARTERS)
    # 2023-Q2 began before the first order (2023-04-10); 2024-Q2 ends on 2024-07-01, after the as-of instant
    assert table["complete"].tolist() == [False, True, True, True, False]
    for period, expected in ALL_QUARTERS.items():
        check(table, "all", period, expected)


def test_all_by_quarter_changes(tables) -> None:
    check(tables[(None, "quarter")], "all", "2024-Q2", dict(
        customers_active_previous=4, customers_active_change=0, customers_new_previous=4, customers_new_change=-2,
        orders_previous=7, orders_change=-3,
        net_revenue_previous=D("1254.50"), net_revenue_change=D("-584.53"),       # 669.97 - 1254.50
        aov_previous=D("187.14"), aov_change=D("-19.65"),                         # 167.49 - 187.14
        purchase_frequency_previous=1.75, purchase_frequency_change=-0.75,
        repeat_purchase_rate_previous=0.5, repeat_purchase_rate_change=0.0,
        retention_rate_previous=EMPTY, retention_rate_change=EMPTY,
        active_rate_previous=0.666667, active_rate_change=-0.166667,
        clv_historical_previous=D("267.42"), clv_historical_change=D("16.89"),
        return_rate_orders_previous=0.285714, return_rate_orders_change=-0.285714,
        return_rate_value_previous=0.042366, return_rate_value_change=-0.042366,
        complaint_rate_previous=0.285714, complaint_rate_change=-0.285714,
        nps_previous=25.0, nps_change=-125.0, csat_previous=0.666667, csat_change=-0.666667,
        avg_inter_purchase_days_previous=20.319444, avg_inter_purchase_days_change=42.659723,
        loyalty_index_previous=56.88, loyalty_index_change=-24.82), full=False)


# ---------------------------------------------------------------- by market, by month

EUROPE = {
    "2023-04": ALL_MONTHS["2023-04"],     # c6, feedback 9 (order 101)
    "2023-05": quiet(base=1, active_rate=0.0, clv=D("150.00"), retention=0.0),
    **{m: quiet(base=1, active_rate=0.0, clv=D("150.00"), retention=EMPTY) for m in MONTHS[2:9]},
    # 104 (c1, 300); base c6, c1; CLV (150+300)/2 = 225; feedback 1 (order 104): NPS 100, CSAT 1.
    # index: 0.3x0 + 0.3x45 + 0.2x100 + 0.2x100 = 53.5.
    "2024-01": dict(customer_base=2, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("300.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("300.00"), aov=D("300.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=0.5, clv_historical=D("225.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=1, nps_responses=1,
                    nps=100.0, csat_responses=1, csat=1.0, complaints=0, complaint_rate=0.0, loyalty_index=53.5),
    # 109, 110 (c1) + 111 (c2, whose first purchase ever was in North America: not new, but
    # entering Europe's base: c6, c1, c2). Both repeat; c1 retained from January (1/1). Return
    # 114 (30). AOV 320/3 = 106.666 -> 106.67; CLV (450 + 290)/3 = 246.666 -> 246.67; return
    # rates 1/3 and 30/320 = 0.09375; gaps of 109, 110, 111 (111's previous purchase is in North
    # America): 20.319444. Feedback 2 (about order 111, so Europe): NPS 6 -> -100, CSAT 2 -> 0,
    # complaint 1/3. index: 0.3x100 + 0.3x49.334 + 0 + 0 = 44.80.
    "2024-02": dict(customer_base=3, customers_active=2, customers_new=0, customers_repeat=2, customers_retained=1,
                    orders=3, sales_value=D("320.00"), refund_documents=1, refunds_value=D("30.00"),
                    net_revenue=D("290.00"), aov=D("106.67"), purchase_frequency=1.5, repeat_purchase_rate=1.0,
                    retention_rate=1.0, active_rate=0.666667, clv_historical=D("246.67"),
                    return_rate_orders=0.333333, return_rate_value=0.09375, avg_inter_purchase_days=20.319444,
                    feedback_responses=1, nps_responses=1, nps=-100.0, csat_responses=1, csat=0.0, complaints=1,
                    complaint_rate=0.333333, loyalty_index=44.80),
    # nothing at all in Europe in March
    "2024-03": quiet(base=3, active_rate=0.0, clv=D("246.67"), retention=0.0),
    # 117 (c3 new, 199.97) + 119 (c1, 120) = 319.97; AOV 159.985 -> 159.99 (half up); CLV
    # (740 + 319.97)/4 = 264.9925 -> 264.99; gap of 119: 69.791667. Feedback 5 (no order, c1's
    # home Europe: nps 3, csat 3) and 7 (order 117: 5 of 5). index: 15 + 0.3x52.998 = 30.90.
    "2024-04": dict(customer_base=4, customers_active=2, customers_new=1, customers_repeat=1, customers_retained=0,
                    orders=2, sales_value=D("319.97"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("319.97"), aov=D("159.99"), purchase_frequency=1.0, repeat_purchase_rate=0.5,
                    retention_rate=EMPTY, active_rate=0.5, clv_historical=D("264.99"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=69.791667, feedback_responses=2, nps_responses=1,
                    nps=-100.0, csat_responses=1, csat=0.0, complaints=0, complaint_rate=0.0, loyalty_index=30.90),
}

NORTH_AMERICA = {
    **{m: never() for m in MONTHS[0:4]},
    # c5: 120 + 80, gap 15 d; feedback 8 (no order, c5's home): complaint 1/2.
    # index: (0.3x100 + 0.3x(100x200/500=40)) / 0.6 = 42 / 0.6 = 70.
    "2023-08": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=1, customers_retained=0,
                    orders=2, sales_value=D("200.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("200.00"), aov=D("100.00"), purchase_frequency=2.0, repeat_purchase_rate=1.0,
                    retention_rate=EMPTY, active_rate=1.0, clv_historical=D("200.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=15.0, feedback_responses=1, nps_responses=0,
                    nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=1, complaint_rate=0.5, loyalty_index=70.0),
    "2023-09": quiet(base=1, active_rate=0.0, clv=D("200.00"), retention=0.0),
    **{m: quiet(base=1, active_rate=0.0, clv=D("200.00"), retention=EMPTY) for m in MONTHS[6:9]},
    # 106 (c2, 100); CLV (200 + 100)/2 = 150; no feedback: index (0 + 0.3x30) / 0.6 = 15.
    "2024-01": dict(customer_base=2, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("100.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("100.00"), aov=D("100.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=0.5, clv_historical=D("150.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=0, nps_responses=0,
                    nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=0, complaint_rate=EMPTY, loyalty_index=15.0),
    # 108 (c8 new, 500); c2 bought in Europe this month: retained 0/1. CLV 800/3 = 266.666 ->
    # 266.67. Feedback 4 (order 108): nps 9, csat 4, 4 of 5 stars. index 0 + 0.3x53.334 + 20 + 20 = 56.
    "2024-02": dict(customer_base=3, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("500.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("500.00"), aov=D("500.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=0.0, active_rate=0.333333, clv_historical=D("266.67"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=1, nps_responses=1,
                    nps=100.0, csat_responses=1, csat=1.0, complaints=0, complaint_rate=0.0, loyalty_index=56.0),
    # only the unlinked cancellation 116; CLV 774.50/3 = 258.1666 -> 258.17. Feedback 3 (no order,
    # c2's home North America): nps 8 -> 0; 2 of 5 stars -> complaint; no orders: no rate.
    "2024-03": quiet(base=3, active_rate=0.0, clv=D("258.17"), retention=0.0, refund_documents=1,
                     refunds_value=D("25.50"), net_revenue=D("-25.50"), feedback_responses=1, nps_responses=1,
                     nps=0.0, complaints=1),
    # 115 (c2, 150; its third purchase: repeat; gap from 111 in Europe 56.166667). CLV 924.50/3
    # = 308.1666 -> 308.17. No feedback (120 and feedback 6 are at the as-of instant).
    # index: (0.3x100 + 0.3x61.634) / 0.6 = 48.4902 / 0.6 = 80.82.
    "2024-04": dict(customer_base=3, customers_active=1, customers_new=0, customers_repeat=1, customers_retained=0,
                    orders=1, sales_value=D("150.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("150.00"), aov=D("150.00"), purchase_frequency=1.0, repeat_purchase_rate=1.0,
                    retention_rate=EMPTY, active_rate=0.333333, clv_historical=D("308.17"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=56.166667, feedback_responses=0, nps_responses=0,
                    nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=0, complaint_rate=EMPTY, loyalty_index=80.82),
}

# Southeast Asia has no feedback at all: NPS, CSAT, complaint rate always empty.
SOUTHEAST_ASIA = {
    **{m: never() for m in MONTHS[0:9]},
    # 105 (c4, 90): index (0 + 0.3x18) / 0.6 = 9.
    "2024-01": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("90.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("90.00"), aov=D("90.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=1.0, clv_historical=D("90.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=0, nps_responses=0,
                    nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=0, complaint_rate=EMPTY, loyalty_index=9.0),
    # the voided sale 112 and its cancellation 113 leave February empty
    "2024-02": quiet(base=1, active_rate=0.0, clv=D("90.00"), retention=0.0),
    "2024-03": quiet(base=1, active_rate=0.0, clv=D("90.00"), retention=EMPTY),
    # 118 (c7, new, 200); CLV 290/2 = 145; index (0 + 0.3x29) / 0.6 = 14.5.
    "2024-04": dict(customer_base=2, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("200.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("200.00"), aov=D("200.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=0.5, clv_historical=D("145.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=0, nps_responses=0,
                    nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=0, complaint_rate=EMPTY, loyalty_index=14.5),
}

MARKETS = {"Europe": EUROPE, "North America": NORTH_AMERICA, "Southeast Asia": SOUTHEAST_ASIA}


def test_by_market_has_every_market_and_month(tables) -> None:
    table = tables[("market", "month")]
    assert set(table["dimension"]) == {"market"}
    assert list(zip(table["group"], table["period"])) == [(g, m) for g in MARKETS for m in MONTHS]


@pytest.mark.parametrize("market", MARKETS)
@pytest.mark.parametrize("period", MONTHS)
def test_by_market_month(tables, market, period) -> None:
    check(tables[("market", "month")], market, period, MARKETS[market][period])


def test_by_market_changes(tables) -> None:
    table = tables[("market", "month")]
    check(table, "Europe", "2024-02", dict(
        customers_active_previous=1, customers_active_change=1, customers_new_previous=1, customers_new_change=-1,
        net_revenue_previous=D("300.00"), net_revenue_change=D("-10.00"),
        aov_previous=D("300.00"), aov_change=D("-193.33"),                        # 106.67 - 300
        repeat_purchase_rate_previous=0.0, repeat_purchase_rate_change=1.0,
        retention_rate_previous=EMPTY, retention_rate_change=EMPTY,
        active_rate_previous=0.5, active_rate_change=0.166667,
        clv_historical_previous=D("225.00"), clv_historical_change=D("21.67"),
        return_rate_orders_previous=0.0, return_rate_orders_change=0.333333,
        nps_previous=100.0, nps_change=-200.0, csat_previous=1.0, csat_change=-1.0,
        complaint_rate_previous=0.0, complaint_rate_change=0.333333,
        loyalty_index_previous=53.5, loyalty_index_change=-8.7), full=False)
    check(table, "North America", "2024-04", dict(
        net_revenue_previous=D("-25.50"), net_revenue_change=D("175.50"),
        clv_historical_previous=D("258.17"), clv_historical_change=D("50.00"),
        nps_previous=0.0, nps_change=EMPTY, loyalty_index_previous=EMPTY, loyalty_index_change=EMPTY,
        retention_rate_previous=0.0, retention_rate_change=EMPTY), full=False)
    check(table, "Southeast Asia", "2024-04", dict(
        customers_active_previous=0, customers_active_change=1, active_rate_previous=0.0, active_rate_change=0.5,
        nps_previous=EMPTY, nps_change=EMPTY, csat_previous=EMPTY, csat_change=EMPTY,
        complaint_rate_previous=EMPTY, complaint_rate_change=EMPTY), full=False)


def test_market_without_feedback_has_no_feedback_figures(tables) -> None:
    rows = tables[("market", "month")].query("group == 'Southeast Asia'")
    for column in ("nps", "csat", "complaint_rate", "nps_change", "csat_change", "complaint_rate_change"):
        assert all(is_empty(value) for value in rows[column]), column
    assert rows["feedback_responses"].tolist() == [0] * 13


# ---------------------------------------------------------------- by channel and by country, 2024-Q1

CHANNELS_2024_Q1 = {
    # app: 105 (c4, 90) + 109 (c1, 50); both new in Q1; c1 repeat; base c5 (2023-Q3 app), c4, c1;
    # CLV (200 + 140)/3 = 113.33; gap of 109: 35.958333; no feedback about an app order.
    # index: (0.3x50 + 0.3x22.666) / 0.6 = 36.33.
    "app": dict(customer_base=3, customers_active=2, customers_new=2, customers_repeat=1, customers_retained=0,
                orders=2, sales_value=D("140.00"), refund_documents=0, refunds_value=D("0.00"),
                net_revenue=D("140.00"), aov=D("70.00"), purchase_frequency=1.0, repeat_purchase_rate=0.5,
                retention_rate=EMPTY, active_rate=0.666667, clv_historical=D("113.33"), return_rate_orders=0.0,
                return_rate_value=0.0, avg_inter_purchase_days=35.958333, feedback_responses=0, nps_responses=0,
                nps=EMPTY, csat_responses=0, csat=EMPTY, complaints=0, complaint_rate=EMPTY, loyalty_index=36.33),
    # marketplace: 111 (c2, 200; repeat; gap from 106 on the web 24.75); feedback 2: nps 6, csat 2.
    # index: 0.3x100 + 0.3x40 + 0 + 0 = 42.
    "marketplace": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=1,
                        customers_retained=0, orders=1, sales_value=D("200.00"), refund_documents=0,
                        refunds_value=D("0.00"), net_revenue=D("200.00"), aov=D("200.00"), purchase_frequency=1.0,
                        repeat_purchase_rate=1.0, retention_rate=EMPTY, active_rate=1.0,
                        clv_historical=D("200.00"), return_rate_orders=0.0, return_rate_value=0.0,
                        avg_inter_purchase_days=24.75, feedback_responses=1, nps_responses=1, nps=-100.0,
                        csat_responses=1, csat=0.0, complaints=1, complaint_rate=1.0, loyalty_index=42.0),
    # unknown: 108 (c8, 500, no channel); feedback 4 (about 108) and 3 (no order): NPS answers 9, 8
    # -> (1 - 0)/2 = 50; CSAT 4 -> 1/1; complaints: feedback 3 (2 of 5 stars) / 1 order.
    # index: 0 + 0.3x100 (CLV 500 caps at 100) + 0.2x100 + 0.2x75 = 65.
    "unknown": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("500.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("500.00"), aov=D("500.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=1.0, clv_historical=D("500.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY, feedback_responses=2, nps_responses=2,
                    nps=50.0, csat_responses=1, csat=1.0, complaints=1, complaint_rate=1.0, loyalty_index=65.0),
    # web: 104 (c1, 300) + 106 (c2, 100) + 110 (c1, 70) = 470; refunds 114 + 116 = 55.50 -> 414.50;
    # base c6 (2023 web), c1, c2; CLV (150 + 414.50)/3 = 188.1666 -> 188.17; AOV 156.666 -> 156.67;
    # return rates 2/3 and 55.50/470 = 0.1180851; gap of 110 (after 109 in the app): 0.25.
    # Feedback 1 (order 104): nps 10, csat 5. index: 30 + 0.3x37.634 + 20 + 20 = 81.29.
    "web": dict(customer_base=3, customers_active=2, customers_new=2, customers_repeat=2, customers_retained=0,
                orders=3, sales_value=D("470.00"), refund_documents=2, refunds_value=D("55.50"),
                net_revenue=D("414.50"), aov=D("156.67"), purchase_frequency=1.5, repeat_purchase_rate=1.0,
                retention_rate=EMPTY, active_rate=0.666667, clv_historical=D("188.17"), return_rate_orders=0.666667,
                return_rate_value=0.118085, avg_inter_purchase_days=0.25, feedback_responses=1, nps_responses=1,
                nps=100.0, csat_responses=1, csat=1.0, complaints=0, complaint_rate=0.0, loyalty_index=81.29),
}


def test_by_channel_quarter(tables) -> None:
    table = tables[("channel", "quarter")]
    assert sorted(set(table["group"])) == sorted(CHANNELS_2024_Q1)
    for channel, expected in CHANNELS_2024_Q1.items():
        check(table, channel, "2024-Q1", expected)


# Order-based figures by country in 2024-Q1 (feedback is checked separately below).
COUNTRIES_2024_Q1 = {
    # CA: c5 bought in 2023-Q3 only
    "CA": {**quiet(base=1, active_rate=0.0, clv=D("200.00"), retention=EMPTY)},
    # DE: 104, 109, 110 (c1) = 420; return 114 (30); base c6, c1; CLV (150 + 390)/2 = 270; AOV 140;
    # return rates 1/3, 30/420 = 0.0714285; gaps (35.958333 + 0.25)/2 = 18.104167. Feedback 1.
    # index: 30 + 0.3x54 + 20 + 20 = 86.2.
    "DE": dict(customer_base=2, customers_active=1, customers_new=1, customers_repeat=1, customers_retained=0,
               orders=3, sales_value=D("420.00"), refund_documents=1, refunds_value=D("30.00"),
               net_revenue=D("390.00"), aov=D("140.00"), purchase_frequency=3.0, repeat_purchase_rate=1.0,
               retention_rate=EMPTY, active_rate=0.5, clv_historical=D("270.00"), return_rate_orders=0.333333,
               return_rate_value=0.071429, avg_inter_purchase_days=18.104167, feedback_responses=1, nps_responses=1,
               nps=100.0, csat_responses=1, csat=1.0, complaints=0, complaint_rate=0.0, loyalty_index=86.2),
    # FR: 111 (c2) as the marketplace channel above
    "FR": CHANNELS_2024_Q1["marketplace"],
    # SG: 105 (c4, 90); the voided 112 is not a purchase
    "SG": {**SOUTHEAST_ASIA["2024-01"]},
    # US: 106 (c2, 100; repeat by the end of Q1 thanks to 111 in FR); cancellation 116 (25.50) ->
    # net 74.50; return rates 1/1 and 25.50/100.
    "US": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=1, customers_retained=0,
               orders=1, sales_value=D("100.00"), refund_documents=1, refunds_value=D("25.50"),
               net_revenue=D("74.50"), aov=D("100.00"), purchase_frequency=1.0, repeat_purchase_rate=1.0,
               retention_rate=EMPTY, active_rate=1.0, clv_historical=D("74.50"), return_rate_orders=1.0,
               return_rate_value=0.255, avg_inter_purchase_days=EMPTY),
    # unknown: 108 (c8, 500) has no country
    "unknown": dict(customer_base=1, customers_active=1, customers_new=1, customers_repeat=0, customers_retained=0,
                    orders=1, sales_value=D("500.00"), refund_documents=0, refunds_value=D("0.00"),
                    net_revenue=D("500.00"), aov=D("500.00"), purchase_frequency=1.0, repeat_purchase_rate=0.0,
                    retention_rate=EMPTY, active_rate=1.0, clv_historical=D("500.00"), return_rate_orders=0.0,
                    return_rate_value=0.0, avg_inter_purchase_days=EMPTY),
}


def test_by_country_quarter(tables) -> None:
    table = tables[("country", "quarter")]
    assert sorted(set(table["group"])) == sorted(COUNTRIES_2024_Q1)
    for country, expected in COUNTRIES_2024_Q1.items():
        check(table, country, "2024-Q1", expected, full=country not in ("US", "unknown"))


def test_by_country_feedback_follows_the_order_group(tables) -> None:
    table = tables[("country", "quarter")]
    # unknown: feedback 4 (about order 108): nps 9, csat 4, 4 of 5 stars.
    # index: 0.3x0 + 0.3x100 + 0.2x100 + 0.2x100 = 70.
    check(table, "unknown", "2024-Q1", dict(
        feedback_responses=1, nps_responses=1, nps=100.0, csat_responses=1, csat=1.0, complaints=0,
        complaint_rate=0.0, loyalty_index=70.0), full=False)
    # US: feedback 3 only (no order; c2's home country): nps 8 -> 0, no CSAT, complaint 1/1 order.
    check(table, "US", "2024-Q1", dict(
        feedback_responses=1, nps_responses=1, nps=0.0, csat_responses=0, csat=EMPTY, complaints=1,
        complaint_rate=1.0), full=False)


def test_money_is_decimal_cents_and_rates_are_never_nan_infinite(tables) -> None:
    for table in tables.values():
        for column in ("sales_value", "refunds_value", "net_revenue", "aov", "clv_historical"):
            for value in table[column]:
                assert is_empty(value) or (isinstance(value, D) and value.as_tuple().exponent == -2), (column, value)
        for column in ("repeat_purchase_rate", "retention_rate", "active_rate", "return_rate_value", "csat"):
            for value in table[column]:
                assert is_empty(value) or 0.0 <= value <= 1.0, (column, value)
