"""Display formatting for the report: numbers to short, readable text, and empty values made explicit.

The analytics tables mark a missing figure as None or NaN (a ratio with a zero denominator, a market
without feedback). A reader must never see "nan" or "None": every formatter returns a `Shown`,
and an empty one is rendered by the template as a dash with a "no data" tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fidelis.analytics.numbers import as_float as as_number
from fidelis.analytics.numbers import is_empty

__all__ = ["DASH", "EMPTY", "Shown", "as_number", "is_empty"]

DASH = "–"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Shown:
    """A value as displayed: its text, or empty (rendered as a dash with a "no data" tooltip)."""

    text: str = ""
    empty: bool = False
    numeric: bool = True

    def __str__(self) -> str:
        return DASH if self.empty else self.text


EMPTY = Shown(empty=True)


def percent(value: Any, digits: int = 1) -> Shown:
    """A 0..1 share as a percentage: 0.3521 -> "35.2%"."""
    number = as_number(value)
    return EMPTY if number is None else Shown(f"{100 * number:,.{digits}f}%")


def money(value: Any, currency: str) -> Shown:
    """An amount with the currency code and two decimals: "1,234.50 GBP"."""
    number = _decimal(value)
    return EMPTY if number is None else Shown(f"{number:,.2f} {currency}")


def integer(value: Any) -> Shown:
    number = as_number(value)
    return EMPTY if number is None else Shown(f"{round(number):,}")


def decimal_places(value: Any, digits: int = 2) -> Shown:
    number = as_number(value)
    return EMPTY if number is None else Shown(f"{number:,.{digits}f}")


def signed(value: Any, digits: int = 1, unit: str = "") -> Shown:
    """A number with its sign: NPS and changes ("+12.5", "-3.0 pp"); zero has no sign."""
    number = as_number(value)
    if number is None:
        return EMPTY
    text = f"{number:,.{digits}f}"
    if float(text.replace(",", "")) > 0:
        text = "+" + text
    elif float(text.replace(",", "")) == 0:
        text = f"{0:.{digits}f}"
    return Shown(f"{text} {unit}".rstrip())


def signed_money(value: Any, currency: str) -> Shown:
    number = _decimal(value)
    if number is None:
        return EMPTY
    sign = "+" if number > 0 else ("-" if number < 0 else "")
    return Shown(f"{sign}{abs(number):,.2f} {currency}")


def text(value: Any) -> Shown:
    """Free text (names, notes, dates): empty stays empty, anything else as str()."""
    if is_empty(value) or (isinstance(value, str) and not value.strip()):
        return Shown(empty=True, numeric=False)
    return Shown(str(value), numeric=False)


def _decimal(value: Any) -> Decimal | None:
    """Money as a Decimal rounded to the cent half up, as the analytics round it, so that the page
    and the exported tables agree to the cent."""
    if is_empty(value):
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(CENT, ROUND_HALF_UP)
