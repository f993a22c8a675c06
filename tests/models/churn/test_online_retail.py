"""Acceptance on real data: Online Retail, 90-day horizon, as of 2011-09-01 (the end of the file).

The churn model, trained on cutoffs whose labels end by the evaluation cutoff, must beat recency
alone, 1 - P(alive) and BG/NBD's P(no purchase in 90 days) on AUC and on PR-AUC at that cutoff.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import ibis
import pytest

from fidelis.models.churn import score_churn, train_churn

BASELINES = ("recency", "one_minus_p_alive", "bgnbd_p_no_purchase")


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.fixture(scope="module")
def retail(online_retail_warehouse):
    con = duckdb.connect(str(online_retail_warehouse), read_only=True)
    backend = ibis.duckdb.from_connection(con)
    training = train_churn(backend, reporting_currency="GBP", horizon_days=90, as_of=date(2011, 8, 31))
    yield training, backend
    con.close()


def test_the_model_beats_every_baseline_on_auc_and_pr_auc(retail):
    training, _ = retail
    print("\n" + training.describe())
    metrics = training.metrics.set_index("scorer")
    for baseline in BASELINES:
        assert metrics.loc["model", "auc"] > metrics.loc[baseline, "auc"], baseline
        assert metrics.loc["model", "pr_auc"] > metrics.loc[baseline, "pr_auc"], baseline
    # BG/NBD gives every one-time buyer P(alive) = 1: 1 - P(alive) ranks churn worse than chance here
    assert metrics.loc["one_minus_p_alive", "auc"] < 0.5
    assert metrics.loc["one_minus_p_alive", "note"] != ""


def test_dates_and_rows(retail):
    training, _ = retail
    schedule = training.schedule
    assert schedule.as_of == utc(2011, 9, 1)
    assert schedule.evaluation_cutoff == utc(2011, 6, 3)
    assert schedule.training_cutoffs == (utc(2011, 3, 5), utc(2011, 2, 3), utc(2011, 1, 4))
    assert schedule.final_cutoffs[0] == utc(2011, 6, 3) and len(schedule.final_cutoffs) == 6
    assert training.evaluation.rows == 2735  # customers with a purchase before 2011-06-03
    assert training.train.rows == 4004


def test_every_customer_is_scored(retail):
    training, backend = retail
    scores = score_churn(backend, training.model, reporting_currency="GBP")
    assert len(scores) == 3317 and scores["customer_id"].is_unique
    assert scores["churn_probability"].between(0, 1).all()
    assert not scores[["reason_1", "reason_2", "reason_3"]].isna().any().any()
    assert scores.attrs["as_of"] == utc(2011, 9, 1)
