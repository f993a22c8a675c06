"""The analytics commands on the bundled Online Retail sample: tables, JSON, exports, the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fidelis.cli.app import app
from fidelis.config import Settings, get_settings
from fidelis.demo import bundled_sample
from fidelis.ingest.service import ingest_file


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    ingest_file(bundled_sample(), warehouse_path=warehouse, settings=Settings(reporting_currency="GBP"))
    return warehouse


@pytest.fixture
def warehouse(sample_warehouse: Path, tmp_path: Path, monkeypatch) -> Path:
    for variable in ("FIDELIS_REPORTING_CURRENCY", "FIDELIS_WAREHOUSE", "FIDELIS_ANALYTICS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, copy)
    return copy


def run_json(*arguments: str) -> dict:
    result = CliRunner().invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout, parse_constant=_refuse)


def _refuse(constant: str):
    raise AssertionError(f"JSON output holds {constant}")


def test_kpis_json_by_market_and_month(warehouse: Path) -> None:
    document = run_json("kpis", "--by", "market", "--period", "month", "--warehouse", str(warehouse))
    rows = {(row["group"], row["period"]): row for row in document["rows"]}
    uk = rows[("United Kingdom", "2010-12")]
    assert uk["complete"] is True and uk["orders"] > 0
    assert uk["nps"] is None and uk["complaint_rate"] is None  # the sample has no feedback
    assert uk["net_revenue"] == pytest.approx(uk["sales_value"] - uk["refunds_value"], abs=0.005)
    assert document["by"] == "market" and document["period"] == "month"


def test_quarters_the_sample_covers_only_in_part_are_not_complete(warehouse: Path) -> None:
    document = run_json("kpis", "--period", "quarter", "--warehouse", str(warehouse))
    # The sample runs from 2010-12-01 to 2011-02-28: neither quarter is covered in full.
    assert [(row["period"], row["complete"]) for row in document["rows"]] == [("2010-Q4", False), ("2011-Q1", False)]


def test_kpis_table_marks_missing_values_and_incomplete_periods(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["kpis", "--period", "month", "--as-of", "2011-02-14", "--warehouse",
                                      str(warehouse)])
    assert result.exit_code == 0, result.stderr
    assert "2011-02*" in result.stdout and "–" in result.stdout
    assert "nan" not in result.stdout.lower()


def test_cohorts_json_and_matrix(warehouse: Path) -> None:
    document = run_json("cohorts", "--warehouse", str(warehouse))
    first = [row for row in document["rows"] if row["months_since_first"] == 0]
    assert all(row["retention_rate"] == 1.0 for row in first)
    result = CliRunner().invoke(app, ["cohorts", "--value", "customers", "--warehouse", str(warehouse)])
    assert result.exit_code == 0 and "2010-12" in result.stdout


def test_segments_store_the_summary_and_export_it(warehouse: Path, tmp_path: Path) -> None:
    output = tmp_path / "customers.parquet"
    document = run_json("segments", "--output", str(output), "--warehouse", str(warehouse))
    exported = pd.read_parquet(output)
    assert len(exported) == document["customers"] > 0
    assert sum(row["customers"] for row in document["segments"]) == document["customers"]
    assert {"r_score", "segment", "value_tier", "lifecycle_stage", "cluster"} <= set(exported.columns)
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customer_summary").fetchone()[0] == document["customers"]


def test_segments_refuse_an_unknown_export_format(warehouse: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["segments", "--output", str(tmp_path / "x.txt"), "--warehouse", str(warehouse)])
    assert result.exit_code == 2 and "--output" in result.stderr


def test_targets_say_why_there_is_no_data(warehouse: Path) -> None:
    document = run_json("targets", "--warehouse", str(warehouse))
    by_market = {row["market"]: row for row in document["targets"]}
    assert by_market["Southeast Asia"]["status"] == "no data" and by_market["Southeast Asia"]["note"]
    # The default targets are quarterly and the three-month sample covers no quarter in full.
    uk = by_market["United Kingdom"]
    assert uk["status"] == "no data" and uk["baseline"] is None and "no complete quarter" in uk["note"]


def test_analyze_writes_the_report_and_every_table(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FIDELIS_REPORTING_CURRENCY", "GBP")
    get_settings.cache_clear()
    out = tmp_path / "out"
    document = run_json("analyze", str(bundled_sample()), "--out", str(out))
    get_settings.cache_clear()
    report = Path(document["report"])
    assert report == out / "report.html" and report.stat().st_size > 100_000
    names = {Path(path).name for path in document["tables"]}
    assert {"kpis_market_quarter.csv", "cohorts.parquet", "customer_summary.csv", "segments.csv"} <= names
    again = run_json("analyze", str(bundled_sample()), "--out", str(out))
    assert again["loads"][0]["status"] == "already_loaded"
