"""The mapping file of the generic source: which column is which canonical field.

A TOML file, validated with pydantic so that every error names the key at fault. See
docs/ingest.md for the full reference and examples.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fidelis.domain.money import validate_currency_code
from fidelis.errors import MappingError
from fidelis.ingest.fields import FIELDS_BY_DATASET
from fidelis.tomlfiles import describe_validation

# Canonical field names a mapping may use per dataset (the staging names minus internals).
MAPPABLE_FIELDS: dict[str, dict[str, str]] = {
    "orders": {
        "order_id": "source_order_id",
        "ordered_at": "ordered_at",
        "order_kind": "order_kind",
        "original_order_id": "source_original_order_id",
        "customer_id": "source_customer_id",
        "email": "email",
        "phone": "phone",
        "customer_name": "customer_name",
        "country": "country",
        "currency": "currency",
        "sku": "sku",
        "description": "description",
        "category": "category",
        "quantity": "quantity",
        "unit_price": "unit_price",
        "line_amount": "line_amount",
        "channel": "channel",
    },
    "feedback": {
        "feedback_id": "source_feedback_id",
        "customer_id": "source_customer_id",
        "email": "email",
        "order_id": "source_order_id",
        "submitted_at": "submitted_at",
        "rating": "rating",
        "nps": "nps",
        "csat": "csat",
        "text": "text",
        "language": "language",
        "channel": "channel",
    },
}
REQUIRED_FIELDS = {
    "orders": ("order_id", "ordered_at", "quantity"),
    "feedback": ("submitted_at",),
}
assert all(set(m.values()) <= set(FIELDS_BY_DATASET[d]) for d, m in MAPPABLE_FIELDS.items())


class SourceSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="generic", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["orders", "feedback"] = "orders"
    format: Literal["csv", "xlsx", "parquet", "jsonl"] | None = None
    date_format: str | None = None
    timezone: str = "UTC"
    default_currency: str | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    encoding: str | None = None
    sheet: str | None = None
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "'"] | None = None
    rating_scale_max: int | None = Field(default=None, ge=2, le=100)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone '{value}'") from None
        return value

    @field_validator("date_format")
    @classmethod
    def _valid_date_format(cls, value: str | None) -> str | None:
        """DuckDB refuses an unknown directive even in try_strptime: check it once, here."""
        if value is None:
            return None
        import duckdb

        try:
            duckdb.connect().execute("SELECT try_strptime('2000-01-01', ?)", [value])
        except duckdb.Error:
            raise ValueError(f"'{value}' is not a strptime format DuckDB can read (e.g. '%d/%m/%Y %H:%M')") from None
        return value

    @field_validator("default_currency")
    @classmethod
    def _iso_currency(cls, value: str | None) -> str | None:
        return validate_currency_code(value) if value is not None else None

    @model_validator(mode="after")
    def _separators_differ(self) -> SourceSection:
        if self.thousands_separator is not None and self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator must differ")
        return self


class Mapping(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid")

    source: SourceSection = Field(default_factory=SourceSection)
    columns: dict[str, str]
    values: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_known_and_complete(self) -> Mapping:
        allowed = MAPPABLE_FIELDS[self.source.kind]
        unknown = sorted(set(self.columns) - set(allowed))
        if unknown:
            raise ValueError(
                f"columns: unknown field(s) {', '.join(unknown)} for kind '{self.source.kind}'; "
                f"known: {', '.join(allowed)}"
            )
        missing = [f for f in REQUIRED_FIELDS[self.source.kind] if f not in self.columns]
        if self.source.kind == "orders" and not ({"unit_price", "line_amount"} & self.columns.keys()):
            missing.append("unit_price or line_amount")
        if self.source.kind == "feedback" and not ({"rating", "nps", "csat", "text"} & self.columns.keys()):
            missing.append("one of rating, nps, csat, text")
        if missing:
            raise ValueError(f"columns: missing required field(s): {', '.join(missing)}")
        for field, table in self.values.items():
            if field != "order_kind":
                raise ValueError(f"values.{field}: only values.order_kind is supported")
            bad = sorted(set(table) - {"sale", "return", "cancellation"})
            if bad:
                raise ValueError(f"values.order_kind: unknown kind(s) {', '.join(bad)}; use sale, return, cancellation")
        return self


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; errors name the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping file {path}: invalid TOML: {exc}") from exc
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"mapping file {path}: {describe_validation(exc)}") from None
