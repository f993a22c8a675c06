"""BG/NBD unit tests: likelihood and gradient, grouping, predictions against simulation, diagnostics."""

from __future__ import annotations

import numpy as np
import pytest

from fidelis.errors import ModelError
from fidelis.models.clv import BetaGeoModel, RepeatData, load_model
from fidelis.models.clv.bgnbd import _Rows, bgnbd_loglik

TRUE = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}


def fitted(params: dict[str, float], time_unit: str = "weeks") -> BetaGeoModel:
    """A BetaGeoModel at given parameters (no fit), through the persistence path."""
    return BetaGeoModel.from_dict({"model": "bgnbd", "time_unit": time_unit, "params": params})


def loglik(data: RepeatData, params, grouped: bool = True):
    rows = data.grouped() if grouped else data.rows()
    return bgnbd_loglik(_Rows.from_grouped(rows), np.asarray(list(params), dtype=float))


def naive_loglik(x, t_x, T, r, alpha, a, b):
    """Eq. (6) of Fader, Hardie & Lee (2005) written out directly, for reference."""
    from scipy.special import betaln, gammaln

    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    first = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    second = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b)
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(np.sum(head + np.logaddexp(first, second)))


@pytest.fixture(scope="module")
def sim(simulate):
    rng = np.random.default_rng(20250101)
    T = rng.uniform(10.0, 40.0, size=200_000)
    return simulate(rng, len(T), *TRUE.values(), T=T, horizon=26.0)


def test_loglik_matches_the_paper_formula(cdnow):
    data = RepeatData.from_arrays(cdnow.frequency, cdnow.recency, cdnow["T"])
    for params in ([0.243, 4.414, 0.793, 2.426], [2.0, 0.5, 3.0, 0.4], [0.05, 40.0, 0.01, 9.0]):
        value, _ = loglik(data, params)
        assert value == pytest.approx(naive_loglik(data.frequency, data.recency, data.T, *params), rel=1e-12)


@pytest.mark.parametrize("params", [[0.243, 4.414, 0.793, 2.426], [2.0, 0.5, 3.0, 0.4],
                                    [0.05, 40.0, 0.01, 9.0], [8.0, 300.0, 50.0, 120.0]])
def test_gradient_matches_finite_differences(cdnow, params, check_gradient):
    data = RepeatData.from_arrays(cdnow.frequency, cdnow.recency, cdnow["T"])
    check_gradient(lambda p: loglik(data, p), params)


def test_grouped_rows_give_the_ungrouped_loglik(cdnow):
    data = RepeatData.from_arrays(cdnow.frequency, cdnow.recency, cdnow["T"])
    grouped = data.grouped()
    assert len(grouped.weights) < len(data) and grouped.n_customers == len(data)
    value, grad = loglik(data, TRUE.values())
    value_rows, grad_rows = loglik(data, TRUE.values(), grouped=False)
    assert value == pytest.approx(value_rows, rel=1e-12)
    np.testing.assert_allclose(grad, grad_rows, rtol=1e-10)


def test_chunked_evaluation_matches_reference_at_scale(simulate):
    rng = np.random.default_rng(3)
    T = rng.uniform(1.0, 400.0, size=70_000)  # more rows than one chunk
    s = simulate(rng, len(T), 0.7, 50.0, 0.9, 2.0, T=T, horizon=1.0)
    data = RepeatData.from_arrays(s.x, s.t_x, s.T)
    value, _ = loglik(data, [0.7, 50.0, 0.9, 2.0])
    assert value == pytest.approx(naive_loglik(s.x, s.t_x, s.T, 0.7, 50.0, 0.9, 2.0), rel=1e-12)


def test_fit_recovers_simulated_parameters_within_standard_errors(sim):
    model = BetaGeoModel().fit(sim.x, sim.t_x, sim.T, time_unit="weeks")
    assert model.diagnostics.converged and model.diagnostics.gradient_norm < 1e-5
    assert model.n_customers == len(sim.x)
    for name, truth in TRUE.items():
        assert abs(model.params[name] - truth) < 4 * model.standard_errors[name], name
    summary = model.summary()
    assert list(summary.columns) == ["parameter", "estimate", "std_error", "lower_95", "upper_95"]
    assert (summary.lower_95 < summary.estimate).all() and (summary.estimate < summary.upper_95).all()


