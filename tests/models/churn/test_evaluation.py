"""Evaluation metrics on hand-made scores: AUC, PR-AUC, Brier and top-decile lift with ties pro rata."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fidelis.errors import ModelError
from fidelis.models.churn import compare, lift_top

LABELS = np.array([1] * 4 + [0] * 16)  # base rate 0.2


def test_perfect_scorer():
    score = np.linspace(1, 0, 20)
    table = compare({"perfect": score}, LABELS).set_index("scorer")
    assert table.loc["perfect", "auc"] == 1.0
    assert table.loc["perfect", "pr_auc"] == 1.0
    # the top 10% (2 rows) are both churners: 1.0 / 0.2
    assert table.loc["perfect", "lift_top_decile"] == pytest.approx(5.0)
    assert table.attrs["rows"] == 20 and table.attrs["base_rate"] == pytest.approx(0.2)


def test_ties_count_pro_rata():
    # every score tied: the top decile is the base rate, whatever the row order
    assert lift_top(np.zeros(20), LABELS) == pytest.approx(1.0)
    # the two top rows tie with four others (1 churner among 6 tied): 2 * 1/6 churners expected in the top 2
    score = np.array([0.9] * 6 + [0.1] * 14)
    labels = np.array([1, 0, 0, 0, 0, 0] + [1, 1, 1] + [0] * 11)
    assert lift_top(score, labels) == pytest.approx((1 / 6) / 0.2)


def test_brier_only_for_probabilities_and_notes_kept():
    score = np.linspace(0.9, 0.1, 20)
    table = compare({"model": score, "days": score * 300}, LABELS, probabilities={"model"},
                    notes={"days": "not a probability"}).set_index("scorer")
    expected = np.mean((score - LABELS) ** 2)
    assert table.loc["model", "brier"] == pytest.approx(expected)
    assert math.isnan(table.loc["days", "brier"])
    assert table.loc["days", "auc"] == table.loc["model", "auc"]  # a monotone rescaling ranks the same
    assert table.loc["days", "note"] == "not a probability" and table.loc["model", "note"] == ""


def test_bad_scores_and_labels_are_refused():
    with pytest.raises(ModelError, match="'broken' has 1 missing scores"):
        compare({"broken": np.r_[np.nan, np.zeros(19)]}, LABELS)
    with pytest.raises(ModelError, match="every evaluated customer churned"):
        compare({"model": np.zeros(5)}, np.ones(5))
    with pytest.raises(ModelError, match="3 scores for 20 labels"):
        compare({"model": np.zeros(3)}, LABELS)
