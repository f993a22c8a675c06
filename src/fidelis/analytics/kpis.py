"""Loyalty KPIs per group (all, market, country, channel) and calendar period, with the change
against the previous period. Definitions: docs/metrics.md.

The work over customers and orders is Ibis aggregation (DuckDB or Spark), down to one row per
(group, period) of counts and sums. What follows is arithmetic on that small table in pandas:
a complete grid of periods (a period with no orders is a row of zero counts and empty ratios,
never a missing row), ratios with an empty value where the denominator is zero, cumulative
figures, and the change against the previous period. Money is summed as decimals and rounded to
the cent; it never passes through a float before rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from fidelis.analytics.config import AnalyticsConfig, LoyaltyIndex
from fidelis.analytics.inputs import (
    ALL_GROUP,
    UNKNOWN_GROUP,
    AnalyticsInputs,
    Dimension,
    customer_firsts,
    epoch_days,
    feedback_before_as_of,
    group_of_order,
    purchase_sequence,
    refunds,
)
from fidelis.analytics.metrics import CHANGE_METRICS, FLOAT_METRICS, MONEY_METRICS, Period
from fidelis.analytics.numbers import RATE_DIGITS, as_decimal, as_float, cents, money_per, rate, running_sums
from fidelis.analytics.periods import index_of, period_end, period_index, period_label, period_start
from fidelis.domain.markets import UNKNOWN_MARKET
from fidelis.errors import NoDataError

#: Counts summed by the backend (some only feed ratios and are not in the output).
COUNT_COLUMNS = (
    "customers_active", "customers_new", "customers_repeat", "customers_retained", "customers_entering",
    "orders", "inter_purchase_gaps", "refund_documents", "feedback_responses", "nps_responses",
    "nps_promoters", "nps_detractors", "csat_responses", "csat_satisfied", "complaints",
)
MONEY_SUM_COLUMNS = ("sales_value", "refunds_value")


def kpi_table(inputs: AnalyticsInputs, config: AnalyticsConfig, *, by: Dimension | None = None,
              period: Period = "month") -> pd.DataFrame:
    """One row per group and period, every metric of docs/metrics.md, oldest period first."""
    parts = kpi_aggregates(inputs, by=by, period=period)
    if by == "channel" and set(parts.groups) <= {UNKNOWN_GROUP}:
        raise NoDataError("no order has a channel; `--by channel` needs a channel column in the source")
    return assemble_kpis(parts, inputs=inputs, config=config, by=by, period=period)


@dataclass
class KpiParts:
    """What the backend returns: small per-(group, period) tables, and every group seen."""

    customers: pd.DataFrame
    entering: pd.DataFrame
    orders: pd.DataFrame
    refunds: pd.DataFrame
    feedback: pd.DataFrame
    groups: list[str] = field(default_factory=list)

    def frames(self) -> list[pd.DataFrame]:
        return [self.customers, self.entering, self.orders, self.refunds, self.feedback]


def kpi_aggregates(inputs: AnalyticsInputs, *, by: Dimension | None, period: Period) -> KpiParts:
    """The backend's share of the work, executed to pandas."""
    bought = purchase_sequence(inputs)
    bought = bought.mutate(group=group_of_order(bought, by), period_index=period_index(bought.ordered_at, period))
    parts = KpiParts(
        customers=_customer_counts(bought, customer_firsts(inputs), period).to_pandas(),
        entering=_entering_counts(bought).to_pandas(),
        orders=_order_sums(bought).to_pandas(),
        refunds=_refund_sums(inputs, by, period).to_pandas(),
        feedback=_feedback_counts(inputs, by, period).to_pandas(),
    )
    parts.groups = sorted(set().union(*(set(frame["group"]) for frame in parts.frames())))
    return parts


