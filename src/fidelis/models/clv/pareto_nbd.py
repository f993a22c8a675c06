"""Pareto/NBD: Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005), "A note on deriving the
Pareto/NBD model and related expressions".

While active a customer buys at Poisson rate lambda ~ Gamma(r, alpha); the active lifetime is
exponential with rate mu ~ Gamma(s, beta) (both rates in the data's time unit). Integrating the
individual likelihood over lambda and mu gives, for a row (x, t_x, T),

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s J(t_x, T) ],
    J(t_x, T) = integral over u in (t_x, T) of (alpha+u)^-(r+x) (beta+u)^-(s+1) du,

the "died at u" branch written as an integral rather than through the Gaussian hypergeometric 2F1
of the note. The integral form gives analytic derivatives in all four parameters by differentiating
under the integral sign (d/dr brings -log(alpha+u), d/dalpha brings -(r+x)/(alpha+u), ...), which
scipy's hyp2f1 cannot. J and its four derivative integrals share one Gauss-Legendre rule per row in
v = log(kappa + u), kappa = min(alpha, beta): in v the integrand is exp of a smooth function with
singularities a distance pi off the real axis, so a fixed rule converges geometrically; where the
integrand decays steeply (many purchases) the range is cut where it has fallen by e^-40. Everything
is in log space, so powers of large x neither underflow nor overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from fidelis.models.clv import fitting
from fidelis.models.clv.base import GroupedRepeats, TransactionModel, mean_rate
from fidelis.models.clv.validation import check_time

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
_TAIL_E_FOLDS = 40.0  # the integrand is cut where it has fallen by e^-40 (relative error ~4e-18)
_CHUNK_ROWS = 4_096  # rows per block: the (rows x nodes) work arrays stay a few MB


@dataclass(frozen=True)
class LogIntegral:
    """log J and the J-weighted means of log(alpha+u), 1/(alpha+u), log(beta+u), 1/(beta+u)."""

    log_j: np.ndarray
    mean_log_a: np.ndarray
    mean_inv_a: np.ndarray
    mean_log_b: np.ndarray
    mean_inv_b: np.ndarray


def log_integral(shape: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 alpha: float, s: float, beta: float) -> LogIntegral:
    """J = int_lower^upper (alpha+u)^-shape (beta+u)^-(s+1) du per row, in log space, with moments.

    `shape` is r + x. Computed in blocks of rows so that memory stays bounded at any size.
    """
    parts = [_log_integral_block(shape[i:i + _CHUNK_ROWS], lower[i:i + _CHUNK_ROWS], upper[i:i + _CHUNK_ROWS],
                                 alpha, s, beta) for i in range(0, len(shape), _CHUNK_ROWS)]
    if not parts:
        empty = np.empty(0)
        return LogIntegral(empty, empty, empty, empty, empty)
    return LogIntegral(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _log_integral_block(shape: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float, s: float,
                        beta: float) -> tuple[np.ndarray, ...]:
    kappa = min(alpha, beta)
    v0 = np.log(kappa + lower)
    v1 = np.log(kappa + upper)
    # decay rate of the integrand in v at the lower end; it only grows with v
    decay = shape * (kappa + lower) / (alpha + lower) + (s + 1.0) * (kappa + lower) / (beta + lower) - 1.0
    with np.errstate(divide="ignore"):
        v_end = np.where(decay > 0, np.minimum(v1, v0 + _TAIL_E_FOLDS / np.maximum(decay, 1e-300)), v1)
    half = 0.5 * (v_end - v0)
    v = (0.5 * (v_end + v0))[:, None] + half[:, None] * _NODES[None, :]
    e_v = np.exp(v)
    log_a = np.log(e_v + (alpha - kappa)) if alpha > kappa else v
    log_b = np.log(e_v + (beta - kappa)) if beta > kappa else v
    log_f = v - shape[:, None] * log_a - (s + 1.0) * log_b  # log integrand, Jacobian du = e^v dv included
    top = log_f.max(axis=1)
    omega = _WEIGHTS[None, :] * np.exp(log_f - top[:, None])
    total = omega.sum(axis=1)
    with np.errstate(divide="ignore"):
        log_j = top + np.log(half) + np.log(total)  # -inf on an empty interval
    mean = [np.einsum("ij,ij->i", omega, values) / total
            for values in (log_a, np.exp(-log_a), log_b, np.exp(-log_b))]
    return (log_j, *mean)


@dataclass(frozen=True)
class _Rows:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    x_index: np.ndarray
    x_values: np.ndarray

    @classmethod
    def from_grouped(cls, grouped: GroupedRepeats) -> _Rows:
        x_values, x_index = np.unique(grouped.frequency, return_inverse=True)
        return cls(grouped.frequency, grouped.recency, grouped.T, grouped.weights.astype(np.float64),
                   x_index, x_values)


def _branch_shares(x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, LogIntegral]:
    """log of the bracket [A + s J], and the shares A/[.] (= P(alive)) and sJ/[.] of its two branches."""
    r, alpha, s, beta = params
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    integral = log_integral(r + x, t_x, T, alpha, s, beta)
    log_died = np.log(s) + integral.log_j
    log_bracket = np.logaddexp(log_alive, log_died)
    return log_bracket, np.exp(log_alive - log_bracket), np.exp(log_died - log_bracket), integral


def pareto_nbd_loglik(rows: _Rows, params: np.ndarray) -> tuple[float, np.ndarray]:
    """Total log-likelihood and its gradient in (r, alpha, s, beta)."""
    r, alpha, s, beta = (float(v) for v in params)
    xv, w = rows.x_values, rows.w
    n = float(w.sum())
    log_bracket, share_a, share_d, j = _branch_shares(rows.x, rows.t_x, rows.T, np.array([r, alpha, s, beta]))
    per_x = gammaln(r + xv) - gammaln(r)
    ll = float(w @ (per_x[rows.x_index] + log_bracket)) + n * (r * np.log(alpha) + s * np.log(beta))
    rx = r + rows.x
    d_r = (float(w @ (digamma(r + xv) - digamma(r))[rows.x_index]) + n * np.log(alpha)
           - float(w @ (share_a * np.log(alpha + rows.T) + share_d * j.mean_log_a)))
    d_alpha = n * r / alpha - float(w @ (rx * (share_a / (alpha + rows.T) + share_d * j.mean_inv_a)))
    d_s = (n * np.log(beta) - float(w @ (share_a * np.log(beta + rows.T))) + float(w @ share_d) / s
           - float(w @ (share_d * j.mean_log_b)))
    d_beta = (n * s / beta - float(w @ (share_a * s / (beta + rows.T)))
              - (s + 1.0) * float(w @ (share_d * j.mean_inv_b)))
    return ll, np.array([d_r, d_alpha, d_s, d_beta])


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD purchase-count model with parameters r, alpha, s, beta (alpha, beta in the time unit).

    Predictions: p_alive, expected_purchases, expected_purchases_new and p_no_purchase, all exact.
    The full distribution of future purchase counts (BG/NBD's p_purchases) is not offered: for k >= 1
    it needs a further integral over the lifetime that this module does not implement.
    """

    name: ClassVar[str] = "pareto-nbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    min_customers: ClassVar[int] = 20  # 4 parameters: below ~5 customers each the fit is noise
    screen_rows: ClassVar[int] = 10_000  # each row costs a 48-node quadrature: compare starts on fewer

    def _loglik_function(self, grouped: GroupedRepeats) -> fitting.LogLikelihood:
        rows = _Rows.from_grouped(grouped)
        return lambda params: pareto_nbd_loglik(rows, params)

    def _starts(self, grouped: GroupedRepeats) -> list[np.ndarray]:
        """Purchase rate r/alpha at the observed rate; mean lifetime beta/s around the mean age."""
        rate = mean_rate(grouped)
        age = float(grouped.weights @ grouped.T) / grouped.n_customers
        return [np.array([r, r / rate, s, s * age * k]) for r, s, k in ((1.0, 1.0, 1.0), (0.5, 0.5, 3.0),
                                                                         (2.0, 2.0, 0.5))]

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T): the share of the 'still alive' branch in the likelihood."""
        data = self._data(frequency, recency, T)
        return _branch_shares(data.frequency, data.recency, data.T, self._param_array())[1]

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T] = P(alive) (r+x)/(alpha+T) E[time alive in (T, T+t] | alive at T].

        Given alive at T, lambda ~ Gamma(r+x, alpha+T) and mu ~ Gamma(s, beta+T), so the expected
        time alive within the next t is (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)]
        ((beta+T) log(1 + t/(beta+T)) at s = 1).
        """
        data = self._data(frequency, recency, T)
        t = check_time(t, len(data))
        r, alpha, s, beta = self._param_array()
        alive = self.p_alive(data.frequency, data.recency, data.T)
        return alive * (r + data.frequency) / (alpha + data.T) * _time_alive(t, beta + data.T, s)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """E[X(t)] for a new customer: r/alpha times the expected time alive in (0, t]."""
        self._fitted()
        t = check_time(t)
        r, alpha, s, beta = self._param_array()
        return r / alpha * _time_alive(t, np.float64(beta), s)

    def p_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(no purchase in (T, T+t] | x, t_x, T).

        Given alive at T (posterior rates as in expected_purchases), no purchase happens either if the
        customer stays alive through T+t without buying, E[exp(-(lambda+mu) t)], or dies at T+u before
        buying, E[mu exp(-(lambda+mu) u)] integrated over u in (0, t): that is
        s (alpha+T)^(r+x) (beta+T)^s J(T, T+t), the likelihood's own integral.
        """
        data = self._data(frequency, recency, T)
        t = check_time(t, len(data))
        r, alpha, s, beta = self._param_array()
        x, age = data.frequency, data.T
        shape = r + x
        t = np.broadcast_to(t, age.shape)
        stay = shape * np.log((alpha + age) / (alpha + age + t)) + s * np.log((beta + age) / (beta + age + t))
        log_j = log_integral(shape, age, age + t, alpha, s, beta).log_j
        die = np.log(s) + shape * np.log(alpha + age) + s * np.log(beta + age) + log_j
        alive = self.p_alive(x, data.recency, age)
        return 1.0 - alive + alive * np.minimum(np.exp(np.logaddexp(stay, die)), 1.0)


def _time_alive(t: np.ndarray, scale: np.ndarray, s: float) -> np.ndarray:
    """E[min(lifetime, t)] for lifetime ~ Exp(mu), mu ~ Gamma(s, scale).

    That is scale/(s-1) [1 - (scale/(scale+t))^(s-1)], and scale log(1 + t/scale) at s = 1.
    """
    log_ratio = np.log1p(t / scale)  # log((scale + t) / scale)
    if abs(s - 1.0) < 1e-10:
        return scale * log_ratio
    return scale * -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
