"""Analyses for the report tests: a small real one (synthetic cross-border customers with feedback,
optionally with the bundled Online Retail slice) and one of nothing at all."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from fidelis.analytics.service import Analysis, analyse, analytics_context
from fidelis.config import Settings
from fidelis.demo import bundled_sample
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions
from fidelis.synth import generate


def build_analysis(folder: Path, *, customers: int = 300, seed: int = 1,
                   with_sample: bool = False, with_models: bool = True) -> Analysis:
    """Load a synthetic set (and, if asked, the bundled sample) into a fresh warehouse, then analyse it.

    The synthetic set alone has several markets, channels and feedback; the Online Retail slice
    adds three months in 2010-11 and so a grid of 15 years, at the cost of a few seconds. With
    `with_models`, the CLV and churn models run as `fidelis analyze` runs them.
    """
    settings = Settings(reporting_currency="GBP", environment="test")
    warehouse = folder / "warehouse.duckdb"
    if with_sample:
        ingest_file(bundled_sample(), warehouse_path=warehouse, settings=settings)
    synth = folder / "synth"
    generate(synth, customers=customers, seed=seed)
    for data, mapping in (("orders.csv", "orders.mapping.toml"), ("feedback.csv", "feedback.mapping.toml")):
        ingest_file(synth / data, warehouse_path=warehouse, settings=settings,
                    options=SourceOptions(mapping_path=synth / mapping))
    with analytics_context(warehouse, writable=True, settings=settings) as context:
        analysis = analyse(context)
    if with_models:
        from fidelis.models.overview import predictions_for_report

        analysis.add_predictions(predictions_for_report(warehouse, as_of=analysis.as_of, summary=analysis.summary,
                                                        settings=settings))
    return analysis


def empty_analysis(**changes) -> Analysis:
    """An analysis of nothing: every table empty, no channel KPIs, no quality figures."""
    frames = ("kpis_market_month", "kpis_market_quarter", "kpis_all_month", "kpis_country_quarter", "cohorts",
              "summary", "cluster_profiles", "targets")
    fields = {name: pd.DataFrame() for name in frames}
    fields.update(as_of=datetime(2024, 7, 1, tzinfo=timezone.utc), reporting_currency="EUR",
                  kpis_channel_quarter=None, quality={}, tables={})
    return Analysis(**{**fields, **changes})
