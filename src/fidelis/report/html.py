"""Assembly of the report page: the analysis into view objects, charts into HTML, one Jinja template.

Everything shown is prepared here as plain objects (`Tile`, `Table`, `Chart`, each value a
formatted `Shown`), so the template only lays them out and cannot print a raw NaN. plotly.js is
embedded once in the page head; each figure is rendered without it, so the page opens offline and
stays a single file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.offline
from markupsafe import Markup

from fidelis.analytics.metrics import MONEY_METRICS, RATE_METRICS
from fidelis.report import charts
from fidelis.report.formatting import (
    EMPTY,
    Shown,
    as_number,
    decimal_places,
    integer,
    is_empty,
    money,
    percent,
    signed,
    signed_money,
    text,
)

if TYPE_CHECKING:
    from fidelis.analytics.service import Analysis

TITLE = "Fidelis loyalty report"
#: A market with fewer active customers in a typical month starts hidden in the monthly rate chart.
SMALL_MARKET_CUSTOMERS = 10
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


@dataclass(frozen=True)
class KpiSpec:
    """A KPI tile line: the metric column, its label, how it is shown, and which way is good."""

    column: str
    label: str
    kind: str
    higher_is_better: bool = True


KPI_SPECS = (
    KpiSpec("repeat_purchase_rate", "Repeat-purchase rate", "rate"),
    KpiSpec("retention_rate", "Retention rate", "rate"),
    KpiSpec("aov", "Average order value", "money"),
    KpiSpec("purchase_frequency", "Purchase frequency", "number"),
    KpiSpec("clv_historical", "Historical CLV", "money"),
    KpiSpec("nps", "NPS", "nps"),
    KpiSpec("csat", "CSAT", "rate"),
    KpiSpec("return_rate_value", "Return rate (value)", "rate", higher_is_better=False),
    KpiSpec("complaint_rate", "Complaint rate", "rate", higher_is_better=False),
    KpiSpec("loyalty_index", "Loyalty index", "index"),
)
METRIC_LABELS = {spec.column: spec.label for spec in KPI_SPECS}


# ---------------------------------------------------------------- view objects


@dataclass
class Table:
    """Headers and formatted rows; `caption` says what the table is, `empty` what to say if no rows."""

    headers: list[str]
    rows: list[list[Shown]]
    caption: str = ""
    empty: str = "No data."


@dataclass
class Chart:
    """A chart container: stable id, the figure's HTML, or None and a short message when no data."""

    id: str
    html: Markup | None
    empty: str = "No data to chart."


@dataclass
class TargetLine:
    target: Shown
    progress: Shown
    status: str
    note: str = ""


@dataclass
class Metric:
    label: str
    value: Shown
    change: Shown
    trend: str  # "up", "down", "flat" or "" (no change to show)
    tone: str  # "good", "bad" or "" (neutral)
    target: TargetLine | None = None


@dataclass
class Tile:
    market: str
    period: str
    partial: bool
    summary: str  # "1,805 active customers · 3,714 orders"
    metrics: list[Metric] = field(default_factory=list)


# ---------------------------------------------------------------- formatting by metric kind


def metric_kind(metric: str) -> str:
    """How a metric is shown: rate, money, nps, index, number or count."""
    if metric in RATE_METRICS:
        return "rate"
    if metric in MONEY_METRICS:
        return "money"
    if metric == "nps":
        return "nps"
    if metric == "loyalty_index":
        return "index"
    if metric in ("purchase_frequency", "avg_inter_purchase_days"):
        return "number"
    return "count"


def show_value(value: Any, kind: str, currency: str) -> Shown:
    return {
        "rate": lambda: percent(value),
        "money": lambda: money(value, currency),
        "nps": lambda: signed(value, 1),
        "index": lambda: decimal_places(value, 1),
        "number": lambda: decimal_places(value, 2),
    }.get(kind, lambda: integer(value))()


def show_change(value: Any, kind: str, currency: str) -> Shown:
    """A change against the previous period: percentage points for rates, signed otherwise."""
    number = as_number(value)
    if number is None:
        return EMPTY
    return {
        "rate": lambda: signed(100 * number, 1, "pp"),
        "money": lambda: signed_money(value, currency),
        "number": lambda: signed(number, 2),
    }.get(kind, lambda: signed(number, 1))()