def test_large_fit_compares_starts_on_a_subsample(simulate):
    rng = np.random.default_rng(11)
    T = rng.uniform(1.0, 52.0, size=120_000)
    s = simulate(rng, len(T), *TRUE.values(), T=T, horizon=1.0)
    model = BetaGeoModel().fit(s.x, s.t_x, s.T, time_unit="weeks")
    assert model.diagnostics.screen_rows > 0
    full = BetaGeoModel()
    full._screen = lambda grouped: None  # every start on all rows
    full.fit(s.x, s.t_x, s.T, time_unit="weeks")
    assert model.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-10)
    for name in TRUE:
        assert model.params[name] == pytest.approx(full.params[name], rel=1e-4)


def _within(predicted: np.ndarray, observed: np.ndarray, sigmas: float = 4.0) -> None:
    """Mean prediction within `sigmas` standard errors of the mean observation."""
    error = np.std(observed - predicted, ddof=1) / np.sqrt(len(observed))
    difference = abs(predicted.mean() - observed.mean())
    assert difference < sigmas * error + 1e-9, (predicted.mean(), observed.mean())


def test_p_alive_matches_simulation_by_frequency(sim):
    model = fitted(TRUE)
    alive = model.p_alive(sim.x, sim.t_x, sim.T)
    assert np.all(alive[sim.x == 0] == 1.0)
    for low, high in ((1, 1), (2, 2), (3, 5), (6, np.inf)):
        rows = (sim.x >= low) & (sim.x <= high)
        _within(alive[rows], sim.alive[rows].astype(float))


def test_expected_purchases_match_simulation(sim):
    model = fitted(TRUE)
    expected = model.expected_purchases(sim.horizon, sim.x, sim.t_x, sim.T)
    _within(expected, sim.future)
    for low, high in ((0, 0), (1, 2), (3, np.inf)):
        rows = (sim.x >= low) & (sim.x <= high)
        _within(expected[rows], sim.future[rows])


def test_p_purchases_match_simulation_and_sum_to_one(sim):
    model = fitted(TRUE)
    for k in range(5):
        _within(model.p_purchases(k, sim.horizon, sim.x, sim.t_x, sim.T), (sim.future == k).astype(float))
    x, t_x, T = sim.x[:3000], sim.t_x[:3000], sim.T[:3000]
    k = np.arange(1500)[:, None]
    probs = model.p_purchases(k, sim.horizon, x, t_x, T)
    assert probs.shape == (1500, 3000)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-9)
    expected = model.expected_purchases(sim.horizon, x, t_x, T)
    np.testing.assert_allclose((k * probs).sum(axis=0), expected, rtol=1e-7)
    np.testing.assert_array_equal(probs[0], model.p_no_purchase(sim.horizon, x, t_x, T))


def test_new_customer_predictions_match_simulation(simulate):
    rng = np.random.default_rng(5)
    t = 30.0
    s = simulate(rng, 200_000, *TRUE.values(), T=np.full(200_000, t), horizon=0.0)
    model = fitted(TRUE)
    error = s.x.std() / np.sqrt(len(s.x))
    assert float(model.expected_purchases_new(t)) == pytest.approx(s.x.mean(), abs=4 * error)
    probs = np.array([model.p_purchases_new(k, t) for k in range(200)])
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)
    assert (np.arange(200) @ probs) == pytest.approx(float(model.expected_purchases_new(t)), rel=1e-8)
    for k in range(5):
        observed = (s.x == k).astype(float)
        assert probs[k] == pytest.approx(observed.mean(), abs=4 * observed.std() / np.sqrt(len(s.x)) + 1e-9)