def _customer_counts(bought: ir.Table, firsts: ir.Table, period: Period) -> ir.Table:
    """Active, new, repeat and retained customers per (group, period)."""
    firsts = firsts.select("customer_id", first_index=period_index(firsts.first_purchase_at, period),
                           second_index=period_index(firsts.second_purchase_at, period))
    active = bought.group_by(["group", "period_index", "customer_id"]).aggregate()
    earlier = active.select(customer_id_before="customer_id", group_before="group",
                            next_index=active.period_index + 1)
    flagged = (
        active.join(firsts, "customer_id")
        .left_join(earlier, [active.customer_id == earlier.customer_id_before,
                             active.group == earlier.group_before,
                             active.period_index == earlier.next_index])
    )
    return flagged.group_by(["group", "period_index"]).aggregate(
        customers_active=flagged.customer_id.count(),
        customers_new=(flagged.first_index == flagged.period_index).sum().cast("int64"),
        customers_repeat=(flagged.second_index.notnull() & (flagged.second_index <= flagged.period_index))
        .sum().cast("int64"),
        customers_retained=flagged.customer_id_before.count(),
    )


def _entering_counts(bought: ir.Table) -> ir.Table:
    """Customers whose first purchase in the group falls in the period: the growth of the base."""
    first_in_group = bought.group_by(["group", "customer_id"]).aggregate(period_index=bought.period_index.min())
    return first_in_group.group_by(["group", "period_index"]).aggregate(
        customers_entering=first_in_group.customer_id.count())


def _order_sums(bought: ir.Table) -> ir.Table:
    gap_days = epoch_days(bought.ordered_at) - epoch_days(bought.previous_purchase_at)
    return bought.group_by(["group", "period_index"]).aggregate(
        orders=bought.order_id.count(),
        sales_value=bought.amount_reporting.sum(),
        inter_purchase_gaps=bought.previous_purchase_at.count(),
        inter_purchase_days_sum=gap_days.sum(),
    )


def _refund_sums(inputs: AnalyticsInputs, by: Dimension | None, period: Period) -> ir.Table:
    documents = refunds(inputs)
    documents = documents.mutate(group=group_of_order(documents, by),
                                 period_index=period_index(documents.ordered_at, period))
    return documents.group_by(["group", "period_index"]).aggregate(
        refund_documents=documents.order_id.count(),
        refunds_value=-documents.amount_reporting.sum(),
    )


def _feedback_group(feedback: ir.Table, inputs: AnalyticsInputs, by: Dimension | None) -> ir.Table:
    """Feedback counts in the group of the order it is about, else of the customer who gave it."""
    if by is None:
        return feedback.mutate(group=ibis.literal(ALL_GROUP))
    orders = inputs.orders.select(order_key="order_id", order_market="market",
                                  order_country="country_code", order_channel="channel")
    customers = inputs.customers.select(customer_key="customer_id", customer_market="market",
                                        customer_country="country_code")
    joined = (feedback.left_join(orders, feedback.order_id == orders.order_key)
              .left_join(customers, feedback.customer_id == customers.customer_key))
    unknown = UNKNOWN_MARKET if by == "market" else UNKNOWN_GROUP
    of_order = {"market": joined.order_market, "country": joined.order_country, "channel": joined.order_channel}[by]
    of_customer = {"market": joined.customer_market, "country": joined.customer_country,
                   "channel": ibis.null("string")}[by]
    group = ibis.ifelse(joined.order_key.notnull(), of_order.fill_null(unknown), of_customer.fill_null(unknown))
    return joined.mutate(group=group)


def _feedback_counts(inputs: AnalyticsInputs, by: Dimension | None, period: Period) -> ir.Table:
    feedback = _feedback_group(feedback_before_as_of(inputs), inputs, by)
    share_of_scale = feedback.rating.cast("float64") / feedback.rating_scale_max.cast("float64")
    complaint = (feedback.csat <= 2).fill_null(False) | (share_of_scale <= 0.4).fill_null(False)
    feedback = feedback.mutate(period_index=period_index(feedback.submitted_at, period), complaint=complaint)
    return feedback.group_by(["group", "period_index"]).aggregate(
        feedback_responses=feedback.feedback_id.count(),
        nps_responses=feedback.nps.count(),
        nps_promoters=(feedback.nps >= 9).sum().cast("int64"),
        nps_detractors=(feedback.nps <= 6).sum().cast("int64"),
        csat_responses=feedback.csat.count(),
        csat_satisfied=(feedback.csat >= 4).sum().cast("int64"),
        complaints=feedback.complaint.sum().cast("int64"),
    )


