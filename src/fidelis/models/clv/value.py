"""Customer lifetime value: expected purchases per period times expected spend, discounted.

CLV over a horizon is the sum over periods i = 1..n of

    (E[X(T, T + t_i)] - E[X(T, T + t_(i-1))]) * E[spend | x, m_x] * margin / (1 + d)^i,

with t_i = min(i * step, horizon) in the purchase model's time unit: the purchase model says when
purchases are expected, the spend model how much each is worth, and a purchase in period i is
discounted i periods. The spend model is independent of the purchase process (Gamma-Gamma's
assumption), so the product of the two expectations is the expectation of the product.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from fidelis.errors import ModelError
from fidelis.models.clv.base import RepeatData, TransactionModel
from fidelis.models.clv.gamma_gamma import GammaGammaModel
from fidelis.models.clv.validation import where


def _is_number(value: object) -> bool:
    """A real number, numpy's included (a horizon read from a frame is a numpy scalar); not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _check_settings(horizon: float, step: float, discount_rate_per_step: float, margin: float) -> int:
    """Validate the CLV settings; returns the number of periods."""
    for name, value in (("horizon", horizon), ("step", step)):
        if not (_is_number(value) and math.isfinite(value) and value > 0):
            raise ModelError(f"customer_lifetime_value: {name} must be a finite number > 0, got {value!r}")
    if not (_is_number(discount_rate_per_step) and math.isfinite(discount_rate_per_step)
            and discount_rate_per_step >= 0):
        raise ModelError("customer_lifetime_value: discount_rate_per_step must be a finite number >= 0, "
                         f"got {discount_rate_per_step!r}")
    if not (_is_number(margin) and 0 < margin <= 1):
        raise ModelError(f"customer_lifetime_value: margin must be within (0, 1], got {margin!r}")
    return max(1, math.ceil(horizon / step - 1e-9))


def customer_lifetime_value(
    transaction_model: TransactionModel,
    spend_model: GammaGammaModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    horizon: float,
    step: float,
    discount_rate_per_step: float = 0.0,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted expected margin of each customer's purchases in (T, T + horizon].

    `horizon` and `step` are in the transaction model's time unit (`transaction_model.time_unit`);
    the last period is shortened when `horizon` is not a multiple of `step`. `monetary_value` is the
    mean repeat spend (ignored for customers without repeat purchases, who get the population mean).
    """
    if not isinstance(transaction_model, TransactionModel):
        raise ModelError("customer_lifetime_value: transaction_model must be a BetaGeoModel or "
                         "ParetoNBDModel")
    if not isinstance(spend_model, GammaGammaModel):
        raise ModelError("customer_lifetime_value: spend_model must be a GammaGammaModel")
    periods = _check_settings(horizon, step, discount_rate_per_step, margin)
    data = RepeatData.from_arrays(frequency, recency, T)
    spend = spend_model.expected_spend(data.frequency, monetary_value) * margin
    value = np.zeros(len(data))
    previous = np.zeros(len(data))
    for i in range(1, periods + 1):
        t = min(i * step, horizon)
        cumulative = transaction_model.expected_purchases(t, data.frequency, data.recency, data.T)
        value += (cumulative - previous) * spend / (1.0 + discount_rate_per_step) ** i
        previous = cumulative
    bad = ~np.isfinite(value)
    if bad.any():
        first = where(int(np.flatnonzero(bad)[0]), None)
        raise ModelError(f"customer_lifetime_value: the value is not finite at {first} "
                         f"({int(bad.sum())} rows); check the fitted parameters")
    return value
