"""Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV"; Fader & Hardie (2013) note.

Each transaction value of a customer is Gamma(p, nu) (mean p/nu), and nu ~ Gamma(q, gamma) across
customers, independent of the purchase process. The data are each repeat buyer's number of repeat
purchases x and mean repeat spend m_x; the likelihood of a customer is (Fader & Hardie 2013, eq. 3)

    G(px + q) / (G(px) G(q)) * gamma^q * m_x^(px - 1) * x^(px) / (gamma + x m_x)^(px + q).

Customers without repeat purchases carry no spend information in this model and are left out of the
fit; their expected spend is the population mean p gamma / (q - 1), which exists only when q > 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Self

import numpy as np
from scipy.special import digamma, gammaln

from fidelis.errors import ModelError
from fidelis.models.clv.base import FitDiagnostics, ParametricModel, single_threaded_blas
from fidelis.models.clv.validation import as_column, check_finite, check_rows, where


@dataclass(frozen=True)
class SpendRows:
    """Repeat buyers' x and m_x, with what the likelihood needs precomputed."""

    x: np.ndarray
    m: np.ndarray
    xm: np.ndarray  # x * m_x: total repeat spend
    log_m_x: np.ndarray  # x * log(m_x) and x * log(x), summed in the p-terms
    x_values: np.ndarray  # distinct x
    n_by_x: np.ndarray  # customers per distinct x
    sum_log_m: float
    sum_x_log_xm: float  # sum x (log m + log x)

    @classmethod
    def from_arrays(cls, x: np.ndarray, m: np.ndarray) -> SpendRows:
        x_values, inverse = np.unique(x, return_inverse=True)
        log_m = np.log(m)
        return cls(x=x, m=m, xm=x * m, log_m_x=x * log_m, x_values=x_values,
                   n_by_x=np.bincount(inverse, minlength=len(x_values)).astype(np.float64),
                   sum_log_m=float(log_m.sum()), sum_x_log_xm=float((x * (log_m + np.log(x))).sum()))


def gamma_gamma_loglik(rows: SpendRows, params: np.ndarray) -> tuple[float, np.ndarray]:
    """Total log-likelihood and gradient in (p, q, gamma); log-gamma terms once per distinct x."""
    p, q, g = (float(v) for v in params)
    xv, nx = rows.x_values, rows.n_by_x
    n = float(nx.sum())
    px = p * xv
    per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
    log_total = np.log(g + rows.xm)  # log(gamma + x m_x)
    shape = p * rows.x + q  # px + q per row
    ll = (float(nx @ per_x) + p * rows.sum_x_log_xm - rows.sum_log_m
          - float(shape @ log_total))
    d_p = float(nx @ (xv * (digamma(px + q) - digamma(px)))) + rows.sum_x_log_xm - float(rows.x @ log_total)
    d_q = float(nx @ (digamma(px + q) - digamma(q))) + n * np.log(g) - float(log_total.sum())
    d_g = n * q / g - float((shape / (g + rows.xm)).sum())
    return ll, np.array([d_p, d_q, d_g])


