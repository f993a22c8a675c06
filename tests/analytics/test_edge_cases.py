"""Edge cases found in review, each on a warehouse of a few hand-made rows (answers worked out here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import ibis
import pytest
from tests.analytics.golden_data import EUROPE, build_warehouse, is_empty
from typer.testing import CliRunner

from fidelis.analytics import customer_summary, inputs_from_backend, kpi_table, load_analytics_config
from fidelis.analytics.config import AnalyticsConfig
from fidelis.analytics.segments import segment_tables
from fidelis.analytics.targets import target_progress
from fidelis.cli.app import app
from fidelis.errors import NoDataError
from fidelis.warehouse import open_warehouse

CUSTOMERS = [(1, EUROPE, "DE"), (2, EUROPE, "FR")]


def _analyse(path: Path, as_of: date, step):
    with open_warehouse(path, create=False, read_only=True) as wh:
        inputs = inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR", as_of=as_of)
        try:
            return step(inputs)
        finally:
            inputs.release()


def test_guest_orders_and_refunds_alone_are_no_data(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "sale", None, None, "2024-01-05 10:00:00", "DE", EUROPE, "web", "50.00"),          # a guest
        (2, "cancellation", None, 1, "2024-01-06 10:00:00", "DE", EUROPE, "web", "-20.00"),   # a refund
    ])
    with pytest.raises(NoDataError, match="no purchase by a known customer up to 2024-01-31"):
        _analyse(path, date(2024, 1, 31), lambda inputs: None)


def test_a_refund_before_the_first_purchase_counts_in_its_own_month(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "cancellation", None, 1, "2024-01-10 10:00:00", "DE", EUROPE, "web", "-40.00"),
        (2, "sale", None, 1, "2024-02-10 10:00:00", "DE", EUROPE, "web", "100.00"),
    ])
    table = _analyse(path, date(2024, 2, 29),
                     lambda inputs: kpi_table(inputs, load_analytics_config(), period="month"))
    rows = {row.period: row for row in table.itertuples()}
    # January: no purchase, a refund of 40; February: a purchase of 100. Net over both: 60.
    assert list(rows) == ["2024-01", "2024-02"]
    assert rows["2024-01"].net_revenue == Decimal("-40.00") and rows["2024-01"].orders == 0
    assert rows["2024-02"].net_revenue == Decimal("100.00")
    assert rows["2024-02"].clv_historical == Decimal("60.00")  # (-40 + 100) / 1 customer


def test_money_means_are_floating_point_statistics_of_exact_sums(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "sale", None, 1, "2024-01-05 10:00:00", "DE", EUROPE, "web", "0.0001"),
        (2, "sale", None, 1, "2024-01-06 10:00:00", "DE", EUROPE, "web", "0.0002"),
        (3, "sale", None, 2, "2024-01-07 10:00:00", "FR", EUROPE, "web", "10.0000"),
        (4, "sale", None, 2, "2024-01-08 10:00:00", "FR", EUROPE, "web", "10.0000"),
        (5, "sale", None, 2, "2024-01-09 10:00:00", "FR", EUROPE, "web", "10.0001"),
    ])
    summary = _analyse(path, date(2024, 1, 31),
                       lambda inputs: customer_summary(inputs, load_analytics_config()).to_pandas())
    rows = {row.customer_id: row for row in summary.itertuples()}
    assert rows[1].net_value == Decimal("0.0003") and rows[2].net_value == Decimal("30.0001")  # sums exact
    assert rows[1].monetary_mean == 0.0003 / 2 and rows[1].monetary_repeat_mean == 0.0002
    assert rows[2].monetary_mean == pytest.approx(30.0001 / 3, abs=1e-12)
    assert rows[2].monetary_repeat_mean == pytest.approx(20.0001 / 2, abs=1e-12)


def test_an_as_of_far_after_the_data_leaves_the_empty_months_incomplete(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "sale", None, 1, "2024-01-01 10:00:00", "DE", EUROPE, "web", "10.00"),
        (2, "sale", None, 2, "2024-02-29 10:00:00", "FR", EUROPE, "web", "10.00"),
    ])
    table = _analyse(path, date(2024, 5, 31), lambda inputs: kpi_table(inputs, load_analytics_config()))
    # The data run from 2024-01-01 to the end of 2024-02-29: March to May are not covered.
    assert list(zip(table["period"], table["complete"])) == [
        ("2024-01", True), ("2024-02", True), ("2024-03", False), ("2024-04", False), ("2024-05", False)]


def test_shares_of_a_net_value_that_sums_to_zero_are_empty(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "sale", None, 1, "2024-01-05 10:00:00", "DE", EUROPE, "web", "50.00"),
        (2, "sale", None, 2, "2024-01-05 11:00:00", "FR", EUROPE, "web", "50.00"),
        (3, "return", None, 2, "2024-01-06 11:00:00", "FR", EUROPE, "web", "-100.00"),  # net -50
    ])
    segments = _analyse(path, date(2024, 1, 31), lambda inputs: segment_tables(
        customer_summary(inputs, load_analytics_config()))["segments"].to_pandas())
    assert segments["customers"].sum() == 2
    assert all(is_empty(share) for share in segments["revenue_share"])  # 50 - 50 = 0: no share
    assert sorted(segments["customer_share"]) == [0.5, 0.5]


def test_a_named_baseline_without_any_complete_period_says_so(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "sale", None, 1, "2024-01-05 10:00:00", "DE", EUROPE, "web", "50.00"),
    ])
    rules = [rule.model_dump() for rule in load_analytics_config().rfm_segments]
    config = AnalyticsConfig.model_validate({"rfm_segments": rules, "targets": [
        {"market": EUROPE, "metric": "orders", "period": "year", "value": 10, "baseline_period": "2024"}]})
    kpis = _analyse(path, date(2024, 1, 31), lambda inputs: kpi_table(inputs, config, by="market", period="year"))
    row = target_progress(config, {"year": kpis}).iloc[0]
    assert row["status"] == "no data" and row["baseline"] == 1.0
    assert row["note"] == "no complete year yet to measure the current value"


def test_bad_output_paths_are_refused_before_any_work(tmp_path: Path) -> None:
    path = build_warehouse(tmp_path / "w.duckdb", customers=CUSTOMERS, orders=[
        (1, "sale", None, 1, "2024-01-05 10:00:00", "DE", EUROPE, "web", "50.00"),
    ])
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    runner = CliRunner()
    for arguments, message in (
        (["segments", "--output", str(a_file / "out.csv")], "is a file, not a folder"),
        (["segments", "--output", str(tmp_path)], "must end in .csv or .parquet"),
        (["analyze", "--out", str(a_file)], "is a file, not a folder"),
    ):
        result = runner.invoke(app, [*arguments, "--warehouse", str(path)])
        assert result.exit_code == 2, (arguments, result.output)
        assert result.stderr.startswith("error: ") and message in result.stderr and "Traceback" not in result.output
    with open_warehouse(path, create=False, read_only=True) as wh:  # refused before the summary was written
        assert wh.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'customer_summary'").fetchone()[0] == 0
