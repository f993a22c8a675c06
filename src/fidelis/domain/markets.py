"""Countries and markets: ISO 3166 codes from names, and the market each country belongs to.

A market is a business grouping (e.g. "Southeast Asia") that targets and KPIs are set for. The
definition is data (TOML), validated here; the lookup of raw country strings is built once into
a table so that the warehouse can join it instead of calling Python per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pycountry

from fidelis.errors import ConfigError
from fidelis.tomlfiles import read_config_toml

UNKNOWN_MARKET = "Unknown"


@dataclass(frozen=True)
class CountryMatch:
    """What a raw country string resolved to: an ISO code and/or a market."""

    country_code: str | None
    market: str | None


@dataclass(frozen=True)
class MarketConfig:
    """Markets in display order, the country -> market map and the aliases for odd names."""

    markets: tuple[str, ...]
    market_by_country: dict[str, str]
    aliases: dict[str, CountryMatch]

    def market_of(self, country_code: str | None) -> str:
        """Market of an ISO alpha-2 code; `Unknown` for None or an unassigned code."""
        if country_code is None:
            return UNKNOWN_MARKET
        return self.market_by_country.get(country_code.upper(), UNKNOWN_MARKET)


def load_market_config(path: Path | None = None) -> MarketConfig:
    """Read a markets TOML file (default: the bundled one) and validate it."""
    data, where = read_config_toml(path, bundled="markets.toml", kind="markets")
    return _parse_market_config(data, where)


def _parse_market_config(data: dict, where: str) -> MarketConfig:
    markets = data.get("markets")
    if not isinstance(markets, dict) or not markets:
        raise ConfigError(f"{where}: needs a [markets.NAME] table with a 'countries' list")
    known_codes = {c.alpha_2 for c in pycountry.countries}
    market_by_country: dict[str, str] = {}
    for market, body in markets.items():
        countries = body.get("countries") if isinstance(body, dict) else None
        if not isinstance(countries, list):
            raise ConfigError(f"{where}: markets.\"{market}\".countries must be a list of ISO codes")
        for code in countries:
            code_upper = str(code).upper()
            if code_upper not in known_codes:
                raise ConfigError(f"{where}: markets.\"{market}\": '{code}' is not an ISO 3166-1 alpha-2 code")
            if code_upper in market_by_country:
                raise ConfigError(
                    f"{where}: country {code_upper} is in both '{market_by_country[code_upper]}' and '{market}'"
                )
            market_by_country[code_upper] = market
    aliases = {
        name.upper(): _parse_alias(name, body, market_by_country, known_codes, where)
        for name, body in data.get("aliases", {}).items()
    }
    return MarketConfig(tuple(markets), market_by_country, aliases)


def _parse_alias(name: str, body: object, market_by_country: dict[str, str], known: set[str], where: str) -> CountryMatch:
    if not isinstance(body, dict) or not ({"country", "market"} & body.keys()):
        raise ConfigError(f"{where}: aliases.\"{name}\" needs 'country' or 'market'")
    code = body.get("country")
    if code is not None and code.upper() not in known:
        raise ConfigError(f"{where}: aliases.\"{name}\".country '{code}' is not an ISO 3166-1 alpha-2 code")
    code = code.upper() if code else None
    market = body.get("market")
    if market is not None and market not in set(market_by_country.values()):
        raise ConfigError(f"{where}: aliases.\"{name}\".market '{market}' is not one of the markets defined")
    return CountryMatch(code, market or (market_by_country.get(code) if code else None))


def country_name_table(config: MarketConfig) -> list[tuple[str, str | None, str]]:
    """Every upper-cased name, official name, common name and code of every country, plus aliases.

    Rows are (name_key, country_code, market), for a join against raw country strings.
    """
    rows: dict[str, tuple[str | None, str]] = {}
    for country in pycountry.countries:
        market = config.market_of(country.alpha_2)
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                rows.setdefault(value.upper(), (country.alpha_2, market))
    for alias, match in config.aliases.items():
        rows[alias] = (match.country_code, match.market or UNKNOWN_MARKET)
    return [(key, code, market) for key, (code, market) in rows.items()]
