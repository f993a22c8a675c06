"""Analytics on bad input: an empty warehouse, an as-of date before the data, a grouping the data
cannot support, an invalid analytics file. Each is one clear error naming the problem, never a
traceback or a made-up figure."""

from __future__ import annotations

import gc
import json
from datetime import date
from importlib import resources
from pathlib import Path

import ibis
import pytest
from tests.analytics.golden_data import AS_OF, build_golden_warehouse, build_warehouse
from typer.testing import CliRunner

import fidelis.analytics as fa
from fidelis.cli.app import app
from fidelis.config import get_settings
from fidelis.domain.markets import load_market_config
from fidelis.errors import ConfigError, NoDataError
from fidelis.warehouse import open_warehouse

DEFAULT_TOML = resources.files("fidelis").joinpath("data/analytics.toml").read_text(encoding="utf-8")
WITHOUT_TARGETS = DEFAULT_TOML.split("[[targets]]", 1)[0]


@pytest.fixture
def empty_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "empty.duckdb"
    open_warehouse(path, reporting_currency="EUR").close()
    return path


@pytest.fixture(scope="module")
def golden_warehouse(tmp_path_factory) -> Path:
    return build_golden_warehouse(tmp_path_factory.mktemp("golden_bad_input") / "w.duckdb")


def inputs_of(path: Path, as_of=None):
    with open_warehouse(path, read_only=True) as wh:
        try:
            return fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR", as_of=as_of)
        finally:
            gc.collect()


# ---------------------------------------------------------------- no data

def test_empty_warehouse(empty_warehouse: Path) -> None:
    with pytest.raises(NoDataError, match="no orders"):
        inputs_of(empty_warehouse)


def test_as_of_before_the_first_order(golden_warehouse: Path) -> None:
    # the first order is on 2023-04-10; the end of 2023-04-09 is before it
    with pytest.raises(NoDataError, match=r"no orders up to the as-of date 2023-04-09 \(the first order is on 2023-04-10\)"):
        inputs_of(golden_warehouse, as_of=date(2023, 4, 9))


def test_by_channel_without_any_channel(tmp_path: Path) -> None:
    path = build_warehouse(
        tmp_path / "w.duckdb", customers=[(1, "Europe", "DE")],
        orders=[(1, "sale", None, 1, "2024-03-02 10:00:00", "DE", "Europe", None, "10.00")])
    with open_warehouse(path, read_only=True) as wh:
        inputs = fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR",
                                        as_of=date(2024, 3, 31))
        with pytest.raises(NoDataError, match="channel"):
            fa.kpi_table(inputs, fa.load_analytics_config(), by="channel")
        # the other groupings still work on the same data
        assert fa.kpi_table(inputs, fa.load_analytics_config(), by="market")["orders"].tolist() == [1]
        del inputs
        gc.collect()


# ---------------------------------------------------------------- the analytics file

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "analytics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_file_is_valid_with_the_bundled_markets() -> None:
    config = fa.load_analytics_config()
    assert config.checked_for("EUR", load_market_config().markets) is config


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TOML.replace("[value_tiers]\n", "[value_tiers]\ncolour = 1\n"))
    with pytest.raises(ConfigError) as caught:
        fa.load_analytics_config(path)
    assert str(path) in str(caught.value) and "value_tiers.colour" in str(caught.value)


def test_lift_of_minus_one_or_less(tmp_path: Path) -> None:
    text = WITHOUT_TARGETS + '[[targets]]\nmarket = "Europe"\nmetric = "aov"\nperiod = "month"\nlift = -1\n'
    with pytest.raises(ConfigError, match=r"targets\[0\]\.lift: Input should be greater than -1"):
        fa.load_analytics_config(write(tmp_path, text))


def test_unknown_metric(tmp_path: Path) -> None:
    text = WITHOUT_TARGETS + '[[targets]]\nmarket = "Europe"\nmetric = "revenue"\nlift = 0.1\n'
    with pytest.raises(ConfigError, match=r"targets\[0\]\.metric: 'revenue' is not a KPI"):
        fa.load_analytics_config(write(tmp_path, text))


def test_rules_must_cover_every_score(tmp_path: Path) -> None:
    # without "Lost" (R 1, F 1-2), nothing matches r=1, f=1
    lost = '[[rfm_segments]]\nname = "Lost"\nr = [1, 1]\nf = [1, 2]\n'
    assert lost in DEFAULT_TOML
    with pytest.raises(ConfigError, match=r"rfm_segments: no rule matches r=1, f=1, m=1"):
        fa.load_analytics_config(write(tmp_path, DEFAULT_TOML.replace(lost, "")))


MARKETS = ("North America", "Europe", "United Kingdom", "Southeast Asia")


def test_amounts_in_another_currency(tmp_path: Path) -> None:
    path = write(tmp_path, 'currency = "USD"\n' + DEFAULT_TOML)
    config = fa.load_analytics_config(path)
    assert config.checked_for("USD", MARKETS) is config
    with pytest.raises(ConfigError, match=r"currency is USD but the warehouse reports in EUR"):
        config.checked_for("EUR", MARKETS)


def test_a_target_in_an_unknown_market(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TOML.replace('market = "Europe"', 'market = "Eurpoe"'))
    with pytest.raises(ConfigError, match=r"targets\[1\]\.market: 'Eurpoe' is not a market; choose one of"):
        fa.load_analytics_config(path).checked_for("EUR", MARKETS)


# ---------------------------------------------------------------- through the command line

@pytest.fixture
def clean_settings(monkeypatch, tmp_path: Path):
    for variable in ("FIDELIS_REPORTING_CURRENCY", "FIDELIS_WAREHOUSE", "FIDELIS_ANALYTICS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def one_error_line(result) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_cli_kpis_on_an_empty_warehouse(clean_settings, empty_warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["kpis", "--warehouse", str(empty_warehouse)])
    assert result.exit_code == 2
    assert "no orders" in one_error_line(result)


def test_cli_kpis_with_a_bad_as_of(clean_settings, golden_warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["kpis", "--as-of", "notadate", "--warehouse", str(golden_warehouse)])
    assert result.exit_code == 2
    assert "notadate" in one_error_line(result)


def _refuse(constant: str):
    raise AssertionError(f"JSON output holds {constant}")


def test_cli_kpis_json_has_no_nan(clean_settings, golden_warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["kpis", "--by", "market", "--as-of", AS_OF.isoformat(), "--warehouse",
                                      str(golden_warehouse), "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout, parse_constant=_refuse)
    rows = {(row["group"], row["period"]): row for row in document["rows"]}
    assert len(rows) == 3 * 13
    # Southeast Asia has no feedback: null, not NaN; a month without orders has no AOV
    assert rows[("Southeast Asia", "2024-01")]["nps"] is None
    assert rows[("Europe", "2024-03")]["aov"] is None
    # figures as worked out in test_kpis_golden.py
    assert rows[("Europe", "2024-04")]["aov"] == pytest.approx(159.99, abs=1e-9)
    assert rows[("North America", "2024-03")]["net_revenue"] == pytest.approx(-25.5, abs=1e-9)
