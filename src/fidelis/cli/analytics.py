"""`fidelis kpis`, `cohorts`, `segments`, `targets` and `analyze`: thin wrappers over fidelis.analytics."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from fidelis.analytics.cohorts import retention_matrix
from fidelis.analytics.numbers import is_empty
from fidelis.analytics.service import (
    analyse,
    analytics_context,
    kpis,
    materialise_summary,
    summary_aggregates,
)
from fidelis.analytics.service import cohorts as cohort_frame
from fidelis.analytics.service import targets as target_frame
from fidelis.cli.common import (
    JsonOption,
    WarehouseOption,
    handles_errors,
    print_json,
    progress_steps,
    stderr,
    stdout,
    warehouse_path,
)
from fidelis.errors import InputError


class By(str, Enum):
    market = "market"
    country = "country"
    channel = "channel"


class PeriodChoice(str, Enum):
    month = "month"
    quarter = "quarter"
    year = "year"


class CohortValue(str, Enum):
    retention = "retention"
    customers = "customers"
    revenue = "revenue"


AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Last day to include (YYYY-MM-DD, UTC). Default: the day of the latest order.")]
ByOption = Annotated[By | None, typer.Option("--by", help="Group by market, country or channel (default: all).")]

DEFAULT_PERIODS_SHOWN = 4
KPI_COLUMNS = {  # column -> (heading, kind)
    "customers_active": ("active customers", "count"), "customers_new": ("new customers", "count"),
    "orders": ("orders", "count"), "net_revenue": ("net revenue", "money"), "aov": ("AOV", "money"),
    "purchase_frequency": ("purchase frequency", "number"), "repeat_purchase_rate": ("repeat-purchase rate", "rate"),
    "retention_rate": ("retention rate", "rate"), "active_rate": ("active rate", "rate"),
    "clv_historical": ("historical CLV", "money"), "return_rate_value": ("return rate (value)", "rate"),
    "avg_inter_purchase_days": ("days between purchases", "number"), "nps": ("NPS", "nps"), "csat": ("CSAT", "rate"),
    "complaint_rate": ("complaint rate", "rate"), "loyalty_index": ("loyalty index", "number"),
}


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of: '{value}' is not a date in the form YYYY-MM-DD") from None


@handles_errors
def kpis_command(
    by: ByOption = None,
    period: Annotated[PeriodChoice, typer.Option("--period", help="Calendar period: month, quarter or year.")]
    = PeriodChoice.month,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Show only the last N periods of each group.")]
    = None,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Loyalty KPIs per period, overall or by market, country or channel, with the change on the previous period."""
    with progress_steps("kpis", enabled=not json_output):
        table = kpis(warehouse_path(warehouse), by=by.value if by else None, period=period.value,
                     as_of=parse_as_of(as_of))
    if last is not None:
        table = table.groupby("group", sort=False).tail(last)
    if json_output:
        print_json({"period": period.value, "by": by.value if by else None, "rows": records(table)})
        return
    for view in _kpi_rich_tables(table, last or DEFAULT_PERIODS_SHOWN):
        stdout.print(view)
    if last is None and table.groupby("group").size().max() > DEFAULT_PERIODS_SHOWN:
        stdout.print(f"showing the last {DEFAULT_PERIODS_SHOWN} periods of each group; --last N or --json for more")


def _kpi_rich_tables(table: pd.DataFrame, periods_shown: int) -> list[Table]:
    """One table per group: metrics down, the latest periods across (readable in 80 columns)."""
    views = []
    for group, rows in table.groupby("group", sort=False):
        rows = rows.tail(periods_shown)
        view = Table(title=f"{group}: KPIs (– = no data, * = period not complete)")
        view.add_column("metric")
        for row in rows.itertuples(index=False):
            view.add_column(row.period + ("" if row.complete else "*"), justify="right")
        for column, (heading, kind) in KPI_COLUMNS.items():
            view.add_row(heading, *[shown(value, kind) for value in rows[column]])
        views.append(view)
    return views


