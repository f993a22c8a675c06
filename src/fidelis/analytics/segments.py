"""RFM scores and named segments, value tiers and lifecycle stages, as Ibis expressions.

Scores are quintiles with ties kept together: a customer's score is 1 + floor(5 * rank / n), where
rank is the number of customers strictly worse on that measure (0 for the worst) and n the number
of customers. Equal values always get equal scores (the lower one), so the result depends only on
the data, never on row order, and DuckDB and Spark agree. With many one-time buyers the F scores
bunch (all of them score 1), which is the truth about such a base rather than an artefact of
where a tie happened to be cut.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from fidelis.analytics.config import AnalyticsConfig, Lifecycle, SegmentRule, ValueTiers
from fidelis.analytics.inputs import AnalyticsInputs

LIFECYCLE_STAGES = ("new", "active", "at risk", "dormant", "churned")
VALUE_TIERS = ("high", "mid", "low")


def quintile_score(better: ir.Column) -> ir.IntegerValue:
    """1..5 by the share of customers strictly worse than this one (`better`: larger is better)."""
    everyone = ibis.window()
    strictly_worse = ibis.rank().over(order_by=better)  # 0-based minimum rank
    count = better.count().over(everyone)
    return (strictly_worse * 5 / count).floor().cast("int64") + 1


def segment_of(r: ir.IntegerValue, f: ir.IntegerValue, m: ir.IntegerValue,
               rules: tuple[SegmentRule, ...]) -> ir.StringValue:
    """The first rule whose score ranges hold (the config proves that one always does)."""
    branches = [
        (r.between(*rule.r) & f.between(*rule.f) & m.between(*rule.m), rule.name) for rule in rules
    ]
    return ibis.cases(*branches, else_=ibis.null("string"))


def value_tier(net_value: ir.NumericValue, tiers: ValueTiers) -> ir.StringValue:
    value = net_value.cast("float64")
    return ibis.cases((value > tiers.high_above, "high"), (value < tiers.low_below, "low"), else_="mid")


def lifecycle_stage(tenure_days: ir.NumericValue, days_since_last: ir.NumericValue,
                    windows: Lifecycle) -> ir.StringValue:
    return ibis.cases(
        (tenure_days <= windows.new_days, "new"),
        (days_since_last <= windows.active_days, "active"),
        (days_since_last <= windows.at_risk_days, "at risk"),
        (days_since_last <= windows.dormant_days, "dormant"),
        else_="churned",
    )


def with_segments(history: ir.Table, inputs: AnalyticsInputs, config: AnalyticsConfig) -> ir.Table:
    """Add r/f/m scores, the RFM cell, segment, value tier and lifecycle stage to a history table."""
    scored = history.mutate(
        r_score=quintile_score(-history.days_since_last),
        f_score=quintile_score(history.purchases),
        m_score=quintile_score(history.net_value),
    )
    return scored.mutate(
        rfm_cell=scored.r_score.cast("string") + scored.f_score.cast("string") + scored.m_score.cast("string"),
        segment=segment_of(scored.r_score, scored.f_score, scored.m_score, config.rfm_segments),
        value_tier=value_tier(scored.net_value, config.value_tiers),
        lifecycle_stage=lifecycle_stage(scored.tenure_days, scored.days_since_last, config.lifecycle),
        as_of=ibis.literal(inputs.as_of),
    )


def segment_tables(summary: ir.Table) -> dict[str, ir.Table]:
    """Aggregates of a customer summary: segments, the R x F grid, value tiers and lifecycle by market."""
    def shares(table: ir.Table) -> ir.Table:
        """Shares of all customers and of all net value; no revenue share when the total is not
        positive (refunds outweighing sales would flip every share's sign)."""
        everything = ibis.window()
        total_value = table.net_value.sum().over(everything).cast("float64")
        return table.mutate(
            customer_share=table.customers.cast("float64") / table.customers.sum().over(everything).cast("float64"),
            revenue_share=ibis.ifelse(total_value > 0, table.net_value.cast("float64") / total_value,
                                      ibis.null("float64")))

    by_segment = summary.group_by("segment").aggregate(
        customers=summary.customer_id.count(), net_value=summary.net_value.sum(),
        recency_days_mean=summary.days_since_last.mean(), purchases_mean=summary.purchases.mean(),
        net_value_mean=summary.net_value.mean())
    grid = summary.group_by(["r_score", "f_score"]).aggregate(
        customers=summary.customer_id.count(), net_value=summary.net_value.sum())
    tiers = summary.group_by(["market", "value_tier"]).aggregate(
        customers=summary.customer_id.count(), net_value=summary.net_value.sum())
    stages = summary.group_by(["market", "lifecycle_stage"]).aggregate(customers=summary.customer_id.count())
    return {
        "segments": shares(by_segment).order_by(ibis.desc("net_value")),
        "rfm_grid": shares(grid).order_by(["r_score", "f_score"]),
        "value_tiers": tiers.order_by(["market", "value_tier"]),
        "lifecycle": stages.order_by(["market", "lifecycle_stage"]),
    }


def in_display_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Tiers high to low and stages new to churned (not alphabetically), within each market."""
    keys = [column for column in ("market", "value_tier", "lifecycle_stage") if column in frame.columns]
    if len(keys) < 2:
        return frame
    order = {"value_tier": VALUE_TIERS, "lifecycle_stage": LIFECYCLE_STAGES}
    rank = {column: frame[column].map({name: i for i, name in enumerate(order[column])})
            for column in keys if column in order}
    return frame.assign(**{f"_{c}": r for c, r in rank.items()}).sort_values(
        ["market", *[f"_{c}" for c in rank]], kind="stable").drop(columns=[f"_{c}" for c in rank]).reset_index(drop=True)