def _spend_inputs(frequency: Any, monetary_value: Any,
                  customer_id: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Validated frequency and monetary_value columns (monetary_value is checked by the caller)."""
    x = as_column(frequency, "frequency")
    m = as_column(monetary_value, "monetary_value", len(x) if np.ndim(monetary_value) == 0 else None)
    ids = None if customer_id is None else np.asarray(customer_id, dtype=object).reshape(-1)
    if len(x) != len(m) or (ids is not None and len(ids) != len(x)):
        raise ModelError(f"frequency and monetary_value must have the same length, got {len(x)} and {len(m)}")
    check_finite(x, "frequency", ids)
    check_rows(x < 0, "frequency", "negative", ids)
    check_rows(x != np.round(x), "frequency", "not a whole number", ids)
    return x, m, ids


class GammaGammaModel(ParametricModel):
    """Gamma-Gamma model of the mean spend per transaction, parameters p, q, gamma (currency units)."""

    name: ClassVar[str] = "gamma-gamma"
    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    min_customers: ClassVar[int] = 10  # repeat buyers; 3 parameters

    def fit(self, frequency: Any, monetary_value: Any, *, customer_id: Any = None) -> Self:
        """Fit on the repeat buyers (frequency > 0): monetary_value is their mean repeat spend."""
        started = time.perf_counter()
        x, m, ids = _spend_inputs(frequency, monetary_value, customer_id)
        repeat = x > 0
        self._check_spend(x, m, repeat, ids)
        rows = SpendRows.from_arrays(x[repeat], m[repeat])
        with single_threaded_blas():
            self._fit_with(partial(gamma_gamma_loglik, rows), self._starts(rows), int(repeat.sum()), None,
                           started)
        return self

    def _check_spend(self, x: np.ndarray, m: np.ndarray, repeat: np.ndarray, ids: Any) -> None:
        """Refuse spend the model cannot take: it needs positive, finite means of repeat buyers."""
        n_repeat = int(repeat.sum())
        if n_repeat == 0:
            raise ModelError("gamma-gamma: no repeat buyers (frequency > 0) to fit the spend model on")
        used = m[repeat]
        check_rows(repeat & ~np.isfinite(m), "monetary_value", "not finite for a repeat buyer", ids)
        if np.all(used == 0):
            raise ModelError("gamma-gamma: column 'monetary_value' is 0 for every repeat buyer "
                             "(all-zero spend)")
        check_rows(repeat & (m <= 0), "monetary_value", "not > 0 for a repeat buyer", ids)
        if n_repeat < self.min_customers:
            raise ModelError(f"gamma-gamma: needs at least {self.min_customers} repeat buyers to fit, "
                             f"got {n_repeat}")

    def _starts(self, rows: SpendRows) -> list[np.ndarray]:
        """Three (p, q) shapes, gamma chosen so that the implied mean spend is the observed mean."""
        mean = float(rows.m.mean())
        return [np.array([p, q, mean * (q - 1.0) / p]) for p, q in ((1.0, 2.0), (5.0, 3.0), (2.0, 10.0))]

    def _after_fit(self, diagnostics: FitDiagnostics) -> None:
        q = self._fitted().params["q"]
        if q <= 1.0:
            diagnostics.warnings.append(
                f"gamma-gamma: q = {q:.3g} <= 1, so the population mean spend p*gamma/(q-1) does not "
                "exist; expected_spend refuses customers without repeat purchases")

    def population_mean_spend(self) -> float:
        """E[spend per transaction] over customers: p gamma / (q - 1); ModelError when q <= 1."""
        p, q, g = (self._fitted().params[k] for k in self.param_names)
        if q <= 1.0:
            raise ModelError(f"gamma-gamma: q = {q:.3g} <= 1, so the mean spend of a customer without "
                             "repeat purchases (p*gamma/(q-1)) is infinite")
        return p * g / (q - 1.0)

    def expected_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """E[mean spend per transaction | x, m_x] = p (gamma + x m_x) / (p x + q - 1).

        A weighted average of the population mean p gamma/(q-1) and the customer's own m_x, with
        weight p x / (p x + q - 1) on m_x: the more purchases, the more the customer's own mean counts.
        Customers with x == 0 get the population mean (their monetary_value is ignored).
        """
        self._fitted()
        x, m, _ = _spend_inputs(frequency, monetary_value, None)
        p, q, g = (self._fitted().params[k] for k in self.param_names)
        repeat = x > 0
        check_rows(repeat & ~np.isfinite(m), "monetary_value", "not finite for a repeat buyer", None)
        check_rows(repeat & (m < 0), "monetary_value", "negative for a repeat buyer", None)
        denominator = p * x + q - 1.0
        if np.any(repeat & (denominator <= 0)):
            first = int(np.flatnonzero(repeat & (denominator <= 0))[0])
            raise ModelError(f"gamma-gamma: p*x + q - 1 <= 0 at {where(first, None)}, so its expected spend "
                             "is infinite")
        result = np.empty(len(x))
        if np.any(~repeat):
            result[~repeat] = self.population_mean_spend()
        result[repeat] = p * (g + x[repeat] * m[repeat]) / denominator[repeat]
        return result
