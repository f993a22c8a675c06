"""Display formats: percentages, money with its currency, signed numbers, and explicit empties."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from fidelis.report.formatting import (
    DASH,
    decimal_places,
    integer,
    is_empty,
    money,
    percent,
    signed,
    signed_money,
    text,
)


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, pd.NaT, Decimal("NaN")])
def test_empty_values_are_shown_as_a_dash(value) -> None:
    assert is_empty(value)
    for shown in (percent(value), money(value, "GBP"), signed(value), integer(value), decimal_places(value),
                  signed_money(value, "GBP"), text(value)):
        assert shown.empty and str(shown) == DASH


def test_formats() -> None:
    assert percent(0.35214).text == "35.2%"
    assert money(Decimal("1234.5"), "GBP").text == "1,234.50 GBP"
    assert money(Decimal("0.125"), "EUR").text == "0.13 EUR"  # half up, as the analytics round money
    assert money(Decimal("-2.675"), "EUR").text == "-2.68 EUR"
    assert signed(12.26).text == "+12.3"
    assert signed(-3).text == "-3.0" and signed(0).text == "0.0" and signed(-0.01).text == "0.0"
    assert signed(2.345, 1, "pp").text == "+2.3 pp"
    assert signed_money(Decimal("-29.06"), "GBP").text == "-29.06 GBP"
    assert signed_money(Decimal("3.2"), "GBP").text == "+3.20 GBP"
    assert integer(1805).text == "1,805" and decimal_places(2.0561).text == "2.06"
    assert text("Europe").text == "Europe" and not text("Europe").numeric
