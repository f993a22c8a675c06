"""Typed settings, read from environment variables prefixed `FIDELIS_` (and an optional `.env`).

Every setting is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fidelis.domain.money import validate_currency_code
from fidelis.errors import ConfigError


class Settings(BaseSettings):
    """Process-wide settings. Command-line options override them per call."""

    model_config = SettingsConfigDict(env_prefix="FIDELIS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="Deployment mode: development, test or production."
    )
    warehouse: Path = Field(
        default=Path("fidelis-data/warehouse.duckdb"), description="Path of the DuckDB warehouse file."
    )
    reporting_currency: str = Field(
        default="USD", description="ISO 4217 currency all amounts are converted to, fixed per warehouse."
    )
    markets_file: Path | None = Field(
        default=None, description="TOML file defining markets (country codes per market); default built in."
    )
    analytics_file: Path | None = Field(
        default=None,
        description="TOML file with segment rules, value tiers, lifecycle windows, targets; default built in.",
    )
    fx_max_age_days: int = Field(
        default=45, ge=1, description="Oldest exchange rate (in days before an order) that may still be used."
    )
    programme_file: Path | None = Field(
        default=None, description="The loyalty programme TOML file; unset: the bundled example programme."
    )
    ledger_url: str = Field(
        default="sqlite:///fidelis-data/ledger.sqlite",
        description="SQLAlchemy URL of the points ledger store: a SQLite file by default, or PostgreSQL "
        "(postgresql+psycopg://user@host/db).",
    )
    duckdb_threads: int | None = Field(default=None, ge=1, description="DuckDB worker threads; default all cores.")
    duckdb_memory_limit: str | None = Field(default=None, description="DuckDB memory limit, e.g. '4GB'.")

    @field_validator("reporting_currency")
    @classmethod
    def _currency_is_iso(cls, value: str) -> str:
        return validate_currency_code(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once; a bad value is one line naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"FIDELIS_{str(error['loc'][0]).upper()}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None


def reporting_currency_asked(settings: Settings) -> str | None:
    """The reporting currency the user set explicitly (environment or .env), else None.

    An existing warehouse keeps the currency it was created with; only an explicit, different
    request is an error. The default applies to new warehouses only.
    """
    return settings.reporting_currency if "reporting_currency" in settings.model_fields_set else None
