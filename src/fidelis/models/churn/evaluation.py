"""How well churn scores rank and calibrate, for the model and its baselines in one table.

AUC and PR-AUC (average precision) judge the ranking: who to contact first. The Brier score
judges the probabilities themselves, so it is only reported for scorers that give one. Lift in
the top decile is what a retention campaign gets: the churn rate among the 10% ranked riskiest,
over the base rate. Ties at the decile's edge (recency in whole days, P(alive) = 1 for every
one-time buyer) count in proportion, so a scorer gets no credit for the order rows happen to be in.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from fidelis.errors import ModelError

METRIC_COLUMNS = ("auc", "pr_auc", "brier", "lift_top_decile")


def compare(scores: Mapping[str, np.ndarray], labels: np.ndarray, *, probabilities: set[str] | None = None,
            notes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per scorer (in the order given): AUC, PR-AUC, Brier, top-decile lift, and a note.

    `probabilities` names the scorers whose scores are probabilities (default: all); the others
    get no Brier score. `notes` flags a scorer, e.g. a BG/NBD fit whose dropout collapsed.
    """
    labels = _labels(labels)
    notes = notes or {}
    rows = []
    for name, score in scores.items():
        score = np.asarray(score, dtype="float64")
        if score.shape != labels.shape:
            raise ModelError(f"churn scorer '{name}': {score.size} scores for {labels.size} labels")
        if not np.all(np.isfinite(score)):
            raise ModelError(f"churn scorer '{name}' has {int((~np.isfinite(score)).sum())} missing scores")
        is_probability = probabilities is None or name in probabilities
        rows.append({
            "scorer": name,
            "auc": float(roc_auc_score(labels, score)),
            "pr_auc": float(average_precision_score(labels, score)),
            "brier": float(brier_score_loss(labels, score)) if is_probability else float("nan"),
            "lift_top_decile": lift_top(score, labels, share=0.1),
            "note": notes.get(name, ""),
        })
    table = pd.DataFrame(rows, columns=["scorer", *METRIC_COLUMNS, "note"])
    table.attrs.update(rows=int(labels.size), base_rate=float(labels.mean()))
    return table


def lift_top(score: np.ndarray, labels: np.ndarray, *, share: float = 0.1) -> float:
    """Churn rate among the `share` of rows with the highest scores, over the base rate (ties pro rata)."""
    labels = _labels(labels)
    score = np.asarray(score, dtype="float64")
    base_rate = labels.mean()
    take = share * labels.size
    frame = pd.DataFrame({"score": score, "churned": labels})
    tied = frame.groupby("score", sort=True)["churned"].agg(["size", "sum"]).iloc[::-1]
    before = tied["size"].cumsum() - tied["size"]
    weight = np.clip((take - before) / tied["size"], 0.0, 1.0)
    churned_in_top = float((weight * tied["sum"]).sum())
    return churned_in_top / take / base_rate


def _labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels, dtype="float64")
    if labels.size == 0:
        raise ModelError("no customers to evaluate churn scores on")
    if not np.all(np.isin(labels, (0.0, 1.0))):
        raise ModelError("churn labels must be 0 or 1")
    if labels.min() == labels.max():
        outcome = "churned" if labels[0] == 1 else "bought again"
        raise ModelError(f"every evaluated customer {outcome}: churn scores cannot be compared on one outcome")
    return labels
