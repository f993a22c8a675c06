"""The command line: one JSON document with --json, one error line for bad input, settings checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fidelis.cli.app import app
from fidelis.config import get_settings

ORDERS = "order,date,customer,country,amount,qty\nA1,2023-03-01,c1,Channel Islands,10,1\nA2,2023-03-02,c2,DE,5,2\n"
MAPPING = """
[source]
name = "shop"
[columns]
order_id = "order"
ordered_at = "date"
customer_id = "customer"
country = "country"
line_amount = "amount"
quantity = "qty"
"""


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch):
    for variable in ("FIDELIS_REPORTING_CURRENCY", "FIDELIS_WAREHOUSE"):
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    data, mapping = tmp_path / "orders.csv", tmp_path / "orders.toml"
    data.write_text(ORDERS)
    mapping.write_text(MAPPING)
    return data, mapping


def ingest(cli, files, warehouse: Path, *extra: str):
    data, mapping = files
    return cli.invoke(app, ["ingest", str(data), "--mapping", str(mapping), "--warehouse", str(warehouse), *extra])


def test_json_output_is_one_document_on_stdout(cli, files, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    result = ingest(cli, files, warehouse, "--currency", "EUR", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["loads"][0]["lines_by_fate"]["sale"] == 2
    quality = cli.invoke(app, ["quality", "--warehouse", str(warehouse), "--json"])
    assert json.loads(quality.stdout)["totals"]["orders"] == 2
    explained = cli.invoke(app, ["customers", "explain", "1", "--warehouse", str(warehouse), "--json"])
    assert json.loads(explained.stdout)["keys"][0]["key_value"] == "shop:c1"


def test_alias_market_reaches_the_customer(cli, files, tmp_path: Path) -> None:
    """'Channel Islands' has no ISO code but is in the United Kingdom market: so is its customer."""
    warehouse = tmp_path / "wh.duckdb"
    assert ingest(cli, files, warehouse, "--currency", "EUR").exit_code == 0
    explained = json.loads(cli.invoke(app, ["customers", "explain", "1", "-w", str(warehouse), "--json"]).stdout)
    assert explained["profile"]["market"] == "United Kingdom" and explained["profile"]["country_code"] is None


def test_currency_option_stands_in_for_a_currency_column(cli, files, tmp_path: Path) -> None:
    refused = ingest(cli, files, tmp_path / "a.duckdb")
    assert refused.exit_code == 2 and "give --currency" in refused.stderr
    assert ingest(cli, files, tmp_path / "b.duckdb", "--currency", "EUR").exit_code == 0


@pytest.mark.parametrize(("options", "fragment"), [
    (["--source", "shop:1"], "--source 'shop:1'"),
    (["--timezone", "Mars/Olympus"], "--timezone 'Mars/Olympus'"),
    (["--currency", "EUX"], "--currency"),
    (["--format", "shopify"], "--mapping is for the generic layout"),
    (["--format", "nope"], "unknown --format 'nope'"),
])
def test_bad_options_are_one_line_errors(cli, files, tmp_path: Path, options, fragment) -> None:
    warehouse = tmp_path / "wh.duckdb"
    extra = options if "--currency" in options else ["--currency", "EUR", *options]
    result = ingest(cli, files, warehouse, *extra)
    assert result.exit_code == 2
    assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not warehouse.exists()


def test_bad_setting_is_one_line_error(cli, files, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FIDELIS_REPORTING_CURRENCY", "EUX")
    result = ingest(cli, files, tmp_path / "wh.duckdb", "--currency", "EUR")
    assert result.exit_code == 2
    assert "FIDELIS_REPORTING_CURRENCY" in result.stderr and "Traceback" not in result.output


def test_existing_warehouse_keeps_its_currency_and_refuses_another(cli, files, tmp_path: Path, monkeypatch) -> None:
    warehouse = tmp_path / "wh.duckdb"
    monkeypatch.setenv("FIDELIS_REPORTING_CURRENCY", "GBP")
    assert ingest(cli, files, warehouse, "--currency", "EUR").exit_code == 0
    monkeypatch.delenv("FIDELIS_REPORTING_CURRENCY")
    get_settings.cache_clear()
    quality = json.loads(cli.invoke(app, ["quality", "-w", str(warehouse), "--json"]).stdout)
    assert quality["reporting_currency"] == "GBP"  # the default (USD) does not override the file's own
    monkeypatch.setenv("FIDELIS_REPORTING_CURRENCY", "JPY")
    get_settings.cache_clear()
    result = ingest(cli, files, warehouse, "--currency", "EUR")
    assert result.exit_code == 1 and "reports in GBP, not JPY" in result.stderr


def test_fx_import_creates_a_warehouse_in_the_set_currency_or_nothing(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FIDELIS_REPORTING_CURRENCY", "EUR")
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2023-01-01,CHF,1.01\n")
    warehouse = tmp_path / "fx.duckdb"
    result = cli.invoke(app, ["fx", "import", str(rates), "-w", str(warehouse), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reporting_currency"] == "EUR"
    rates.write_text("date,currency,rate\n2023-01-01,CHF,-1\n")
    other = tmp_path / "other.duckdb"
    failed = cli.invoke(app, ["fx", "import", str(rates), "-w", str(other)])
    assert failed.exit_code == 2 and not other.exists()


def test_missing_warehouse_for_reading_commands(cli, tmp_path: Path) -> None:
    result = cli.invoke(app, ["quality", "-w", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_error_text_in_brackets_is_printed_as_written(cli, tmp_path: Path) -> None:
    data, mapping = tmp_path / "kinds.csv", tmp_path / "kinds.toml"
    data.write_text("order,date,kind,amount,qty\nA1,2023-01-01,swap,1,1\n")
    mapping.write_text(MAPPING.replace('customer_id = "customer"\ncountry = "country"\n', 'order_kind = "kind"\n'))
    result = cli.invoke(app, ["ingest", str(data), "--mapping", str(mapping), "--currency", "EUR",
                              "-w", str(tmp_path / "wh.duckdb")])
    assert result.exit_code == 2 and "[values.order_kind]" in result.stderr


def test_demo_refuses_to_delete_a_real_warehouse(cli, files, tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    assert ingest(cli, files, out / "warehouse.duckdb", "--currency", "EUR").exit_code == 0
    result = cli.invoke(app, ["demo", "--out", str(out), "--customers", "50"])
    assert result.exit_code == 1 and "not a demo warehouse" in result.stderr
    assert (out / "warehouse.duckdb").exists()


def test_demo_loads_both_sources_and_writes_the_report(cli, tmp_path: Path) -> None:
    """What `make demo` runs, end to end, on a small synthetic shop."""
    out = tmp_path / "demo"
    result = cli.invoke(app, ["demo", "--out", str(out), "--customers", "150", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [load["status"] for load in document["loads"]] == ["loaded", "loaded", "loaded"]
    report = Path(document["report"])
    assert report == out / "report" / "report.html" and report.stat().st_size > 100_000
    assert (out / "report" / "tables" / "kpis_market_quarter.csv").exists()
