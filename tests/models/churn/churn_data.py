"""Data for the churn tests: a simulated shop with a known churn process, and small options.

The simulated shop: customers arrive over the first two thirds of the period, buy at a Poisson
rate of their own and, after each purchase, stop for good with a probability of their own
(BG/NBD's story), so churn is learnable from the history. Unhappy customers stop more often and
leave low ratings; some orders are partly returned; lines carry one of three categories.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from tests.analytics.golden_data import insert_customers, insert_feedback, insert_orders

from fidelis.models.churn import ChurnOptions
from fidelis.warehouse import open_warehouse

SIM_START = date(2023, 1, 1)
SIM_DAYS = 420
SIM_END = SIM_START + timedelta(days=SIM_DAYS)  # the as-of instant: midnight starting this day
MARKETS = [("Europe", "DE"), ("North America", "US"), ("Southeast Asia", "SG")]
CATEGORIES = ("toys", "garden", "kitchen")


def simulated_rows(customers: int = 220, seed: int = 7) -> dict[str, list[tuple]]:
    """Customers, orders, feedback and order lines of the simulated shop (all in EUR)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[tuple]] = {"customers": [], "orders": [], "feedback": [], "lines": []}
    order_id = 1000
    for customer_id in range(1, customers + 1):
        market, country = MARKETS[int(rng.integers(len(MARKETS)))]
        rows["customers"].append((customer_id, market, country))
        unhappy = rng.random() < 0.3
        rate_per_day = rng.gamma(2.0, 1 / 60)
        dropout = rng.beta(2.0, 3.0) if unhappy else rng.beta(1.0, 6.0)
        day = float(rng.uniform(0, SIM_DAYS * 2 / 3))
        while day < SIM_DAYS:
            order_id += 1
            at = datetime.combine(SIM_START, datetime.min.time()) + timedelta(days=day)
            amount = round(float(rng.lognormal(4.0, 0.6)), 2)
            sale_id = order_id
            rows["orders"].append((sale_id, "sale", None, customer_id, f"{at:%Y-%m-%d %H:%M:%S}", country, market,
                                   "web", f"{amount:.2f}"))
            rows["lines"].append((sale_id, CATEGORIES[int(rng.integers(len(CATEGORIES)))], amount))
            if rng.random() < 0.1:
                order_id += 1
                back = at + timedelta(days=5)
                rows["orders"].append((order_id, "return", sale_id, customer_id, f"{back:%Y-%m-%d %H:%M:%S}",
                                       country, market, "web", f"{-round(amount * 0.3, 2):.2f}"))
            if rng.random() < 0.3:
                rating = int(rng.integers(1, 3)) if unhappy else int(rng.integers(4, 6))
                said = at + timedelta(days=2)
                rows["feedback"].append((len(rows["feedback"]) + 1, customer_id, sale_id, f"{said:%Y-%m-%d %H:%M:%S}",
                                         str(rating), 5, None, rating))
            if rng.random() < dropout:
                break
            day += float(rng.exponential(1 / rate_per_day))
    return rows


def insert_lines(con, lines: list[tuple]) -> None:
    """One order line per order: `(order_id, category, amount)`, EUR at rate 1."""
    for line_id, (order_id, category, amount) in enumerate(lines, start=1):
        con.execute(
            "INSERT INTO order_lines (line_id, order_id, line_kind, sku, description, category, quantity, unit_price, "
            "currency, amount, amount_reporting, fx_rate, fx_rate_date, batch_id, source_row) "
            "VALUES (?, ?, 'sale', ?, ?, ?, 1, ?, 'EUR', ?, ?, 1, DATE '2023-01-01', 'b1', ?)",
            [line_id, order_id, f"SKU-{category}", category, category, amount, amount, amount, line_id],
        )


