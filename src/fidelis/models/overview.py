"""The models' part of the report: CLV distribution, P(alive) by segment, the early-warning list.

`fidelis analyze` runs the models as the CLI commands would (fit, predict, train, score; every
result stored in the warehouse with its model card) and hands the report what it shows. A model
that cannot run on the data (too little history for churn validation, no repeat buyers) leaves
a note in the report instead of failing the whole analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from fidelis.errors import ModelError
from fidelis.models import service

Progress = Callable[[str], None]


@dataclass
class Predictions:
    """What the report shows of the models; empty frames and a note when a model could not run."""

    clv: pd.DataFrame  # customer_id, market, segment, expected_purchases, p_alive, expected_spend, clv
    horizon_days: int
    at_risk: pd.DataFrame  # the early-warning list
    churn_evaluation: pd.DataFrame
    band_counts: dict[str, int]
    notes: list[str] = field(default_factory=list)
    clv_card: dict | None = None
    churn_card: dict | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The exported tables (CSV/Parquet next to the report)."""
        tables = {"clv_scores": self.clv}
        if not self.at_risk.empty:
            tables["early_warning"] = self.at_risk
        if not self.churn_evaluation.empty:
            tables["churn_evaluation"] = self.churn_evaluation
        return tables


def predictions_for_report(warehouse, *, as_of, summary: pa.Table, settings=None,
                           progress: Progress | None = None) -> Predictions:
    """Fit and score both models on the warehouse; `summary` (with segments) labels the customers."""
    step = progress or (lambda stage: None)
    segments = summary.select(["customer_id", "market", "segment"]).to_pandas()
    notes: list[str] = []
    step("customer lifetime value")
    try:
        predicted = service.predict_clv(warehouse, as_of=as_of, refit=True, settings=settings)
    except ModelError as exc:
        return Predictions(pd.DataFrame(), 0, pd.DataFrame(), pd.DataFrame(), {},
                           [f"CLV models not fitted: {exc}"])
    clv = segments.merge(predicted.scores, on="customer_id", how="inner")
    notes += predicted.models.warnings
    at_risk, evaluation, bands, churn_card = pd.DataFrame(), pd.DataFrame(), {}, None
    try:
        step("training the churn model")
        trained = service.train_churn_model(warehouse, as_of=as_of, settings=settings)
        step("scoring churn")
        scored = service.score_churn_customers(warehouse, as_of=as_of, settings=settings)
        evaluation, churn_card = trained.evaluation, trained.card.public()
        notes += trained.warnings
        at_risk = scored.at_risk.merge(segments, on="customer_id", how="left")
        bands = {str(k): int(v) for k, v in scored.scores["risk_band"].value_counts().items()}
    except ModelError as exc:
        notes.append(f"churn model not trained: {exc}")
    return Predictions(clv, predicted.horizon_days, at_risk, evaluation, bands, notes,
                       predicted.models.card.public(), churn_card)
