"""Currency codes and money rules.

Money is never a float: warehouse amounts are DECIMAL, ledger amounts integer minor units.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Codes that pycountry lists but that are not money a shop can be paid in (funds, metals, testing).
_NON_TRADING_CODES = frozenset(
    {"XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"}
)


@lru_cache(maxsize=1)
def iso_currency_codes() -> frozenset[str]:
    """Active ISO 4217 alphabetic codes, from pycountry's copy of the standard."""
    return frozenset(c.alpha_3 for c in pycountry.currencies) - _NON_TRADING_CODES


def is_currency_code(code: str) -> bool:
    """True when `code` (any case, surrounding spaces allowed) is an ISO 4217 code."""
    return code.strip().upper() in iso_currency_codes()


def validate_currency_code(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise ValueError naming the bad value."""
    normalised = code.strip().upper()
    if normalised not in iso_currency_codes():
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return normalised
