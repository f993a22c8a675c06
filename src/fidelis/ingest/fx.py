"""User exchange rates: a CSV that replaces the bundled ECB rates for the currencies it covers.

Format: `date,currency,rate` where `rate` is units of the warehouse's reporting currency per 1
unit of `currency` on `date` (daily or monthly; the latest rate on or before an order's date is
used, up to FIDELIS_FX_MAX_AGE_DAYS old). Rates apply to loads made after the import: amounts
already loaded keep the rate frozen when they were loaded.
"""

from __future__ import annotations

from pathlib import Path

from fidelis.errors import InputError, Location, ParseError, UnknownCurrencyError
from fidelis.ingest.parse import first_parse_failure
from fidelis.ingest.readers import ReadOptions, read_raw
from fidelis.warehouse import Warehouse

REQUIRED_COLUMNS = ("date", "currency", "rate")


def import_fx_rates(warehouse: Warehouse, path: Path) -> dict:
    """Validate the whole file, then swap the covered currencies' rates in one transaction."""
    con = warehouse.con
    header = read_raw(con, Path(path), ReadOptions(file_format="csv"), table="fx_raw")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS)}",
                         Location(path))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE fx_typed AS
           SELECT _row, nullif(trim(date), '') AS date, upper(trim(currency)) AS currency,
                  nullif(trim(rate), '') AS rate,
                  try_cast(trim(date) AS DATE) AS rate_date, try_cast(trim(rate) AS DECIMAL(28,12)) AS rate_num
           FROM fx_raw"""
    )
    for text_field, parsed, what in (("date", "rate_date", "a date (YYYY-MM-DD)"), ("rate", "rate_num", "a number")):
        failure = first_parse_failure(con, "fx_typed", text_field, parsed)
        if failure:
            raise ParseError(f"cannot read '{failure.value}' as {what}", Location(path, failure.row, text_field))
    _check_rows(warehouse, path)
    currencies = [r[0] for r in con.execute("SELECT DISTINCT currency FROM fx_typed ORDER BY 1").fetchall()]
    with warehouse.transaction():
        con.execute("DELETE FROM fx_rates WHERE currency IN (SELECT currency FROM fx_typed)")
        con.execute(
            "INSERT INTO fx_rates SELECT currency, rate_date, rate_num, ? FROM fx_typed",
            [f"user:{Path(path).name}"],
        )
    rates = con.execute("SELECT count(*) FROM fx_typed").fetchone()[0]
    return {"warehouse": str(warehouse.path), "reporting_currency": warehouse.reporting_currency,
            "currencies": currencies, "rates": rates}


def _check_rows(warehouse: Warehouse, path: Path) -> None:
    from fidelis.domain.money import iso_currency_codes

    con = warehouse.con
    for row, currency in con.execute("SELECT _row, currency FROM fx_typed ORDER BY _row").fetchall():
        if currency not in iso_currency_codes():
            raise UnknownCurrencyError(f"'{currency}' is not an ISO 4217 currency code", Location(path, row, "currency"))
    checks = (
        ("rate_date IS NULL", "date", "missing date"),
        ("rate_num IS NULL OR rate_num <= 0", "rate", "rate must be a positive number"),
    )
    for condition, column, message in checks:
        bad = con.execute(f"SELECT min(_row) FROM fx_typed WHERE {condition}").fetchone()[0]
        if bad is not None:
            raise InputError(message, Location(path, bad, column))
    duplicate = con.execute(
        "SELECT max(_row) FROM fx_typed GROUP BY currency, rate_date HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    if duplicate:
        raise InputError("a second rate for the same currency and date", Location(path, duplicate[0], "date"))
    reporting = con.execute(
        "SELECT min(_row) FROM fx_typed WHERE currency = ?", [warehouse.reporting_currency]
    ).fetchone()[0]
    if reporting is not None:
        raise InputError(
            f"{warehouse.reporting_currency} is the reporting currency: its rate is always 1",
            Location(path, reporting, "currency"),
        )
