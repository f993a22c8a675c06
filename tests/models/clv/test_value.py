"""Customer lifetime value: the discounted sum, its settings and its guarantees."""

from __future__ import annotations

import numpy as np
import pytest

from fidelis.errors import ModelError
from fidelis.models.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel, customer_lifetime_value


@pytest.fixture(scope="module")
def models(cdnow_spend):
    purchases = BetaGeoModel().fit(cdnow_spend.x, cdnow_spend.t_x, cdnow_spend["T"], time_unit="weeks")
    spend = GammaGammaModel().fit(cdnow_spend.x, cdnow_spend.zbar)
    return purchases, spend


def clv(models, data, **settings):
    purchases, spend = models
    return customer_lifetime_value(purchases, spend, data.x, data.t_x, data["T"], data.zbar, **settings)


def test_undiscounted_value_is_expected_purchases_times_spend(models, cdnow_spend):
    purchases, spend = models
    value = clv(models, cdnow_spend, horizon=52.0, step=4.0, margin=0.3)
    expected = (purchases.expected_purchases(52.0, cdnow_spend.x, cdnow_spend.t_x, cdnow_spend["T"])
                * spend.expected_spend(cdnow_spend.x, cdnow_spend.zbar) * 0.3)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert np.all(np.isfinite(value)) and np.all(value >= 0)


def test_discounting_by_step(models, cdnow_spend):
    purchases, spend = models
    data = cdnow_spend.iloc[:50]
    value = clv(models, data, horizon=10.0, step=4.0, discount_rate_per_step=0.1)  # steps end at 4, 8, 10
    cumulative = [purchases.expected_purchases(t, data.x, data.t_x, data["T"]) for t in (4.0, 8.0, 10.0)]
    increments = np.diff(np.vstack([np.zeros(len(data)), *cumulative]), axis=0)
    expected = sum(increments[i] / 1.1 ** (i + 1) for i in range(3)) * spend.expected_spend(data.x, data.zbar)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    undiscounted = clv(models, data, horizon=10.0, step=4.0)
    assert np.all(value < undiscounted)


def test_works_with_pareto_nbd(cdnow_spend, models):
    purchases = ParetoNBDModel().fit(cdnow_spend.x, cdnow_spend.t_x, cdnow_spend["T"], time_unit="weeks")
    value = customer_lifetime_value(purchases, models[1], cdnow_spend.x, cdnow_spend.t_x, cdnow_spend["T"],
                                    cdnow_spend.zbar, horizon=52.0, step=1.0, discount_rate_per_step=0.002)
    assert value.shape == (len(cdnow_spend),) and np.all(np.isfinite(value))


@pytest.mark.parametrize(("settings", "message"), [
    ({"horizon": 0.0, "step": 1.0}, "horizon must be a finite number > 0"),
    ({"horizon": -5.0, "step": 1.0}, "horizon must be a finite number > 0"),
    ({"horizon": 10.0, "step": 0.0}, "step must be a finite number > 0"),
    ({"horizon": 10.0, "step": 1.0, "margin": 0.0}, r"margin must be within \(0, 1\]"),
    ({"horizon": 10.0, "step": 1.0, "margin": 1.5}, r"margin must be within \(0, 1\]"),
    ({"horizon": 10.0, "step": 1.0, "discount_rate_per_step": -0.1}, "discount_rate_per_step"),
])
def test_bad_settings_raise_model_error(models, cdnow_spend, settings, message):
    with pytest.raises(ModelError, match=message):
        clv(models, cdnow_spend.iloc[:5], **settings)


def test_wrong_models_and_unfitted_models_are_refused(models, cdnow_spend):
    data = cdnow_spend.iloc[:5]
    purchases, spend = models
    with pytest.raises(ModelError, match="spend_model must be a GammaGammaModel"):
        customer_lifetime_value(purchases, purchases, data.x, data.t_x, data["T"], data.zbar,
                                horizon=1, step=1)
    with pytest.raises(ModelError, match="not fitted"):
        customer_lifetime_value(BetaGeoModel(), spend, data.x, data.t_x, data["T"], data.zbar,
                                horizon=1, step=1)