def test_conditional_predictions_reduce_to_new_customer_ones():
    """A customer observed for an instant with no repeats is a new customer."""
    model = fitted(TRUE)
    tiny = 1e-12
    for t in (1.0, 10.0, 100.0):
        new = float(model.expected_purchases_new(t))
        assert model.expected_purchases(t, 0, 0, tiny)[0] == pytest.approx(new, rel=1e-9)
        for k in range(4):
            assert model.p_purchases(k, t, 0, 0, tiny)[0] == pytest.approx(float(model.p_purchases_new(k, t)),
                                                                          rel=1e-9)


@pytest.mark.parametrize("a", [1.0, 1.0 + 1e-9, 0.999999])
def test_predictions_are_continuous_at_a_equal_one(a):
    near = fitted({**TRUE, "a": a})
    away = fitted({**TRUE, "a": 1.0 + 1e-4})
    assert float(near.expected_purchases_new(20.0)) == pytest.approx(float(away.expected_purchases_new(20.0)),
                                                                     rel=1e-3)
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 10.0, 30.0]), np.array([35.0, 35.0, 35.0])
    np.testing.assert_allclose(near.expected_purchases(20.0, x, t_x, T),
                               away.expected_purchases(20.0, x, t_x, T), rtol=1e-3)


def test_prediction_shapes_and_no_nan():
    model = fitted(TRUE)
    x, t_x, T = np.array([0.0, 1.0, 5.0, 300.0]), np.array([0.0, 2.0, 30.0, 39.0]), np.array([39.0] * 4)
    for values in (model.p_alive(x, t_x, T), model.expected_purchases(10.0, x, t_x, T),
                   model.p_no_purchase(10.0, x, t_x, T), model.p_purchases(2, 10.0, x, t_x, T),
                   model.expected_purchases(np.array([0.0, 1.0, 1e4, 1e6]), x, t_x, T)):
        assert values.shape == (4,) and np.all(np.isfinite(values))
    assert model.p_alive(2, 10.0, 39.0).shape == (1,)  # scalars are one customer
    assert model.expected_purchases_new(np.array([1.0, 2.0])).shape == (2,)
    np.testing.assert_array_equal(model.expected_purchases(0.0, x, t_x, T), 0.0)


def test_dropout_collapse_is_flagged(simulate):
    """Poisson buyers who never leave: the fitted dropout probability collapses to 0."""
    rng = np.random.default_rng(2)
    T = rng.uniform(5.0, 52.0, size=5_000)
    s = simulate(rng, len(T), 0.8, 8.0, 1e-9, 1e9, T=T, horizon=1.0)  # p ~ Beta(1e-9, ...) is ~0
    model = BetaGeoModel().fit(s.x, s.t_x, s.T, time_unit="weeks")
    assert model.diagnostics.dropout_collapsed
    assert any("P(no purchase within the horizon)" in w for w in model.diagnostics.warnings)
    alive = model.p_alive(s.x, s.t_x, s.T)
    assert np.all(alive[s.x == 0] == 1.0)
    no_purchase = model.p_no_purchase(26.0, s.x, s.t_x, s.T)
    assert np.all(np.isfinite(no_purchase)) and no_purchase[s.x == 0].std() > 0  # still ranks one-time buyers


def test_unfitted_model_refuses_predictions():
    model = BetaGeoModel()
    with pytest.raises(ModelError, match="not fitted"):
        model.p_alive([1], [1], [2])
    with pytest.raises(ModelError, match="not fitted"):
        model.expected_purchases_new(1.0)
    with pytest.raises(ModelError, match="not fitted"):
        _ = model.params


def test_bad_fit_inputs_raise_model_error(cdnow):
    with pytest.raises(ModelError, match="at least 20 customers"):
        BetaGeoModel().fit([1, 0, 2], [3, 0, 4], [5, 5, 5])
    with pytest.raises(ModelError, match="no customer has a repeat purchase"):
        BetaGeoModel().fit(np.zeros(50), np.zeros(50), np.full(50, 10.0))
    with pytest.raises(ModelError, match="time_unit"):
        BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow["T"], time_unit="months")
    model = fitted(TRUE)
    with pytest.raises(ModelError, match="t must be finite and >= 0"):
        model.expected_purchases(-1.0, [1], [1], [2])
    with pytest.raises(ModelError, match="k must be a whole number"):
        model.p_purchases(1.5, 1.0, [1], [1], [2])
    with pytest.raises(ModelError, match="column 'recency'"):
        model.p_alive([1], [3], [2])