# ---------------------------------------------------------------- assembly (small tables, pandas)

def assemble_kpis(parts: KpiParts, *, inputs: AnalyticsInputs, config: AnalyticsConfig, by: Dimension | None,
                  period: Period) -> pd.DataFrame:
    # The grid starts at the first purchase or refund: a refund dated before any purchase (a credit
    # note for an order placed before the data begin) still counts in its own period.
    first = int(min(frame["period_index"].min() for frame in (parts.orders, parts.refunds) if len(frame)))
    last = index_of(inputs.observation_end_day, period)
    grid = pd.MultiIndex.from_product([parts.groups, range(first, last + 1)], names=["group", "period_index"])
    table = pd.DataFrame(index=grid)
    for frame in parts.frames():
        frame = frame[frame["period_index"].between(first, last)]
        table = table.join(frame.set_index(["group", "period_index"]), how="left")
    table = table.reset_index()
    for column in COUNT_COLUMNS:
        table[column] = pd.to_numeric(table[column]).fillna(0).astype("int64")
    for column in MONEY_SUM_COLUMNS:
        table[column] = table[column].map(as_decimal)
    table["inter_purchase_days_sum"] = table["inter_purchase_days_sum"].astype("float64").fillna(0.0)
    table = table.sort_values(["group", "period_index"], kind="stable").reset_index(drop=True)
    _cumulative(table)
    _ratios(table)
    table["loyalty_index"] = [_loyalty_index(row, config.loyalty_index) for row in table.itertuples()]
    _changes(table)
    _describe_periods(table, period, inputs)
    table.insert(0, "dimension", by or "all")
    return _typed(_ordered_columns(table))


def _cumulative(table: pd.DataFrame) -> None:
    """Customer base and cumulative net revenue per group (rows sorted by group, then period)."""
    table["customer_base"] = table.groupby("group")["customers_entering"].cumsum()
    table["net_revenue"] = [sales - refunded for sales, refunded in zip(table["sales_value"], table["refunds_value"])]
    table["net_revenue_cumulative"] = running_sums(table["net_revenue"], table["group"])


def _ratios(table: pd.DataFrame) -> None:
    def ratio(numerator: str, denominator: str | pd.Series) -> list[float | None]:
        bottom = table[denominator] if isinstance(denominator, str) else denominator
        return [rate(n, d) for n, d in zip(table[numerator], bottom)]

    def money(total: str, count: str) -> list[Decimal | None]:
        return [money_per(t, n) for t, n in zip(table[total], table[count])]

    table["repeat_purchase_rate"] = ratio("customers_repeat", "customers_active")
    table["retention_rate"] = ratio("customers_retained", table.groupby("group")["customers_active"].shift(1))
    table["active_rate"] = ratio("customers_active", "customer_base")
    table["purchase_frequency"] = ratio("orders", "customers_active")
    table["aov"] = money("sales_value", "orders")
    table["clv_historical"] = money("net_revenue_cumulative", "customer_base")
    table["return_rate_orders"] = ratio("refund_documents", "orders")
    table["return_rate_value"] = ratio("refunds_value", "sales_value")
    table["complaint_rate"] = [rate(c, n) if responses else None for c, n, responses
                               in zip(table["complaints"], table["orders"], table["feedback_responses"])]
    table["csat"] = ratio("csat_satisfied", "csat_responses")
    table["nps"] = [round(100.0 * (p - d) / n, 2) if n else None
                    for p, d, n in zip(table["nps_promoters"], table["nps_detractors"], table["nps_responses"])]
    table["avg_inter_purchase_days"] = [round(s / n, 4) if n else None
                                        for s, n in zip(table["inter_purchase_days_sum"], table["inter_purchase_gaps"])]
    for column in ("sales_value", "refunds_value", "net_revenue"):
        table[column] = [cents(value) for value in table[column]]


