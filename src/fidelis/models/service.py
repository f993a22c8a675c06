"""Entry points of the predictive models over a warehouse: fit, predict, train, score, store.

What the CLI, the report and a notebook call. Each function opens the warehouse, reads the
customer summary at the as-of instant (exact timestamps, in days), runs the model code of
`fidelis.models.clv` / `fidelis.models.churn`, and writes a model card and the scores in one
transaction: a failed run leaves the warehouse as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from fidelis.analytics.config import AnalyticsConfig
from fidelis.analytics.inputs import AnalyticsInputs, purchases
from fidelis.analytics.service import analytics_context
from fidelis.analytics.summary import customer_history
from fidelis.config import Settings
from fidelis.errors import ModelError
from fidelis.models import early_warning, store
from fidelis.models.churn import ChurnModel, ChurnTraining, score_churn, train_churn
from fidelis.models.churn.features import check_horizon, last_day_text
from fidelis.models.clv import (
    TRANSACTION_MODELS,
    GammaGammaModel,
    TransactionModel,
    customer_lifetime_value,
    load_model,
)
from fidelis.models.seasonality import Seasonality, seasonality_of
from fidelis.models.store import ModelCard

MARKET_MIN_CUSTOMERS = 200  # a market's own fit below this is noise; it uses the overall model
DAYS_PER_YEAR = 365.25
CLV_STEP_DAYS = DAYS_PER_YEAR / 12  # CLV discounts month by month
SUMMARY_COLUMNS = ["customer_id", "market", "frequency", "recency_days", "tenure_days", "monetary_repeat_mean",
                   "net_value"]
Progress = Callable[[str], None]
Writer = Callable[[pd.DataFrame], None]


@dataclass
class ClvModels:
    """A purchase model, the Gamma-Gamma spend model, and the card they are stored under."""

    purchases: TransactionModel
    spend: GammaGammaModel
    card: ModelCard
    by_market: dict[str, tuple[TransactionModel, GammaGammaModel]] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return list(self.card.card.get("warnings", []))

    @property
    def market_notes(self) -> list[str]:
        """Which markets have their own fit, and why the others do not."""
        return list(self.card.card.get("market_notes", []))


@dataclass
class ClvPrediction:
    models: ClvModels
    scores: pd.DataFrame  # customer_id, expected_purchases, p_alive, expected_spend, clv (+ seasonal)
    run_id: str
    as_of: datetime
    horizon_days: int
    seasonality: Seasonality | None
    seasonal_factor: float | None
    refitted: bool


@dataclass
class ChurnTrainingResult:
    card: ModelCard
    evaluation: pd.DataFrame
    warnings: list[str]


@dataclass
class ChurnScoring:
    scores: pd.DataFrame  # customer_id, churn_probability, risk_band, reason_1..3, clv, value_at_risk
    at_risk: pd.DataFrame
    changes: pd.DataFrame
    run_id: str
    previous_run_id: str | None
    as_of: datetime
    card: ModelCard
    clv_card: ModelCard | None
    warnings: list[str]


def summary_frame(inputs: AnalyticsInputs) -> pd.DataFrame:
    """The model inputs per customer with a purchase: frequency, recency and age (T) in days, spend.

    An as-of instant after the end of the data is refused: the models would read the days without
    data as days without purchases, and every customer would look like leaving.
    """
    if inputs.data_end is not None and inputs.as_of > inputs.data_end:
        raise ModelError(f"the as-of date {(inputs.as_of - timedelta(microseconds=1)):%Y-%m-%d} is after the end "
                         f"of the data ({(inputs.data_end - timedelta(microseconds=1)):%Y-%m-%d}): the models "
                         "would read the days without data as days without purchases")
    frame = customer_history(inputs).select(*SUMMARY_COLUMNS).order_by("customer_id").to_pyarrow().to_pandas()
    if frame.empty:
        raise ModelError(f"no customer has a purchase before {inputs.as_of:%Y-%m-%d}: nothing to fit")
    frame["net_value"] = frame["net_value"].astype(float)
    return frame


def fit_models(summary: pd.DataFrame, *, model_name: str, inputs: AnalyticsInputs,
               per_market: bool = False) -> ClvModels:
    """Fit the purchase model and the spend model on a summary frame (days), and describe them in a card.

    With `per_market`, each market with at least MARKET_MIN_CUSTOMERS customers also gets its own
    pair (markets differ in purchase rhythm and basket size); the others use the overall pair.
    """
    purchase_model, spend_model, warnings = _fit_pair(summary, model_name)
    by_market, market_notes = _fit_markets(summary, model_name) if per_market else ({}, [])
    card = ModelCard(
        model_id=store.new_id("clv"), kind="clv", model_name=model_name, created_at=datetime.now(UTC),
        as_of=inputs.as_of, data_start=inputs.data_start, data_end=inputs.data_end, customers=len(summary),
        card={"time_unit": "days", "reporting_currency": inputs.reporting_currency,
              "purchases": purchase_model.to_dict(), "spend": spend_model.to_dict(),
              "markets": {market: {"purchases": pair[0].to_dict(), "spend": pair[1].to_dict()}
                          for market, pair in by_market.items()},
              "warnings": warnings, "market_notes": market_notes})
    return ClvModels(purchase_model, spend_model, card, by_market)


def _fit_pair(summary: pd.DataFrame, model_name: str) -> tuple[TransactionModel, GammaGammaModel, list[str]]:
    purchase_model = TRANSACTION_MODELS[model_name]().fit(
        summary["frequency"].to_numpy(float), summary["recency_days"].to_numpy(float),
        summary["tenure_days"].to_numpy(float), time_unit="days", customer_id=summary["customer_id"].to_numpy())
    spend_model, spend_note = _fit_spend(summary)
    return purchase_model, spend_model, [*purchase_model.diagnostics.warnings, *spend_model.diagnostics.warnings,
                                         *spend_note]


def _fit_markets(summary: pd.DataFrame, model_name: str
                 ) -> tuple[dict[str, tuple[TransactionModel, GammaGammaModel]], list[str]]:
    fitted, notes = {}, []
    for market, rows in summary.groupby("market", sort=True):
        if len(rows) < MARKET_MIN_CUSTOMERS:
            notes.append(f"market {market}: {len(rows):,} customers, fewer than {MARKET_MIN_CUSTOMERS}: "
                         "uses the overall model")
            continue
        try:
            purchase_model, spend_model, warnings = _fit_pair(rows, model_name)
        except ModelError as exc:
            notes.append(f"market {market}: not fitted ({exc}): uses the overall model")
            continue
        fitted[str(market)] = (purchase_model, spend_model)
        notes.append(f"market {market}: own fit on {len(rows):,} customers")
        notes += [f"market {market}: {warning}" for warning in warnings]
    return fitted, notes


def _fit_spend(summary: pd.DataFrame) -> tuple[GammaGammaModel, list[str]]:
    """Gamma-Gamma on repeat buyers with a positive mean repeat spend (zero-value repeats cannot be logged)."""
    repeat = summary[summary["frequency"] > 0]
    usable = repeat[repeat["monetary_repeat_mean"] > 0]
    if repeat.empty:
        raise ModelError("no repeat buyers: the spend model (Gamma-Gamma) needs customers with a second purchase")
    if usable.empty:
        raise ModelError(f"all {len(repeat):,} repeat buyers have zero spend on their repeat purchases: "
                         "the spend model (Gamma-Gamma) cannot be fitted")
    model = GammaGammaModel().fit(usable["frequency"].to_numpy(float), usable["monetary_repeat_mean"].to_numpy(float))
    if model.params["q"] <= 1:
        raise ModelError(f"the spend model (Gamma-Gamma) fits q = {model.params['q']:.3g} <= 1 on "
                         f"{len(usable):,} repeat buyers: the population's mean spend does not exist under it, "
                         "so no expected spend or CLV can be given (too few or too uneven repeat purchases)")
    left_out = len(repeat) - len(usable)
    note = [f"{left_out:,} repeat buyers with zero or negative repeat spend left out of the spend fit"] if left_out else []
    return model, note


def models_from_card(card: ModelCard) -> ClvModels:
    by_market = {market: (load_model(pair["purchases"]), load_model(pair["spend"]))
                 for market, pair in (card.card.get("markets") or {}).items()}
    return ClvModels(load_model(card.card["purchases"]), load_model(card.card["spend"]), card, by_market)


def clv_scores(models: ClvModels, summary: pd.DataFrame, *, horizon_days: int, config: AnalyticsConfig,
               seasonal_factor: float | None = None) -> pd.DataFrame:
    """Per customer: expected purchases and spend over the horizon, P(alive), discounted CLV."""
    check_horizon(horizon_days)
    parts = [_scores_with(models.purchases, models.spend, summary.loc[~summary["market"].isin(models.by_market)],
                          horizon_days, config)]
    parts += [_scores_with(*pair, summary.loc[summary["market"] == market], horizon_days, config)
              for market, pair in models.by_market.items()]
    scores = pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)
    scores = scores.sort_values("customer_id", kind="stable").reset_index(drop=True)
    if seasonal_factor is not None:
        scores["expected_purchases_seasonal"] = scores["expected_purchases"] * seasonal_factor
    _refuse_nan(scores, "CLV")
    return scores


def _scores_with(purchase_model: TransactionModel, spend_model: GammaGammaModel, summary: pd.DataFrame,
                 horizon_days: int, config: AnalyticsConfig) -> pd.DataFrame:
    x, t_x, age = (summary[column].to_numpy(float) for column in ("frequency", "recency_days", "tenure_days"))
    spend_mean = np.clip(summary["monetary_repeat_mean"].fillna(0).to_numpy(float), 0, None)
    settings = config.models
    monthly_rate = (1 + settings.discount_rate_annual) ** (CLV_STEP_DAYS / DAYS_PER_YEAR) - 1
    return pd.DataFrame({
        "customer_id": summary["customer_id"].to_numpy(),
        "expected_purchases": purchase_model.expected_purchases(horizon_days, x, t_x, age),
        "p_alive": purchase_model.p_alive(x, t_x, age),
        "expected_spend": spend_model.expected_spend(x, spend_mean),
        "clv": customer_lifetime_value(purchase_model, spend_model, x, t_x, age, spend_mean,
                                       horizon=horizon_days, step=CLV_STEP_DAYS,
                                       discount_rate_per_step=monthly_rate, margin=settings.margin),
    })


def _refuse_nan(frame: pd.DataFrame, what: str) -> None:
    """A NaN score is never written: name the column and a customer instead."""
    numeric = frame.select_dtypes("number")
    bad = ~np.isfinite(numeric.to_numpy(float))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ModelError(f"{what}: column '{numeric.columns[column]}' is not a number for customer "
                         f"{frame['customer_id'].iloc[row]} ({int(bad.any(axis=1).sum())} customers); nothing was written")


def monthly_purchases(inputs: AnalyticsInputs) -> pd.Series:
    """Purchases per complete calendar month (UTC) inside the data window, for the seasonality check."""
    bought = purchases(inputs)
    month = bought.ordered_at.truncate("M").name("month")
    counts = bought.group_by(month).aggregate(purchases=bought.count()).to_pandas()
    if counts.empty or inputs.data_start is None or inputs.data_end is None:
        return pd.Series(dtype=float)
    counts["month"] = pd.to_datetime(counts["month"]).dt.tz_localize(None)
    # A month counts when the data cover all its days: the first order on its first day (at any
    # hour) and the data's end (exclusive midnight) at or after its last day.
    start_day = pd.Timestamp(inputs.data_start.date())
    first = start_day.to_period("M")
    first_complete = first if start_day == first.to_timestamp() else first + 1
    last_complete = pd.Timestamp(inputs.data_end.replace(tzinfo=None)).to_period("M") - 1
    months = pd.period_range(first_complete, last_complete, freq="M").to_timestamp()
    return counts.set_index("month")["purchases"].reindex(months, fill_value=0).astype(float)


def fit_clv(warehouse: Path | str | None = None, *, model_name: str | None = None, as_of=None,
            per_market: bool = False, settings: Settings | None = None,
            progress: Progress | None = None) -> ClvModels:
    """Fit the purchase and spend models on the warehouse at the as-of instant and store their card."""
    step = progress or (lambda stage: None)
    with analytics_context(warehouse, as_of=as_of, settings=settings, writable=True, prepare=False) as context:
        name = model_name or context.config.models.clv_model
        step("customer summary")
        summary = summary_frame(context.inputs)
        step(f"fitting {name} and gamma-gamma")
        models = fit_models(summary, model_name=name, inputs=context.inputs, per_market=per_market)
        with context.warehouse.transaction() as con:
            store.save_card(con, models.card)
    return models


def predict_clv(warehouse: Path | str | None = None, *, horizon_days: int | None = None, as_of=None,
                seasonal: bool = False, refit: bool = False, model_name: str | None = None,
                per_market: bool = False, settings: Settings | None = None, progress: Progress | None = None,
                write: Writer | None = None) -> ClvPrediction:
    """Score every customer with a purchase; uses the latest stored fit unless there is none or `refit`.

    `write` (the command's output file) runs inside the transaction that stores the scores: a
    file that cannot be written leaves no run behind, and a failed store leaves no file.
    """
    step = progress or (lambda stage: None)
    with analytics_context(warehouse, as_of=as_of, settings=settings, writable=True, prepare=False) as context:
        config, inputs = context.config, context.inputs
        horizon = horizon_days if horizon_days is not None else config.models.clv_horizon_days
        check_horizon(horizon)
        step("customer summary")
        summary = summary_frame(inputs)
        stored = None if refit else _usable_clv_card(context, model_name=model_name, per_market=per_market)
        if stored is None:
            step("fitting the models")
            models = fit_models(summary, model_name=model_name or config.models.clv_model, inputs=inputs,
                                per_market=per_market)
        else:
            models = models_from_card(stored)
        season = seasonality_of(monthly_purchases(inputs)) if seasonal else None
        factor = season.factor(inputs.as_of.date(), horizon) if season is not None else None
        step("scoring")
        scores = clv_scores(models, summary, horizon_days=horizon, config=config, seasonal_factor=factor)
        run_id = store.new_id("clv-run")
        with context.warehouse.transaction() as con:
            if stored is None:
                store.save_card(con, models.card)
            store.save_run(con, run_id=run_id, kind="clv", model_id=models.card.model_id, as_of=inputs.as_of,
                           horizon_days=horizon, customers=len(scores))
            stored_scores = scores if factor is not None else scores.assign(expected_purchases_seasonal=np.nan)
            store.append_rows(con, "clv_scores", run_id, stored_scores,
                              ["customer_id", "expected_purchases", "expected_purchases_seasonal", "p_alive",
                               "expected_spend", "clv"])
            if write is not None:
                write(scores)
    return ClvPrediction(models, scores, run_id, inputs.as_of, horizon, season, factor, refitted=stored is None)


def _usable_clv_card(context, *, model_name: str | None, per_market: bool) -> ModelCard | None:
    """The latest stored CLV fit that may score at the context's as-of and is of the kind asked for."""
    card = store.latest_card(context.warehouse.con, "clv", as_of=context.inputs.as_of)
    if card is None or (model_name is not None and card.model_name != model_name):
        return None
    if per_market and not card.card.get("markets"):
        return None
    return card


def train_churn_model(warehouse: Path | str | None = None, *, horizon_days: int | None = None, as_of=None,
                      settings: Settings | None = None, progress: Progress | None = None) -> ChurnTrainingResult:
    """Train the churn model with time-based validation, and store its card (metrics, dates, the model)."""
    with analytics_context(warehouse, as_of=as_of, settings=settings, writable=True, prepare=False) as context:
        horizon = horizon_days if horizon_days is not None else context.config.models.churn_horizon_days
        check_horizon(horizon)
        backend = ibis.duckdb.from_connection(context.warehouse.con)
        training = train_churn(backend, reporting_currency=context.inputs.reporting_currency,
                               horizon_days=horizon, as_of=context.inputs.as_of, progress=progress)
        card = ModelCard(
            model_id=store.new_id("churn"), kind="churn", model_name="lightgbm", created_at=datetime.now(UTC),
            as_of=context.inputs.as_of, data_start=context.inputs.data_start, data_end=context.inputs.data_end,
            customers=int(training.final_train.customers), card=churn_card(training))
        with context.warehouse.transaction() as con:
            store.save_card(con, card)
    return ChurnTrainingResult(card, training.metrics, list(training.warnings))


def churn_card(training: ChurnTraining) -> dict:
    """What a churn model card records: the dates and rows of each step, the evaluation, the model."""
    schedule = training.schedule

    def stats(sample) -> dict:
        return {"rows": sample.rows, "customers": sample.customers, "churn_rate": sample.base_rate}

    return {
        "horizon_days": schedule.horizon_days,
        "reporting_currency": training.reporting_currency,
        "dates": {
            "evaluation_cutoff": schedule.evaluation_cutoff.isoformat(),
            "evaluation_labels_end": schedule.as_of.isoformat(),
            "training_cutoffs": [cutoff.isoformat() for cutoff in schedule.training_cutoffs],
            "production_cutoffs": [cutoff.isoformat() for cutoff in schedule.final_cutoffs],
        },
        "rows": {"training": stats(training.train), "evaluation": stats(training.evaluation),
                 "production_training": stats(training.final_train)},
        "rounds": {"evaluation_model": training.evaluation_model.rounds, "production_model": training.model.rounds},
        "evaluation": training.metrics.to_dict("records"),
        "bgnbd_at_evaluation_cutoff": {"params": training.bgnbd.params,
                                       "dropout_collapsed": training.bgnbd.dropout_collapsed},
        "feature_importances": training.feature_importances.to_dict("records"),
        "warnings": list(training.warnings),
        "model": training.model.to_dict(),
    }


def score_churn_customers(warehouse: Path | str | None = None, *, as_of=None, settings: Settings | None = None,
                          progress: Progress | None = None, write: Writer | None = None) -> ChurnScoring:
    """Churn probability, band and reasons for every customer with a purchase; band changes since the last run.

    Uses the latest churn model trained on data up to the as-of instant. `write` runs inside the
    storing transaction, as in `predict_clv`.
    """
    step = progress or (lambda stage: None)
    with analytics_context(warehouse, as_of=as_of, settings=settings, writable=True, prepare=False) as context:
        config, inputs, con = context.config, context.inputs, context.warehouse.con
        card = _churn_card(con, inputs)
        model = ChurnModel.from_dict(card.card["model"])
        step("churn features and scores")
        churn = score_churn(ibis.duckdb.from_connection(con), model, reporting_currency=inputs.reporting_currency,
                            as_of=inputs.as_of)
        warnings = list(churn.attrs.get("warnings", []))
        step("customer lifetime value")
        values, clv_card, new_clv = _values_for_risk(context, warnings)
        scores = _with_bands(churn, values, config)
        _refuse_nan(scores[["customer_id", "churn_probability"]], "churn")
        previous_run = store.previous_run(con, "churn", as_of=inputs.as_of)
        previous = store.run_rows(con, "churn_scores", previous_run) if previous_run else None
        changes = early_warning.band_changes(scores, previous)
        run_id = store.new_id("churn-run")
        with context.warehouse.transaction() as con:
            if new_clv:
                store.save_card(con, clv_card)
            store.save_run(con, run_id=run_id, kind="churn", model_id=card.model_id, as_of=inputs.as_of,
                           horizon_days=int(card.card["horizon_days"]), customers=len(scores))
            store.append_rows(con, "churn_scores", run_id, scores,
                              ["customer_id", "churn_probability", "risk_band", "reason_1", "reason_2", "reason_3",
                               "clv", "value_at_risk"])
            if previous_run is not None:
                store.append_rows(con, "churn_band_changes", run_id, changes.assign(previous_run_id=previous_run),
                                  ["previous_run_id", "customer_id", "previous_band", "risk_band",
                                   "previous_probability", "churn_probability"])
            if write is not None:
                write(scores)
    at_risk = early_warning.at_risk_list(scores, config.models.at_risk_list_size)
    return ChurnScoring(scores, at_risk, changes, run_id, previous_run, inputs.as_of, card, clv_card, warnings)


def _churn_card(con, inputs: AnalyticsInputs) -> ModelCard:
    card = store.latest_card(con, "churn", as_of=inputs.as_of)
    if card is not None:
        return card
    if store.latest_card(con, "churn", as_of=datetime(9999, 12, 31, tzinfo=UTC)) is not None:
        raise ModelError(f"every churn model in this warehouse was trained on data after "
                         f"{last_day_text(inputs.as_of)}: run `fidelis churn train --as-of "
                         f"{last_day_text(inputs.as_of)}` first (a later model would score with the future)")
    raise ModelError("no churn model in this warehouse: run `fidelis churn train` first")


def _values_for_risk(context, warnings: list[str]) -> tuple[pd.DataFrame, ModelCard | None, bool]:
    """Each customer's CLV for the value at risk: from the latest usable fit, else a new one.

    A shop whose spend cannot be modelled still gets its churn scores: CLV and value at risk stay
    empty and a warning says why.
    """
    config, inputs = context.config, context.inputs
    card = store.latest_card(context.warehouse.con, "clv", as_of=inputs.as_of)
    summary = summary_frame(inputs)
    try:
        models = models_from_card(card) if card is not None else fit_models(
            summary, model_name=config.models.clv_model, inputs=inputs)
    except ModelError as exc:
        warnings.append(f"no CLV, so no value at risk: {exc}")
        return pd.DataFrame({"customer_id": summary["customer_id"], "clv": np.nan}), None, False
    values = clv_scores(models, summary, horizon_days=config.models.clv_horizon_days, config=config)
    return values, models.card, card is None


def _with_bands(churn: pd.DataFrame, values: pd.DataFrame, config: AnalyticsConfig) -> pd.DataFrame:
    scores = churn[["customer_id", "churn_probability", "reason_1", "reason_2", "reason_3"]].merge(
        values[["customer_id", "clv"]], on="customer_id", how="left")
    scores["risk_band"] = early_warning.risk_bands(scores["churn_probability"].to_numpy(), config.models.risk_bands)
    scores["value_at_risk"] = early_warning.value_at_risk(scores["clv"].to_numpy(), scores["churn_probability"])
    return scores[["customer_id", "churn_probability", "risk_band", "reason_1", "reason_2", "reason_3", "clv",
                   "value_at_risk"]]