def _trend_and_tone(change: Any, higher_is_better: bool) -> tuple[str, str]:
    number = as_number(change)
    if number is None:
        return "", ""
    if abs(number) < 1e-9:
        return "flat", ""
    rising = number > 0
    return ("up" if rising else "down"), ("good" if rising == higher_is_better else "bad")


# ---------------------------------------------------------------- KPI tiles and targets


def latest_quarter(kpis: pd.DataFrame) -> tuple[str | None, bool]:
    """The latest complete quarter; if none is complete yet, the latest one, flagged partial."""
    if kpis is None or kpis.empty or not {"period", "period_start", "complete"} <= set(kpis.columns):
        return None, False
    complete = kpis[kpis["complete"].astype(bool)]
    if not complete.empty:
        return str(complete.sort_values("period_start")["period"].iloc[-1]), False
    return str(kpis.sort_values("period_start")["period"].iloc[-1]), True


def kpi_tiles(kpis: pd.DataFrame, targets: pd.DataFrame | None,
              currency: str) -> tuple[list[Tile], list[str]]:
    """One tile per market with orders in the latest complete quarter, biggest market first;
    also the markets left out for having no orders in that quarter."""
    period, partial = latest_quarter(kpis)
    if period is None or not {"group", "orders", "customers_active"} <= set(kpis.columns):
        return [], []
    rows = kpis[kpis["period"] == period].sort_values(["customers_active", "group"],
                                                      ascending=[False, True])
    tiles, idle = [], []
    for row in rows.itertuples(index=False):
        if not row.orders:
            idle.append(str(row.group))
            continue
        summary = f"{_counted(row.customers_active, 'active customer')} · {_counted(row.orders, 'order')}"
        tiles.append(Tile(market=str(row.group), period=period, partial=partial, summary=summary,
                          metrics=[_metric(row, spec, targets, currency) for spec in KPI_SPECS]))
    return tiles, idle


def _counted(count: Any, noun: str) -> str:
    number = int(as_number(count) or 0)
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _metric(row: Any, spec: KpiSpec, targets: pd.DataFrame | None, currency: str) -> Metric:
    change = getattr(row, f"{spec.column}_change", None)
    value = getattr(row, spec.column, None)
    trend, tone = _trend_and_tone(change, spec.higher_is_better)
    return Metric(label=spec.label, value=show_value(value, spec.kind, currency),
                  change=show_change(change, spec.kind, currency), trend=trend, tone=tone,
                  target=_target_line(targets, str(row.group), spec, currency))


def _target_line(targets: pd.DataFrame | None, market: str, spec: KpiSpec,
                 currency: str) -> TargetLine | None:
    """The quarterly target of this market and metric, if the analytics file sets one."""
    if targets is None or targets.empty or not {"market", "metric", "period"} <= set(targets.columns):
        return None
    match = targets[(targets["market"] == market) & (targets["metric"] == spec.column)
                    & (targets["period"] == "quarter")]
    if match.empty:
        return None
    target = match.iloc[0]
    note = "" if is_empty(target.get("note")) else str(target["note"])
    return TargetLine(target=show_value(target.get("target"), spec.kind, currency),
                      progress=percent(target.get("progress"), 0), status=str(target.get("status", "")),
                      note=note)


def rfm_note(grid: pd.DataFrame | None) -> str:
    """Say so when a whole score column or row is empty: it looks like a bug but is how ties work."""
    if grid is None or grid.empty or not {"r_score", "f_score"} <= set(grid.columns):
        return ""
    notes = []
    for column, name in (("r_score", "R"), ("f_score", "F")):
        missing = sorted(set(range(1, 6)) - {int(v) for v in grid[column]})
        if missing:
            scores = ", ".join(str(v) for v in missing)
            notes.append(f"no customer has {name} score {scores}")
    if not notes:
        return ""
    sentence = "; ".join(notes)
    return (sentence[0].upper() + sentence[1:] + ": customers with equal values share a score, so when many "
            "bought once (or on the same day) the scores bunch and a score can stay empty.")


def targets_table(targets: pd.DataFrame | None, currency: str) -> Table:
    """Every configured target; baseline, target, current and benchmark in the metric's own format."""
    headers = ["Market", "Metric", "Period", "Baseline period", "Baseline", "Target", "Current period",
               "Current", "Progress", "Benchmark", "Deadline", "Status", "Note"]
    records = [] if targets is None else targets.to_dict("records")
    return Table(headers, [_target_row(target, currency) for target in records],
                 empty="No targets are configured.")


