"""BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way".

While active, a customer buys at Poisson rate lambda ~ Gamma(r, alpha) (alpha in the data's time
unit); after each repeat purchase they drop out with probability p ~ Beta(a, b). The first purchase
is at time 0 and cannot be followed by dropout until a repeat purchase, so one-time buyers are always
alive in the model.

The log-likelihood of a row (x, t_x, T) is (eq. 6 of the paper, rearranged)

    ll = A(x) + r log(alpha) - (r + x) log(alpha + T) + [x > 0] softplus(z),
    z  = log(a / (b + x - 1)) + (r + x) (log(alpha + T) - log(alpha + t_x)),

with A(x) = log G(r + x) - log G(r) + log B(a, b + x) - log B(a, b). Everything that depends on x
alone (A, log(b + x - 1), the digamma terms of the gradient) is computed once per distinct x, which
takes a few hundred values at most, so the work per row is two logs and a softplus: this is what
makes the fit fast at a million customers. P(alive) is 1 - sigmoid(z).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import betainc, betaincinv, betaln, digamma, expit, gammaln, hyp2f1

from fidelis.models.clv import fitting
from fidelis.models.clv.base import FitDiagnostics, GroupedRepeats, TransactionModel, mean_rate
from fidelis.models.clv.validation import check_count, check_time

DROPOUT_COLLAPSE_A = 1e-3  # a, or the mean dropout probability a/(a+b), below this: dropout ~never
_CHUNK_ROWS = 16_384  # rows per pass of the likelihood: 6 scratch arrays of this size stay in cache
_NEAR_ONE = 1e-7  # |a - 1| below this: the (a - 1) in eq. 9/10 is replaced by its limit
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_PANELS = 16  # panels per half of (0, 1) in the Beta-mixture quadrature
_TAIL_MASS = 1e-18  # Beta mass left to the closed-form tails of that quadrature


@dataclass(frozen=True)
class _Rows:
    """Grouped rows split for the likelihood: one-time buyers need only T, repeat buyers all three.

    `buffers` are scratch arrays reused by every evaluation: at a million rows, allocating fresh
    8 MB temporaries (and faulting their pages in) costs as much as the arithmetic.
    """

    T_once: np.ndarray
    w_once: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    wx: np.ndarray  # w * x
    x_values: np.ndarray  # distinct positive x
    w_by_x: np.ndarray  # customers per distinct x
    n_once: float
    n_repeat: float
    buffers: np.ndarray  # (6, repeat rows) scratch
    once_buffer: np.ndarray

    @classmethod
    def from_grouped(cls, grouped: GroupedRepeats) -> _Rows:
        once = grouped.frequency == 0
        repeat = ~once
        weights = grouped.weights.astype(np.float64)
        x, w = grouped.frequency[repeat], weights[repeat]
        x_values, w_by_x = _weights_by_x(x, w)
        return cls(T_once=grouped.T[once], w_once=weights[once], x=x, t_x=grouped.recency[repeat],
                   T=grouped.T[repeat], w=w, wx=w * x, x_values=x_values, w_by_x=w_by_x,
                   n_once=float(weights[once].sum()), n_repeat=float(w.sum()),
                   buffers=np.empty((6, min(len(x), _CHUNK_ROWS))), once_buffer=np.empty(int(once.sum())))


def _weights_by_x(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct x and the customers at each (a counting pass, not a sort, when x is moderate)."""
    if len(x) == 0:
        return x, w
    if x.max() <= 4 * len(x) + 1000:
        totals = np.bincount(x.astype(np.int64), weights=w)
        present = np.flatnonzero(totals)
        return present.astype(np.float64), totals[present]
    x_values, inverse = np.unique(x, return_inverse=True)
    return x_values, np.bincount(inverse, weights=w, minlength=len(x_values))


