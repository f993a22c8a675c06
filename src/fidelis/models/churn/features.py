"""Churn features at a cutoff instant, and the churn label over the horizon after it.

A cutoff is the `as_of` of the analytics inputs: everything here reads only data strictly before
it (`purchases`, `refunds` and `feedback_before_as_of` all cut there), so stacking several cutoffs
into one training set never lets a row see its own future. Per-customer aggregates are one Ibis
query (DuckDB, Spark); ratios, the market levels and the BG/NBD scores are then pandas and numpy.

Missing stays missing: a customer with one purchase has no inter-purchase gap, a shop without
feedback or categories has none to average. LightGBM routes NaN on its own, which is more honest
than a zero that means "never complained" for a customer nobody asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from fidelis.analytics.inputs import (
    SECONDS_PER_DAY,
    AnalyticsInputs,
    day_number,
    epoch_days,
    feedback_before_as_of,
    purchases,
)
from fidelis.analytics.summary import customer_history
from fidelis.errors import ModelError
from fidelis.models.clv import BetaGeoModel

#: Windows of the recent-trend features: the last 30 and 90 days, and the 90 days before those.
RECENT_DAYS = 30
TREND_DAYS = 90

#: Features the model reads, in this order; `market` is categorical, all others are floats.
NUMERIC_FEATURES: tuple[str, ...] = (
    "days_since_last", "purchases", "purchase_days", "tenure_days", "net_value", "order_value_mean",
    "gap_mean_days", "gap_std_days", "gap_max_days", "overdue_ratio",
    "purchases_30d", "purchases_90d", "purchases_prev_90d", "purchases_change_90d",
    "spend_30d", "spend_90d", "spend_prev_90d", "spend_change_90d",
    "refunds", "refund_share",
    "feedback_responses", "rating_share_mean", "csat_mean", "nps_mean", "complaints",
    "categories_bought", "top_category_share",
    "p_alive", "p_no_purchase_h", "expected_purchases_h",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("market",)
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES

#: Columns kept beside the features for reasons and display (not read by the model).
CONTEXT_COLUMNS: tuple[str, ...] = ("customer_id", "cutoff", "sales_value", "refunds_value", "p_alive_raw")


@dataclass(frozen=True)
class BgnbdFit:
    """What the BG/NBD fit at one cutoff said: parameters, and whether its P(alive) can be trusted.

    `dropout_collapsed`: the dropout parameter `a` fell towards zero, so every one-time buyer gets
    P(alive) = 1 and 1 - P(alive) ranks churn worse than chance; the churn features then carry
    P(no purchase in the horizon) and leave `p_alive` missing.
    """

    cutoff: datetime
    params: dict[str, float] | None
    dropout_collapsed: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def fitted(self) -> bool:
        return self.params is not None


@dataclass(frozen=True)
class FeatureSet:
    """The feature frame at one cutoff and the BG/NBD fit its probability columns came from."""

    frame: pd.DataFrame
    bgnbd: BgnbdFit
    horizon_days: int
    warnings: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------- public entry points

def churn_features(inputs: AnalyticsInputs, *, horizon_days: int,
                   order_lines: ir.Table | None = None) -> pd.DataFrame:
    """One row per customer with a purchase before `inputs.as_of` (the cutoff), features only from before it.

    `order_lines` (the warehouse table) gives the category mix; without it those columns are empty.
    """
    return feature_set(inputs, horizon_days=horizon_days, order_lines=order_lines).frame


def feature_set(inputs: AnalyticsInputs, *, horizon_days: int, order_lines: ir.Table | None = None) -> FeatureSet:
    """`churn_features` with the BG/NBD fit behind its probability columns (params, warnings).

    Prepared tables of the inputs are not used: they were cut at the as-of instant they were
    prepared for, and `replace(inputs, as_of=cutoff)` keeps them, which would leak the future.
    """
    check_horizon(horizon_days)
    check_cutoff(inputs, inputs.as_of)
    inputs = replace(inputs, prepared={})
    frame = _aggregates(inputs, order_lines).to_pandas()
    if frame.empty:
        raise ModelError(f"no customer has a purchase before the cutoff {cutoff_text(inputs.as_of)}")
    frame = _derived(frame.sort_values("customer_id", kind="stable").reset_index(drop=True))
    frame = _repeatable(frame)
    frame, fit = _with_bgnbd(frame, inputs.as_of, horizon_days)
    frame["cutoff"] = inputs.as_of
    return FeatureSet(frame=frame[list(CONTEXT_COLUMNS + FEATURES)], bgnbd=fit, horizon_days=horizon_days,
                      warnings=fit.warnings)


def churn_labels(inputs: AnalyticsInputs, *, cutoff: datetime, horizon_days: int) -> pd.DataFrame:
    """1 for each customer with a purchase before `cutoff` who makes none in [cutoff, cutoff + H), else 0.

    Purchases are counted as everywhere in analytics (`fidelis.analytics.inputs.purchases`): the
    inputs are cut at cutoff + H, so a sale voided by a cancellation inside the window is no purchase.
    The data must reach cutoff + H: a window running past the last order would call everyone churned.
    """
    check_horizon(horizon_days)
    check_cutoff(inputs, cutoff)
    window_end = cutoff + timedelta(days=horizon_days)
    data_end = inputs.data_end or inputs.as_of
    if window_end > data_end:
        raise ModelError(f"churn labels at the cutoff {cutoff_text(cutoff)} need orders up to "
                         f"{last_day_text(window_end)} ({horizon_days} days), "
                         f"but the data end on {last_day_text(data_end)}")
    before = purchases(replace(inputs, as_of=cutoff, prepared={}))
    population = before.select("customer_id").distinct()
    after = purchases(replace(inputs, as_of=window_end, prepared={}))
    buyers = after.filter(after.ordered_at >= ibis.literal(cutoff)).select(buyer_id="customer_id").distinct()
    joined = population.left_join(buyers, population.customer_id == buyers.buyer_id)
    labels = joined.select("customer_id", churned=joined.buyer_id.isnull().cast("int8")).to_pandas()
    return labels.sort_values("customer_id", kind="stable").reset_index(drop=True)


def check_horizon(horizon_days: int) -> None:
    if not isinstance(horizon_days, (int, np.integer)) or isinstance(horizon_days, bool) or horizon_days <= 0:
        raise ModelError(f"the horizon must be a whole number of days above 0, not {horizon_days!r}")


def check_cutoff(inputs: AnalyticsInputs, cutoff: datetime) -> None:
    """A cutoff must fall after the first order and no later than the end of the data."""
    start, end = inputs.data_start, inputs.data_end
    if start is not None and cutoff <= start:
        raise ModelError(f"the cutoff {cutoff_text(cutoff)} is not after the first order ({cutoff_text(start)}): "
                         "there is no history to compute churn features from")
    if end is not None and cutoff > end:
        raise ModelError(f"the cutoff {cutoff_text(cutoff)} is after the end of the data "
                         f"(they end on {last_day_text(end)})")


def cutoff_text(instant: datetime) -> str:
    """A cutoff as its instant: the date of a UTC midnight (data before it), else date and time."""
    return f"{instant:%Y-%m-%d}" if instant.time() == datetime.min.time() else f"{instant:%Y-%m-%d %H:%M} UTC"


def last_day_text(instant: datetime) -> str:
    """The last calendar day before an exclusive end instant (analytics' as-of date convention)."""
    return f"{instant - timedelta(microseconds=1):%Y-%m-%d}"


# ---------------------------------------------------------------- per-customer aggregates (Ibis)

def _aggregates(inputs: AnalyticsInputs, order_lines: ir.Table | None) -> ir.Table:
    """History, gaps, recent windows, feedback and category mix, left-joined on the customer."""
    table = customer_history(inputs)
    for part in (_gaps(inputs), _windows(inputs), _feedback(inputs), _categories(inputs, order_lines)):
        if part is not None:
            table = table.left_join(part, "customer_id").select(~ibis.selectors.matches("customer_id_right"))
    return table


def _gaps(inputs: AnalyticsInputs) -> ir.Table:
    """Whole days between a customer's distinct purchase days: mean, spread and longest gap.

    By calendar day, not by order: several orders on one day (a shop splitting a basket, a
    wholesaler's morning and afternoon invoices) are one visit, and a gap of minutes would make
    "usually every 0 days" of the reasons and a days-overdue ratio in the hundred thousands.
    Empty for customers who bought on one day only.
    """
    bought = purchases(inputs)
    days = bought.mutate(day=day_number(bought.ordered_at)).group_by(["customer_id", "day"]).aggregate()
    by_customer = ibis.window(group_by="customer_id", order_by="day")
    with_gap = days.mutate(gap_days=(days.day - days.day.lag().over(by_customer)).cast("float64"))
    return with_gap.group_by("customer_id").aggregate(
        purchase_days=with_gap.day.count(),
        gap_mean_days=with_gap.gap_days.mean(),
        gap_std_days=with_gap.gap_days.std(),
        gap_max_days=with_gap.gap_days.max(),
    )


def _windows(inputs: AnalyticsInputs) -> ir.Table:
    """Purchases and spend in the last 30 and 90 days before the cutoff, and in the 90 days before those."""
    bought = purchases(inputs)
    age_days = inputs.as_of_epoch_seconds / SECONDS_PER_DAY - epoch_days(bought.ordered_at)
    recent = age_days < RECENT_DAYS
    last = age_days < TREND_DAYS
    previous = (age_days >= TREND_DAYS) & (age_days < 2 * TREND_DAYS)
    spend = bought.amount_reporting  # summed as exact decimals: a float sum depends on the threads' order
    return bought.group_by("customer_id").aggregate(
        purchases_30d=bought.order_id.count(where=recent),
        purchases_90d=bought.order_id.count(where=last),
        purchases_prev_90d=bought.order_id.count(where=previous),
        spend_30d=spend.sum(where=recent).cast("float64"),
        spend_90d=spend.sum(where=last).cast("float64"),
        spend_prev_90d=spend.sum(where=previous).cast("float64"),
    )


#: Features that are floating-point means of several rows: their last bits depend on the order in
#: which DuckDB's threads add the rows up.
_FLOAT_MEANS = ("rating_share_mean", "csat_mean", "nps_mean", "gap_mean_days", "gap_std_days")


def _repeatable(frame: pd.DataFrame) -> pd.DataFrame:
    """Floating-point means rounded to 9 decimals, so that the same data train the same model.

    A last-bit difference between runs can move a tree split or the early-stopping round. Money
    is summed as exact decimals instead, and the day counts come from exact timestamps.
    """
    present = [name for name in _FLOAT_MEANS if name in frame.columns]
    frame[present] = frame[present].astype("float64").round(9)
    return frame


def _feedback(inputs: AnalyticsInputs) -> ir.Table:
    """Ratings (share of the scale), CSAT, NPS and complaints, with the complaint rule of the KPIs."""
    feedback = feedback_before_as_of(inputs)
    feedback = feedback.filter(feedback.customer_id.notnull())
    share = feedback.rating.cast("float64") / feedback.rating_scale_max.cast("float64")
    complaint = (feedback.csat <= 2).fill_null(False) | (share <= 0.4).fill_null(False)
    return feedback.group_by("customer_id").aggregate(
        feedback_responses=feedback.feedback_id.count(),
        rating_share_mean=share.mean(),
        csat_mean=feedback.csat.cast("float64").mean(),
        nps_mean=feedback.nps.cast("float64").mean(),
        complaints=complaint.cast("int64").sum(),
    )


def _categories(inputs: AnalyticsInputs, order_lines: ir.Table | None) -> ir.Table | None:
    """Distinct categories bought and the top category's share of spend, over counted purchases' lines."""
    if order_lines is None:
        return None
    bought = purchases(inputs).select("customer_id", purchase_id="order_id")
    lines = order_lines.filter(order_lines.line_kind == "sale", order_lines.category.notnull())
    joined = lines.join(bought, lines.order_id == bought.purchase_id)
    by_category = joined.group_by(["customer_id", "category"]).aggregate(
        category_spend=joined.amount_reporting.sum().cast("float64"))
    positive = by_category.category_spend.clip(lower=0)
    return by_category.group_by("customer_id").aggregate(
        categories_bought=by_category.category.count(),
        category_spend_top=positive.max(),
        category_spend_total=positive.sum(),
    )


# ---------------------------------------------------------------- derived columns (pandas)

def _derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats, ratios and the market level; never an infinity (a zero denominator gives NaN)."""
    out = pd.DataFrame({"customer_id": frame["customer_id"]})
    number = lambda name: pd.to_numeric(frame[name], errors="coerce").astype("float64")  # noqa: E731
    for name in ("days_since_last", "purchases", "purchase_days", "frequency", "recency_days", "tenure_days",
                 "net_value", "refunds", "sales_value", "refunds_value", "gap_mean_days", "gap_std_days",
                 "gap_max_days"):
        out[name] = number(name)
    out["order_value_mean"] = number("monetary_mean")
    out["overdue_ratio"] = _ratio(out["days_since_last"], out["gap_mean_days"])
    for name in ("purchases_30d", "purchases_90d", "purchases_prev_90d", "spend_30d", "spend_90d", "spend_prev_90d"):
        out[name] = number(name).fillna(0.0)
    out["purchases_change_90d"] = out["purchases_90d"] - out["purchases_prev_90d"]
    # Symmetric change in [-1, 1]: defined when either window has spend, unlike a percentage.
    out["spend_change_90d"] = _ratio(out["spend_90d"] - out["spend_prev_90d"],
                                     out["spend_90d"].abs() + out["spend_prev_90d"].abs())
    # Refunds of orders placed before the data began can exceed the sales seen: at most everything.
    out["refund_share"] = _ratio(out["refunds_value"], out["sales_value"].where(out["sales_value"] > 0)).clip(0, 1)
    for name in ("feedback_responses", "rating_share_mean", "csat_mean", "nps_mean", "complaints",
                 "categories_bought", "category_spend_top", "category_spend_total"):
        out[name] = number(name) if name in frame else np.nan
    out["feedback_responses"] = out["feedback_responses"].fillna(0.0)
    out["top_category_share"] = _ratio(out["category_spend_top"], out["category_spend_total"])
    out["market"] = frame["market"].astype("string").fillna("Unknown").astype(object)
    return out


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        values = top.to_numpy(dtype="float64") / bottom.to_numpy(dtype="float64")
    values[~np.isfinite(values)] = np.nan
    return pd.Series(values, index=top.index)


# ---------------------------------------------------------------- BG/NBD at the cutoff

def _with_bgnbd(frame: pd.DataFrame, cutoff: datetime, horizon_days: int) -> tuple[pd.DataFrame, BgnbdFit]:
    """P(alive), P(no purchase in H) and expected purchases in H from a BG/NBD fit at this cutoff.

    A fit that fails leaves the three columns empty (the gradient boosting works without them);
    a collapsed dropout leaves P(alive) empty, since it then says 1 for every one-time buyer.
    """
    frequency, recency, tenure = _bgnbd_inputs(frame)
    fit, scores = fit_bgnbd(frequency, recency, tenure, cutoff=cutoff, horizon_days=horizon_days)
    frame = frame.copy()
    for name, values in scores.items():
        frame[name] = values
    return frame, fit


def _bgnbd_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat purchases, t_x and T in days from exact timestamps (the summary's own columns)."""
    return tuple(frame[name].to_numpy(dtype="float64") for name in ("frequency", "recency_days", "tenure_days"))


def fit_bgnbd(frequency: np.ndarray, recency: np.ndarray, tenure: np.ndarray, *, cutoff: datetime,
              horizon_days: int) -> tuple[BgnbdFit, dict[str, np.ndarray]]:
    """Fit BG/NBD and score every customer; `p_alive_raw` keeps P(alive) even when it is not trusted."""
    empty = np.full(len(frequency), np.nan)
    try:
        model = BetaGeoModel().fit(frequency, recency, tenure, time_unit="days")
    except ModelError as error:
        message = (f"BG/NBD could not be fitted at the cutoff {cutoff_text(cutoff)} ({error}); "
                   "its scores are left out there")
        fit = BgnbdFit(cutoff=cutoff, params=None, warnings=(message,))
        return fit, {"p_alive": empty, "p_alive_raw": empty, "p_no_purchase_h": empty, "expected_purchases_h": empty}
    with np.errstate(all="ignore"):  # non-finite results are counted and reported below, not warned about
        p_alive = _finite(model.p_alive(frequency, recency, tenure))
        scores = {
            "p_alive_raw": p_alive,
            "p_alive": empty if model.diagnostics.dropout_collapsed else p_alive,
            "p_no_purchase_h": _finite(model.p_no_purchase(horizon_days, frequency, recency, tenure)),
            "expected_purchases_h": _finite(model.expected_purchases(horizon_days, frequency, recency, tenure)),
        }
    where = f"BG/NBD at the cutoff {cutoff_text(cutoff)}"
    warnings = tuple(f"{where}: {message}" for message in model.diagnostics.warnings)
    if model.diagnostics.dropout_collapsed and not warnings:
        warnings = (f"{where}: the dropout parameter collapsed "
                    f"(a = {model.params['a']:.3g}); P(alive) is left out, P(no purchase) is used",)
    for name in ("p_alive_raw", "p_no_purchase_h", "expected_purchases_h"):
        missing = int(np.isnan(scores[name]).sum())
        if missing:
            warnings += (f"{where}: {name} is not finite for {missing} customers and left empty there",)
    fit = BgnbdFit(cutoff=cutoff, params={k: float(v) for k, v in model.params.items()},
                   dropout_collapsed=bool(model.diagnostics.dropout_collapsed), warnings=warnings)
    return fit, scores


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype="float64").copy()
    array[~np.isfinite(array)] = np.nan
    return array