@handles_errors
def cohorts_command(
    by: ByOption = None,
    value: Annotated[CohortValue, typer.Option(
        "--value", help="Matrix cells: retention (share active), customers, or revenue (cumulative per customer).")]
    = CohortValue.retention,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Monthly acquisition cohorts: who came back in each month after their first purchase."""
    cell = {"retention": "retention_rate", "customers": "customers_active",
            "revenue": "revenue_per_customer_cumulative"}[value.value]
    with progress_steps("cohorts", enabled=not json_output):
        table = cohort_frame(warehouse_path(warehouse), by=by.value if by else None, as_of=parse_as_of(as_of))
    if json_output:
        print_json({"by": by.value if by else None, "rows": records(table)})
        return
    for group, rows in table.groupby("group", sort=False):
        matrix = retention_matrix(rows, cell)
        view = Table(title=f"cohorts ({group}): {value.value} by months since the first purchase")
        view.add_column("cohort")
        view.add_column("size", justify="right")
        sizes = rows.groupby("cohort")["cohort_size"].first()
        shown_months = [m for m in matrix.columns if m <= 12]
        for month in shown_months:
            view.add_column(f"+{month}", justify="right")
        kind = {"retention_rate": "rate", "customers_active": "count"}.get(cell, "money")
        for cohort, values in matrix.iterrows():
            view.add_row(cohort, f"{sizes[cohort]:,}", *[shown(values[m], kind) for m in shown_months])
        stdout.print(view)


@handles_errors
def segments_command(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Also write the per-customer summary to this CSV or Parquet file.")] = None,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """RFM segments, value tiers, lifecycle stages and behavioural clusters; stores `customer_summary`."""
    if output is not None:
        check_output_file(output, "--output", (".csv", ".parquet"))
    with progress_steps("segments", enabled=not json_output) as step, \
            analytics_context(warehouse_path(warehouse), as_of=parse_as_of(as_of), writable=True,
                              prepare=False) as context:
        step("customer summary")
        summary = materialise_summary(context)
        step("aggregates")
        tables = summary_aggregates(context)
        as_of_instant = context.inputs.as_of
    if output is not None:
        write_output(summary.table, output)
    customers, profiles = summary.table.num_rows, summary.cluster_profiles
    if json_output:
        print_json({"as_of": as_of_instant, "customers": customers, **{k: records(v) for k, v in tables.items()},
                    "clusters": records(profiles), **({"output": str(output)} if output else {})})
        return
    stdout.print(f"{customers:,} customers with purchases, as of {as_of_instant:%Y-%m-%d %H:%M} UTC")
    stdout.print(frame_table(tables["segments"], "RFM segments",
                              {"segment": "text", "customers": "count", "customer_share": "rate",
                               "net_value": "money", "revenue_share": "rate", "recency_days_mean": "number",
                               "purchases_mean": "number"}))
    stdout.print(frame_table(tables["value_tiers"], "value tiers by market",
                              {"market": "text", "value_tier": "text", "customers": "count", "net_value": "money"}))
    stdout.print(frame_table(tables["lifecycle"], "lifecycle stages by market",
                              {"market": "text", "lifecycle_stage": "text", "customers": "count"}))
    stdout.print(frame_table(profiles, "behavioural clusters",
                              {"cluster": "count", "label": "text", "customers": "count", "share": "rate",
                               "revenue_share": "rate", "purchases_median": "number",
                               "days_since_last_median": "number"}))
    if output is not None:
        stdout.print(f"customer summary written to {output}")


def check_output_file(path: Path, option: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an unusable output file before any work is done, naming the option."""
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{option}: {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{option}: {path} is a folder")
    _check_parents_are_folders(path, option)


def check_output_folder(path: Path, option: str) -> None:
    """Refuse an output folder that is a file, or lies under one, before any work is done."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{option}: {path} is a file, not a folder")
    _check_parents_are_folders(path, option)


def _check_parents_are_folders(path: Path, option: str) -> None:
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option}: {parent} is a file, not a folder")


def write_output(table, path: Path) -> None:
    from fidelis.report.exports import write_table

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_table(table, path)
    except OSError as exc:
        raise InputError(f"--output: cannot write {path}: {exc.strerror or exc}") from None


@handles_errors
def targets_command(
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Progress against the targets of the analytics file, per market and metric."""
    table = target_frame(warehouse_path(warehouse), as_of=parse_as_of(as_of))
    if json_output:
        print_json({"targets": records(table)})
        return
    if table.empty:
        stdout.print("no targets are set; add [[targets]] to the analytics file (see docs/metrics.md)")
        return
    stdout.print(frame_table(table, "targets", {
        "market": "text", "metric": "text", "baseline_period": "text", "baseline": "number", "target": "number",
        "current_period": "text", "current": "number", "progress": "rate", "status": "text"}))
    for row in table.itertuples(index=False):
        if row.note:
            stdout.print(f"{row.market}, {row.metric}: {row.note}")


@handles_errors
def analyze_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html and the exported tables.")],
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Order and feedback files to load first (see `fidelis ingest`); none: analyse the warehouse as it is.")]
    = None,
    as_of: AsOfOption = None,
    warehouse: Annotated[Path | None, typer.Option(
        "--warehouse", "-w", help="Warehouse to load into and analyse (default: OUT/warehouse.duckdb).")] = None,
    models: Annotated[bool, typer.Option(
        "--models/--no-models", help="Fit the CLV and churn models for the report's predictions section.")] = True,
    json_output: JsonOption = False,
) -> None:
    """Load files, compute every analytics table, and write a self-contained HTML report plus CSV/Parquet."""
    from fidelis.config import get_settings
    from fidelis.ingest.service import ingest_paths
    from fidelis.models.overview import predictions_for_report
    from fidelis.report import write_report

    check_output_folder(out, "--out")
    target = warehouse or out / "warehouse.duckdb"
    with progress_steps("analyze", enabled=not json_output) as step:
        loads = ingest_paths(paths or [], warehouse_path=target, settings=get_settings(), progress=step)
        step("computing analytics")
        with analytics_context(target, as_of=parse_as_of(as_of), writable=True) as context:
            analysis = analyse(context)
        if models:  # after the analytics connection is closed: the models open the warehouse themselves
            analysis.add_predictions(predictions_for_report(target, as_of=analysis.as_of, summary=analysis.summary,
                                                            progress=step))
        step("writing the report")
        try:
            files = write_report(analysis, out)
        except OSError as exc:
            raise InputError(f"--out: cannot write the report into {out}: {exc.strerror or exc}") from None
    if json_output:
        print_json({"warehouse": str(target), "report": str(files.html), "tables": [str(p) for p in files.exports],
                    "as_of": analysis.as_of, "loads": [load.to_dict() for load in loads]})
        return
    for load in loads:
        stderr.print(f"{load.path}: {load.status}")
    stdout.print(f"report: [bold]{files.html}[/]  ({len(files.exports)} exported tables in {files.html.parent / 'tables'})")


# ------------------------------------------------------------------------------------------ rendering

def shown(value: Any, kind: str) -> str:
    """A cell for people: '–' for no data, never 'nan'."""
    if is_empty(value):
        return "–"
    if kind == "text":
        return str(value)
    if kind == "count":
        return f"{int(value):,}"
    if kind == "money":
        return f"{Decimal(value):,.2f}" if isinstance(value, Decimal) else f"{float(value):,.2f}"
    if kind == "rate":
        return f"{float(value):.1%}"
    if kind == "nps":
        return f"{float(value):+.1f}"
    if kind == "estimate":  # a model parameter or metric: significant digits, whatever its scale
        return f"{float(value):.6g}"
    return f"{float(value):,.2f}"


def frame_table(frame: pd.DataFrame, title: str, columns: dict[str, str]) -> Table:
    view = Table(title=title)
    for column, kind in columns.items():
        view.add_column(column.replace("_", " "), justify="left" if kind == "text" else "right")
    for row in frame.to_dict("records"):
        view.add_row(*[shown(row.get(column), kind) for column, kind in columns.items()])
    return view


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: decimals as numbers, dates as ISO text, NaN and NA as null."""
    return [{key: json_value(value) for key, value in row.items()} for row in frame.to_dict("records")]


def json_value(value: Any) -> Any:
    if is_empty(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return json_value(value.item())
    return value
