"""Entry points over a warehouse file: every analytics table as a pandas DataFrame.

These are what the CLI, the report and a notebook call (`import fidelis.analytics as fa;
fa.kpis("warehouse.duckdb", by="market")`). The computations themselves take `AnalyticsInputs`
and so run on any Ibis backend; this module binds them to the DuckDB warehouse, materialises the
customer summary there, and gathers everything the report needs in one `Analysis`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from fidelis.analytics.clusters import assign_clusters, cluster_inputs
from fidelis.analytics.cohorts import cohort_table
from fidelis.analytics.config import AnalyticsConfig, load_analytics_config
from fidelis.analytics.inputs import AnalyticsInputs, Dimension, inputs_from_backend
from fidelis.analytics.kpis import kpi_table
from fidelis.analytics.metrics import Period
from fidelis.analytics.numbers import decimals_to_cents, exact_frame
from fidelis.analytics.segments import in_display_order, segment_tables
from fidelis.analytics.summary import SUMMARY_TABLE, customer_summary
from fidelis.analytics.targets import target_progress
from fidelis.config import Settings, get_settings
from fidelis.domain.markets import load_market_config
from fidelis.errors import NoDataError
from fidelis.ingest.quality import warehouse_quality
from fidelis.warehouse import Warehouse, open_warehouse


@dataclass
class AnalyticsContext:
    """An open warehouse, its inputs cut at the as-of instant, and the analytics file."""

    warehouse: Warehouse
    inputs: AnalyticsInputs
    config: AnalyticsConfig


@contextlib.contextmanager
def analytics_context(warehouse: Path | str | None = None, *, as_of: date | datetime | None = None,
                      settings: Settings | None = None, writable: bool = False,
                      prepare: bool = True) -> Iterator[AnalyticsContext]:
    """Open the warehouse (read-only unless the customer summary is to be written) for analytics.

    `prepare` materialises the inputs once for the many aggregates of KPIs, cohorts and reports;
    a command that runs the customer summary alone is faster without.
    """
    settings = settings or get_settings()
    path = Path(warehouse) if warehouse is not None else settings.warehouse
    config = load_analytics_config(settings.analytics_file)
    with open_warehouse(path, create=False, read_only=not writable) as wh:
        config = config.checked_for(wh.reporting_currency, load_market_config(settings.markets_file).markets)
        inputs = inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency=wh.reporting_currency,
                                     as_of=as_of, prepare=prepare)
        try:
            yield AnalyticsContext(warehouse=wh, inputs=inputs, config=config)
        finally:
            inputs.release()


def kpis(warehouse: Path | str | None = None, *, by: Dimension | None = None, period: Period = "month",
         as_of: date | datetime | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """KPIs per group and period (see docs/metrics.md)."""
    with analytics_context(warehouse, as_of=as_of, settings=settings) as context:
        return kpi_table(context.inputs, context.config, by=by, period=period)


def cohorts(warehouse: Path | str | None = None, *, by: Dimension | None = None,
            as_of: date | datetime | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """Monthly acquisition cohorts, long format (see `retention_matrix` for the grid)."""
    with analytics_context(warehouse, as_of=as_of, settings=settings) as context:
        return cohort_table(context.inputs, by=by)


def segments(warehouse: Path | str | None = None, *, as_of: date | datetime | None = None,
             settings: Settings | None = None) -> pd.DataFrame:
    """The customer summary with scores, segment, tier, stage and cluster; also stored in the warehouse."""
    with analytics_context(warehouse, as_of=as_of, settings=settings, writable=True, prepare=False) as context:
        return materialise_summary(context).to_pandas()


def targets(warehouse: Path | str | None = None, *, as_of: date | datetime | None = None,
            settings: Settings | None = None) -> pd.DataFrame:
    """Progress against the analytics file's targets."""
    with analytics_context(warehouse, as_of=as_of, settings=settings) as context:
        return targets_for(context)


def targets_for(context: AnalyticsContext, known: dict[Period, pd.DataFrame] | None = None) -> pd.DataFrame:
    known = dict(known or {})
    for period in {target.period for target in context.config.targets} - known.keys():
        known[period] = kpi_table(context.inputs, context.config, by="market", period=period)
    return target_progress(context.config, known)


@dataclass
class CustomerSummary:
    """The materialised summary as stored (Arrow, exact decimals) and the profiles of its clusters."""

    table: pa.Table
    cluster_profiles: pd.DataFrame

    def to_pandas(self) -> pd.DataFrame:
        """One row per customer; money columns are exact Arrow decimals."""
        return exact_frame(self.table)


