"""BG/NBD purchase process and Gamma-Gamma spend, sampled for all customers at once.

Everything is vectorised over customers and purchases. Times are whole seconds since the Unix
epoch (UTC): the files carry second resolution, so the ground truth is computed from exactly the
timestamps that are written and can be checked against the files without tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fidelis.synth.params import SynthParams

SECONDS_PER_DAY = 86_400
_MIN_DROPOUT_P = 1e-12  # Beta draws can underflow to 0; a geometric draw needs p > 0


@dataclass(frozen=True)
class Window:
    """Observation window in epoch seconds: [start_s, end_s)."""

    start_s: int
    end_s: int

    @property
    def length_s(self) -> int:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Customers:
    """Per-customer latent traits and BG/NBD summary (index = customer number - 1)."""

    country: np.ndarray  # int, index into markets.COUNTRIES
    lam: np.ndarray  # purchase rate per day
    p: np.ndarray  # dropout probability after each repeat purchase
    nu: np.ndarray  # Gamma-Gamma rate of the spend distribution
    birth_s: np.ndarray  # first purchase, epoch seconds
    age_s: np.ndarray  # T in seconds: end of window - birth
    k: np.ndarray  # purchases the Poisson process would make in the window without dropout
    x: np.ndarray  # repeat purchases in the window: min(K, D)
    alive: np.ndarray  # bool: has not dropped out by the end of the window
    last_s: np.ndarray | None = None  # t_x in seconds: last purchase - birth (0 without repeats)

    def __len__(self) -> int:
        return len(self.lam)


@dataclass(frozen=True)
class Purchases:
    """Customers' purchases (first ones included), grouped by customer, in time order per customer."""

    customer: np.ndarray  # int
    at_s: np.ndarray  # epoch seconds
    is_first: np.ndarray  # bool
    value: np.ndarray  # Gamma-Gamma order value in the reporting currency


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Offset of each group in a flat array holding `counts[i]` items of group i in order."""
    return np.cumsum(counts) - counts


def rank_within_groups(counts: np.ndarray) -> np.ndarray:
    """0-based position of every item inside its group, for groups laid out contiguously."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(group_starts(counts), counts)


def sample_customers(
    rng: np.random.Generator, n: int, params: SynthParams, window: Window, country_weights: np.ndarray
) -> Customers:
    """Draw traits, births and BG/NBD repeat counts.

    Dropout: after the j-th repeat purchase a customer leaves with probability p, so the number of
    repeat purchases before leaving is D ~ Geometric(p) on 1, 2, ... The Poisson process would make
    K ~ Poisson(lambda * T) purchases in (birth, end); the customer makes x = min(K, D) of them and
    is alive at the end iff K < D.
    """
    country = rng.choice(len(country_weights), size=n, p=country_weights).astype(np.int16)
    lam = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    p = np.maximum(rng.beta(params.a, params.b, size=n), _MIN_DROPOUT_P)
    nu = rng.gamma(params.q, 1.0 / params.gamma, size=n)
    birth_s = window.start_s + np.floor(rng.random(n) * window.length_s).astype(np.int64)
    age_s = window.end_s - birth_s
    k = rng.poisson(lam * age_s / SECONDS_PER_DAY)
    d = rng.geometric(p)
    x = np.minimum(k, d)
    return Customers(country, lam, p, nu, birth_s, age_s, k, x, k < d)


def sample_purchases(
    rng: np.random.Generator, customers: Customers, params: SynthParams
) -> tuple[Purchases, np.ndarray]:
    """First purchases plus the x repeat purchases of every customer, with Gamma-Gamma values.

    The repeat purchases are the first x of K uniform times on (birth, end), so their offsets are
    the first x order statistics of K uniforms, drawn directly with the Renyi representation
    (U_(j) = 1 - exp(-sum_{i<=j} E_i / (K - i + 1)), E_i ~ Exp(1)) instead of drawing and sorting
    all K: the work is proportional to the purchases made, not to K.
    Returns the purchases and every customer's t_x in seconds.
    """
    x, k = customers.x, customers.k
    n = len(customers)
    owner = np.repeat(np.arange(n), x)
    j = rank_within_groups(x)
    steps = rng.standard_exponential(len(owner)) / (k[owner] - j)
    cum = np.cumsum(steps)
    starts = group_starts(x)
    has = x > 0
    base = np.zeros(n)
    base[has] = cum[starts[has]] - steps[starts[has]]
    uniform = -np.expm1(-(cum - np.repeat(base, x)))
    age = customers.age_s[owner]
    offset_s = np.minimum(np.maximum(np.floor(uniform * age).astype(np.int64), 1), age - 1)
    last_s = np.zeros(n, np.int64)
    last_s[has] = offset_s[starts[has] + x[has] - 1]
    customer = np.concatenate([np.arange(n), owner])
    at_s = np.concatenate([customers.birth_s, customers.birth_s[owner] + offset_s])
    is_first = np.zeros(len(customer), bool)
    is_first[:n] = True
    value = rng.gamma(params.p, 1.0 / customers.nu[customer])
    return Purchases(customer, at_s, is_first, value), last_s


def mean_repeat_value(customers: Customers, purchases: Purchases) -> np.ndarray:
    """Per customer mean value of the repeat purchases (NaN without repeats)."""
    repeat = ~purchases.is_first
    total = np.bincount(purchases.customer[repeat], weights=purchases.value[repeat], minlength=len(customers))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(customers.x > 0, total / np.maximum(customers.x, 1), np.nan)
