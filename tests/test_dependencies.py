"""The pinned dependency set works together (ibis 12 with sqlglot, duckdb 1.x and pyspark)."""

from __future__ import annotations

import importlib
from importlib.metadata import requires, version
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest
import sqlglot
from packaging.requirements import Requirement
from packaging.version import Version

from fidelis.warehouse import open_warehouse

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, pinned = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = pinned.strip()
    return pins


def test_installed_versions_are_the_locked_ones() -> None:
    pins = _locked()
    for package in (
        "duckdb",
        "ibis-framework",
        "sqlglot",
        "pandas",
        "pyarrow",
        "typer",
        "pydantic",
        "scikit-learn",
        "plotly",
        "jinja2",
        "pyspark",
        "playwright",
        "lifetimes",
    ):
        assert version(package) == pins[package], package


def test_known_bad_combination_is_excluded() -> None:
    """ibis 12.0.0 fails with sqlglot 30.30 (DROP VIEW IF EXISTS parse error); duckdb 2 files break 1.x."""
    major, minor = (int(part) for part in sqlglot.__version__.split(".")[:2])
    assert (major, minor) <= (30, 0) and (major, minor) >= (27, 29)
    assert duckdb.__version__.startswith("1.")
    assert int(pd.__version__.split(".")[0]) < 3


def test_ibis_creates_tables_and_views_on_the_warehouse(tmp_path: Path) -> None:
    """The calls that break with a bad sqlglot: create_table (it drops a temp view) and create_view."""
    with open_warehouse(tmp_path / "wh.duckdb", reporting_currency="EUR") as wh:
        backend = wh.ibis()
        frame = pd.DataFrame({"customer_id": [1, 2, 2], "amount": [10.0, 5.0, 7.5]})
        backend.create_table("scratch", frame, overwrite=True)
        backend.create_table("scratch", frame, overwrite=True)
        table = backend.table("scratch")
        totals = table.group_by("customer_id").aggregate(total=table.amount.sum()).order_by("customer_id")
        backend.create_view("scratch_totals", totals, overwrite=True)
        result = backend.table("scratch_totals").execute()
        assert result["total"].tolist() == [10.0, 12.5]
        assert "orders" in backend.list_tables()
        assert ibis.__version__ == version("ibis-framework")


def test_pyspark_is_within_the_range_ibis_supports() -> None:
    """ibis-framework declares the pyspark versions its backend supports in its `pyspark` extra."""
    ranges = [
        requirement.specifier
        for requirement in map(Requirement, requires("ibis-framework") or [])
        if requirement.name == "pyspark"
        and requirement.marker
        and requirement.marker.evaluate({"extra": "pyspark"})
    ]
    assert ranges, "ibis-framework no longer declares a pyspark range"
    assert Version(version("pyspark")) in ranges[0], (version("pyspark"), str(ranges[0]))


def test_analytics_and_report_dependencies_import() -> None:
    """Imports only (no Spark session, no browser): sklearn, plotly, jinja2, pyspark, ibis on pyspark."""
    modules = ("sklearn.cluster", "plotly.graph_objects", "jinja2", "pyspark.sql", "ibis.backends.pyspark")
    for module in modules:
        importlib.import_module(module)
    import plotly

    # the report inlines plotly.js instead of loading it from a CDN
    assert (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").is_file()


def test_lifetimes_peer_works_with_the_pinned_numpy_pandas_scipy(shared_file) -> None:
    """lifetimes 0.11.3 is archived: its summary and BG/NBD fit still run, and give the published figures."""
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    dates = pd.to_datetime(["2011-01-03", "2011-01-10", "2011-01-24", "2011-01-05"])
    transactions = pd.DataFrame({"customer": [1, 1, 1, 2], "date": dates})
    summary = summary_data_from_transaction_data(
        transactions, "customer", "date", observation_period_end="2011-01-31", freq="D"
    )
    assert summary.loc[1].tolist() == [2.0, 21.0, 28.0] and summary.loc[2].tolist() == [0.0, 0.0, 26.0]

    cdnow = pd.read_csv(shared_file("cdnow_customers_summary.csv"))
    fitted = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert fitted.params_.to_dict() == pytest.approx(published, abs=1e-3)
