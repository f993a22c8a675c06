"""Pareto/NBD unit tests: the quadrature likelihood against the hypergeometric closed form, the
analytic gradient against finite differences, predictions against simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gammaln, hyp2f1

from fidelis.errors import ModelError
from fidelis.models.clv import ParetoNBDModel, RepeatData, load_model
from fidelis.models.clv.pareto_nbd import _Rows, pareto_nbd_loglik

CDNOW_PARAMS = [0.5533, 10.5776, 0.6062, 11.6679]  # Pareto/NBD on the CDNOW sample (weeks)


def closed_form_loglik(x, t_x, T, r, alpha, s, beta):
    """Fader & Hardie (2005) note, eq. (18)-(20): the likelihood through Gauss' 2F1, written
    independently of the model's quadrature (the larger of alpha, beta goes into the argument)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    m = r + s + x
    if alpha >= beta:
        big, b_arg = alpha, s + 1.0
    else:
        big, b_arg = beta, r + x
    gap = abs(alpha - beta)

    def term(c):
        return hyp2f1(m, b_arg, m + 1.0, gap / (big + c)) / (big + c) ** m

    a0 = term(t_x) - term(T)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    return head + np.log(alive + s / m * a0)


def loglik(x, t_x, T, params):
    rows = _Rows.from_grouped(RepeatData.from_arrays(x, t_x, T).rows())
    return pareto_nbd_loglik(rows, np.asarray(params, dtype=float))


def fitted(params) -> ParetoNBDModel:
    names = ("r", "alpha", "s", "beta")
    return ParetoNBDModel.from_dict({"model": "pareto-nbd", "time_unit": "weeks",
                                     "params": dict(zip(names, params, strict=True))})


def test_loglik_matches_hypergeometric_closed_form_on_cdnow(cdnow):
    args = (cdnow.frequency.to_numpy(), cdnow.recency.to_numpy(), cdnow["T"].to_numpy())
    for params in (CDNOW_PARAMS, [0.3, 2.0, 1.5, 40.0], [2.0, 30.0, 0.1, 0.5]):
        expected = closed_form_loglik(*args, *params)
        rows = _Rows.from_grouped(RepeatData.from_arrays(*args).rows())
        value, _ = pareto_nbd_loglik(rows, np.array(params))
        assert value == pytest.approx(expected.sum(), rel=1e-10)
        per_row = np.array([loglik(args[0][i:i + 1], args[1][i:i + 1], args[2][i:i + 1], params)[0]
                            for i in range(0, len(expected), 37)])
        np.testing.assert_allclose(per_row, expected[::37], rtol=1e-8)


def test_loglik_matches_closed_form_on_random_rows_and_parameters():
    rng = np.random.default_rng(17)
    for _ in range(40):
        r, s = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=2))
        alpha, beta = np.exp(rng.uniform(np.log(0.5), np.log(300.0), size=2))
        T = rng.uniform(1.0, 400.0, size=50)
        x = rng.integers(0, 30, size=50).astype(float)
        t_x = np.where(x > 0, rng.uniform(0.0, 1.0, size=50) * T, 0.0)
        expected = closed_form_loglik(x, t_x, T, r, alpha, s, beta)
        rows = [loglik(x[i:i + 1], t_x[i:i + 1], T[i:i + 1], [r, alpha, s, beta])[0] for i in range(50)]
        np.testing.assert_allclose(rows, expected, rtol=1e-8)


@pytest.mark.parametrize("params", [CDNOW_PARAMS, [0.3, 2.0, 1.5, 40.0], [2.0, 30.0, 0.1, 0.5],
                                    [5.0, 4.0, 3.0, 4.0]])
def test_gradient_matches_finite_differences(cdnow, params, check_gradient):
    args = (cdnow.frequency, cdnow.recency, cdnow["T"])
    check_gradient(lambda p: loglik(*args, p), params)


def test_grouped_rows_give_the_ungrouped_loglik(cdnow):
    data = RepeatData.from_arrays(cdnow.frequency, cdnow.recency, cdnow["T"])
    grouped = pareto_nbd_loglik(_Rows.from_grouped(data.grouped()), np.array(CDNOW_PARAMS))
    ungrouped = pareto_nbd_loglik(_Rows.from_grouped(data.rows()), np.array(CDNOW_PARAMS))
    assert grouped[0] == pytest.approx(ungrouped[0], rel=1e-12)
    np.testing.assert_allclose(grouped[1], ungrouped[1], rtol=1e-10)


def test_fit_on_cdnow_matches_published_estimates(cdnow):
    model = ParetoNBDModel().fit(cdnow.frequency, cdnow.recency, cdnow["T"], time_unit="weeks")
    published = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # Fader, Hardie & Lee (2005)
    assert {k: round(v, 2) for k, v in model.params.items()} == published
    assert round(model.log_likelihood, 1) == -9595.0
    assert all(np.isfinite(list(model.standard_errors.values())))