def _target_row(target: dict, currency: str) -> list[Shown]:
    metric = str(target.get("metric", ""))
    kind = metric_kind(metric)

    def value(name: str) -> Shown:
        return show_value(target.get(name), kind, currency)

    return [text(target.get("market")), text(METRIC_LABELS.get(metric, metric)), text(target.get("period")),
            text(target.get("baseline_period")), value("baseline"), value("target"),
            text(target.get("current_period")), value("current"), percent(target.get("progress"), 0),
            value("benchmark"), text(target.get("deadline")), text(target.get("status")),
            text(target.get("note"))]


# ---------------------------------------------------------------- generic tables


Column = tuple[str, str, Callable[[Any], Shown]]  # (frame column, header, formatter)


def frame_table(frame: pd.DataFrame | None, columns: Iterable[Column], *, caption: str = "",
                empty: str = "No data.") -> Table:
    """A table of the given columns of `frame` (missing columns are skipped)."""
    if frame is None:
        return Table([], [], caption, empty)
    present = [column for column in columns if column[0] in frame.columns]
    rows = [[show(record[name]) for name, _, show in present] for record in frame.to_dict("records")]
    return Table([header for _, header, _ in present], rows, caption, empty)


def segments_table(segments: pd.DataFrame | None, currency: str) -> Table:
    return frame_table(segments, [
        ("segment", "Segment", text), ("customers", "Customers", integer),
        ("customer_share", "Share of customers", percent),
        ("net_value", "Net value", lambda v: money(v, currency)),
        ("revenue_share", "Share of net value", percent),
        ("recency_days_mean", "Mean days since last purchase", lambda v: decimal_places(v, 0)),
        ("purchases_mean", "Mean purchases", decimal_places),
        ("net_value_mean", "Mean net value", lambda v: money(v, currency)),
    ], empty="No customers to segment.")


def clusters_table(profiles: pd.DataFrame | None, currency: str) -> Table:
    return frame_table(profiles, [
        ("cluster", "Cluster", integer), ("label", "Profile", text), ("customers", "Customers", integer),
        ("share", "Share of customers", percent),
        ("net_value_total", "Net value", lambda v: money(v, currency)),
        ("revenue_share", "Share of net value", percent),
        ("purchases_median", "Median purchases", decimal_places),
        ("net_value_median", "Median net value", lambda v: money(v, currency)),
        ("days_since_last_median", "Median days since last purchase", lambda v: decimal_places(v, 0)),
        ("tenure_days_median", "Median tenure (days)", lambda v: decimal_places(v, 0)),
        ("refund_share_mean", "Mean refund share", percent),
    ], empty="Too few customers to form clusters.")


# ---------------------------------------------------------------- data quality


def _pairs_table(pairs: dict | None, headers: tuple[str, str], show: Callable[[Any], Shown] = integer, *,
                 caption: str = "", empty: str = "Nothing to show.") -> Table:
    rows = [[text(_label(key)), show(value)] for key, value in (pairs or {}).items()]
    return Table(list(headers), rows, caption, empty)


def _label(key: Any) -> str:
    return str(key).replace("_", " ")


