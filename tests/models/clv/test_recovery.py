"""Parameter recovery at scale: a million synthetic customers from `fidelis.synth` with known BG/NBD and
Gamma-Gamma parameters, exact (second-resolution) timestamps, three years."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fidelis.models.clv import BetaGeoModel, GammaGammaModel
from fidelis.synth.model import SECONDS_PER_DAY, Window, mean_repeat_value, sample_customers, sample_purchases
from fidelis.synth.params import SynthParams

CUSTOMERS = 1_000_000
START_S = 1_577_836_800  # 2020-01-01 UTC
TOLERANCE = 0.02  # relative; at this size the standard errors are 0.2-0.7% (BG/NBD), 0.3-0.9% (Gamma-Gamma)


@pytest.fixture(scope="module")
def synthetic():
    params = SynthParams()
    rng = np.random.default_rng(20240607)
    window = Window(START_S, START_S + 3 * 365 * SECONDS_PER_DAY)
    customers = sample_customers(rng, CUSTOMERS, params, window, np.array([1.0]))
    purchases, last_s = sample_purchases(rng, customers, params)
    x = customers.x.astype(np.float64)
    spend = mean_repeat_value(customers, purchases)
    return params, x, last_s / SECONDS_PER_DAY, customers.age_s / SECONDS_PER_DAY, spend


def _errors(model, truth: dict[str, float], errors: dict[str, float]) -> str:
    return ", ".join(f"{k} {e:+.4f} (SE {model.standard_errors[k] / truth[k]:.4f})"
                     for k, e in errors.items())


@pytest.mark.slow
def test_bgnbd_recovers_synthetic_parameters(synthetic):
    params, x, t_x, T, _ = synthetic
    started = time.perf_counter()
    model = BetaGeoModel().fit(x, t_x, T, time_unit="days")
    seconds = time.perf_counter() - started
    truth = {"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b}
    errors = {k: model.params[k] / v - 1 for k, v in truth.items()}
    print(f"\nBG/NBD at {CUSTOMERS:,} customers: fit {seconds:.2f} s, relative errors "
          + _errors(model, truth, errors))
    for name, error in errors.items():
        assert abs(error) < TOLERANCE, name
        assert model.standard_errors[name] / truth[name] < TOLERANCE / 2, name  # 2% is >= 2 SEs
    assert model.diagnostics.converged and not model.diagnostics.warnings


@pytest.mark.slow
def test_gamma_gamma_recovers_synthetic_parameters(synthetic):
    params, x, _, _, spend = synthetic
    started = time.perf_counter()
    model = GammaGammaModel().fit(x, np.where(x > 0, spend, 0.0))
    seconds = time.perf_counter() - started
    truth = {"p": params.p, "q": params.q, "gamma": params.gamma}
    errors = {k: model.params[k] / v - 1 for k, v in truth.items()}
    print(f"\nGamma-Gamma on {model.n_customers:,} repeat buyers: fit {seconds:.2f} s, relative errors "
          + _errors(model, truth, errors))
    for name, error in errors.items():
        assert abs(error) < TOLERANCE, name
        assert model.standard_errors[name] / truth[name] < TOLERANCE / 2, name
