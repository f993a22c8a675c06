"""Plain-language churn reasons from the model's own per-feature contributions.

Related features are grouped (days since the last purchase and the days-overdue ratio say one
thing), each group's contributions to the churn log-odds are summed, and the groups that push the
customer towards churn most become the reasons, each in one phrase with the customer's own values:
"No purchase for 124 days (usually every 31)". A group that pushes towards churn but has nothing
true to say for this customer (no returns, no feedback), or whose fact would not read as a reason
(a long tenure), is skipped rather than padded; fewer than three reasons leave the rest as empty
strings, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
#: Least push towards churn (log-odds) that makes a reason: about one percentage point at 50%.
MIN_CONTRIBUTION = 0.05

#: Feature groups: one reason each, so two reasons never say the same thing.
GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("days_since_last", "overdue_ratio"),
    "frequency": ("purchases", "purchase_days", "gap_mean_days", "gap_std_days", "gap_max_days"),
    "tenure": ("tenure_days",),
    "value": ("net_value", "order_value_mean"),
    "trend": ("purchases_30d", "purchases_90d", "purchases_prev_90d", "purchases_change_90d",
              "spend_30d", "spend_90d", "spend_prev_90d", "spend_change_90d"),
    "returns": ("refunds", "refund_share"),
    "feedback": ("feedback_responses", "rating_share_mean", "csat_mean", "nps_mean", "complaints"),
    "categories": ("categories_bought", "top_category_share"),
    "bgnbd": ("p_alive", "p_no_purchase_h", "expected_purchases_h"),
    "market": ("market",),
}


def top_reasons(features: pd.DataFrame, contributions: pd.DataFrame, *, horizon_days: int,
                currency: str | None = None, count: int = 3, min_contribution: float = MIN_CONTRIBUTION,
                probabilities: np.ndarray | None = None) -> pd.DataFrame:
    """`reason_1` .. `reason_<count>` per row: the strongest groups pushing towards churn, in words.

    A group counts when it adds at least `min_contribution` to the churn log-odds: a push of
    0.01 is noise in the trees, not a reason to tell anyone.
    """
    if len(features) != len(contributions):
        raise ValueError(f"{len(features)} feature rows but {len(contributions)} contribution rows")
    grouped = group_contributions(contributions)
    # Likely to churn: the calibrated probability when given, else the raw log-odds above 0.
    likely = (np.asarray(probabilities) >= 0.5) if probabilities is not None \
        else contributions.sum(axis=1).to_numpy() > 0
    pushes = grouped.to_numpy()
    order = np.argsort(-pushes, axis=1, kind="stable")
    names = grouped.columns.to_numpy()
    phrase = _Phrases(horizon_days=horizon_days, currency=currency)
    reasons = []
    wanted = sorted({name for members in GROUPS.values() for name in members} & set(features.columns))
    for row_index, row in enumerate(features[wanted].to_dict("records")):
        texts: list[str] = []
        for column in order[row_index]:
            if len(texts) == count or pushes[row_index, column] < max(min_contribution, 1e-12):
                break
            text = phrase(names[column], row)
            if text and text not in texts:  # one-time buyers: recency, frequency and tenure say one thing
                texts.append(text)
        if not texts and likely[row_index]:
            texts.append(_base_rate_reason(horizon_days))
        reasons.append(texts + [""] * (count - len(texts)))
    columns = [f"reason_{i}" for i in range(1, count + 1)]
    return pd.DataFrame(reasons, columns=columns, index=features.index, dtype=object)


def _base_rate_reason(horizon_days: int) -> str:
    """Why a customer is likely to churn when no feature pushes them there: most customers do.

    In a shop where most customers never come back, the model's starting point (its bias) is
    already on the churn side; a customer with nothing unusual stays there.
    """
    return f"Most customers do not buy again within {horizon_days} days, and nothing here says otherwise"


def group_contributions(contributions: pd.DataFrame) -> pd.DataFrame:
    """Summed log-odds contributions per feature group (features outside the groups are ignored)."""
    return pd.DataFrame({group: contributions[[f for f in members if f in contributions]].sum(axis=1)
                         for group, members in GROUPS.items()}, index=contributions.index)


# ---------------------------------------------------------------- one phrase per group

class _Phrases:
    """The phrase of a group for one customer's row, or "" when it has nothing true to say."""

    def __init__(self, *, horizon_days: int, currency: str | None) -> None:
        self.horizon_days = horizon_days
        self.currency = currency
        self.templates: dict[str, Callable[[dict], str]] = {
            "recency": self.recency, "frequency": self.frequency, "tenure": self.tenure, "value": self.value,
            "trend": self.trend, "returns": self.returns, "feedback": self.feedback,
            "categories": self.categories, "bgnbd": self.bgnbd, "market": self.market,
        }

    def __call__(self, group: str, row: dict) -> str:
        return self.templates[group](row)

    @staticmethod
    def recency(row: dict) -> str:
        days, gap = _number(row, "days_since_last"), _number(row, "gap_mean_days")
        visits = _number(row, "purchase_days") or 0.0
        if days is None:
            return ""
        if (_number(row, "purchases") or 0.0) <= 1:
            return _once(days)
        if days < 1:
            return "Last purchase less than a day ago"
        if gap is not None and visits >= 3:
            return f"No purchase for {_days(days)} (usually every {_days(gap)})"
        if gap is not None and visits == 2:
            return f"No purchase for {_days(days)} ({_days(gap)} between the two before)"
        return f"No purchase for {_days(days)}"

    @staticmethod
    def frequency(row: dict) -> str:
        purchases, visits = _number(row, "purchases"), _number(row, "purchase_days")
        tenure, gap = _number(row, "tenure_days"), _number(row, "gap_mean_days")
        longest = _number(row, "gap_max_days")
        if purchases is None:
            return ""
        if purchases <= 1:
            return _once(_number(row, "days_since_last"))
        if visits is None or visits <= 1:
            return f"Bought on one day only ({purchases:.0f} orders)"
        if (gap is not None and gap >= 30 or visits <= 3) and tenure is not None:
            return f"Bought only {visits:.0f} times in {_days(tenure)}"
        if gap is not None and longest is not None and longest >= 2 * gap:
            return f"Irregular buyer (gaps up to {_days(longest)}, {_days(gap)} on average)"
        return ""

    @staticmethod
    def tenure(row: dict) -> str:
        """Only a short tenure reads as a reason; a long one is in the frequency phrase ("in 183 days")."""
        tenure = _number(row, "tenure_days")
        if tenure is None or tenure >= 90:
            return ""
        if (_number(row, "purchases") or 0.0) <= 1:
            return _once(_number(row, "days_since_last"))
        return f"New customer (first purchase {_days(tenure)} ago)"

    def value(self, row: dict) -> str:
        net, mean = _number(row, "net_value"), _number(row, "order_value_mean")
        if net is None:
            return ""
        if (_number(row, "purchases") or 0.0) <= 1:
            return f"Spent {self._money(net)} on one order"
        per_order = f" ({self._money(mean)} per order)" if mean is not None else ""
        return f"Spent {self._money(net)} in all{per_order}"

    def trend(self, row: dict) -> str:
        """Only a decline: an empty recent window alone is what the recency reason already says."""
        spend, spend_before = _number(row, "spend_90d") or 0.0, _number(row, "spend_prev_90d") or 0.0
        orders, orders_before = _number(row, "purchases_90d") or 0.0, _number(row, "purchases_prev_90d") or 0.0
        if spend_before > 0 and spend <= 0:
            return f"Nothing bought in the last 90 days, after {self._money(spend_before)} in the 90 before"
        if spend_before > 0 and spend < spend_before:
            return f"Spent {_percent(1 - spend / spend_before)} less in the last 90 days than the 90 before"
        if orders < orders_before:
            return f"Fewer orders in the last 90 days ({orders:.0f}) than the 90 before ({orders_before:.0f})"
        return ""

    @staticmethod
    def returns(row: dict) -> str:
        share, refunds = _number(row, "refund_share"), _number(row, "refunds") or 0.0
        if share is not None and share >= 0.005:
            return f"Returned {_percent(share)} of what they bought"
        if refunds > 0:
            return f"{refunds:.0f} return{'s' if refunds != 1 else ''} or cancellation{'s' if refunds != 1 else ''}"
        return ""

    @staticmethod
    def feedback(row: dict) -> str:
        rating, csat = _number(row, "rating_share_mean"), _number(row, "csat_mean")
        nps, complaints = _number(row, "nps_mean"), _number(row, "complaints") or 0.0
        if rating is not None and rating <= 0.6:
            return f"Gave a low rating ({rating * 5:.1f} of 5)"
        if csat is not None and csat <= 3:
            return f"Low satisfaction score (CSAT {csat:.1f} of 5)"
        if complaints > 0:
            return f"Complained {complaints:.0f} time{'s' if complaints != 1 else ''}"
        if nps is not None and nps <= 6:
            return f"Unlikely to recommend (NPS answer {nps:.0f} of 10)"
        return ""

    @staticmethod
    def categories(row: dict) -> str:
        count, top = _number(row, "categories_bought"), _number(row, "top_category_share")
        if count == 1:
            return "Bought from one category only"
        if top is not None and top >= 0.75:
            return f"{_percent(top)} of spend in one category"
        return ""

    def bgnbd(self, row: dict) -> str:
        alive, silent = _number(row, "p_alive"), _number(row, "p_no_purchase_h")
        if alive is not None and alive < 0.5:
            return f"Likely inactive (P(alive) {alive:.2f})"
        if silent is not None:
            return f"Buying pattern: {_percent(silent)} chance of no purchase in the next {self.horizon_days} days"
        return ""

    @staticmethod
    def market(row: dict) -> str:
        market = row.get("market")
        return f"Customers in {market} churn more often" if isinstance(market, str) and market else ""

    def _money(self, value: float | None) -> str:
        if value is None:
            return ""
        amount = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
        return f"{amount} {self.currency}" if self.currency else amount


def _number(row: dict, name: str) -> float | None:
    value = row.get(name)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _once(days_since: float | None) -> str:
    if days_since is None:
        return "Bought once only"
    return "Bought once only, today" if days_since < 1 else f"Bought once only, {_days(days_since)} ago"


def _days(value: float) -> str:
    days = round(value)
    return f"{days} day" if days == 1 else f"{days} days"


def _percent(share: float) -> str:
    return f"{round(100 * share)}%"
