"""Fixtures of the CLV model tests: the CDNOW reference samples and a BG/NBD process simulator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def cdnow(shared_file) -> pd.DataFrame:
    """The 2,357-customer CDNOW sample of Fader, Hardie & Lee (2005): frequency, recency, T in weeks."""
    return pd.read_csv(shared_file("cdnow_customers_summary.csv"))


@pytest.fixture(scope="session")
def cdnow_spend(shared_file) -> pd.DataFrame:
    """The same sample as ID, x, t_x, T (weeks) and zbar (mean spend per repeat purchase, dollars)."""
    return pd.read_csv(shared_file("cdnow_customers_summary_with_transactions.csv"))


@dataclass(frozen=True)
class Simulated:
    """Customers simulated from the BG/NBD process: calibration summary and what happened next."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    alive: np.ndarray  # still active at T
    future: np.ndarray  # purchases in (T, T + horizon]
    horizon: float


def simulate_bgnbd(rng: np.random.Generator, n: int, r: float, alpha: float, a: float, b: float,
                   T: np.ndarray, horizon: float) -> Simulated:
    """Simulate the BG/NBD story directly: Poisson purchases, dropout with probability p after each
    repeat purchase. Potential purchase times are uniform given their Poisson count; a customer makes
    the j-th of them (in time order) iff they did not drop out after any of the first j - 1."""
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = np.maximum(rng.beta(a, b, size=n), 1e-12)  # geometric draws need p > 0
    end = T + horizon
    k = rng.poisson(lam * end)
    owner = np.repeat(np.arange(n), k)
    times = rng.random(len(owner)) * end[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(k) - k, k)
    dropout_after = rng.geometric(p)  # the customer leaves right after this many repeat purchases
    made = rank < dropout_after[owner]
    before = made & (times <= T[owner])
    after = made & (times > T[owner])
    x = np.bincount(owner[before], minlength=n).astype(float)
    t_x = np.zeros(n)
    np.maximum.at(t_x, owner[before], times[before])
    future = np.bincount(owner[after], minlength=n).astype(float)
    return Simulated(x, t_x, T.astype(float), x < dropout_after, future, horizon)


@pytest.fixture(scope="session")
def simulate():
    return simulate_bgnbd


def assert_gradient(loglik, params, relative_step: float = 1e-4) -> None:
    """The analytic gradient of `loglik` (params -> (value, gradient)) against a 5-point stencil."""
    params = np.asarray(params, dtype=np.float64)
    value, grad = loglik(params)
    for i in range(len(params)):
        step = relative_step * params[i]
        at = [loglik(params + k * step * np.eye(len(params))[i])[0] for k in (-2, -1, 1, 2)]
        numeric = (8 * (at[2] - at[1]) - (at[3] - at[0])) / (12 * step)  # error O(step^4)
        roundoff = 1e-14 * abs(value) / step  # differences of a sum of thousands of terms
        assert grad[i] == pytest.approx(numeric, rel=1e-6, abs=roundoff), i


@pytest.fixture(scope="session")
def check_gradient():
    return assert_gradient
