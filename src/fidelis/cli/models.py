"""`fidelis clv fit|predict` and `fidelis churn train|score`: thin wrappers over fidelis.models.service."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from fidelis.cli.analytics import (
    AsOfOption,
    check_output_file,
    frame_table,
    parse_as_of,
    records,
    write_output,
)
from fidelis.cli.common import (
    JsonOption,
    WarehouseOption,
    handles_errors,
    print_json,
    progress_steps,
    stdout,
    warehouse_path,
)
from fidelis.errors import InputError

OUTPUT_SUFFIXES = (".csv", ".parquet")
CLV_COLUMNS = ["customer_id", "expected_purchases", "p_alive", "expected_spend", "clv"]
CHURN_COLUMNS = ["customer_id", "churn_probability", "risk_band", "reason_1", "reason_2", "reason_3"]


class ModelChoice(str, Enum):
    bgnbd = "bgnbd"
    pareto_nbd = "pareto-nbd"


class TimeUnit(str, Enum):
    days = "days"
    weeks = "weeks"


PerMarketOption = Annotated[bool, typer.Option(
    "--per-market", help="Also fit one model pair per market with at least 200 customers; others use the overall fit.")]
ModelOption = Annotated[ModelChoice | None, typer.Option(
    "--model", help="Purchase model: bgnbd (BG/NBD) or pareto-nbd (Pareto/NBD). Default: models.clv_model.")]


@handles_errors
def clv_fit_command(
    model: ModelOption = None,
    summary: Annotated[Path | None, typer.Option(
        "--summary", help="Fit on a CSV of frequency,recency,T (or x,t_x,T[,zbar]) instead of the warehouse; "
                          "nothing is stored.")] = None,
    time_unit: Annotated[TimeUnit | None, typer.Option(
        "--time-unit", help="Unit of recency and T in the --summary file (default: days).")] = None,
    per_market: PerMarketOption = False,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Fit the purchase model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model; store them as a model card."""
    from fidelis.models import service
    from fidelis.models.summary_file import fit_summary_file

    _check_summary_options(summary, time_unit=time_unit, per_market=per_market, as_of=as_of, warehouse=warehouse)
    with progress_steps("clv fit", enabled=not json_output) as step:
        if summary is not None:
            name = model.value if model else _default_model()
            purchases, spend = fit_summary_file(summary, model_name=name,
                                                time_unit=(time_unit or TimeUnit.days).value)
            warnings = [*purchases.diagnostics.warnings, *(spend.diagnostics.warnings if spend else [])]
            document = {"source": str(summary), **_model_document(purchases), "warnings": warnings,
                        **({"spend": _model_document(spend)} if spend is not None else {})}
        else:
            fitted = service.fit_clv(warehouse_path(warehouse), model_name=model.value if model else None,
                                     as_of=parse_as_of(as_of), per_market=per_market, progress=step)
            purchases, spend = fitted.purchases, fitted.spend
            document = {"model_id": fitted.card.model_id, "as_of": fitted.card.as_of.isoformat(),
                        "customers": fitted.card.customers, **_model_document(purchases),
                        "spend": _model_document(spend), "warnings": fitted.warnings,
                        "market_notes": fitted.market_notes,
                        "markets": {market: {**_model_document(pair[0]), "spend": _model_document(pair[1])}
                                    for market, pair in fitted.by_market.items()}}
    if json_output:
        print_json(document)
        return
    _print_model(purchases)
    if spend is not None:
        _print_model(spend)
    for warning in document["warnings"]:
        stdout.print(f"[yellow]warning:[/] {warning}")
    for note in document.get("market_notes", []):
        stdout.print(note)
    if "model_id" in document:
        stdout.print(f"stored as model card {document['model_id']}")


def _check_summary_options(summary: Path | None, *, time_unit, per_market: bool, as_of, warehouse) -> None:
    """Refuse options that would silently do nothing, rather than let a user believe they were applied."""
    if summary is None:
        if time_unit is not None:
            raise InputError("--time-unit applies to a --summary file only (warehouse fits are in days)")
        return
    for given, option in ((per_market, "--per-market"), (as_of is not None, "--as-of"),
                          (warehouse is not None, "--warehouse")):
        if given:
            raise InputError(f"{option} does not apply with --summary (a summary file is fitted as it is)")