def loyalty_components(row, index: LoyaltyIndex) -> dict[str, float]:
    """Each weighted index component that has data, on a 0-100 scale (see docs/metrics.md)."""
    values = {name: as_float(getattr(row, name)) for name in index.weights}
    scaled = {}
    for name, value in values.items():
        if value is None:
            continue
        if name == "nps":
            scaled[name] = (value + 100.0) / 2.0
        elif name == "clv_historical":
            scaled[name] = min(100.0, max(0.0, 100.0 * value / index.clv_scale))
        else:
            scaled[name] = 100.0 * value
    return scaled


def _loyalty_index(row, index: LoyaltyIndex) -> float | None:
    components = loyalty_components(row, index)
    weight = sum(index.weights[name] for name in components)
    if not components or weight == 0 or row.customers_active == 0:
        return None
    return round(sum(index.weights[name] * value for name, value in components.items()) / weight, 2)


def _changes(table: pd.DataFrame) -> None:
    """`<metric>_previous` and `<metric>_change` against the previous period of the same group."""
    for metric in CHANGE_METRICS:
        whole = pd.api.types.is_integer_dtype(table[metric])
        previous = [None if value is None or value != value else (int(value) if whole else value)
                    for value in table.groupby("group")[metric].shift(1).astype(object)]
        table[f"{metric}_previous"] = pd.Series(previous, index=table.index, dtype=object)
        table[f"{metric}_change"] = pd.Series(
            [_difference(now, before) for now, before in zip(table[metric], previous)], index=table.index, dtype=object)


def _difference(now, before):
    if now is None or before is None or now != now or before != before:
        return None
    if isinstance(now, Decimal) or isinstance(before, Decimal):
        return Decimal(now) - Decimal(before)
    if isinstance(now, (int, np.integer)) and isinstance(before, (int, np.integer)):
        return int(now) - int(before)
    return round(float(now) - float(before), RATE_DIGITS)


def _describe_periods(table: pd.DataFrame, period: Period, inputs: AnalyticsInputs) -> None:
    indexes = table["period_index"].astype(int)
    table["period"] = [period_label(i, period) for i in indexes]
    table["period_start"] = [period_start(i, period) for i in indexes]
    covered_from = inputs.data_start.date() if inputs.data_start else date.min
    covered_to = (inputs.data_end or inputs.as_of).date()
    table["complete"] = [period_start(i, period) >= covered_from and period_end(i, period) <= covered_to
                         for i in indexes]


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """One dtype per column whatever the data: floats (NaN when empty) for ratios and scores,
    nullable integers for count changes, decimals (None when empty) for money."""
    for metric in FLOAT_METRICS:
        for column in (metric, f"{metric}_previous", f"{metric}_change"):
            if column in table:
                table[column] = pd.to_numeric(table[column].astype(object).where(table[column].notna(), None),
                                              errors="raise").astype("float64")
    for metric in CHANGE_METRICS:
        if metric not in FLOAT_METRICS and metric not in MONEY_METRICS:
            for column in (f"{metric}_previous", f"{metric}_change"):
                table[column] = pd.array(table[column].tolist(), dtype="Int64")
    return table


def _ordered_columns(table: pd.DataFrame) -> pd.DataFrame:
    leading = ["dimension", "group", "period", "period_start", "complete"]
    metrics = ["customer_base", "customers_active", "customers_new", "customers_repeat", "customers_retained",
               "orders", "sales_value", "refund_documents", "refunds_value", "net_revenue", "aov",
               "purchase_frequency", "repeat_purchase_rate", "retention_rate", "active_rate", "clv_historical",
               "return_rate_orders", "return_rate_value", "avg_inter_purchase_days", "feedback_responses",
               "nps_responses", "nps", "csat_responses", "csat", "complaints", "complaint_rate", "loyalty_index"]
    changes = [f"{metric}_{suffix}" for metric in CHANGE_METRICS for suffix in ("previous", "change")]
    ordered = table[leading + metrics + changes].sort_values(["group", "period"], kind="stable")
    return ordered.reset_index(drop=True)
