"""Gamma-Gamma unit tests: gradient, fit on simulated spend, validation of spend, predictions."""

from __future__ import annotations

import numpy as np
import pytest

from fidelis.errors import ModelError
from fidelis.models.clv import GammaGammaModel, load_model
from fidelis.models.clv.gamma_gamma import SpendRows, gamma_gamma_loglik


def simulate_spend(rng, n, p, q, gamma):
    """x ~ 1 + Poisson(2) repeat purchases, each worth Gamma(p, nu), nu ~ Gamma(q, gamma)."""
    x = 1 + rng.poisson(2.0, size=n)
    nu = rng.gamma(q, 1.0 / gamma, size=n)
    # the mean of x Gamma(p, nu) draws is Gamma(p x, x nu)
    m = rng.gamma(p * x, 1.0 / (x * nu))
    return x.astype(float), m


@pytest.mark.parametrize("params", [[6.25, 3.74, 15.44], [0.5, 1.5, 2.0], [40.0, 20.0, 300.0]])
def test_gradient_matches_finite_differences(cdnow_spend, params, check_gradient):
    repeat = cdnow_spend[cdnow_spend.x > 0]
    rows = SpendRows.from_arrays(repeat.x.to_numpy(np.float64), repeat.zbar.to_numpy(np.float64))
    check_gradient(lambda p: gamma_gamma_loglik(rows, p), params)


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(31)
    x, m = simulate_spend(rng, 100_000, 6.0, 4.0, 40.0)
    model = GammaGammaModel().fit(x, m)
    for name, truth in {"p": 6.0, "q": 4.0, "gamma": 40.0}.items():
        assert abs(model.params[name] - truth) < 4 * model.standard_errors[name], name
    assert model.population_mean_spend() == pytest.approx(6.0 * 40.0 / 3.0, rel=0.02)


def test_expected_spend_shrinks_towards_the_population_mean(cdnow_spend):
    model = GammaGammaModel().fit(cdnow_spend.x, cdnow_spend.zbar)
    population = model.population_mean_spend()
    spend = model.expected_spend([0, 1, 1, 50], [0.0, 10.0, 500.0, 10.0])
    assert spend[0] == population
    assert 10.0 < spend[1] < population < spend[2] < 500.0  # one purchase: pulled hard to the mean
    assert abs(spend[3] - 10.0) < abs(spend[1] - 10.0)  # fifty purchases: close to the own mean
    # monetary_value of customers without repeat purchases is ignored, even when missing
    assert model.expected_spend([0], [np.nan])[0] == population


def test_bad_spend_inputs_raise_model_error():
    rng = np.random.default_rng(1)
    x, m = simulate_spend(rng, 200, 6.0, 4.0, 40.0)
    with pytest.raises(ModelError, match="no repeat buyers"):
        GammaGammaModel().fit(np.zeros(50), np.full(50, 10.0))
    with pytest.raises(ModelError, match="all-zero spend"):
        GammaGammaModel().fit(x, np.zeros_like(m))
    bad = m.copy()
    bad[[7, 9]] = -1.0
    message = r"column 'monetary_value' is not > 0 for a repeat buyer in 2 rows, first at row 7"
    with pytest.raises(ModelError, match=message):
        GammaGammaModel().fit(x, bad)
    bad[7] = np.nan
    ids = [f"C{i}" for i in range(len(x))]
    message = (r"column 'monetary_value' is not finite for a repeat buyer in 1 row, "
               r"first at row 7 \(customer 'C7'\)")
    with pytest.raises(ModelError, match=message):
        GammaGammaModel().fit(x, bad, customer_id=ids)
    with pytest.raises(ModelError, match="at least 10 repeat buyers"):
        GammaGammaModel().fit(x[:5], m[:5])
    with pytest.raises(ModelError, match="same length"):
        GammaGammaModel().fit(x, m[:-1])
    with pytest.raises(ModelError, match="column 'frequency'"):
        GammaGammaModel().fit(x - 5.0, m)
    with pytest.raises(ModelError, match="not fitted"):
        GammaGammaModel().expected_spend([1], [10.0])


def test_q_at_most_one_is_reported_and_refused_for_new_customers():
    model = GammaGammaModel.from_dict({"model": "gamma-gamma", "params": {"p": 2.0, "q": 0.8, "gamma": 5.0}})
    with pytest.raises(ModelError, match=r"q = 0.8 <= 1"):
        model.expected_spend([0, 3], [0.0, 20.0])
    assert np.isfinite(model.expected_spend([3], [20.0])).all()


def test_save_load_round_trip(cdnow_spend, tmp_path):
    model = GammaGammaModel().fit(cdnow_spend.x, cdnow_spend.zbar)
    loaded = load_model(model.save(tmp_path / "gg.json"))
    assert isinstance(loaded, GammaGammaModel)
    assert loaded.params == model.params and loaded.standard_errors == model.standard_errors
    np.testing.assert_array_equal(loaded.expected_spend(cdnow_spend.x, cdnow_spend.zbar),
                                  model.expected_spend(cdnow_spend.x, cdnow_spend.zbar))
    assert loaded.summary().equals(model.summary())
