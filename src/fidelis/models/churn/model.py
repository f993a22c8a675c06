"""The churn classifier: LightGBM on the churn features, calibrated on out-of-fold predictions.

Rows are (customer, cutoff) pairs, so one customer can appear at several cutoffs. Every split
here groups rows by customer (GroupKFold): a customer's rows are never on both sides, or the
cross-validated number of rounds and the calibration would be fitted on near-copies of the rows
they are judged on. All rows handed in are already in the past of whatever the model is judged
on (see `fidelis.models.churn.training`); nothing here looks at time.

Calibration maps the booster's log-odds to probabilities: Platt scaling (a slope and an
intercept on the log-odds) by default, which keeps the order of the scores and keeps the
per-feature contributions (log-odds) pointing the same way as the calibrated probability.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from fidelis.errors import ModelError
from fidelis.models.churn.features import CATEGORICAL_FEATURES, FEATURES

FORMAT = "fidelis.churn/1"


@dataclass(frozen=True)
class ChurnOptions:
    """How the churn model is trained; the defaults suit a few thousand to a million customers.

    Small trees and a slow learning rate: churn rows are noisy and a few thousand customers are
    common, so depth buys overfitting before it buys accuracy. The number of rounds is not set
    here but chosen by grouped cross-validation on the training rows (up to `rounds_max`).
    """

    horizon_days: int = 90
    cutoff_step_days: int = 30
    training_cutoffs_max: int = 6
    min_history_days: int = 30
    min_customers: int = 50
    seed: int = 0
    num_leaves: int = 15
    min_child_samples: int = 20
    learning_rate: float = 0.05
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    rounds_max: int = 1000
    early_stopping_rounds: int = 50
    cv_folds: int = 5
    #: One thread: the same model string everywhere, and OpenMP threads that spin-wait on a busy
    #: machine made two threads 2.5x slower than one on Online Retail. Raise it for millions of rows.
    num_threads: int = 1
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"

    def lightgbm_params(self) -> dict[str, Any]:
        """Deterministic LightGBM parameters: the same data and seed give the same model string."""
        return {
            "objective": "binary",
            "metric": "binary_logloss",
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "learning_rate": self.learning_rate,
            "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "verbose": -1,
        }


@dataclass(frozen=True)
class Calibration:
    """Log-odds to probability: `sigmoid` (slope, intercept) or `isotonic` (interpolation knots)."""

    method: Literal["sigmoid", "isotonic"]
    slope: float = 1.0
    intercept: float = 0.0
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()

    def apply(self, margin: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            values = np.interp(margin, self.knots_x, self.knots_y)
        else:
            values = expit(self.slope * margin + self.intercept)
        return np.clip(values, 0.0, 1.0)


@dataclass
class ChurnModel:
    """A boosted-tree churn classifier with its calibration, feature order and market levels."""

    booster: lgb.Booster
    calibration: Calibration
    feature_names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    horizon_days: int
    rounds: int
    metadata: dict[str, Any] = field(default_factory=dict)

    # -------------------------------------------------------------- scoring

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated P(no purchase within the horizon) per row: in [0, 1], never NaN."""
        probabilities = self.calibration.apply(self.margin(features))
        if not np.all(np.isfinite(probabilities)):
            raise ModelError("the churn model gave a non-finite probability; the saved model may be damaged")
        return probabilities

    def margin(self, features: pd.DataFrame) -> np.ndarray:
        """The booster's raw log-odds of churn (before calibration)."""
        return np.asarray(self.booster.predict(self.design_matrix(features), raw_score=True), dtype="float64")

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to the churn log-odds (LightGBM pred_contrib) plus `bias`.

        Row sums equal `margin`; a positive value pushes the customer towards churn (the
        calibration slope is positive, so this holds for the calibrated probability too).
        """
        values = self.booster.predict(self.design_matrix(features), pred_contrib=True)
        return pd.DataFrame(np.asarray(values, dtype="float64"), columns=[*self.feature_names, "bias"],
                            index=features.index)

    def design_matrix(self, features: pd.DataFrame) -> np.ndarray:
        """Features in training order as floats; categories as their training codes (unseen: NaN)."""
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ModelError(f"the churn features lack the column(s) {', '.join(missing)} the model was trained on")
        return design_matrix(features, self.feature_names, self.categories)

    def feature_importances(self) -> pd.DataFrame:
        """Total gain and split count per feature, largest gain first."""
        table = pd.DataFrame({
            "feature": list(self.feature_names),
            "gain": self.booster.feature_importance(importance_type="gain"),
            "splits": self.booster.feature_importance(importance_type="split"),
        })
        total = table["gain"].sum()
        table["gain_share"] = table["gain"] / total if total > 0 else 0.0
        return table.sort_values(["gain", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)

    # -------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "horizon_days": self.horizon_days,
            "rounds": self.rounds,
            "feature_names": list(self.feature_names),
            "categories": {name: list(levels) for name, levels in self.categories.items()},
            "calibration": asdict(self.calibration),
            "metadata": self.metadata,
            "booster": self.booster.model_to_string(),
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ChurnModel:
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            found = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise ModelError(f"not a churn model document (format {found!r}, expected {FORMAT!r})")
        calibration = dict(document["calibration"])
        calibration["knots_x"] = tuple(calibration.get("knots_x", ()))
        calibration["knots_y"] = tuple(calibration.get("knots_y", ()))
        return cls(
            booster=lgb.Booster(model_str=document["booster"]),
            calibration=Calibration(**calibration),
            feature_names=tuple(document["feature_names"]),
            categories={name: tuple(levels) for name, levels in document["categories"].items()},
            horizon_days=int(document["horizon_days"]),
            rounds=int(document["rounds"]),
            metadata=dict(document.get("metadata", {})),
        )

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | str) -> ChurnModel:
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: no churn model file there") from None
        except json.JSONDecodeError as error:
            raise ModelError(f"{path}: not a churn model file (invalid JSON at line {error.lineno})") from None
        try:
            return cls.from_dict(document)
        except ModelError as error:
            raise ModelError(f"{path}: {error}") from None


# ---------------------------------------------------------------- fitting

def fit_churn_model(features: pd.DataFrame, labels: np.ndarray, *, groups: np.ndarray, options: ChurnOptions,
                    feature_names: Sequence[str] = FEATURES, metadata: dict[str, Any] | None = None) -> ChurnModel:
    """Fit on stacked (customer, cutoff) rows: rounds and calibration from folds grouped by customer."""
    labels = np.asarray(labels, dtype="float64")
    groups = np.asarray(groups)
    _check_rows(labels, groups, options)
    names = tuple(feature_names)
    categories = {name: _levels(features[name]) for name in names if name in CATEGORICAL_FEATURES}
    matrix = design_matrix(features, names, categories)
    categorical = [index for index, name in enumerate(names) if name in categories]
    folds = grouped_folds(labels, groups, options)
    rounds, oof_margin = _cross_validate(matrix, labels, folds, categorical, options)
    calibration = fit_calibration(oof_margin, labels, options.calibration)
    dataset = lgb.Dataset(matrix, label=labels, feature_name=list(names), categorical_feature=categorical,
                          free_raw_data=False)
    booster = lgb.train(options.lightgbm_params(), dataset, num_boost_round=rounds)
    meta = {"rows": int(len(labels)), "customers": int(len(np.unique(groups))), "base_rate": float(labels.mean()),
            "options": asdict(options), **(metadata or {})}
    return ChurnModel(booster=booster, calibration=calibration, feature_names=names, categories=categories,
                      horizon_days=options.horizon_days, rounds=rounds, metadata=meta)


def _check_rows(labels: np.ndarray, groups: np.ndarray, options: ChurnOptions) -> None:
    customers = len(np.unique(groups))
    if customers < options.min_customers:
        raise ModelError(f"too few customers to train a churn model: {customers} in the training rows, "
                         f"at least {options.min_customers} needed")
    churned = int(labels.sum())
    if churned == 0 or churned == len(labels):
        kind = "churned" if churned else "bought again"
        raise ModelError(f"every customer in the training rows {kind} within the horizon: "
                         "a churn model needs both outcomes")


def grouped_folds(labels: np.ndarray, groups: np.ndarray,
                  options: ChurnOptions) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold by customer (as many folds as there are customers, up to `cv_folds`)."""
    from sklearn.model_selection import GroupKFold

    splits = min(options.cv_folds, len(np.unique(groups)))
    return [(train, test) for train, test in GroupKFold(n_splits=splits).split(labels, labels, groups)]


