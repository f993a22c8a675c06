"""A BG/NBD fit whose dropout collapsed: detected, said, and P(no purchase in H) used in its place.

The collapse is forced on an ordinary fit (its diagnostics say so), so the test does not depend
on finding data that make the optimiser run `a` to zero.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tests.models.churn.churn_data import FAST_OPTIONS

import fidelis.models.clv as clv
from fidelis.analytics.inputs import inputs_from_backend
from fidelis.models.churn import feature_set, features, train_churn


class CollapsedBetaGeo(clv.BetaGeoModel):
    def fit(self, *args, **kwargs):
        super().fit(*args, **kwargs)
        self.diagnostics.dropout_collapsed = True
        self.diagnostics.warnings.append("bgnbd: the dropout parameter collapsed (forced by the test)")
        return self


@pytest.fixture
def collapsed(monkeypatch):
    monkeypatch.setattr(features, "BetaGeoModel", CollapsedBetaGeo)


def test_features_leave_p_alive_out_and_keep_p_no_purchase(collapsed, simulated_warehouse, open_backend):
    inputs = inputs_from_backend(open_backend(simulated_warehouse), reporting_currency="EUR")
    result = feature_set(replace(inputs, as_of=datetime(2023, 10, 1, tzinfo=UTC)), horizon_days=60)
    frame = result.frame
    assert result.bgnbd.dropout_collapsed
    assert frame["p_alive"].isna().all()
    assert frame["p_alive_raw"].notna().all() and frame["p_no_purchase_h"].notna().all()
    assert result.warnings == ("BG/NBD at the cutoff 2023-10-01: bgnbd: the dropout parameter collapsed "
                               "(forced by the test)",)


def test_training_flags_the_p_alive_baseline_and_warns(collapsed, simulated_warehouse, open_backend):
    training = train_churn(open_backend(simulated_warehouse), reporting_currency="EUR", horizon_days=60,
                           options=FAST_OPTIONS)
    metrics = training.metrics.set_index("scorer")
    assert metrics.loc["one_minus_p_alive", "note"].startswith("BG/NBD dropout collapsed (a = ")
    assert "bgnbd_p_no_purchase is the BG/NBD churn score" in metrics.loc["one_minus_p_alive", "note"]
    assert metrics.loc["bgnbd_p_no_purchase", "note"] == ""
    assert training.bgnbd.dropout_collapsed
    assert any("collapsed" in message for message in training.warnings)
    assert "warning: BG/NBD at the cutoff" in training.describe()