def simulate_pareto(rng, n, r, alpha, s, beta, T, horizon):
    """Poisson purchases at rate lambda until an exponential death at rate mu."""
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    death = rng.exponential(1.0 / mu)
    x = rng.poisson(lam * np.minimum(death, T))
    # last purchase: the max of x uniforms on (0, min(death, T))
    t_x = np.where(x > 0, np.minimum(death, T) * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    future = rng.poisson(lam * np.clip(death - T, 0.0, horizon))
    return x.astype(float), t_x, T, death > T, future


def test_predictions_match_simulation():
    rng = np.random.default_rng(23)
    params = [0.6, 8.0, 0.7, 12.0]
    T = rng.uniform(10.0, 40.0, size=200_000)
    x, t_x, T, alive, future = simulate_pareto(rng, len(T), *params, T=T, horizon=30.0)
    model = fitted(params)

    def close(predicted, observed):
        error = np.std(observed - predicted, ddof=1) / np.sqrt(len(observed))
        assert abs(predicted.mean() - observed.mean()) < 4 * error, (predicted.mean(), observed.mean())

    for low, high in ((0, 0), (1, 2), (3, np.inf)):
        rows = (x >= low) & (x <= high)
        close(model.p_alive(x[rows], t_x[rows], T[rows]), alive[rows].astype(float))
        close(model.expected_purchases(30.0, x[rows], t_x[rows], T[rows]), future[rows].astype(float))
        close(model.p_no_purchase(30.0, x[rows], t_x[rows], T[rows]), (future[rows] == 0).astype(float))


def test_new_customer_expectation_matches_simulation():
    rng = np.random.default_rng(29)
    params = [0.6, 8.0, 0.7, 12.0]
    x, *_ = simulate_pareto(rng, 300_000, *params, T=np.full(300_000, 50.0), horizon=0.0)
    expected = float(fitted(params).expected_purchases_new(50.0))
    assert expected == pytest.approx(x.mean(), abs=4 * x.std() / np.sqrt(len(x)))


def test_predictions_are_finite_and_consistent():
    model = fitted(CDNOW_PARAMS)
    x, t_x, T = np.array([0.0, 1.0, 10.0, 200.0]), np.array([0.0, 5.0, 38.0, 38.8]), np.full(4, 38.86)
    alive = model.p_alive(x, t_x, T)
    assert np.all((alive > 0) & (alive <= 1)) and alive.shape == (4,)
    no_purchase = model.p_no_purchase(np.array([0.0, 10.0, 1e3, 1e6]), x, t_x, T)
    assert np.all(np.isfinite(no_purchase)) and no_purchase[0] == pytest.approx(1.0)
    assert np.all(no_purchase >= 1 - alive - 1e-12)
    expected = model.expected_purchases(52.0, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(np.diff(expected[1:]) > 0)
    at_s_one = fitted([0.55, 10.58, 1.0, 11.67])
    near = fitted([0.55, 10.58, 1.0 + 1e-7, 11.67])
    limit = float(near.expected_purchases_new(20.0))
    assert float(at_s_one.expected_purchases_new(20.0)) == pytest.approx(limit, rel=1e-6)
    # p_no_purchase decreases with the horizon and reaches P(never buys again) only slowly
    horizons = np.array([1.0, 5.0, 20.0, 100.0])
    values = model.p_no_purchase(horizons, np.full(4, 2.0), np.full(4, 20.0), np.full(4, 38.86))
    assert np.all(np.diff(values) < 0)


def test_bad_inputs_and_round_trip(cdnow, tmp_path):
    with pytest.raises(ModelError, match="pareto-nbd: no customer has a repeat purchase"):
        ParetoNBDModel().fit(np.zeros(30), np.zeros(30), np.full(30, 5.0))
    with pytest.raises(ModelError, match="at least 20 customers"):
        ParetoNBDModel().fit([1] * 5, [1] * 5, [3] * 5)
    with pytest.raises(ModelError, match="not fitted"):
        ParetoNBDModel().p_alive(1, 1, 2)
    model = fitted(CDNOW_PARAMS)
    path = model.save(tmp_path / "pnbd.json")
    loaded = load_model(path)
    assert isinstance(loaded, ParetoNBDModel)
    args = (cdnow.frequency, cdnow.recency, cdnow["T"])
    np.testing.assert_array_equal(loaded.p_alive(*args), model.p_alive(*args))
    np.testing.assert_array_equal(loaded.p_no_purchase(5.0, *args), model.p_no_purchase(5.0, *args))
