"""The time scheme of churn training: which cutoffs train, which one evaluates, and never the future.

With the end of the data A and the horizon H:

- the evaluation cutoff is c_val = A - H: its labels need [c_val, A), the last H days there are;
- training cutoffs are c_val - H - k * step (k = 0, 1, ...): their label windows end by c_val,
  so the model judged at c_val has seen nothing from the period it is judged on;
- the production model takes the same steps shifted forward by H (c_val, c_val - step, ...),
  labels ending by A, and scores customers at A.

A cutoff needs `min_history_days` of orders before it (a cutoff a week after the first order
would describe every customer as new), and at most `training_cutoffs_max` are stacked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from fidelis.analytics.inputs import AnalyticsInputs
from fidelis.errors import ModelError
from fidelis.models.churn.features import (
    FeatureSet,
    check_horizon,
    churn_labels,
    cutoff_text,
    feature_set,
    last_day_text,
)
from fidelis.models.churn.model import ChurnOptions


@dataclass(frozen=True)
class ChurnSchedule:
    """The instants one training run uses (all UTC, cutoffs exclusive: data strictly before)."""

    as_of: datetime
    horizon_days: int
    evaluation_cutoff: datetime
    training_cutoffs: tuple[datetime, ...]
    final_cutoffs: tuple[datetime, ...]

    @property
    def cutoffs(self) -> tuple[datetime, ...]:
        """Every cutoff whose features and labels are needed, oldest first."""
        return tuple(sorted({*self.training_cutoffs, *self.final_cutoffs, self.evaluation_cutoff}))


def churn_schedule(*, data_start: datetime, as_of: datetime, options: ChurnOptions) -> ChurnSchedule:
    """The evaluation cutoff, training cutoffs and production cutoffs for data from `data_start` to `as_of`."""
    horizon_days = options.horizon_days
    check_horizon(horizon_days)
    if options.cutoff_step_days <= 0 or options.training_cutoffs_max < 1 or options.min_history_days < 0:
        raise ModelError("churn options: cutoff_step_days and training_cutoffs_max must be at least 1, "
                         "min_history_days at least 0")
    horizon = timedelta(days=horizon_days)
    evaluation = as_of - horizon
    training = _cutoffs_back_from(evaluation - horizon, data_start, options)
    if not training:
        needed = options.min_history_days + 2 * horizon_days
        covered = (as_of - data_start).total_seconds() / 86_400
        raise ModelError(
            f"too little history for a {horizon_days}-day churn horizon: training and evaluation need "
            f"{needed} days of orders ({options.min_history_days} of history + 2 x {horizon_days}), the data "
            f"cover {covered:.0f} ({data_start:%Y-%m-%d} to {last_day_text(as_of)})")
    final = _cutoffs_back_from(evaluation, data_start, options)
    return ChurnSchedule(as_of=as_of, horizon_days=horizon_days, evaluation_cutoff=evaluation,
                         training_cutoffs=training, final_cutoffs=final)


def _cutoffs_back_from(latest: datetime, data_start: datetime, options: ChurnOptions) -> tuple[datetime, ...]:
    """`latest`, `latest - step`, ... while `min_history_days` of data lie before each (newest first)."""
    history = timedelta(days=options.min_history_days)
    step = timedelta(days=options.cutoff_step_days)
    cutoffs = []
    for k in range(options.training_cutoffs_max):
        cutoff = latest - k * step
        if cutoff - data_start < history or cutoff <= data_start:
            break
        cutoffs.append(cutoff)
    return tuple(cutoffs)


# ---------------------------------------------------------------- rows at the cutoffs

@dataclass(frozen=True)
class LabelledRows:
    """Features stacked over cutoffs, with the label of each (customer, cutoff) row."""

    features: pd.DataFrame
    labels: np.ndarray

    @property
    def groups(self) -> np.ndarray:
        return self.features["customer_id"].to_numpy()

    def stats(self) -> SampleStats:
        return SampleStats(rows=len(self.labels), customers=int(self.features["customer_id"].nunique()),
                           base_rate=float(np.mean(self.labels)) if len(self.labels) else float("nan"))


@dataclass(frozen=True)
class SampleStats:
    rows: int
    customers: int
    base_rate: float


class CutoffData:
    """Features and labels per cutoff, each computed once (training and production share cutoffs)."""

    def __init__(self, inputs: AnalyticsInputs, *, horizon_days: int, order_lines: ir.Table | None = None,
                 progress=None) -> None:
        self.inputs = inputs
        self.horizon_days = horizon_days
        self.order_lines = order_lines
        self.progress = progress
        self._features: dict[datetime, FeatureSet] = {}
        self._labelled: dict[datetime, LabelledRows] = {}

    def features(self, cutoff: datetime) -> FeatureSet:
        if cutoff not in self._features:
            if self.progress:
                self.progress(f"churn features at {cutoff_text(cutoff)}")
            cut = replace(self.inputs, as_of=cutoff, data_end=min(cutoff, self.inputs.data_end or cutoff),
                          prepared={})
            self._features[cutoff] = feature_set(cut, horizon_days=self.horizon_days, order_lines=self.order_lines)
        return self._features[cutoff]

    def labelled(self, cutoff: datetime) -> LabelledRows:
        if cutoff not in self._labelled:
            frame = self.features(cutoff).frame
            labels = churn_labels(self.inputs, cutoff=cutoff, horizon_days=self.horizon_days)
            merged = frame.merge(labels, on="customer_id", how="left", validate="one_to_one")
            if merged["churned"].isna().any():
                raise ModelError(f"churn labels at {cutoff_text(cutoff)} miss customers that have features there")
            self._labelled[cutoff] = LabelledRows(features=merged.drop(columns="churned"),
                                                  labels=merged["churned"].to_numpy(dtype="int8"))
        return self._labelled[cutoff]

    def stacked(self, cutoffs: tuple[datetime, ...]) -> LabelledRows:
        parts = [self.labelled(cutoff) for cutoff in sorted(cutoffs)]
        return LabelledRows(features=pd.concat([part.features for part in parts], ignore_index=True),
                            labels=np.concatenate([part.labels for part in parts]))

    def warnings(self) -> list[str]:
        """BG/NBD warnings of every cutoff computed, oldest first, without repeats."""
        seen: dict[str, None] = {}
        for cutoff in sorted(self._features):
            for message in self._features[cutoff].warnings:
                seen.setdefault(message, None)
        return list(seen)
