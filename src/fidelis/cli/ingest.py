"""`fidelis ingest` and `fidelis quality`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fidelis.cli.common import (
    JsonOption,
    WarehouseOption,
    handles_errors,
    print_json,
    progress_steps,
    stdout,
    warehouse_path,
)
from fidelis.ingest.pipeline import FATES
from fidelis.ingest.quality import warehouse_quality
from fidelis.ingest.service import LoadReport, ingest_paths
from fidelis.ingest.sources import REGISTRY, SourceOptions
from fidelis.warehouse import open_warehouse


@handles_errors
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Files to load (CSV, XLSX, Parquet, JSON lines; .gz ok).")],
    file_format: Annotated[str | None, typer.Option(
        "--format", "-f", help=f"Layout: {', '.join(REGISTRY)}. Default: detected from the header.")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", "-m", help="Mapping TOML for the generic layout.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Namespace for this shop's ids (default: the layout's).")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA zone of timestamps without offset.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Currency of amounts when the file has none.")] = None,
    lenient: Annotated[bool, typer.Option(
        "--lenient", help="Quarantine unparsable rows instead of refusing the file.")] = False,
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Load order exports or feedback files into the warehouse (atomic and idempotent)."""
    options = SourceOptions(mapping_path=mapping, source_name=source, timezone=timezone, default_currency=currency)
    target = warehouse_path(warehouse)
    with progress_steps("ingest", enabled=not json_output) as step:
        reports = ingest_paths(paths, warehouse_path=target, file_format=file_format, options=options,
                               lenient=lenient, progress=step)
    if json_output:
        print_json({"warehouse": str(target), "loads": [r.to_dict() for r in reports]})
        return
    for report in reports:
        render_load_report(report)
    stdout.print(f"warehouse: [bold]{target}[/]")


def render_load_report(report: LoadReport) -> None:
    if report.status == "already_loaded":
        stdout.print(f"[yellow]{report.path}[/]: already loaded (batch {report.batch_id}); nothing added")
        return
    stdout.print(f"\n[bold]{Path(report.path).name}[/]: {report.source_format} layout, {report.rows_read:,} rows, "
                 f"{report.seconds:.1f} s")
    table = Table()
    table.add_column("lines")
    table.add_column("count", justify="right")
    for fate in FATES:
        if fate in report.lines_by_fate:
            table.add_row(fate, f"{report.lines_by_fate[fate]:,}")
    for fate, count in report.lines_by_fate.items():
        if fate not in FATES:
            table.add_row(fate, f"{count:,}")
    for reason, count in report.quarantine_by_reason.items():
        table.add_row(f"  quarantined: {reason}", f"{count:,}")
    stdout.print(table)
    identity = report.quality.get("identity", {})
    if "known_customer_revenue_share" in identity and identity["known_customer_revenue_share"] is not None:
        stdout.print(f"known-customer revenue share: {identity['known_customer_revenue_share']:.1%}; "
                     f"orders {report.orders_loaded:,}, new customers {report.customers_created:,}, "
                     f"merged {report.customers_merged:,}")


@handles_errors
def quality_command(warehouse: WarehouseOption = None, json_output: JsonOption = False) -> None:
    """Data-quality figures for the whole warehouse: completeness, validity, identity coverage."""
    with open_warehouse(warehouse_path(warehouse), create=False, read_only=True) as wh:
        figures = warehouse_quality(wh.con)
        figures["warehouse"] = str(wh.path)
    if json_output:
        print_json(figures)
        return
    render_quality(figures)


def render_quality(figures: dict) -> None:
    totals = figures["totals"]
    stdout.print(f"\n[bold]{figures['warehouse']}[/] (reporting currency {figures['reporting_currency']})")
    table = Table()
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("orders", "order_lines", "customers", "feedback", "quarantined_rows", "customer_merges", "batches"):
        table.add_row(key.replace("_", " "), f"{totals[key]:,}")
    identity = figures["identity"]
    share = identity["known_customer_revenue_share"]
    table.add_row("known-customer revenue share", "n/a" if share is None else f"{share:.1%}")
    validity = figures["validity"]
    table.add_row("orders with unknown country", f"{validity['unknown_country_orders']:,}")
    table.add_row("orphan returns", f"{validity['orphan_returns']:,}")
    for market, orders in figures["markets"].items():
        table.add_row(f"sales orders: {market}", f"{orders:,}")
    for reason, count in validity["quarantine_by_reason"].items():
        table.add_row(f"quarantined: {reason}", f"{count:,}")
    for table_name, fields in figures["completeness"].items():
        for field, value in fields.items():
            table.add_row(f"complete: {table_name}.{field}", "n/a" if value is None else f"{value:.1%}")
    stdout.print(table)
