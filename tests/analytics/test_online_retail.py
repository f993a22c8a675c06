"""Online Retail (nine months, real data): the analytics figures are stable and documented.

The snapshot is a golden JSON file; docs/examples/online-retail.md quotes the same figures. A change
in a definition shows up here as a diff to review, never silently.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest

from fidelis.analytics import customer_summary, inputs_from_backend, kpi_table, load_analytics_config
from fidelis.analytics.cohorts import cohort_table
from fidelis.analytics.service import analyse, analytics_context
from fidelis.cli.analytics import records
from fidelis.config import Settings
from fidelis.warehouse import open_warehouse

KPI_COLUMNS = ["group", "period", "complete", "customer_base", "customers_active", "customers_new", "customers_repeat",
               "orders", "sales_value", "refunds_value", "net_revenue", "aov", "purchase_frequency",
               "repeat_purchase_rate", "retention_rate", "active_rate", "clv_historical", "return_rate_orders",
               "return_rate_value", "avg_inter_purchase_days", "nps", "csat", "complaint_rate", "loyalty_index"]


@pytest.fixture(scope="module")
def analysed(online_retail_warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """Everything the report shows, plus the all-customer quarterly KPIs, on a copy of the warehouse."""
    copy = tmp_path_factory.mktemp("or_analysis") / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, copy)
    with analytics_context(copy, settings=Settings(environment="test"), writable=True) as context:
        analysis = analyse(context)
        analysis.tables["kpis_all_quarter"] = kpi_table(context.inputs, context.config, period="quarter")
    return analysis


def snapshot(analysed) -> str:
    quarterly = analysed.kpis_market_quarter
    main_markets = quarterly[quarterly["group"].isin(["United Kingdom", "Europe", "Asia-Pacific other",
                                                      "North America"])]
    document = {
        "as_of": analysed.as_of.isoformat(),
        "customers": len(analysed.summary),
        "kpis_all_quarter": records(analysed.tables["kpis_all_quarter"][KPI_COLUMNS]),
        "kpis_market_quarter": records(main_markets[KPI_COLUMNS]),
        "segments": records(analysed.tables["segments"]),
        "value_tiers": records(analysed.tables["value_tiers"]),
        "lifecycle": records(analysed.tables["lifecycle"]),
        "cohort_retention_first_cohorts": records(
            analysed.cohorts[analysed.cohorts["cohort"].isin(["2010-12", "2011-01"])][
                ["cohort", "months_since_first", "cohort_size", "customers_active", "retention_rate",
                 "revenue_per_customer_cumulative"]]),
        "targets": records(analysed.targets),
        "clusters": records(analysed.cluster_profiles),
    }
    return json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n"


def test_online_retail_figures_match_the_snapshot(analysed, golden) -> None:
    golden("online_retail.json", snapshot(analysed))


def test_headline_figures_agree_with_plain_sql(analysed, online_retail_warehouse: Path) -> None:
    """Headline figures recomputed by hand-written SQL on the raw orders (Online Retail links no
    cancellation to its sale, so every sale of a known customer is a purchase)."""
    summary = analysed.summary.to_pandas()
    with open_warehouse(online_retail_warehouse, create=False, read_only=True) as wh:
        buyers, sales, refunds = wh.con.execute("""
            SELECT count(DISTINCT customer_id) FILTER (WHERE order_kind = 'sale'),
                   sum(amount_reporting) FILTER (WHERE order_kind = 'sale'),
                   -sum(amount_reporting) FILTER (WHERE order_kind <> 'sale'
                        AND customer_id IN (SELECT customer_id FROM orders WHERE order_kind = 'sale'))
            FROM orders WHERE customer_id IS NOT NULL""").fetchone()
    assert analysed.as_of.date() == date(2011, 9, 1)
    assert len(summary) == buyers == 3_317
    assert sum(summary["sales_value"]) == sales
    assert sum(summary["refunds_value"]) == refunds
    assert (summary["frequency"] == summary["purchases"] - 1).all()
    assert (summary["frequency_by_day"] <= summary["frequency"]).all()
    assert set(summary["segment"]) <= {rule.name for rule in load_analytics_config().rfm_segments}
    uk = analysed.kpis_market_quarter.query("group == 'United Kingdom' and period == '2011-Q2'").iloc[0]
    assert uk["complete"] and uk["customers_active"] == 1_805
    assert pd.isna(uk["nps"]) and pd.isna(uk["csat"])  # Online Retail has no feedback: empty, not 0


def test_summary_sql_matches_its_golden_file(online_retail_warehouse: Path, golden) -> None:
    """The SQL that the customer summary compiles to is reviewed like code."""
    with open_warehouse(online_retail_warehouse, create=False, read_only=True) as wh:
        inputs = inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="GBP", prepare=False)
        sql = ibis.to_sql(customer_summary(inputs, load_analytics_config()), dialect="duckdb")
    golden("customer_summary.sql", str(sql) + "\n")


def test_cohorts_and_kpis_agree(online_retail_warehouse: Path) -> None:
    """Month 0 of every cohort is its whole size, and new customers per month add up to the cohorts."""
    with open_warehouse(online_retail_warehouse, create=False, read_only=True) as wh:
        inputs = inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="GBP")
        cohorts = cohort_table(inputs)
        monthly = kpi_table(inputs, load_analytics_config(), period="month")
        inputs.release()
    first_months = cohorts[cohorts["months_since_first"] == 0]
    assert (first_months["customers_active"] == first_months["cohort_size"]).all()
    assert dict(zip(first_months["cohort"], first_months["cohort_size"])) == {
        row.period: row.customers_new for row in monthly.itertuples() if row.customers_new}