def bgnbd_loglik(rows: _Rows, params: np.ndarray) -> tuple[float, np.ndarray]:
    """Total log-likelihood and its gradient in (r, alpha, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    log_alpha = np.log(alpha)
    ll_once, g_once = _once_terms(rows, r, alpha, log_alpha)
    ll_x, g_x = _per_x_terms(rows, r, a, b)
    ll_row, g_row = _repeat_row_terms(rows, r, alpha, a, b)
    ll_rep = ll_x + ll_row + r * log_alpha * rows.n_repeat
    g_rep = g_x + g_row + np.array([log_alpha * rows.n_repeat, r * rows.n_repeat / alpha, 0.0, 0.0])
    return ll_once + ll_rep, g_once + g_rep


def _once_terms(rows: _Rows, r: float, alpha: float, log_alpha: float) -> tuple[float, np.ndarray]:
    """One-time buyers: ll = r log(alpha) - r log(alpha + T); a and b do not enter."""
    if rows.n_once == 0:
        return 0.0, np.zeros(4)
    buf = rows.once_buffer
    np.add(rows.T_once, alpha, out=buf)
    np.reciprocal(buf, out=buf)
    sum_inv = float(rows.w_once @ buf)
    np.log(buf, out=buf)  # log(1 / (alpha + T))
    sum_log = -float(rows.w_once @ buf)
    ll = r * (rows.n_once * log_alpha - sum_log)
    grad = np.array([rows.n_once * log_alpha - sum_log, r * (rows.n_once / alpha - sum_inv), 0.0, 0.0])
    return ll, grad


def _per_x_terms(rows: _Rows, r: float, a: float, b: float) -> tuple[float, np.ndarray]:
    """Terms of repeat buyers that depend on x alone: log-gamma and digamma, once per distinct x."""
    xv, wx = rows.x_values, rows.w_by_x
    const = (gammaln(r + xv) - gammaln(r) + gammaln(b + xv) - gammaln(a + b + xv)
             - gammaln(b) + gammaln(a + b))
    d_r = digamma(r + xv) - digamma(r)
    d_a = digamma(a + b) - digamma(a + b + xv)
    d_b = digamma(b + xv) - digamma(b) + d_a
    return float(wx @ const), np.array([wx @ d_r, 0.0, wx @ d_a, wx @ d_b])


def _repeat_row_terms(rows: _Rows, r: float, alpha: float, a: float, b: float) -> tuple[float, np.ndarray]:
    """Per-row part for repeat buyers, summed over cache-sized chunks."""
    total = np.zeros(5)
    n = len(rows.x)
    for lo in range(0, n, _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, n)
        total += _chunk_terms(rows.x[lo:hi], rows.t_x[lo:hi], rows.T[lo:hi], rows.w[lo:hi], rows.wx[lo:hi],
                              rows.buffers[:, : hi - lo], r, alpha, a, b)
    ll, d_r, d_alpha, sig_sum, d_b = total
    return float(ll), np.array([d_r, d_alpha, sig_sum / a, d_b])


def _chunk_terms(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray, wx: np.ndarray,
                 buffers: np.ndarray, r: float, alpha: float, a: float, b: float) -> np.ndarray:
    """-(r+x) log(alpha+T) + softplus(z) summed over rows, with the sums its gradient needs.

    In-place ufunc passes over scratch buffers small enough to stay in cache (SIMD log/exp, dots);
    recomputing log(b + x - 1) per row is cheaper than gathering a per-x constant.
    Returns [ll, d/dr, d/dalpha, sum of weighted sigmoids (d/da times a), d/db].
    """
    log_T, gap, z, soft, tmp, sig_w = buffers
    np.add(T, alpha, out=log_T)
    np.log(log_T, out=log_T)
    np.add(t_x, alpha, out=gap)
    np.log(gap, out=gap)
    np.subtract(log_T, gap, out=gap)  # log(alpha+T) - log(alpha+t_x) >= 0
    np.add(x, b - 1.0, out=tmp)
    np.log(tmp, out=z)
    np.subtract(np.log(a), z, out=z)  # log(a / (b + x - 1))
    np.multiply(x, gap, out=soft)
    np.add(z, soft, out=z)
    np.multiply(gap, r, out=soft)
    np.add(z, soft, out=z)  # z = log(a/(b+x-1)) + (r + x) gap
    np.abs(z, out=soft)
    np.negative(soft, out=soft)
    np.exp(soft, out=soft)
    np.log1p(soft, out=soft)
    np.maximum(z, 0.0, out=sig_w)
    np.add(soft, sig_w, out=soft)  # softplus(z)
    np.subtract(z, soft, out=sig_w)
    np.exp(sig_w, out=sig_w)  # sigmoid(z) = exp(z - softplus(z))
    np.multiply(sig_w, w, out=sig_w)  # weight of the "dropped out after t_x" branch
    sum_log_T = float(w @ log_T)
    ll = float(w @ soft) - r * sum_log_T - float(wx @ log_T)
    d_r = float(sig_w @ gap) - sum_log_T
    np.reciprocal(tmp, out=tmp)  # 1 / (b + x - 1)
    d_b = -float(sig_w @ tmp)
    sig_sum = float(sig_w.sum())
    inv_T, inv_t = log_T, z  # reuse: the logs and z are no longer needed
    np.add(T, alpha, out=inv_T)
    np.reciprocal(inv_T, out=inv_T)
    np.add(t_x, alpha, out=inv_t)
    np.reciprocal(inv_t, out=inv_t)
    np.subtract(inv_T, inv_t, out=inv_t)  # 1/(alpha+T) - 1/(alpha+t_x)
    np.multiply(x, sig_w, out=soft)
    np.multiply(sig_w, r, out=tmp)
    np.add(soft, tmp, out=soft)  # sig_w (r + x)
    d_alpha = float(soft @ inv_t) - r * float(w @ inv_T) - float(wx @ inv_T)
    return np.array([ll, d_r, d_alpha, sig_sum, d_b])


def _smooth_in_a(a: float, evaluate: Callable[[float], np.ndarray]) -> np.ndarray:
    """Evaluate a formula with a removable singularity at a == 1 (eq. 9/10 divide by a - 1)."""
    if abs(a - 1.0) > _NEAR_ONE:
        return evaluate(a)
    step = 1e-5  # symmetric pair: the O(step) terms cancel, the O(step^2) error is ~1e-10
    return 0.5 * (evaluate(1.0 - step) + evaluate(1.0 + step))


def _alive_count_pmf(k: np.ndarray, t: np.ndarray, shape: np.ndarray, rate: np.ndarray,
                     a: float, b_post: np.ndarray) -> np.ndarray:
    """P(k purchases in the next t | alive now), lambda ~ Gamma(shape, rate), p ~ Beta(a, b_post).

    With N ~ NBD(shape, rate, t) the purchases the customer would make without dropout and D the
    geometric number of purchases until dropout, X = min(N, D), so for k >= 1
    P(X = k) = E[p (1-p)^(k-1)] P(N >= k) + E[(1-p)^k] P(N = k), and P(X = 0) = P(N = 0).
    """
    q = rate / (rate + t)  # NBD "success" probability
    with np.errstate(divide="ignore", invalid="ignore"):  # t == 0: log(1 - q) = -inf, used only for k > 0
        tail = np.where(k > 0, k * np.log1p(-q), 0.0)
    log_pmf = gammaln(shape + k) - gammaln(shape) - gammaln(k + 1.0) + shape * np.log(q) + tail
    stop_at_k = np.exp(betaln(a + 1.0, b_post + k - 1.0) - betaln(a, b_post))
    survive_k = np.exp(betaln(a, b_post + k) - betaln(a, b_post))
    at_least_k = betainc(np.maximum(k, 1.0), shape, 1.0 - q)  # P(N >= k) = I_{1-q}(k, shape)
    dropout_branch = np.where(k > 0, stop_at_k * at_least_k, 0.0)
    return np.where(k > 0, survive_k, 1.0) * np.exp(log_pmf) + dropout_branch


def mean_given_alive(shape: Any, c: Any, a: float, b_post: Any) -> np.ndarray:
    """E[purchases in the next t | alive] = E[(1 - (1 + p c)^-shape) / p] for p ~ Beta(a, b_post).

    `shape` = r + x, `c` = t / (alpha + T), `b_post` = b + x: eq. (10) of the paper without P(alive),
    which is (a+b'-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b'-1-shape, a-1; a+b'-1; z)] with z = c/(1+c)
    (the paper's 2F1(r+x, b+x; a+b+x-1; z) after Euler's transformation: no huge power times a huge
    series for frequent buyers). scipy's hyp2f1 is accurate to ~1e-10 over realistic parameters but
    fails (NaN or out of range) for extreme ones, e.g. b in the hundreds with t >> alpha + T; there
    the Beta mixture is integrated numerically (`beta_mixture_mean`). The result always lies between
    the values at p = 1 and p = 0, 1 - (1+c)^-shape and shape * c, which is how failures are caught.
    """
    shape, c, b_post = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(shape, c, b_post))
    shape, c, b_post = (np.atleast_1d(v).ravel() for v in (shape, c, b_post))
    with np.errstate(all="ignore"):
        value = np.atleast_1d(_smooth_in_a(a, lambda a_: _hypergeometric_mean(shape, c, a_, b_post))).copy()
        low, high = -np.expm1(-shape * np.log1p(c)), shape * c
        bad = ~np.isfinite(value) | (value < low * (1 - 1e-9)) | (value > high * (1 + 1e-9))
    if bad.any():
        value[bad] = beta_mixture_mean(shape[bad], c[bad], a, b_post[bad])
    return value


def _hypergeometric_mean(shape: np.ndarray, c: np.ndarray, a: float, b_post: np.ndarray) -> np.ndarray:
    z = c / (1.0 + c)
    series = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b_post - 1.0 - shape, a - 1.0, a + b_post - 1.0, z)
    return (a + b_post - 1.0) / (a - 1.0) * (1.0 - series)


def beta_mixture_mean(shape: np.ndarray, c: np.ndarray, a: float, b_post: np.ndarray) -> np.ndarray:
    """The same mean by quadrature: int Beta(p; a, b') h(p) dp, h(p) = (1 - (1 + p c)^-shape) / p.

    p in (0, 1/2] is integrated in log p and p in [1/2, 1) in log(1 - p), each by composite
    Gauss-Legendre: in those variables the Beta density and h are smooth on the scale of the panels
    even when the density piles up at 0 or 1 (a or b' tiny or huge). The far tails are added in closed
    form: below p_lo, h is shape*c to 1e-13, and within 1e-13 of p = 1, h is h(1).
    """
    a_arr = np.full(len(shape), a)
    log_beta = betaln(a_arr, b_post)
    # fmax: betaincinv can fail (NaN) for extreme shapes; the closed-form floor then stands alone
    p_floor = 1e-13 / ((shape + 1.0) * c + 1e-300)
    p_lo = np.minimum(np.fmax(p_floor, betaincinv(a_arr, b_post, _TAIL_MASS)), 0.5)
    q_lo = np.minimum(np.fmax(betaincinv(b_post, a_arr, _TAIL_MASS), 1e-13), 0.5)
    total = shape * c * betainc(a_arr, b_post, p_lo) + _h(1.0, shape, c) * betainc(b_post, a_arr, q_lo)
    u, w = _composite_legendre(np.log(p_lo), np.log(0.5))
    p = np.exp(u)
    log_density = a * u + (b_post - 1.0)[:, None] * np.log1p(-p) - log_beta[:, None]  # p^a: dp = p du
    total += np.sum(w * np.exp(log_density) * _h(p, shape[:, None], c[:, None]), axis=1)
    v, w = _composite_legendre(np.log(q_lo), np.log(0.5))
    q = np.exp(v)
    log_density = (a - 1.0) * np.log1p(-q) + b_post[:, None] * v - log_beta[:, None]  # (1-p)^b': dp = -q dv
    total += np.sum(w * np.exp(log_density) * _h(1.0 - q, shape[:, None], c[:, None]), axis=1)
    return total


def _h(p: Any, shape: Any, c: Any) -> np.ndarray:
    """(1 - (1 + p c)^-shape) / p, the mean purchases given alive and p (lambda integrated out)."""
    return -np.expm1(-shape * np.log1p(p * c)) / p


def _composite_legendre(lo: np.ndarray, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (rows x panels*nodes) of composite Gauss-Legendre on [lo_i, hi]."""
    edges = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, _PANELS + 1)[None, :]
    half = 0.5 * np.diff(edges, axis=1)
    middle = 0.5 * (edges[:, 1:] + edges[:, :-1])
    nodes = (middle[:, :, None] + half[:, :, None] * _GL_NODES[None, None, :]).reshape(len(lo), -1)
    weights = (half[:, :, None] * _GL_WEIGHTS[None, None, :]).reshape(len(lo), -1)
    return nodes, weights


class BetaGeoModel(TransactionModel):
    """BG/NBD purchase-count model with parameters r, alpha (time unit of the data), a, b."""

    name: ClassVar[str] = "bgnbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    min_customers: ClassVar[int] = 20  # 4 parameters: below ~5 customers each the fit is noise

    # --- fitting ------------------------------------------------------------------------------
    def _loglik_function(self, grouped: GroupedRepeats) -> fitting.LogLikelihood:
        rows = _Rows.from_grouped(grouped)
        return lambda params: bgnbd_loglik(rows, params)

    def _starts(self, grouped: GroupedRepeats) -> list[np.ndarray]:
        """Three spreads of the purchase rate, each with mean r/alpha equal to the observed rate."""
        rate = mean_rate(grouped)
        shapes = ((1.0, 1.0, 3.0), (0.3, 0.5, 2.0), (3.0, 2.0, 8.0))
        return [np.array([r, r / rate, a, b]) for r, a, b in shapes]

    def _after_fit(self, diagnostics: FitDiagnostics) -> None:
        a, b = self._fitted().params["a"], self._fitted().params["b"]
        if a < DROPOUT_COLLAPSE_A or a / (a + b) < DROPOUT_COLLAPSE_A:
            diagnostics.dropout_collapsed = True
            diagnostics.warnings.append(
                f"bgnbd: the dropout parameter collapsed (a = {a:.3g}, mean dropout probability "
                f"a/(a+b) = {a / (a + b):.3g}): every one-time buyer gets "
                "P(alive) = 1, so 1 - P(alive) cannot rank churn; use P(no purchase within the "
                "horizon) (p_no_purchase) instead")

    # --- predictions --------------------------------------------------------------------------
    def _z(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Log-odds of 'dropped out after the last purchase' vs 'still alive' (-inf for x == 0)."""
        r, alpha, a, b = self._param_array()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(a) - np.log(b + x - 1.0)
                 + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(x > 0, z, -np.inf)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        data = self._data(frequency, recency, T)
        return expit(-self._z(data.frequency, data.recency, data.T))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T] (eq. 10): P(alive) times the mean given alive."""
        data = self._data(frequency, recency, T)
        t = check_time(t, len(data))
        r, alpha, a, b = self._param_array()
        x = data.frequency
        given_alive = mean_given_alive(r + x, t / (alpha + data.T), a, b + x)
        return given_alive * self.p_alive(x, data.recency, data.T)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """E[X(t)] for a new customer (eq. 9): alive at 0 with the prior lambda and p."""
        self._fitted()
        t = check_time(t)
        r, alpha, a, b = self._param_array()
        return mean_given_alive(np.float64(r), t / alpha, a, np.float64(b)).reshape(t.shape)

    def p_purchases(self, k: Any, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(X(T, T+t) = k | x, t_x, T).

        Dead customers buy nothing; given alive at T the posterior is lambda ~ Gamma(r+x, alpha+T),
        p ~ Beta(a, b+x), and the count is the NBD stopped by geometric dropout (`_alive_count_pmf`).
        """
        data = self._data(frequency, recency, T)
        k, t = check_count(k, len(data)), check_time(t, len(data))
        r, alpha, a, b = self._param_array()
        x = data.frequency
        alive = self.p_alive(x, data.recency, data.T)
        pmf = _alive_count_pmf(k, t, r + x, alpha + data.T, a, b + x)
        return np.where(k == 0, 1.0 - alive, 0.0) + alive * pmf

    def p_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(no purchase in (T, T+t] | x, t_x, T): the churn score that survives a dropout collapse."""
        return self.p_purchases(0, t, frequency, recency, T)

    def p_purchases_new(self, k: Any, t: Any) -> np.ndarray:
        """P(X(t) = k) for a new customer (eq. 8)."""
        self._fitted()
        k, t = check_count(k), check_time(t)
        r, alpha, a, b = self._param_array()
        return _alive_count_pmf(k, t, np.float64(r), np.float64(alpha), a, np.float64(b))

