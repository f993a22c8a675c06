"""One exception tree for Fidelis.

Errors caused by the user's input also inherit `ValueError`, so callers that treat bad input
generically keep working. Every input error renders as one line naming what and where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FidelisError(Exception):
    """Base of every error Fidelis raises on purpose."""


class ConfigError(FidelisError, ValueError):
    """A setting, a mapping file or a config file is wrong."""


class WarehouseError(FidelisError):
    """The warehouse file cannot be opened, created or migrated."""


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem is: spreadsheet-style row (header is row 1) and column."""

    path: Path | str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [str(self.path)]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


class InputError(FidelisError, ValueError):
    """An input file cannot be read as asked. The message names the file, row and column."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


class SourceNotFoundError(InputError):
    """The input path does not exist or is not a file."""


class EmptyInputError(InputError):
    """The input file has no data rows."""


class UnknownLayoutError(InputError):
    """The file's header matches no known source layout and no --format was given."""


class MappingError(InputError):
    """A mapping file names a column that is not in the file, or is itself invalid."""


class ParseError(InputError):
    """A value (date, number) cannot be parsed."""


class UnknownCurrencyError(InputError):
    """A currency code is not an ISO 4217 code."""


class MissingFxRateError(FidelisError, ValueError):
    """No exchange rate exists for a currency at a date: never silently 1.0."""

    def __init__(self, currency: str, on_date: str, reporting_currency: str, location: Location | None = None):
        self.currency = currency
        self.on_date = on_date
        message = (
            f"no exchange rate from {currency} to {reporting_currency} for {on_date}; "
            f"import one with `fidelis fx import FILE`"
        )
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class NoDataError(FidelisError, ValueError):
    """The warehouse holds nothing to compute on (no orders, or none before the as-of date)."""


class ModelError(FidelisError, ValueError):
    """A model cannot be fitted to, or applied to, the data given.

    Too few customers, no repeat buyers, all-zero spend, a horizon <= 0, a cutoff outside the
    data, or a fit that did not converge: the message says which, and nothing is written.
    """