def _cross_validate(matrix: np.ndarray, labels: np.ndarray, folds: list, categorical: list[int],
                    options: ChurnOptions) -> tuple[int, np.ndarray]:
    """Rounds at the lowest mean held-out log loss, and each row's held-out log-odds at that round."""
    dataset = lgb.Dataset(matrix, label=labels, categorical_feature=categorical, free_raw_data=False)
    result = lgb.cv(options.lightgbm_params(), dataset, num_boost_round=options.rounds_max, folds=folds,
                    stratified=False, return_cvbooster=True,
                    callbacks=[lgb.early_stopping(options.early_stopping_rounds, verbose=False)])
    rounds = len(result["valid binary_logloss-mean"])
    boosters = result["cvbooster"].boosters
    oof = np.empty(len(labels), dtype="float64")
    for booster, (_, test) in zip(boosters, folds, strict=True):
        oof[test] = booster.predict(matrix[test], raw_score=True, num_iteration=rounds)
    return rounds, oof


def fit_calibration(margin: np.ndarray, labels: np.ndarray,
                    method: Literal["sigmoid", "isotonic"] = "sigmoid") -> Calibration:
    """Map held-out log-odds to probabilities that match the observed churn rates."""
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(margin, labels)
        return Calibration(method="isotonic", knots_x=tuple(map(float, iso.X_thresholds_)),
                           knots_y=tuple(map(float, iso.y_thresholds_)))
    slope, intercept = platt(margin, labels)
    if slope <= 0:  # reasons read contributions as pushes towards churn: that needs a rising map
        raise ModelError("the churn model's held-out scores do not rank churn (calibration slope "
                         f"{slope:.3g} <= 0): the data hold too little signal to train on")
    return Calibration(method="sigmoid", slope=slope, intercept=intercept)