def build_shop(path: Path, *, customers=(), orders=(), feedback=(), lines=()) -> Path:
    """A fresh EUR warehouse holding exactly the given rows (order lines too, unlike golden_data's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_warehouse(path, reporting_currency="EUR") as wh:
        insert_customers(wh.con, customers)
        insert_orders(wh.con, orders)
        insert_feedback(wh.con, feedback)
        insert_lines(wh.con, lines)
    return path


#: Small and quick: a 60-day horizon over the 420 simulated days.
FAST_OPTIONS = ChurnOptions(horizon_days=60, cutoff_step_days=30, training_cutoffs_max=3, min_history_days=30,
                            min_customers=30, rounds_max=300, early_stopping_rounds=30, cv_folds=3)
AS_OF = datetime.combine(SIM_END, datetime.min.time(), tzinfo=UTC)


# ---------------------------------------------------------------- a hand-made shop, worked out by hand

#: Features are taken at HAND_CUTOFF (as-of date 2024-03-31); labels over [cutoff, cutoff + 30 days).
HAND_CUTOFF = datetime(2024, 4, 1, tzinfo=UTC)
HAND_CUSTOMERS = [(1, "Europe", "DE"), (2, "North America", "US"), (3, "Europe", "FR"), (4, "Europe", "DE"),
                  (5, "Southeast Asia", "SG"), (6, "Europe", "DE"), (7, "Europe", "DE"), (8, "North America", "US")]
HAND_ORDERS = [
    # c1: 4 purchases on 3 days (gaps 10 and 50 days), one partial return; buys again in the window
    (1, "sale", None, 1, "2024-01-01 10:00:00", "DE", "Europe", "web", "100.00"),
    (2, "sale", None, 1, "2024-01-11 10:00:00", "DE", "Europe", "web", "50.00"),
    (3, "sale", None, 1, "2024-01-11 15:00:00", "DE", "Europe", "web", "30.00"),
    (4, "sale", None, 1, "2024-03-01 12:00:00", "DE", "Europe", "web", "200.00"),
    (5, "return", 4, 1, "2024-03-05 12:00:00", "DE", "Europe", "web", "-50.00"),
    (6, "sale", None, 1, "2024-04-20 12:00:00", "DE", "Europe", "web", "70.00"),
    # c2: one purchase; the next one lands exactly at the window's end, so outside it
    (7, "sale", None, 2, "2024-02-15 00:00:00", "US", "North America", "app", "80.00"),
    (8, "sale", None, 2, "2024-05-01 00:00:00", "US", "North America", "app", "60.00"),
    # c3: a purchase a minute before the cutoff and one exactly at it (in the window, not in the features)
    (9, "sale", None, 3, "2024-03-31 23:59:00", "FR", "Europe", "web", "40.00"),
    (10, "sale", None, 3, "2024-04-01 00:00:00", "FR", "Europe", "web", "45.00"),
    # c4: a sale voided by its cancellation before the cutoff: no purchase at all
    (11, "sale", None, 4, "2024-02-01 09:00:00", "DE", "Europe", "web", "90.00"),
    (12, "cancellation", 11, 4, "2024-02-02 09:00:00", "DE", "Europe", "web", "-90.00"),
    # c5: a sale cancelled in full only after the cutoff: still a purchase at the cutoff
    (13, "sale", None, 5, "2024-03-10 08:00:00", "SG", "Southeast Asia", "app", "120.00"),
    (14, "cancellation", 13, 5, "2024-04-05 08:00:00", "SG", "Southeast Asia", "app", "-120.00"),
    # c6: bought before; in the window a sale voided by its cancellation: churned
    (15, "sale", None, 6, "2024-03-01 08:00:00", "DE", "Europe", "web", "60.00"),
    (16, "sale", None, 6, "2024-04-10 08:00:00", "DE", "Europe", "web", "65.00"),
    (17, "cancellation", 16, 6, "2024-04-12 08:00:00", "DE", "Europe", "web", "-65.00"),
    # c7: first purchase inside the window: not a customer at the cutoff
    (18, "sale", None, 7, "2024-04-15 08:00:00", "DE", "Europe", "web", "75.00"),
    # c8: buys before, and again only after the window (the data run to 2024-05-10)
    (19, "sale", None, 8, "2024-03-20 08:00:00", "US", "North America", "web", "55.00"),
    (20, "sale", None, 8, "2024-05-10 08:00:00", "US", "North America", "web", "57.00"),
]
HAND_FEEDBACK = [
    (1, 1, 2, "2024-01-12 09:00:00", "2", 5, None, None),   # rating 2 of 5: a complaint
    (2, 1, 4, "2024-03-02 09:00:00", None, None, None, 4),  # CSAT 4
    (3, 1, None, "2024-04-10 09:00:00", None, None, 0, 1),  # after the cutoff: not counted
]
HAND_LINES = [(1, "toys", 100.0), (2, "toys", 50.0), (3, "garden", 30.0), (4, "toys", 200.0), (6, "garden", 70.0)]
HAND_LABELS = {1: 0, 2: 1, 3: 0, 5: 1, 6: 1, 8: 1}


def build_hand_shop(path: Path) -> Path:
    return build_shop(path, customers=HAND_CUSTOMERS, orders=HAND_ORDERS, feedback=HAND_FEEDBACK, lines=HAND_LINES)
