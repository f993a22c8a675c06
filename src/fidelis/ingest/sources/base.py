"""The contract between a source layout and the ingest pipeline.

A source does not parse or validate: it says, as SQL over the all-text `raw` table, where each
canonical field comes from. The pipeline then parses, validates, normalises and loads the same way
for every layout, so a rule (say, how a bad date is reported) is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fidelis.domain.money import validate_currency_code
from fidelis.errors import InputError
from fidelis.ingest.fields import FEEDBACK_FIELDS, FIELDS_BY_DATASET, ORDER_FIELDS

Dataset = Literal["orders", "feedback"]
# A source name namespaces ids as "name:id", so it must not contain ':' itself.
SOURCE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
__all__ = ["FEEDBACK_FIELDS", "FIELDS_BY_DATASET", "ORDER_FIELDS"]



@dataclass(frozen=True)
class SourceOptions:
    """What the user said on the command line that a layout may need."""

    mapping_path: Path | None = None
    source_name: str | None = None       # namespace for ids; defaults to the layout's own
    timezone: str | None = None          # overrides the layout's default for naive timestamps
    default_currency: str | None = None  # overrides the layout's default

    def __post_init__(self) -> None:
        """Check the options where they enter, naming the option at fault."""
        if self.source_name is not None and not SOURCE_NAME_PATTERN.fullmatch(self.source_name):
            raise InputError(f"--source '{self.source_name}': use letters, digits, '_', '.' or '-' only")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError(f"--timezone '{self.timezone}' is not an IANA time zone name") from None
        if self.default_currency is not None:
            try:
                object.__setattr__(self, "default_currency", validate_currency_code(self.default_currency))
            except ValueError as exc:
                raise InputError(f"--currency: {exc}") from None


@dataclass(frozen=True)
class Staging:
    """How to read canonical fields out of `raw`, and how to parse them.

    `expressions` maps each canonical field to a SQL expression over `raw` yielding VARCHAR (or
    NULL). `columns` maps a field to the source column it came from, so errors can name it.
    """

    dataset: Dataset
    source_name: str
    expressions: dict[str, str]
    columns: dict[str, str]
    date_format: str | None = None
    timezone: str = "UTC"
    default_currency: str | None = None
    decimal_separator: str = "."
    thousands_separator: str | None = None
    rating_scale_max: int | None = None
    # False when ids carry no shop namespace (a survey tool's export loaded without --source): they
    # are then matched against every shop's ids, and linked only where exactly one shop has them.
    namespaced: bool = True


class Source(Protocol):
    """A layout of export files."""

    name: str
    dataset: Dataset
    description: str

    def detect(self, header: list[str]) -> bool:
        """True when a file with this header is in this layout."""

    def read_options(self, options: SourceOptions) -> dict[str, str]:
        """Reader options (delimiter, encoding, sheet, file_format) this layout needs."""

    def staging(self, header: list[str], path: Path, options: SourceOptions) -> Staging:
        """The field expressions for a file with this header (raises MappingError if unusable)."""


def quote_ident(name: str) -> str:
    """Quote a column name for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def text_of(column: str) -> str:
    """The column as trimmed text, NULL when empty: the form every field expression starts from."""
    return f"nullif(trim(CAST({quote_ident(column)} AS VARCHAR)), '')"


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def kind_case(text_expr: str, values: dict[str, list[str]]) -> str:
    """SQL CASE mapping raw kind values (case-insensitive) to canonical kinds; NULL otherwise."""
    arms = []
    for kind, raw_values in values.items():
        options = ", ".join(sql_literal(v.strip().lower()) for v in raw_values)
        arms.append(f"WHEN lower({text_expr}) IN ({options}) THEN {sql_literal(kind)}")
    return f"CASE {' '.join(arms)} END"


def find_column(header: list[str], *candidates: str) -> str | None:
    """The header column matching any candidate name, ignoring case, spaces and underscores."""
    def key(name: str) -> str:
        return name.lower().replace(" ", "").replace("_", "").replace("-", "")

    by_key = {key(h): h for h in header}
    for candidate in candidates:
        if key(candidate) in by_key:
            return by_key[key(candidate)]
    return None