def _default_model() -> str:
    from fidelis.analytics.config import load_analytics_config
    from fidelis.config import get_settings

    return load_analytics_config(get_settings().analytics_file).models.clv_model


def _last_day(instant) -> str:
    """The last day included before an exclusive instant (a midnight as-of is the day before)."""
    return f"{instant - timedelta(microseconds=1):%Y-%m-%d}"


def _model_document(model) -> dict[str, Any]:
    return {"model": model.name, "time_unit": getattr(model, "time_unit", None), "params": model.params,
            "standard_errors": model.standard_errors, "log_likelihood": model.log_likelihood,
            "customers": model.n_customers, "converged": model.diagnostics.converged,
            "warnings": list(model.diagnostics.warnings)}


def _print_model(model) -> None:
    summary = model.summary()
    unit = getattr(model, "time_unit", None)
    title = f"{model.name}: log-likelihood {model.log_likelihood:,.4f}, {model.n_customers:,} customers" + (
        f", time in {unit}" if unit else "")
    stdout.print(frame_table(summary, title, {"parameter": "text", "estimate": "estimate", "std_error": "estimate",
                                              "lower_95": "estimate", "upper_95": "estimate"}))


@handles_errors
def clv_predict_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV or Parquet file for the per-customer scores.")],
    horizon_days: Annotated[int | None, typer.Option(
        "--horizon-days", help="Days ahead to forecast purchases and CLV. Default: models.clv_horizon_days.")] = None,
    seasonal: Annotated[bool, typer.Option(
        "--seasonal", help="Also write expected_purchases_seasonal: the forecast adjusted by the month-of-year "
                           "index of past purchases (needs 24 complete months).")] = False,
    refit: Annotated[bool, typer.Option("--refit", help="Fit again instead of using the latest stored fit.")] = False,
    model: ModelOption = None,
    per_market: PerMarketOption = False,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Expected purchases, P(alive), expected spend and CLV for every customer with a purchase."""
    from fidelis.models import service

    check_output_file(output, "--output", OUTPUT_SUFFIXES)
    if horizon_days is not None and horizon_days <= 0:
        raise InputError(f"--horizon-days: must be at least 1, got {horizon_days}")
    with progress_steps("clv predict", enabled=not json_output) as step:
        columns = CLV_COLUMNS + (["expected_purchases_seasonal"] if seasonal else [])
        result = service.predict_clv(warehouse_path(warehouse), horizon_days=horizon_days, as_of=parse_as_of(as_of),
                                     seasonal=seasonal, refit=refit, model_name=model.value if model else None,
                                     per_market=per_market, progress=step,
                                     write=lambda scores: write_output(scores[columns], output))
    document = _prediction_document(result, output)
    if json_output:
        print_json(document)
        return
    card = result.models.card
    origin = "fitted now" if result.refitted else f"stored fit {card.model_id} (data to {_last_day(card.as_of)})"
    stdout.print(f"{len(result.scores):,} customers scored over the {result.horizon_days} days after "
                 f"{_last_day(result.as_of)} with {card.model_name} + gamma-gamma, {origin}")
    totals = document["totals"]
    stdout.print(f"expected purchases {totals['expected_purchases']:,.1f}; expected CLV "
                 f"{totals['clv']:,.2f} {card.card.get('reporting_currency', '')}; mean P(alive) "
                 f"{totals['p_alive_mean']:.3f}")
    if result.seasonality is not None:
        stdout.print(f"seasonality: {result.seasonality.note}; factor over the horizon "
                     f"{document['seasonality']['factor']:.3f}")
        if result.seasonality.index:
            stdout.print("month-of-year index: " + ", ".join(
                f"{calendar.month_abbr[month]} {value:.2f}" for month, value in result.seasonality.index.items()))
    for warning in result.models.warnings:
        stdout.print(f"[yellow]warning:[/] {warning}")
    stdout.print(f"scores written to {output} (run {result.run_id})")


def _prediction_document(result, output: Path) -> dict[str, Any]:
    scores = result.scores
    document = {
        "run_id": result.run_id, "model_id": result.models.card.model_id, "refitted": result.refitted,
        "as_of": result.as_of.isoformat(), "horizon_days": result.horizon_days, "customers": len(scores),
        "output": str(output), "params": result.models.purchases.params, "spend_params": result.models.spend.params,
        "totals": {"expected_purchases": float(scores["expected_purchases"].sum()), "clv": float(scores["clv"].sum()),
                   "p_alive_mean": float(scores["p_alive"].mean())},
        "warnings": result.models.warnings,
    }
    if result.seasonality is not None:
        document["seasonality"] = {**result.seasonality.to_dict(), "factor": result.seasonal_factor}
    return document


@handles_errors
def churn_train_command(
    horizon_days: Annotated[int | None, typer.Option(
        "--horizon-days", help="Churned = no purchase within this many days. Default: models.churn_horizon_days.")]
    = None,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Train the churn model with time-based validation against two baselines; store it as a model card."""
    from fidelis.models import service

    if horizon_days is not None and horizon_days <= 0:
        raise InputError(f"--horizon-days: must be at least 1, got {horizon_days}")
    with progress_steps("churn train", enabled=not json_output) as step:
        result = service.train_churn_model(warehouse_path(warehouse), horizon_days=horizon_days,
                                           as_of=parse_as_of(as_of), progress=step)
    public = result.card.public()
    if json_output:
        print_json({**public, "evaluation": records(result.evaluation)})
        return
    stdout.print(frame_table(result.evaluation, "evaluation on the held-out cutoff (higher is better, except Brier)",
                             {"scorer": "text", "auc": "estimate", "pr_auc": "estimate", "brier": "estimate",
                              "lift_top_decile": "estimate"}))
    for row in result.evaluation.to_dict("records"):
        if isinstance(row.get("note"), str) and row["note"]:
            stdout.print(f"[yellow]note:[/] {row['scorer']}: {row['note']}")
    dates = public.get("dates", {})
    stdout.print(f"evaluated on customers at the cutoff {_day(dates['evaluation_cutoff'])} (features from the "
                 f"days before it) against their purchases up to {_last_day_of(dates['evaluation_labels_end'])}")
    stdout.print("trained on cutoffs " + ", ".join(_day(v) for v in dates["training_cutoffs"])
                 + "; the model stored for scoring on cutoffs " + ", ".join(_day(v) for v in dates["production_cutoffs"]))
    for warning in result.warnings:
        stdout.print(f"[yellow]warning:[/] {warning}")
    stdout.print(f"stored as model card {result.card.model_id}")