def test_non_convergence_is_a_model_error(cdnow, monkeypatch):
    from fidelis.models.clv import bgnbd

    monkeypatch.setattr(bgnbd, "bgnbd_loglik", lambda rows, params: (np.nan, np.full(4, np.nan)))
    with pytest.raises(ModelError, match="bgnbd: the fit did not converge from any of 3 starts"):
        BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow["T"], time_unit="weeks")


def test_save_load_round_trip_gives_identical_predictions(cdnow, tmp_path):
    model = BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow["T"], time_unit="weeks")
    path = model.save(tmp_path / "bgnbd.json")
    for loaded in (BetaGeoModel.load(path), load_model(path), load_model(model.to_dict())):
        assert isinstance(loaded, BetaGeoModel)
        assert loaded.params == model.params and loaded.standard_errors == model.standard_errors
        assert loaded.time_unit == "weeks" and loaded.n_customers == len(cdnow)
        assert loaded.log_likelihood == model.log_likelihood
        assert loaded.diagnostics == model.diagnostics
        args = (cdnow.frequency, cdnow.recency, cdnow["T"])
        np.testing.assert_array_equal(loaded.p_alive(*args), model.p_alive(*args))
        np.testing.assert_array_equal(loaded.expected_purchases(10, *args),
                                      model.expected_purchases(10, *args))
    saved = path.read_text()
    assert '"model": "bgnbd"' in saved and '"fidelis_version"' in saved and "NaN" not in saved


def test_beta_mixture_quadrature_matches_the_hypergeometric_form():
    """The fallback for extreme parameters agrees with eq. (10) wherever hyp2f1 is reliable."""
    from fidelis.models.clv.bgnbd import _hypergeometric_mean, beta_mixture_mean

    rng = np.random.default_rng(41)
    for _ in range(200):
        a = float(np.exp(rng.uniform(np.log(0.02), np.log(50.0))))
        shape = np.exp(rng.uniform(np.log(0.2), np.log(100.0), size=5))
        c = np.exp(rng.uniform(np.log(1e-3), np.log(50.0), size=5))
        b_post = np.exp(rng.uniform(np.log(0.05), np.log(500.0), size=5))
        np.testing.assert_allclose(beta_mixture_mean(shape, c, a, b_post),
                                   _hypergeometric_mean(shape, c, a, b_post), rtol=1e-8)


@pytest.mark.parametrize("params", [
    {"r": 0.5, "alpha": 0.01, "a": 0.5, "b": 800.0},  # hyp2f1 returns NaN here for long horizons
    {"r": 1.6e5, "alpha": 1e-3, "a": 1.6e-8, "b": 1.6e-8},  # every parameter at a search bound
    {"r": 1e-8, "alpha": 1.6e5, "a": 1.6e5, "b": 1e-8},
])
def test_predictions_stay_finite_and_bounded_at_extreme_parameters(params):
    model = fitted(params, time_unit="days")
    x, t_x, T = np.array([0.0, 1.0, 10.0, 1000.0]), np.array([0.0, 1.0, 250.0, 499.0]), np.full(4, 500.0)
    previous = np.zeros(4)
    for t in (1.0, 30.0, 365.0, 1e5):
        expected = model.expected_purchases(t, x, t_x, T)
        assert np.all(np.isfinite(expected)) and np.all(expected >= previous - 1e-9)
        previous = expected
        assert np.isfinite(model.expected_purchases_new(t)) and 0 <= model.p_no_purchase(t, x, t_x, T).min()
    assert np.all(np.isfinite(model.p_alive(x, t_x, T)))
