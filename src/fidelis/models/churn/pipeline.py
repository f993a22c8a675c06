"""Train the churn model on a warehouse and score its customers: the two entry points of churn.

`train_churn` fits on past cutoffs, judges the fit at the evaluation cutoff against two
baselines measured in the same run (recency alone; BG/NBD as 1 - P(alive) and as P(no purchase
in the horizon)), then refits on the latest cutoffs for production. `score_churn` applies a model
at an as-of instant: a calibrated probability and the top three reasons per customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.special import expit

from fidelis.analytics.inputs import AnalyticsInputs, inputs_from_backend
from fidelis.errors import ModelError
from fidelis.models.churn.evaluation import compare
from fidelis.models.churn.features import BgnbdFit, check_horizon, cutoff_text, feature_set, last_day_text
from fidelis.models.churn.model import ChurnModel, ChurnOptions, fit_churn_model, platt
from fidelis.models.churn.reasons import top_reasons
from fidelis.models.churn.training import ChurnSchedule, CutoffData, LabelledRows, SampleStats, churn_schedule

Progress = Callable[[str], None]

#: Scorers of the evaluation table, in display order.
SCORERS = ("model", "recency", "one_minus_p_alive", "bgnbd_p_no_purchase")
#: Feature columns shown beside each score (what a reader checks a reason against).
DISPLAY_COLUMNS = ("market", "days_since_last", "purchases", "net_value", "gap_mean_days", "spend_90d",
                   "spend_prev_90d", "refund_share", "p_alive", "p_no_purchase_h")


@dataclass
class ChurnTraining:
    """One training run: the production model, how its twin fared at the evaluation cutoff, and why.

    `model` is fitted on the final cutoffs (labels up to the as-of instant) and is the one to
    score with; `evaluation_model` is the same recipe fitted on the earlier cutoffs only, and
    `metrics` are its scores (and the baselines') at `schedule.evaluation_cutoff`.
    """

    model: ChurnModel
    evaluation_model: ChurnModel
    metrics: pd.DataFrame
    schedule: ChurnSchedule
    train: SampleStats
    evaluation: SampleStats
    final_train: SampleStats
    bgnbd: BgnbdFit
    warnings: list[str]
    feature_importances: pd.DataFrame
    reporting_currency: str

    def describe(self) -> str:
        """A plain-text account of the run: dates, rows, the metrics table and the warnings.

        Cutoffs are instants (UTC midnights): features use data strictly before them, labels the
        horizon from them.
        """
        s = self.schedule
        lines = [
            f"churn horizon {s.horizon_days} days, as of {s.as_of:%Y-%m-%d %H:%M} UTC "
            f"(data up to {last_day_text(s.as_of)})",
            f"evaluation: cutoff {cutoff_text(s.evaluation_cutoff)}, labels up to {cutoff_text(s.as_of)}: "
            f"{self.evaluation.rows} customers, churn rate {self.evaluation.base_rate:.3f}",
            f"training (evaluation model): cutoffs {_cutoff_list(s.training_cutoffs)}, labels up to "
            f"{cutoff_text(s.evaluation_cutoff)}: {self.train.rows} rows, {self.train.customers} customers, "
            f"churn rate {self.train.base_rate:.3f}, {self.evaluation_model.rounds} rounds",
            f"training (production model): cutoffs {_cutoff_list(s.final_cutoffs)}, labels up to "
            f"{cutoff_text(s.as_of)}: {self.final_train.rows} rows, {self.final_train.customers} customers, "
            f"churn rate {self.final_train.base_rate:.3f}, {self.model.rounds} rounds",
            self.metrics.to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="-"),
            *(f"warning: {message}" for message in self.warnings),
        ]
        return "\n".join(lines)


def train_churn(backend, *, reporting_currency: str, horizon_days: int, as_of: date | datetime | None = None,
                options: ChurnOptions | None = None, progress: Progress | None = None) -> ChurnTraining:
    """Fit, evaluate against the baselines, and refit for production (see `fidelis.models.churn.training`).

    `horizon_days` wins over `options.horizon_days`. `as_of` defaults to midnight after the last
    order's day; it must lie inside the data, since the evaluation labels run up to it.
    """
    check_horizon(horizon_days)
    options = replace(options or ChurnOptions(), horizon_days=horizon_days)
    report = progress or (lambda message: None)
    inputs = churn_inputs(backend, reporting_currency=reporting_currency, as_of=as_of)
    schedule = churn_schedule(data_start=inputs.data_start, as_of=inputs.as_of, options=options)
    data = CutoffData(inputs, horizon_days=horizon_days, order_lines=order_lines_of(backend), progress=report)

    train = data.stacked(schedule.training_cutoffs)
    _check_customers(train, options, f"in the training rows (cutoffs {_cutoff_list(schedule.training_cutoffs)})")
    evaluation = data.labelled(schedule.evaluation_cutoff)
    _check_customers(evaluation, options, f"at the evaluation cutoff {cutoff_text(schedule.evaluation_cutoff)}")
    report(f"fitting the evaluation model on {len(train.labels)} rows")
    evaluation_model = fit_churn_model(train.features, train.labels, groups=train.groups, options=options,
                                       metadata=_metadata(schedule.training_cutoffs, schedule.evaluation_cutoff,
                                                          reporting_currency))
    bgnbd = data.features(schedule.evaluation_cutoff).bgnbd
    metrics = evaluate(evaluation_model, train, evaluation, bgnbd, horizon_days=horizon_days)

    final = data.stacked(schedule.final_cutoffs)
    report(f"fitting the production model on {len(final.labels)} rows")
    model = fit_churn_model(final.features, final.labels, groups=final.groups, options=options,
                            metadata=_metadata(schedule.final_cutoffs, schedule.as_of, reporting_currency))
    return ChurnTraining(model=model, evaluation_model=evaluation_model, metrics=metrics, schedule=schedule,
                         train=train.stats(), evaluation=evaluation.stats(), final_train=final.stats(), bgnbd=bgnbd,
                         warnings=data.warnings(), feature_importances=model.feature_importances(),
                         reporting_currency=reporting_currency)


def score_churn(backend, model: ChurnModel, *, reporting_currency: str,
                as_of: date | datetime | None = None) -> pd.DataFrame:
    """Churn probability and top three reasons for every customer with a purchase before `as_of`.

    Columns: customer_id, churn_probability, reason_1..3, then the features in `DISPLAY_COLUMNS`.
    `p_alive` is empty where the BG/NBD fit's dropout collapsed; the warnings are in
    `frame.attrs["warnings"]`.
    """
    _check_currency(model, reporting_currency)
    inputs = churn_inputs(backend, reporting_currency=reporting_currency, as_of=as_of)
    features = feature_set(inputs, horizon_days=model.horizon_days, order_lines=order_lines_of(backend))
    frame = features.frame
    probability = model.predict_proba(frame)
    reasons = top_reasons(frame, model.contributions(frame), horizon_days=model.horizon_days,
                          probabilities=probability,
                          currency=reporting_currency)
    scores = pd.concat([frame[["customer_id"]], pd.DataFrame({"churn_probability": probability}, index=frame.index),
                        reasons, frame[list(DISPLAY_COLUMNS)]], axis=1)
    scores.attrs["as_of"] = inputs.as_of
    scores.attrs["warnings"] = list(features.warnings)
    return scores.reset_index(drop=True)


# ---------------------------------------------------------------- evaluation at c_val

def evaluate(model: ChurnModel, train: LabelledRows, evaluation: LabelledRows, bgnbd: BgnbdFit, *,
             horizon_days: int) -> pd.DataFrame:
    """The model against recency alone, 1 - P(alive) and BG/NBD's P(no purchase in H), same rows.

    Recency alone is a logistic fit of the churn labels on log(1 + days since the last purchase)
    over the training rows, so its Brier score is that of a probability too; its ranking is plain
    recency. The BG/NBD baselines come from a fit at the evaluation cutoff. The note column says
    when a baseline cannot be trusted: a collapsed dropout, a ranking worse than chance (BG/NBD
    gives every one-time buyer P(alive) = 1), a fit that failed or left customers without a score.
    """
    features, labels = evaluation.features, evaluation.labels
    slope, intercept = platt(np.log1p(train.features["days_since_last"].to_numpy()), train.labels)
    scores = {
        "model": model.predict_proba(features),
        "recency": expit(slope * np.log1p(features["days_since_last"].to_numpy()) + intercept),
    }
    baselines = {"one_minus_p_alive": 1.0 - features["p_alive_raw"].to_numpy(dtype="float64"),
                 "bgnbd_p_no_purchase": features["p_no_purchase_h"].to_numpy(dtype="float64")}
    notes: dict[str, str] = {}
    for name, score in baselines.items():
        missing = int(np.isnan(score).sum())
        if missing:
            reason = "the BG/NBD fit failed" if not bgnbd.fitted else f"{missing} customers have no BG/NBD score"
            notes[name] = f"not measured: {reason} at the evaluation cutoff"
        else:
            scores[name] = score
    table = compare(scores, labels, notes=notes)
    table = _with_unmeasured(table, baselines, notes)
    _flag_p_alive(table, bgnbd)
    table.attrs.update(cutoff=evaluation.features["cutoff"].iloc[0], horizon_days=horizon_days,
                       rows=int(len(labels)), base_rate=float(np.mean(labels)))
    return table


def _with_unmeasured(table: pd.DataFrame, baselines: dict[str, np.ndarray], notes: dict[str, str]) -> pd.DataFrame:
    """Every scorer keeps its row: a baseline that could not be measured shows empty metrics and why."""
    missing = [{"scorer": name, "note": notes[name]} for name in baselines if name not in set(table["scorer"])]
    if missing:
        table = pd.concat([table, pd.DataFrame(missing)], ignore_index=True)
    order = {name: index for index, name in enumerate(SCORERS)}
    return table.sort_values("scorer", key=lambda column: column.map(order), kind="stable").reset_index(drop=True)


def _flag_p_alive(table: pd.DataFrame, bgnbd: BgnbdFit) -> None:
    row = table.index[table["scorer"] == "one_minus_p_alive"]
    if not len(row) or table.loc[row[0], "note"]:
        return
    if bgnbd.dropout_collapsed:
        table.loc[row[0], "note"] = (f"BG/NBD dropout collapsed (a = {bgnbd.params['a']:.3g}): P(alive) = 1 for "
                                     "every one-time buyer; bgnbd_p_no_purchase is the BG/NBD churn score")
    elif table.loc[row[0], "auc"] < 0.5:
        table.loc[row[0], "note"] = ("ranks churn worse than chance: BG/NBD gives every one-time buyer "
                                     "P(alive) = 1; bgnbd_p_no_purchase is the BG/NBD churn score")


# ---------------------------------------------------------------- inputs and checks

def churn_inputs(backend, *, reporting_currency: str, as_of: date | datetime | None) -> AnalyticsInputs:
    """Inputs cut at `as_of` (default: midnight after the last order's day), which must lie in the data."""
    inputs = inputs_from_backend(backend, reporting_currency=reporting_currency)
    if as_of is None:
        return inputs
    instant = _instant(as_of)
    if instant <= inputs.data_start or instant > inputs.data_end:
        raise ModelError(f"the as-of date {last_day_text(instant)} is outside the data, which run from "
                         f"{inputs.data_start:%Y-%m-%d} to {last_day_text(inputs.data_end)}")
    return replace(inputs, as_of=instant, data_end=instant, prepared={})


def order_lines_of(backend) -> ir.Table | None:
    """The order lines (for the category mix) when the backend has them."""
    return backend.table("order_lines") if "order_lines" in backend.list_tables() else None


def _check_customers(rows: LabelledRows, options: ChurnOptions, where: str) -> None:
    customers = int(rows.features["customer_id"].nunique())
    if customers < options.min_customers:
        raise ModelError(f"too few customers for a churn model {where}: {customers}, "
                         f"at least {options.min_customers} needed")


def _metadata(cutoffs: tuple[datetime, ...], labels_end: datetime, reporting_currency: str) -> dict[str, object]:
    return {"cutoffs": [c.isoformat() for c in sorted(cutoffs)], "labels_end": labels_end.isoformat(),
            "reporting_currency": reporting_currency}


def _check_currency(model: ChurnModel, reporting_currency: str) -> None:
    """Money features are in the reporting currency: a model trained on GBP amounts misreads EUR ones."""
    trained_in = model.metadata.get("reporting_currency")
    if trained_in and trained_in != reporting_currency:
        raise ModelError(f"the churn model was trained on amounts in {trained_in}, "
                         f"but this warehouse reports in {reporting_currency}")


def _cutoff_list(cutoffs: tuple[datetime, ...]) -> str:
    return ", ".join(cutoff_text(cutoff) for cutoff in sorted(cutoffs))


def _instant(value: date | datetime) -> datetime:
    """A date means the end of that day (midnight after it, UTC), as everywhere in analytics."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value + timedelta(days=1), time(), tzinfo=UTC)


