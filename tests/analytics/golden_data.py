"""A small hand-made warehouse whose analytics are worked out by hand in the golden tests.

Eight customers in three markets, reporting currency EUR, analysed as of 2024-04-30 (the as-of
instant is 2024-05-01 00:00 UTC). Every amount is already in EUR (fx_rate 1).

Customers (home market, country):

    1 Europe DE          4 purchases (two on 2024-02-10), one partial return     -> high, active
    2 North America US   3 purchases, one of them in Europe (FR), an unlinked
                         cancellation in March                                   -> mid, active
    3 Europe FR          1 purchase 2024-04-10 16:00 of 199.97                   -> low, new
    4 Southeast Asia SG  1 purchase 2024-01-15 08:00 of 90                       -> low, at risk
    5 North America CA   2 purchases in 2023-08, 200 in all                      -> mid (exactly 200), dormant
    6 Europe DE          1 purchase 2023-04-10 12:00 of 150                      -> low, churned
    7 Southeast Asia SG  a sale voided by its cancellation in February, then
                         1 purchase 2024-04-12 10:00 of 200                      -> mid (exactly 200), new
    8 North America US   1 purchase 2024-02-01 00:00 of 500, on an order with no
                         country and no channel (exactly 90 days before as-of)  -> mid (exactly 500), active

Orders (amounts in EUR; M = market, ch = channel):

    101 sale   c6 2023-04-10 12:00 Europe DE web          150.00
    102 sale   c5 2023-08-05 09:00 North America CA app   120.00
    103 sale   c5 2023-08-20 09:00 North America CA app    80.00
    104 sale   c1 2024-01-05 10:00 Europe DE web          300.00
    105 sale   c4 2024-01-15 08:00 Southeast Asia SG app   90.00
    106 sale   c2 2024-01-20 18:00 North America US web   100.00
    107 sale   guest 2024-01-22 12:00 Europe DE web       999.00  guest: ignored everywhere
    108 sale   c8 2024-02-01 00:00 North America -- --    500.00  no country, no channel
    109 sale   c1 2024-02-10 09:00 Europe DE app           50.00
    110 sale   c1 2024-02-10 15:00 Europe DE web           70.00  same day as 109
    111 sale   c2 2024-02-14 12:00 Europe FR marketplace  200.00  c2's order in a second market
    112 sale   c7 2024-02-20 10:00 Southeast Asia SG app  400.00  voided by 113
    113 cancel c7 2024-02-21 10:00 Southeast Asia SG app -400.00  of 112 (whole amount)
    114 return c1 2024-02-25 10:00 Europe DE web          -30.00  of 104 (partial)
    116 cancel c2 2024-03-20 10:00 North America US web   -25.50  names no sale (like a C invoice)
    115 sale   c2 2024-04-10 16:00 North America US web   150.00
    117 sale   c3 2024-04-10 16:00 Europe FR web          199.97  same instant as 115
    118 sale   c7 2024-04-12 10:00 Southeast Asia SG app  200.00
    119 sale   c1 2024-04-20 10:00 Europe DE web          120.00
    120 sale   c2 2024-05-01 00:00 North America US web    60.00  exactly at the as-of instant: excluded
    121 cancel c1 2024-05-02 10:00 Europe DE web         -120.00  of 119 in full, but after as-of: excluded,
                                                                  so 119 is not voided

Feedback (the group of the order it is about, else of the customer):

    9  c6 order 101 2023-04-15 12:00 nps 7 csat 3                     Europe
    8  c5 no order  2023-08-25 12:00 rating 4 of 10 (complaint)       North America
    1  c1 order 104 2024-01-10 12:00 nps 10 csat 5                    Europe
    4  c8 order 108 2024-02-03 12:00 rating 4 of 5, nps 9, csat 4     North America
    2  c2 order 111 2024-02-16 12:00 nps 6 csat 2 (complaint)         Europe (the order's market)
    3  c2 no order  2024-03-05 12:00 rating 2 of 5 (complaint), nps 8 North America (c2's home)
    7  c3 order 117 2024-04-11 09:00 rating 5 of 5                    Europe
    5  c1 no order  2024-04-22 12:00 nps 3 csat 3                     Europe
    6  c3 order 117 2024-05-01 00:00 nps 0 csat 1                     at the as-of instant: excluded

Southeast Asia has no feedback at all.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from fidelis.warehouse import open_warehouse

AS_OF = date(2024, 4, 30)
REPORTING_CURRENCY = "EUR"
EUROPE, NORTH_AMERICA, SOUTHEAST_ASIA = "Europe", "North America", "Southeast Asia"

# customer_id, market, country_code
CUSTOMERS = [
    (1, EUROPE, "DE"),
    (2, NORTH_AMERICA, "US"),
    (3, EUROPE, "FR"),
    (4, SOUTHEAST_ASIA, "SG"),
    (5, NORTH_AMERICA, "CA"),
    (6, EUROPE, "DE"),
    (7, SOUTHEAST_ASIA, "SG"),
    (8, NORTH_AMERICA, "US"),
]

# order_id, kind, original_order_id, customer_id, ordered_at (UTC), country, market, channel, amount
ORDERS = [
    (101, "sale", None, 6, "2023-04-10 12:00:00", "DE", EUROPE, "web", "150.00"),
    (102, "sale", None, 5, "2023-08-05 09:00:00", "CA", NORTH_AMERICA, "app", "120.00"),
    (103, "sale", None, 5, "2023-08-20 09:00:00", "CA", NORTH_AMERICA, "app", "80.00"),
    (104, "sale", None, 1, "2024-01-05 10:00:00", "DE", EUROPE, "web", "300.00"),
    (105, "sale", None, 4, "2024-01-15 08:00:00", "SG", SOUTHEAST_ASIA, "app", "90.00"),
    (106, "sale", None, 2, "2024-01-20 18:00:00", "US", NORTH_AMERICA, "web", "100.00"),
    (107, "sale", None, None, "2024-01-22 12:00:00", "DE", EUROPE, "web", "999.00"),
    (108, "sale", None, 8, "2024-02-01 00:00:00", None, NORTH_AMERICA, None, "500.00"),
    (109, "sale", None, 1, "2024-02-10 09:00:00", "DE", EUROPE, "app", "50.00"),
    (110, "sale", None, 1, "2024-02-10 15:00:00", "DE", EUROPE, "web", "70.00"),
    (111, "sale", None, 2, "2024-02-14 12:00:00", "FR", EUROPE, "marketplace", "200.00"),
    (112, "sale", None, 7, "2024-02-20 10:00:00", "SG", SOUTHEAST_ASIA, "app", "400.00"),
    (113, "cancellation", 112, 7, "2024-02-21 10:00:00", "SG", SOUTHEAST_ASIA, "app", "-400.00"),
    (114, "return", 104, 1, "2024-02-25 10:00:00", "DE", EUROPE, "web", "-30.00"),
    (116, "cancellation", None, 2, "2024-03-20 10:00:00", "US", NORTH_AMERICA, "web", "-25.50"),
    (115, "sale", None, 2, "2024-04-10 16:00:00", "US", NORTH_AMERICA, "web", "150.00"),
    (117, "sale", None, 3, "2024-04-10 16:00:00", "FR", EUROPE, "web", "199.97"),
    (118, "sale", None, 7, "2024-04-12 10:00:00", "SG", SOUTHEAST_ASIA, "app", "200.00"),
    (119, "sale", None, 1, "2024-04-20 10:00:00", "DE", EUROPE, "web", "120.00"),
    (120, "sale", None, 2, "2024-05-01 00:00:00", "US", NORTH_AMERICA, "web", "60.00"),
    (121, "cancellation", 119, 1, "2024-05-02 10:00:00", "DE", EUROPE, "web", "-120.00"),
]

# feedback_id, customer_id, order_id, submitted_at (UTC), rating, rating_scale_max, nps, csat
FEEDBACK = [
    (1, 1, 104, "2024-01-10 12:00:00", None, None, 10, 5),
    (2, 2, 111, "2024-02-16 12:00:00", None, None, 6, 2),
    (3, 2, None, "2024-03-05 12:00:00", "2", 5, 8, None),
    (4, 8, 108, "2024-02-03 12:00:00", "4", 5, 9, 4),
    (5, 1, None, "2024-04-22 12:00:00", None, None, 3, 3),
    (6, 3, 117, "2024-05-01 00:00:00", None, None, 0, 1),
    (7, 3, 117, "2024-04-11 09:00:00", "5", 5, None, None),
    (8, 5, None, "2023-08-25 12:00:00", "4", 10, None, None),
    (9, 6, 101, "2023-04-15 12:00:00", None, None, 7, 3),
]


def insert_customers(con, customers) -> None:
    for customer_id, market, country in customers:
        con.execute(
            "INSERT INTO customers (customer_id, email, name, country_code, market, created_batch_id) "
            "VALUES (?, ?, ?, ?, ?, 'b1')",
            [customer_id, f"c{customer_id}@example.com", f"Customer {customer_id}", country, market],
        )


def insert_orders(con, orders) -> None:
    for order_id, kind, original, customer_id, at, country, market, channel, amount in orders:
        con.execute(
            "INSERT INTO orders (order_id, source, source_order_id, order_kind, original_order_id, "
            "source_original_order_id, customer_id, is_guest, ordered_at, source_timezone, country_code, "
            "country_raw, market, channel, currency, amount, amount_reporting, fx_rate, fx_rate_date, "
            "line_count, batch_id) "
            "VALUES (?, 'shop', ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP) AT TIME ZONE 'UTC', 'UTC', ?, ?, ?, ?, "
            "'EUR', CAST(? AS DECIMAL(18,4)), CAST(? AS DECIMAL(18,4)), 1, CAST(CAST(? AS TIMESTAMP) AS DATE), "
            "1, 'b1')",
            [order_id, f"S{order_id}", kind, original, None if original is None else f"S{original}", customer_id,
             customer_id is None, at, country, country, market, channel, amount, amount, at],
        )


def insert_feedback(con, feedback) -> None:
    for row, (feedback_id, customer_id, order_id, at, rating, scale, nps, csat) in enumerate(feedback, start=1):
        con.execute(
            "INSERT INTO feedback (feedback_id, source, source_feedback_id, dedupe_key, customer_id, order_id, "
            "ids_namespaced, submitted_at, source_timezone, rating, rating_scale_max, nps, csat, batch_id, "
            "source_row) "
            "VALUES (?, 'shop', ?, ?, ?, ?, true, CAST(? AS TIMESTAMP) AT TIME ZONE 'UTC', 'UTC', "
            "CAST(? AS DECIMAL(6,2)), ?, ?, ?, 'f1', ?)",
            [feedback_id, f"F{feedback_id}", f"F{feedback_id}", customer_id, order_id, at, rating, scale, nps,
             csat, row],
        )


def build_warehouse(path: Path, *, customers=(), orders=(), feedback=()) -> Path:
    """A fresh EUR warehouse at `path` holding exactly the given rows."""
    with open_warehouse(path, reporting_currency=REPORTING_CURRENCY) as wh:
        insert_customers(wh.con, customers)
        insert_orders(wh.con, orders)
        insert_feedback(wh.con, feedback)
    return path


def build_golden_warehouse(path: Path) -> Path:
    """The golden data set described above, in a new warehouse file at `path`."""
    return build_warehouse(path, customers=CUSTOMERS, orders=ORDERS, feedback=FEEDBACK)


# ---------------------------------------------------------------- comparing with hand-worked values

class _Empty:
    """Marks an expected empty value: None or NaN in a DataFrame, null in JSON."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = _Empty()


