from __future__ import annotations

import subprocess
import sys

import pytest

from fidelis.domain.money import is_currency_code, validate_currency_code


@pytest.mark.parametrize("code", ["USD", "eur", " gbp ", "JPY", "IDR", "BGN", "HRK", "DEM"])
def test_current_and_withdrawn_iso_codes_are_currencies(code: str) -> None:
    assert is_currency_code(code)


@pytest.mark.parametrize("code", ["EUX", "$", "", "XAU", "XXX", "US"])
def test_other_values_are_not(code: str) -> None:
    assert not is_currency_code(code)
    with pytest.raises(ValueError, match="ISO 4217"):
        validate_currency_code(code)


def test_modules_import_on_their_own() -> None:
    """No import cycle: each ingest module can be the first one a program imports."""
    for module in ("fidelis.ingest.mapping", "fidelis.ingest.sources", "fidelis.ingest.service", "fidelis.cli.app"):
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