def quality_tables(quality: dict | None, currency: str) -> list[Table]:
    """The warehouse_quality figures as small tables: totals, completeness, validity, identity, mix."""
    quality = quality or {}
    totals = dict(quality.get("totals") or {})
    by_kind = totals.pop("orders_by_kind", {}) or {}
    totals.update({f"orders: {kind}": count for kind, count in sorted(by_kind.items())})
    completeness = [[text(table), text(name), percent(share)]
                    for table, fields in (quality.get("completeness") or {}).items()
                    for name, share in (fields or {}).items()]
    validity = dict(quality.get("validity") or {})
    identity = dict(quality.get("identity") or {})
    identity_rows = [
        [text("revenue from known customers"), percent(identity.get("known_customer_revenue_share"))],
        [text("sale orders from known customers"), percent(identity.get("known_customer_order_share"))],
        [text("sales revenue"), money(identity.get("sales_revenue_reporting"), currency)],
    ]
    checks = {key: value for key, value in validity.items() if not isinstance(value, dict)}
    return [
        _pairs_table(totals, ("Figure", "Count"), caption="Totals"),
        Table(["Table", "Field", "Rows with a value"], completeness, "Completeness"),
        _pairs_table(validity.get("quarantine_by_reason"), ("Reason", "Rows"),
                     caption="Quarantined rows by reason", empty="Nothing was quarantined."),
        _pairs_table(checks, ("Check", "Count"), caption="Validity checks"),
        _pairs_table(validity.get("unknown_country_values"), ("Country as given", "Orders"),
                     caption="Countries not recognised", empty="Every country was recognised."),
        Table(["Measure", "Value"], identity_rows, "Identity coverage"),
        _pairs_table(quality.get("markets"), ("Market", "Sale orders"), caption="Sale orders by market"),
        _pairs_table(quality.get("currencies"), ("Currency", "Orders"),
                     caption="Orders by original currency"),
    ]


# ---------------------------------------------------------------- charts


def chart(chart_id: str, figure: go.Figure | None, empty: str = "No data to chart.") -> Chart:
    """The figure as an HTML fragment (plotly.js is in the page head), in a container with a stable id."""
    if figure is None:
        return Chart(chart_id, None, empty)
    plot_id = "plot-" + chart_id.removeprefix("chart-")
    fragment = figure.to_html(full_html=False, include_plotlyjs=False, div_id=plot_id, config=PLOT_CONFIG)
    return Chart(chart_id, Markup(fragment), empty)


def report_charts(analysis: Analysis) -> dict[str, Chart]:
    """Every chart of the page, by section."""
    currency = analysis.reporting_currency
    month = analysis.kpis_market_month
    tables = analysis.tables or {}
    return {
        "trend_revenue": chart("chart-trend-net-revenue", charts.market_trend(
            month, "net_revenue", title=f"Net revenue per month ({currency})", y_title=currency,
            currency=currency)),
        "trend_active": chart("chart-trend-active-customers", charts.market_trend(
            month, "customers_active", title="Active customers per month", y_title="customers")),
        "trend_repeat": chart("chart-trend-repeat-rate", charts.market_trend(
            month, "repeat_purchase_rate", title="Repeat-purchase rate per month", y_title="", share=True,
            min_active_customers=SMALL_MARKET_CUSTOMERS)),
        "cohort_retention": chart("chart-cohort-retention", charts.cohort_retention(analysis.cohorts)),
        "cohort_revenue": chart("chart-cohort-revenue", charts.cohort_revenue(analysis.cohorts, currency)),
        "rfm_grid": chart("chart-rfm-grid", charts.rfm_grid(tables.get("rfm_grid"), currency),
                          "No customers have RFM scores."),
        "segments": chart("chart-segments", charts.segment_shares(tables.get("segments")),
                          "No customers to segment."),
        "tiers_customers": chart("chart-value-tiers-customers",
                                 charts.value_tiers(tables.get("value_tiers"))),
        "tiers_value": chart("chart-value-tiers-value", charts.value_tiers(
            tables.get("value_tiers"), measure="net_value", currency=currency)),
        "lifecycle": chart("chart-lifecycle", charts.lifecycle(tables.get("lifecycle"))),
        **prediction_charts(analysis),
    }


def prediction_charts(analysis: Analysis) -> dict[str, Chart]:
    predictions = analysis.predictions
    clv = predictions.clv if predictions is not None else None
    segments = (analysis.tables or {}).get("segments")
    order = [str(name) for name in segments["segment"]] if segments is not None and "segment" in segments else []
    horizon = predictions.horizon_days if predictions is not None else 0
    return {
        "clv_distribution": chart("chart-clv-distribution", charts.clv_distribution(
            clv, analysis.reporting_currency, horizon), "No CLV predictions."),
        "p_alive_segments": chart("chart-p-alive-segments", charts.p_alive_by_segment(clv, order),
                                  "No CLV predictions."),
    }


@dataclass(frozen=True)
class PredictionsView:
    """The models section: notes, the early-warning list, the churn model's evaluation, band counts."""

    notes: list[str]
    at_risk: Table
    evaluation: Table
    bands: list[tuple[str, Shown]]
    horizon_days: int
    churn_dates: list[tuple[str, str]]
    bgnbd: bool = False  # the purchase model is BG/NBD: one-time buyers have P(alive) = 1


