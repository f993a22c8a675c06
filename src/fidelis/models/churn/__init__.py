"""Churn risk with reasons: who is unlikely to buy within a horizon, and why.

Features at a cutoff come only from data before it (`features`); the label is no purchase in the
H days after. Gradient boosting (LightGBM) is trained on stacked past cutoffs and judged at a later
one against recency alone and BG/NBD (`training`, `evaluation`), with calibrated probabilities
(`model`) and the top three reasons from the model's own contributions (`reasons`).

    training = train_churn(backend, reporting_currency="GBP", horizon_days=90)
    print(training.describe())
    scores = score_churn(backend, training.model, reporting_currency="GBP")
"""

from fidelis.models.churn.evaluation import compare, lift_top
from fidelis.models.churn.features import BgnbdFit, FeatureSet, churn_features, churn_labels, feature_set
from fidelis.models.churn.model import ChurnModel, ChurnOptions, fit_churn_model
from fidelis.models.churn.pipeline import ChurnTraining, score_churn, train_churn
from fidelis.models.churn.reasons import top_reasons
from fidelis.models.churn.training import ChurnSchedule, churn_schedule

__all__ = [
    "BgnbdFit", "ChurnModel", "ChurnOptions", "ChurnSchedule", "ChurnTraining", "FeatureSet", "churn_features",
    "churn_labels", "churn_schedule", "compare", "feature_set", "fit_churn_model", "lift_top", "score_churn",
    "top_reasons", "train_churn",
]
