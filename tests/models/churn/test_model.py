"""Training and scoring on the simulated shop: calibrated probabilities, reasons, save/load, determinism."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import ibis
import numpy as np
import pytest
from tests.models.churn.churn_data import AS_OF, FAST_OPTIONS

from fidelis.errors import ModelError
from fidelis.models.churn import ChurnModel, churn_features, score_churn, train_churn
from fidelis.models.churn.features import FEATURES
from fidelis.models.churn.pipeline import SCORERS, churn_inputs, order_lines_of


@pytest.fixture(scope="module")
def trained(simulated_warehouse):
    con = duckdb.connect(str(simulated_warehouse), read_only=True)
    backend = ibis.duckdb.from_connection(con)
    messages: list[str] = []
    training = train_churn(backend, reporting_currency="EUR", horizon_days=60, options=FAST_OPTIONS,
                           progress=messages.append)
    scores = score_churn(backend, training.model, reporting_currency="EUR")
    yield training, scores, backend, messages
    con.close()


def test_training_run_records_its_dates_rows_and_metrics(trained):
    training, _, _, messages = trained
    schedule = training.schedule
    assert schedule.as_of == AS_OF
    assert schedule.evaluation_cutoff == AS_OF - timedelta(days=60)
    assert schedule.training_cutoffs == tuple(AS_OF - timedelta(days=120 + 30 * k) for k in range(3))
    assert schedule.final_cutoffs == tuple(AS_OF - timedelta(days=60 + 30 * k) for k in range(3))
    assert list(training.metrics["scorer"]) == list(SCORERS)
    assert training.train.rows > training.train.customers >= FAST_OPTIONS.min_customers
    assert 0 < training.evaluation.base_rate < 1
    assert training.bgnbd.fitted and set(training.bgnbd.params) == {"r", "alpha", "a", "b"}
    assert set(training.feature_importances["feature"]) == set(FEATURES)
    assert any(message.startswith("fitting the production model") for message in messages)
    metrics = training.metrics.set_index("scorer")
    assert metrics.loc["model", "auc"] > 0.7  # churn in the simulated shop is learnable
    print(training.describe())


def test_probabilities_are_calibrated_and_never_nan(trained):
    training, scores, _, _ = trained
    probability = scores["churn_probability"].to_numpy()
    assert np.all(np.isfinite(probability)) and probability.min() >= 0 and probability.max() <= 1
    assert training.model.calibration.slope > 0  # contributions keep their direction after calibration
    # out-of-fold calibration: at the evaluation cutoff the mean probability is near the churn rate
    evaluation_brier = training.metrics.set_index("scorer").loc["model", "brier"]
    assert evaluation_brier < training.evaluation.base_rate * (1 - training.evaluation.base_rate)


def test_scores_cover_every_customer_with_reasons(trained):
    _, scores, _, _ = trained
    assert scores["customer_id"].is_unique and len(scores) == 220
    assert list(scores.columns[:5]) == ["customer_id", "churn_probability", "reason_1", "reason_2", "reason_3"]
    reasons = scores[["reason_1", "reason_2", "reason_3"]]
    assert not reasons.isna().any().any()
    riskiest = scores.nlargest(20, "churn_probability")
    assert (riskiest["reason_1"] != "").all()
    # an empty reason is never followed by a filled one
    filled = (reasons != "").to_numpy()
    assert np.all(filled[:, 1:] <= filled[:, :-1])


def test_contributions_add_up_to_the_log_odds(trained):
    training, _, backend, _ = trained
    features = churn_features(churn_inputs(backend, reporting_currency="EUR", as_of=None), horizon_days=60,
                              order_lines=order_lines_of(backend))
    contributions = training.model.contributions(features)
    assert np.allclose(contributions.sum(axis=1), training.model.margin(features))


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    training, scores, backend, _ = trained
    path = training.model.save(tmp_path / "churn.json")
    loaded = ChurnModel.load(path)
    again = score_churn(backend, loaded, reporting_currency="EUR")
    assert np.array_equal(again["churn_probability"].to_numpy(), scores["churn_probability"].to_numpy())
    assert again[["reason_1", "reason_2", "reason_3"]].equals(scores[["reason_1", "reason_2", "reason_3"]])
    assert ChurnModel.from_dict(json.loads(path.read_text())).to_dict() == loaded.to_dict()


def test_same_data_and_seed_give_the_same_model(trained):
    training, _, backend, _ = trained
    again = train_churn(backend, reporting_currency="EUR", horizon_days=60, options=FAST_OPTIONS)
    assert again.model.booster.model_to_string() == training.model.booster.model_to_string()
    assert again.metrics.equals(training.metrics)


def test_a_damaged_model_file_is_refused(tmp_path):
    with pytest.raises(ModelError, match="no churn model file there"):
        ChurnModel.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="bad.json: not a churn model file"):
        ChurnModel.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "fidelis.clv/1"}', encoding="utf-8")
    with pytest.raises(ModelError, match="not a churn model document"):
        ChurnModel.load(tmp_path / "other.json")