def materialise_summary(context: AnalyticsContext) -> CustomerSummary:
    """Write `customer_summary` (with clusters) into the warehouse and return it.

    The table is built by DuckDB from the Ibis expression (exact decimal types), then given its
    cluster column, all in one transaction: readers see the previous summary or the new one. It
    comes back as Arrow, so a million rows reach the exports without a Python object per value.
    """
    query = ibis.to_sql(customer_summary(context.inputs, context.config), dialect="duckdb")
    with context.warehouse.transaction() as con:
        con.execute(f"CREATE OR REPLACE TABLE {SUMMARY_TABLE} AS {query}")
        table = con.execute(f"SELECT * FROM {SUMMARY_TABLE} ORDER BY customer_id").arrow().read_all()
        clusters, profiles = assign_clusters(cluster_inputs(table), context.config.clusters)
        con.register("_fidelis_clusters", pa.table({"customer_id": table["customer_id"],
                                                    "cluster": pa.array(clusters, type=pa.int32())}))
        con.execute(f"ALTER TABLE {SUMMARY_TABLE} ADD COLUMN cluster INTEGER")
        con.execute(f"UPDATE {SUMMARY_TABLE} s SET cluster = c.cluster FROM _fidelis_clusters c "
                    "WHERE s.customer_id = c.customer_id")
        con.unregister("_fidelis_clusters")
    table = table.append_column("cluster", pa.array(clusters, type=pa.int32()))
    return CustomerSummary(table=table, cluster_profiles=profiles)


def summary_aggregates(context: AnalyticsContext) -> dict[str, pd.DataFrame]:
    """Segment, R x F grid, value-tier and lifecycle tables of the materialised summary."""
    table = ibis.duckdb.from_connection(context.warehouse.con).table(SUMMARY_TABLE)
    return {name: decimals_to_cents(in_display_order(expr.to_pandas()))
            for name, expr in segment_tables(table).items()}


@dataclass
class Analysis:
    """Everything the report shows, computed once."""

    as_of: datetime
    reporting_currency: str
    kpis_market_month: pd.DataFrame
    kpis_market_quarter: pd.DataFrame
    kpis_all_month: pd.DataFrame
    kpis_country_quarter: pd.DataFrame
    kpis_channel_quarter: pd.DataFrame | None
    cohorts: pd.DataFrame
    summary: pa.Table
    cluster_profiles: pd.DataFrame
    targets: pd.DataFrame
    quality: dict
    tables: dict[str, pd.DataFrame | pa.Table] = field(default_factory=dict)
    predictions: Any = None  # fidelis.models.overview.Predictions, added by the report's caller

    def add_predictions(self, predictions: Any) -> None:
        """Attach the models' results (computed after the analytics, on the same warehouse) and their tables."""
        self.predictions = predictions
        self.tables.update(predictions.tables())


def analyse(context: AnalyticsContext) -> Analysis:
    """Compute every table of the report (the summary is materialised, so the context must be writable)."""
    inputs, config = context.inputs, context.config
    market_quarter = kpi_table(inputs, config, by="market", period="quarter")
    try:
        channel_quarter = kpi_table(inputs, config, by="channel", period="quarter")
    except NoDataError:
        channel_quarter = None
    summary = materialise_summary(context)
    profiles = summary.cluster_profiles
    analysis = Analysis(
        as_of=inputs.as_of,
        reporting_currency=inputs.reporting_currency,
        kpis_market_month=kpi_table(inputs, config, by="market", period="month"),
        kpis_market_quarter=market_quarter,
        kpis_all_month=kpi_table(inputs, config, by=None, period="month"),
        kpis_country_quarter=kpi_table(inputs, config, by="country", period="quarter"),
        kpis_channel_quarter=channel_quarter,
        cohorts=cohort_table(inputs),
        summary=summary.table,
        cluster_profiles=profiles,
        targets=targets_for(context, {"quarter": market_quarter}),
        quality=warehouse_quality(context.warehouse.con),
    )
    analysis.tables = {
        "kpis_market_month": analysis.kpis_market_month,
        "kpis_market_quarter": analysis.kpis_market_quarter,
        "kpis_all_month": analysis.kpis_all_month,
        "kpis_country_quarter": analysis.kpis_country_quarter,
        **({"kpis_channel_quarter": channel_quarter} if channel_quarter is not None else {}),
        "cohorts": analysis.cohorts,
        "customer_summary": summary.table,
        "clusters": profiles,
        "targets": analysis.targets,
        **summary_aggregates(context),
    }
    return analysis
