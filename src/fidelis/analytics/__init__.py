"""Loyalty analytics over the warehouse: KPIs, cohorts, customer summary, segments, targets.

The functions here open a warehouse file and return pandas DataFrames:

    import fidelis.analytics as fa
    fa.kpis("warehouse.duckdb", by="market", period="quarter")
    fa.cohorts("warehouse.duckdb")
    fa.segments("warehouse.duckdb")      # the customer summary, also stored as `customer_summary`
    fa.targets("warehouse.duckdb")

The computations underneath take `AnalyticsInputs` (Ibis tables and an as-of instant), so the same
code runs on DuckDB and on Spark: see `inputs_from_backend`, `kpi_table`, `cohort_table`,
`customer_summary`; `exact_frame(expr)` executes one into pandas with money as exact Arrow decimals
(fast at a million rows). Metric definitions: docs/metrics.md.
"""

from fidelis.analytics.cohorts import cohort_table, retention_matrix
from fidelis.analytics.config import AnalyticsConfig, load_analytics_config
from fidelis.analytics.inputs import AnalyticsInputs, inputs_from_backend
from fidelis.analytics.kpis import kpi_table
from fidelis.analytics.numbers import exact_frame
from fidelis.analytics.service import cohorts, kpis, segments, targets
from fidelis.analytics.summary import customer_summary

__all__ = [
    "AnalyticsConfig", "AnalyticsInputs", "cohort_table", "cohorts", "customer_summary", "exact_frame",
    "inputs_from_backend",
    "kpi_table", "kpis", "load_analytics_config", "retention_matrix", "segments", "targets",
]