def platt(score: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic regression of the labels on one score: slope and intercept (maximum likelihood).

    A tiny ridge keeps the fit finite when the score separates the classes perfectly.
    """
    score = np.asarray(score, dtype="float64")
    labels = np.asarray(labels, dtype="float64")

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        z = params[0] * score + params[1]
        p = expit(z)
        value = np.sum(np.logaddexp(0.0, z) - labels * z) + 1e-6 * params @ params
        gradient = np.array([np.sum((p - labels) * score), np.sum(p - labels)]) + 2e-6 * params
        return float(value), gradient

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    slope, intercept = (float(v) for v in result.x)
    if not (np.isfinite(slope) and np.isfinite(intercept)):
        raise ModelError("the churn calibration did not converge")
    return slope, intercept


# ---------------------------------------------------------------- design matrix

def design_matrix(features: pd.DataFrame, names: Sequence[str], categories: dict[str, tuple[str, ...]]) -> np.ndarray:
    """A float matrix in `names` order; categorical columns as codes of `categories` (unseen: NaN)."""
    columns = []
    for name in names:
        if name in categories:
            codes = pd.Categorical(features[name].astype(object), categories=list(categories[name])).codes
            columns.append(np.where(codes < 0, np.nan, codes).astype("float64"))
        else:
            values = pd.to_numeric(features[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            columns.append(np.where(np.isfinite(values), values, np.nan))
    return np.column_stack(columns) if columns else np.empty((len(features), 0))


def _levels(values: pd.Series) -> tuple[str, ...]:
    """The category levels seen in training, sorted (the codes the booster's splits refer to)."""
    return tuple(sorted({str(value) for value in values.dropna()}))