def _dates_text(key: str, value: Any) -> str:
    """Cutoffs as their day (features use the days before it); an end instant as the last day it includes."""
    if isinstance(value, list):
        return ", ".join(item[:10] for item in value)
    if key.endswith("_end"):
        return f"{datetime.fromisoformat(str(value)) - timedelta(microseconds=1):%Y-%m-%d}"
    return str(value)[:10]


def predictions_view(analysis: Analysis) -> PredictionsView:
    predictions = analysis.predictions
    currency = analysis.reporting_currency
    if predictions is None:
        empty = Table([], [], "", "The models were not run.")
        return PredictionsView(["The models were not run for this report."], empty, empty, [], 0, [])
    at_risk = frame_table(predictions.at_risk, [
        ("customer_id", "Customer", text), ("market", "Market", text), ("segment", "Segment", text),
        ("churn_probability", "Churn probability", percent), ("clv", "CLV", lambda v: money(v, currency)),
        ("value_at_risk", "Value at risk", lambda v: money(v, currency)),
        ("reason_1", "Reason 1", text), ("reason_2", "Reason 2", text), ("reason_3", "Reason 3", text),
    ], caption="Early warning: customers at risk, by value at risk (CLV x churn probability)",
        empty="No customer is in the 'at risk' band.")
    evaluation = frame_table(predictions.churn_evaluation, [
        ("scorer", "Scorer", text), ("auc", "AUC", lambda v: decimal_places(v, 3)),
        ("pr_auc", "PR-AUC", lambda v: decimal_places(v, 3)), ("brier", "Brier score", lambda v: decimal_places(v, 3)),
        ("lift_top_decile", "Lift in top decile", lambda v: decimal_places(v, 2)), ("note", "Note", text),
    ], caption="Churn model against baselines on a held-out later cutoff", empty="The churn model was not trained.")
    dates = [(key.replace("_", " ").replace("labels end", "labels up to"), _dates_text(key, value))
             for key, value in ((predictions.churn_card or {}).get("dates") or {}).items()]
    bands = [(name, integer(count)) for name, count in predictions.band_counts.items()]
    return PredictionsView(list(predictions.notes), at_risk, evaluation, bands, predictions.horizon_days, dates,
                           bgnbd=(predictions.clv_card or {}).get("model_name") == "bgnbd")


# ---------------------------------------------------------------- the page


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("fidelis.report", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _as_of_text(as_of: datetime) -> str:
    moment = pd.Timestamp(as_of)
    moment = moment.tz_localize(timezone.utc) if moment.tzinfo is None else moment.tz_convert(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def header_facts(analysis: Analysis) -> dict[str, Any]:
    """What the header states: as-of instant, currency, customers and orders analysed, period covered."""
    months = analysis.kpis_all_month
    usable = months is not None and not months.empty and {"orders", "period"} <= set(months.columns)
    orders = int(months["orders"].sum()) if usable else 0
    span = f"{months['period'].min()} to {months['period'].max()}" if usable else ""
    return {"as_of": _as_of_text(analysis.as_of), "currency": analysis.reporting_currency,
            "customers": integer(len(analysis.summary) if analysis.summary is not None else 0),
            "orders": integer(orders), "span": span}


def render_report(analysis: Analysis, table_names: Iterable[str]) -> str:
    """The whole page as one HTML string."""
    currency = analysis.reporting_currency
    tiles, idle = kpi_tiles(analysis.kpis_market_quarter, analysis.targets, currency)
    tables = analysis.tables or {}
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=TITLE, facts=header_facts(analysis), plotly_js=Markup(plotly.offline.get_plotlyjs()),
        tiles=tiles, idle_markets=idle, quarter=latest_quarter(analysis.kpis_market_quarter),
        targets=targets_table(analysis.targets, currency), charts=report_charts(analysis),
        segments=segments_table(tables.get("segments"), currency), rfm_note=rfm_note(tables.get("rfm_grid")),
        clusters=clusters_table(analysis.cluster_profiles, currency),
        quality=quality_tables(analysis.quality, currency), exports=sorted(table_names),
        small_market=SMALL_MARKET_CUSTOMERS, predictions=predictions_view(analysis),
    )
