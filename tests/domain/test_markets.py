from __future__ import annotations

from pathlib import Path

import pycountry
import pytest

from fidelis.domain.markets import UNKNOWN_MARKET, country_name_table, load_market_config
from fidelis.errors import ConfigError

DEFAULT_MARKETS = ("North America", "Europe", "United Kingdom", "Southeast Asia", "Latin America",
                   "Middle East & Africa", "Asia-Pacific other")


def test_every_iso_country_is_in_exactly_one_default_market() -> None:
    config = load_market_config()
    assert config.markets == DEFAULT_MARKETS
    codes = {c.alpha_2 for c in pycountry.countries}
    assert set(config.market_by_country) == codes


@pytest.mark.parametrize(("name", "code", "market"), [
    ("GERMANY", "DE", "Europe"), ("DEU", "DE", "Europe"), ("UNITED STATES", "US", "North America"),
    ("EIRE", "IE", "Europe"), ("RSA", "ZA", "Middle East & Africa"), ("VIET NAM", "VN", "Southeast Asia"),
    ("CHANNEL ISLANDS", None, "United Kingdom"), ("BRAZIL", "BR", "Latin America"),
    ("KOREA, REPUBLIC OF", "KR", "Asia-Pacific other"),
])
def test_country_names_resolve(name: str, code: str | None, market: str) -> None:
    table = {key: (c, m) for key, c, m in country_name_table(load_market_config())}
    assert table[name] == (code, market)


def test_unassigned_code_is_unknown_market(tmp_path: Path) -> None:
    path = tmp_path / "markets.toml"
    path.write_text('[markets.Home]\ncountries = ["DE"]\n')
    config = load_market_config(path)
    assert config.market_of("DE") == "Home"
    assert config.market_of("FR") == UNKNOWN_MARKET


@pytest.mark.parametrize(("text", "fragment"), [
    ('[markets.A]\ncountries = ["XX"]\n', "'XX' is not an ISO 3166-1 alpha-2 code"),
    ('[markets.A]\ncountries = ["DE"]\n[markets.B]\ncountries = ["DE"]\n', "DE is in both 'A' and 'B'"),
    ('[aliases]\n"X" = { country = "DE" }\n', "needs a [markets.NAME] table"),
    ('[markets.A]\ncountries = ["DE"]\n[aliases]\n"X" = { colour = "red" }\n', 'aliases."X" needs'),
    ("[markets.A\n", "invalid TOML"),
])
def test_bad_market_files_name_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "markets.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="markets.toml") as error:
        load_market_config(path)
    assert fragment in str(error.value)
