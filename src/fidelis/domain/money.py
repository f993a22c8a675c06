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


# Withdrawn ISO 4217 codes that old exports still carry (pycountry lists only current ones): the
# currencies replaced by the euro, and the lira and leu before their redenominations.
WITHDRAWN_CODES = frozenset({
    "ATS", "BEF", "BGN", "CYP", "DEM", "EEK", "ESP", "FIM", "FRF", "GRD", "HRK", "IEP", "ITL", "LTL", "LUF",
    "LVL", "MTL", "NLG", "PTE", "ROL", "SIT", "SKK", "TRL",
})


@lru_cache(maxsize=1)
def iso_currency_codes() -> frozenset[str]:
    """ISO 4217 codes a shop may have been paid in: current ones (pycountry) and withdrawn ones."""
    return (frozenset(c.alpha_3 for c in pycountry.currencies) - _NON_TRADING_CODES) | WITHDRAWN_CODES


def is_currency_code(code: str) -> bool:
    """True when `code` (any case, surrounding spaces allowed) is an ISO 4217 code."""
    return code.strip().upper() in iso_currency_codes()


def validate_currency_code(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise ValueError naming the bad value."""
    normalised = code.strip().upper()
    if normalised not in iso_currency_codes():
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return normalised