def _day(instant: str) -> str:
    """A cutoff instant as its date (cutoffs are UTC midnights: data strictly before them)."""
    return instant[:10]


def _last_day_of(instant: str) -> str:
    return _last_day(datetime.fromisoformat(instant))


@handles_errors
def churn_score_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV or Parquet file for the per-customer scores.")],
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Churn probability, risk band and top three reasons for every customer with a purchase."""
    from fidelis.models import service

    check_output_file(output, "--output", OUTPUT_SUFFIXES)
    with progress_steps("churn score", enabled=not json_output) as step:
        result = service.score_churn_customers(warehouse_path(warehouse), as_of=parse_as_of(as_of), progress=step,
                                               write=lambda scores: write_output(scores[CHURN_COLUMNS], output))
    bands = result.scores["risk_band"].value_counts().to_dict()
    crossed = result.changes[result.changes["risk_band"] == "at risk"] if len(result.changes) else result.changes
    if json_output:
        print_json({"run_id": result.run_id, "previous_run_id": result.previous_run_id,
                    "model_id": result.card.model_id, "as_of": result.as_of.isoformat(),
                    "customers": len(result.scores), "bands": bands, "output": str(output),
                    "crossed_into_at_risk": len(crossed), "at_risk": records(result.at_risk),
                    "warnings": result.warnings})
        return
    for warning in result.warnings:
        stdout.print(f"[yellow]warning:[/] {warning}")
    stdout.print(f"{len(result.scores):,} customers scored as of {_last_day(result.as_of)} "
                 f"(bands: {', '.join(f'{name} {count:,}' for name, count in bands.items())})")
    stdout.print(frame_table(result.at_risk.head(10), "at risk, by value at risk (CLV x churn probability)",
                             {"customer_id": "count", "churn_probability": "rate", "clv": "money",
                              "value_at_risk": "money", "reason_1": "text"}))
    if result.previous_run_id is not None:
        stdout.print(f"{len(crossed):,} customers crossed into 'at risk' since run {result.previous_run_id}")
    stdout.print(f"scores written to {output} (run {result.run_id})")
