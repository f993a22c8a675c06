"""`fidelis clv fit|predict` and `fidelis churn train|score` end to end on real data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fidelis.cli.app import app
from fidelis.config import Settings, get_settings
from fidelis.demo import bundled_sample
from fidelis.ingest.service import ingest_file


@pytest.fixture(autouse=True)
def _plain_settings(monkeypatch) -> None:
    for variable in ("FIDELIS_REPORTING_CURRENCY", "FIDELIS_WAREHOUSE", "FIDELIS_ANALYTICS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def trained_warehouse(online_retail_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the Online Retail warehouse after `churn train` (90 days) and two `churn score` runs."""
    folder = tmp_path_factory.mktemp("models_cli")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    trained = run_json("churn", "train", "--horizon-days", "90", "--warehouse", str(warehouse))
    first = run_json("churn", "score", "--output", str(folder / "churn.csv"), "--warehouse", str(warehouse))
    second = run_json("churn", "score", "--output", str(folder / "churn.parquet"), "--warehouse", str(warehouse))
    return {"warehouse": warehouse, "folder": folder, "trained": trained, "first": first, "second": second}


def run(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def run_json(*arguments: str) -> dict:
    result = run(*arguments, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout, parse_constant=_refuse)


def _refuse(constant: str):
    raise AssertionError(f"JSON output holds {constant}")


def customers_with_purchases(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT count(DISTINCT customer_id) FROM orders WHERE order_kind = 'sale' "
                           "AND customer_id IS NOT NULL").fetchone()[0]


def test_clv_fit_on_the_papers_summary_gives_the_published_figures(shared_file) -> None:
    document = run_json("clv", "fit", "--summary", str(shared_file("cdnow_customers_summary.csv")),
                        "--time-unit", "weeks")
    params = {name: round(value, 3) for name, value in document["params"].items()}
    assert params == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(document["log_likelihood"], 1) == -9582.4
    assert document["time_unit"] == "weeks" and document["customers"] == 2357


def test_clv_fit_summary_with_spend_fits_gamma_gamma_too(shared_file) -> None:
    document = run_json("clv", "fit", "--summary", str(shared_file("cdnow_customers_summary_with_transactions.csv")),
                        "--time-unit", "weeks", "--model", "pareto-nbd")
    assert document["model"] == "pareto-nbd" and set(document["params"]) == {"r", "alpha", "s", "beta"}
    spend = document["spend"]["params"]
    # The note prints 15.44 for gamma = 15.4477 (truncated): lifetimes finds the same 15.4477.
    assert spend == pytest.approx({"p": 6.25, "q": 3.74, "gamma": 15.44}, abs=0.01)


def test_clv_predict_scores_every_customer_and_reuses_the_stored_fit(online_retail_warehouse: Path,
                                                                      tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    fitted = run_json("clv", "fit", "--warehouse", str(warehouse))
    output = tmp_path / "clv.csv"
    predicted = run_json("clv", "predict", "--horizon-days", "90", "--output", str(output),
                         "--warehouse", str(warehouse))
    assert predicted["model_id"] == fitted["model_id"] and predicted["refitted"] is False
    scores = pd.read_csv(output)
    assert list(scores.columns) == ["customer_id", "expected_purchases", "p_alive", "expected_spend", "clv"]
    assert len(scores) == customers_with_purchases(warehouse) == predicted["customers"]
    assert np.isfinite(scores.drop(columns="customer_id").to_numpy()).all()
    assert scores["p_alive"].between(0, 1).all() and (scores["expected_spend"] > 0).all()
    assert scores["clv"].sum() == pytest.approx(predicted["totals"]["clv"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute("SELECT count(*), sum(clv) FROM clv_scores WHERE run_id = ?",
                             [predicted["run_id"]]).fetchone()
    assert stored[0] == len(scores) and stored[1] == pytest.approx(scores["clv"].sum())


def test_clv_predict_seasonal_says_why_nothing_is_adjusted(online_retail_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    output = tmp_path / "clv.parquet"
    document = run_json("clv", "predict", "--seasonal", "--output", str(output), "--warehouse", str(warehouse))
    assert document["seasonality"]["detected"] is False
    assert "9 complete months" in document["seasonality"]["note"]  # 2010-12 .. 2011-08
    scores = pd.read_parquet(output)
    assert (scores["expected_purchases_seasonal"] == scores["expected_purchases"]).all()


def test_churn_train_beats_the_baselines_on_online_retail(trained_warehouse: dict) -> None:
    evaluation = {row["scorer"]: row for row in trained_warehouse["trained"]["evaluation"]}
    model = evaluation.pop("model")
    assert len(evaluation) == 3
    for name, baseline in evaluation.items():
        assert model["auc"] > baseline["auc"], name
        assert model["pr_auc"] > baseline["pr_auc"], name


def test_the_figures_in_the_docs_are_the_ones_measured(trained_warehouse: dict) -> None:
    """docs/models.md and docs/examples/online-retail.md quote these: change both together."""
    evaluation = {row["scorer"]: row for row in trained_warehouse["trained"]["evaluation"]}
    shown = {name: (round(row["auc"], 3), round(row["pr_auc"], 3)) for name, row in evaluation.items()}
    assert shown == {"model": (0.754, 0.708), "recency": (0.664, 0.665), "one_minus_p_alive": (0.36, 0.509),
                     "bgnbd_p_no_purchase": (0.74, 0.703)}
    rows = trained_warehouse["trained"]["rows"]
    assert (rows["training"]["rows"], rows["evaluation"]["customers"]) == (4004, 2735)
    bands = trained_warehouse["first"]["bands"]
    assert bands == {"at risk": 778, "watch": 1471, "low": 1068}


def test_churn_score_writes_the_promised_columns_for_every_customer(trained_warehouse: dict) -> None:
    scores = pd.read_csv(trained_warehouse["folder"] / "churn.csv", keep_default_na=False)
    assert list(scores.columns) == ["customer_id", "churn_probability", "risk_band", "reason_1", "reason_2",
                                    "reason_3"]
    assert len(scores) == customers_with_purchases(trained_warehouse["warehouse"])
    assert scores["churn_probability"].between(0, 1).all()
    assert set(scores["risk_band"]) <= {"low", "watch", "at risk"}
    # Reasons say what pushes towards churn: everyone at risk has at least one, a safe customer may have none.
    assert (scores.loc[scores["risk_band"] == "at risk", "reason_1"] != "").all()
    assert ((scores["reason_2"] == "") | (scores["reason_1"] != "")).all()
    first = trained_warehouse["first"]
    assert first["previous_run_id"] is None and sum(first["bands"].values()) == len(scores)
    values = [row["value_at_risk"] for row in first["at_risk"]]
    assert values == sorted(values, reverse=True) and all(row["risk_band"] == "at risk" for row in first["at_risk"])


def test_a_second_score_compares_with_the_first(trained_warehouse: dict) -> None:
    first, second = trained_warehouse["first"], trained_warehouse["second"]
    assert second["previous_run_id"] == first["run_id"]
    assert second["crossed_into_at_risk"] == 0  # same data, same model: nobody moved
    with duckdb.connect(str(trained_warehouse["warehouse"]), read_only=True) as con:
        changes = con.execute("SELECT count(*) FROM churn_band_changes WHERE run_id = ?",
                              [second["run_id"]]).fetchone()[0]
        cards = con.execute("SELECT kind, count(*) FROM model_cards GROUP BY kind ORDER BY kind").fetchall()
    assert changes == 0
    assert cards == [("churn", 1), ("clv", 1)]  # the CLV fit for value at risk is stored once, then reused


def test_churn_score_without_a_trained_model_says_what_to_do(online_retail_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    result = run("churn", "score", "--output", str(tmp_path / "x.csv"), "--warehouse", str(warehouse))
    assert result.exit_code == 2
    assert "run `fidelis churn train` first" in result.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("command", [["clv", "predict", "--output", "x.csv"], ["churn", "train"]])
def test_a_horizon_below_one_day_is_refused(command: list[str], tmp_path: Path) -> None:
    result = run(*command, "--horizon-days", "0", "--warehouse", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 2 and "--horizon-days: must be at least 1, got 0" in result.stderr


def test_three_months_are_too_short_for_a_90_day_churn_validation(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    ingest_file(bundled_sample(), warehouse_path=warehouse, settings=Settings(reporting_currency="GBP"))
    result = run("churn", "train", "--horizon-days", "90", "--warehouse", str(warehouse))
    assert result.exit_code == 2, result.stdout
    assert "days" in result.stderr and "Traceback" not in result.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM model_cards").fetchone()[0] == 0


def test_an_as_of_before_the_data_is_refused(online_retail_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    result = run("clv", "fit", "--as-of", "2009-01-01", "--warehouse", str(warehouse))
    assert result.exit_code == 2 and "2009" in result.stderr


def test_an_as_of_after_the_data_is_refused(online_retail_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    result = run("clv", "predict", "--as-of", "2012-06-01", "--output", str(tmp_path / "x.csv"),
                 "--warehouse", str(warehouse))
    assert result.exit_code == 2
    assert "the as-of date 2012-06-01 is after the end of the data (2011-08-31)" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_back_test_never_scores_with_a_model_fitted_on_later_data(trained_warehouse: dict, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(trained_warehouse["warehouse"], warehouse)
    churn = run("churn", "score", "--as-of", "2011-03-01", "--output", str(tmp_path / "c.csv"),
                "--warehouse", str(warehouse))
    assert churn.exit_code == 2
    assert "trained on data after 2011-03-01: run `fidelis churn train --as-of 2011-03-01` first" in churn.stderr
    clv = run_json("clv", "predict", "--as-of", "2011-03-01", "--output", str(tmp_path / "v.csv"),
                   "--warehouse", str(warehouse))
    assert clv["refitted"] is True  # the stored fit (data to 2011-08-31) is not used for 2011-03-01


def test_band_changes_compare_with_the_latest_earlier_as_of_not_the_latest_run(online_retail_warehouse: Path,
                                                                               tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    run_json("churn", "train", "--as-of", "2011-07-31", "--warehouse", str(warehouse))
    regular = run_json("churn", "score", "--output", str(tmp_path / "a.csv"), "--warehouse", str(warehouse))
    backtest = run_json("churn", "score", "--as-of", "2011-08-15", "--output", str(tmp_path / "b.csv"),
                        "--warehouse", str(warehouse))
    again = run_json("churn", "score", "--output", str(tmp_path / "c.csv"), "--warehouse", str(warehouse))
    assert backtest["previous_run_id"] is None  # nothing was scored at or before 2011-08-15 earlier
    assert again["previous_run_id"] == regular["run_id"] and again["crossed_into_at_risk"] == 0


def test_an_output_that_cannot_be_written_leaves_no_run(online_retail_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(online_retail_warehouse, warehouse)
    (tmp_path / "clv.csv.partial").mkdir()  # the file is written under this name first: the write fails, even as root
    result = run("clv", "predict", "--output", str(tmp_path / "clv.csv"), "--warehouse", str(warehouse))
    assert result.exit_code == 2 and "cannot write" in result.stderr
    assert not (tmp_path / "clv.csv").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM score_runs").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM model_cards").fetchone()[0] == 0


def test_options_that_would_do_nothing_are_refused(tmp_path: Path, shared_file) -> None:
    summary = str(shared_file("cdnow_customers_summary.csv"))
    assert "--per-market does not apply with --summary" in run("clv", "fit", "--summary", summary,
                                                               "--per-market").stderr
    assert "--time-unit applies to a --summary file only" in run("clv", "fit", "--time-unit", "weeks",
                                                                 "--warehouse", str(tmp_path / "w.duckdb")).stderr


def test_an_empty_summary_is_refused(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "s.csv", ["frequency", "recency", "T"], [])
    result = run("clv", "fit", "--summary", str(path))
    assert result.exit_code == 2 and "has a header but no rows" in result.stderr


def test_a_bad_value_in_a_summary_names_the_file_and_spreadsheet_row(tmp_path: Path, write_csv) -> None:
    rows = [[str(i % 3), str(i % 3), "20"] for i in range(30)] + [["1", "30", "20"]]
    path = write_csv(tmp_path / "s.csv", ["frequency", "recency", "T"], rows)
    result = run("clv", "fit", "--summary", str(path))
    assert result.exit_code == 2
    assert f"--summary: {path}:" in result.stderr and "spreadsheet row 32" in result.stderr


def test_a_summary_without_the_columns_names_them(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "s.csv", ["frequency", "recency"], [["1", "2"]])
    result = run("clv", "fit", "--summary", str(path))
    assert result.exit_code == 2 and "no column 'T'" in result.stderr


def test_a_summary_with_text_in_a_number_column_names_the_row(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "s.csv", ["frequency", "recency", "T"], [["1", "2", "10"], ["x", "1", "5"]])
    result = run("clv", "fit", "--summary", str(path))
    assert result.exit_code == 2 and "row 3, column 'frequency'" in result.stderr


def test_no_repeat_buyers_cannot_be_fitted(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "s.csv", ["frequency", "recency", "T"], [["0", "0", str(10 + i)] for i in range(50)])
    result = run("clv", "fit", "--summary", str(path))
    assert result.exit_code == 2 and "repeat" in result.stderr