def is_empty(value) -> bool:
    """No data: None, NaN, NaT or pandas' NA (nullable integer columns)."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def mismatches(actual: dict, expected: dict, *, cents: bool = True, day_tolerance: float = 1e-4) -> list[str]:
    """Every key whose actual value differs from the hand-worked one.

    EMPTY expects None/NaN; a Decimal expects that exact Decimal (and, with `cents`, two decimals);
    an int expects that int (an integer type, except in `_previous`/`_change` columns); a float matches to 1e-6 (to `day_tolerance` for day counts, which are
    given to 4 decimals); anything else must be equal.
    """
    import pytest

    problems = []
    for key, want in expected.items():
        got = actual[key]
        if want is EMPTY:
            ok = is_empty(got)
        elif is_empty(got):
            ok = False
        elif isinstance(want, Decimal):
            ok = isinstance(got, Decimal) and got == want and (not cents or got.as_tuple().exponent == -2)
        elif isinstance(want, bool) or isinstance(want, str):
            ok = got == want
        elif isinstance(want, int):
            # counts are integers; their _previous/_change may come as whole floats
            whole = key.endswith(("_previous", "_change"))
            ok = got == want and (whole or not isinstance(got, float))
        elif isinstance(want, float):
            tolerance = day_tolerance if "days" in key else 1e-6
            ok = float(got) == pytest.approx(want, abs=tolerance)
        else:
            ok = got == want
        if not ok:
            problems.append(f"{key}: expected {want!r}, got {got!r}")
    return problems
