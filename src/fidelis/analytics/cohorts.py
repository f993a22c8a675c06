"""Monthly acquisition cohorts: customers by the month of their first purchase, followed month by month.

For cohort month c and month offset k (0 = the acquisition month): the customers of c who bought
in month c + k, their share of the cohort, the net revenue of the whole cohort in that month, and
the cumulative net revenue per cohort customer. Refunds count in the month they were issued.
"""

from __future__ import annotations

import ibis
import pandas as pd

from fidelis.analytics.inputs import (
    ALL_GROUP,
    AnalyticsInputs,
    Dimension,
    group_of_order,
    purchase_sequence,
    refunds,
)
from fidelis.analytics.numbers import as_decimal, cents, money_per, rate, running_sums
from fidelis.analytics.periods import index_of, period_index, period_label


def cohort_aggregates(inputs: AnalyticsInputs, *, by: Dimension | None = None) -> dict[str, pd.DataFrame]:
    """The backend's share: per (group, cohort, month) active customers and revenue."""
    bought = purchase_sequence(inputs)
    bought = bought.mutate(month=period_index(bought.ordered_at, "month"))
    cohort_of = bought.group_by("customer_id").aggregate(cohort=bought.month.min())
    if by is not None:
        first = bought.filter(bought.purchase_number == 1)
        cohort_of = cohort_of.join(first.select("customer_id", group=group_of_order(first, by)), "customer_id")
    else:
        cohort_of = cohort_of.mutate(group=ibis.literal(ALL_GROUP))
    active = bought.join(cohort_of, "customer_id")
    activity = active.group_by(["group", "cohort", "month"]).aggregate(
        customers_active=active.customer_id.nunique(), sales_value=active.amount_reporting.sum())
    documents = refunds(inputs)
    documents = documents.mutate(month=period_index(documents.ordered_at, "month")).join(cohort_of, "customer_id")
    refunded = documents.group_by(["group", "cohort", "month"]).aggregate(
        refunds_value=-documents.amount_reporting.sum())
    sizes = cohort_of.group_by(["group", "cohort"]).aggregate(cohort_size=cohort_of.customer_id.count())
    return {"activity": activity.to_pandas(), "refunds": refunded.to_pandas(), "sizes": sizes.to_pandas()}


def cohort_table(inputs: AnalyticsInputs, *, by: Dimension | None = None) -> pd.DataFrame:
    """Long table: group, cohort, month offset, active customers, retention, revenue; every cell present."""
    parts = cohort_aggregates(inputs, by=by)
    last_month = index_of(inputs.observation_end_day, "month")
    rows = []
    for size in parts["sizes"].itertuples():
        for month in range(int(size.cohort), last_month + 1):
            rows.append((size.group, int(size.cohort), month, int(size.cohort_size)))
    grid = pd.DataFrame(rows, columns=["group", "cohort", "month", "cohort_size"])
    keys = ["group", "cohort", "month"]
    table = grid.merge(parts["activity"], on=keys, how="left").merge(parts["refunds"], on=keys, how="left")
    table["customers_active"] = pd.to_numeric(table["customers_active"]).fillna(0).astype("int64")
    table["net_revenue"] = [as_decimal(s) - as_decimal(r) for s, r in zip(table["sales_value"], table["refunds_value"])]
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    table["net_revenue_cumulative"] = running_sums(table["net_revenue"], zip(table["group"], table["cohort"]))
    table["retention_rate"] = [rate(a, n) for a, n in zip(table["customers_active"], table["cohort_size"])]
    table["revenue_per_customer_cumulative"] = [
        money_per(total, n) for total, n in zip(table["net_revenue_cumulative"], table["cohort_size"])]
    for column in ("net_revenue", "net_revenue_cumulative"):
        table[column] = [cents(value) for value in table[column]]
    table["months_since_first"] = table["month"] - table["cohort"]
    table["cohort"] = [period_label(i, "month") for i in table["cohort"]]
    table["month"] = [period_label(i, "month") for i in table["month"]]
    table.insert(0, "dimension", by or "all")
    return table[["dimension", "group", "cohort", "months_since_first", "month", "cohort_size", "customers_active",
                  "retention_rate", "net_revenue", "net_revenue_cumulative", "revenue_per_customer_cumulative"]]


def retention_matrix(cohorts: pd.DataFrame, value: str = "retention_rate") -> pd.DataFrame:
    """Cohorts as rows, months since the first purchase as columns (for the heatmap and the CLI)."""
    return cohorts.pivot_table(index="cohort", columns="months_since_first", values=value, aggfunc="first")
