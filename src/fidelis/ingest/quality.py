"""Data-quality figures, for one load and for the whole warehouse.

Three families, as a data engineer would audit an export: completeness (share of rows where each
field is present), validity (what was wrong and how often) and identity coverage (how much of
the revenue can be tied to a known customer, which bounds every per-customer metric).
"""

from __future__ import annotations

import duckdb

from fidelis.domain.markets import UNKNOWN_MARKET
from fidelis.ingest.sources.base import Staging

# Staged field -> the column of `stg` that holds it (typed where the field is parsed).
_STAGED_COLUMN = {
    "source_order_id": "source_order_id", "source_original_order_id": "source_original_order_id",
    "ordered_at": "ordered_at_ts", "source_customer_id": "source_customer_id", "email": "email", "phone": "phone",
    "customer_name": "customer_name", "country": "country", "currency": "currency_code", "sku": "sku",
    "description": "description", "category": "category", "quantity": "quantity_num", "unit_price": "price_num",
    "channel": "channel",
}


def _share(part: float | None, whole: float | None) -> float | None:
    if not whole:
        return None
    return round(float(part or 0) / float(whole), 6)


def batch_quality(con: duckdb.DuckDBPyConnection, staging: Staging, batch_id: str) -> dict:
    """Figures for the load just made (the pipeline's TEMP tables must still exist)."""
    total = con.execute("SELECT count(*) FROM stg").fetchone()[0]
    mapped = [f for f in _STAGED_COLUMN if staging.expressions.get(f, "NULL") != "NULL"]
    present = con.execute(
        "SELECT " + ", ".join(f"count({_STAGED_COLUMN[f]})" for f in mapped) + " FROM stg"
    ).fetchone() if mapped else ()
    validity = con.execute(
        """SELECT (SELECT count(*) FROM orders WHERE batch_id = ? AND country_code IS NULL),
                  (SELECT count(*) FROM batch_orders WHERE email IS NOT NULL AND email_norm IS NULL),
                  (SELECT count(*) FROM stg WHERE reason = 'duplicate_line' AND NOT skipped)""",
        [batch_id],
    ).fetchone()
    return {
        "rows": total,
        "completeness": {f: _share(n, total) for f, n in zip(mapped, present)},
        "validity": {
            "unknown_country_orders": validity[0],
            "invalid_email_orders": validity[1],
            "duplicate_lines": validity[2],
            "orphan_returns": _orphan_returns(con, "WHERE batch_id = ?", [batch_id]),
        },
        "identity": _identity_coverage(con, "WHERE o.batch_id = ?", [batch_id]),
    }


def _orphan_returns(con: duckdb.DuckDBPyConnection, where: str, params: list) -> int:
    clause = f"{where} AND" if where else "WHERE"
    return con.execute(
        f"""SELECT count(*) FROM orders {clause} source_original_order_id IS NOT NULL
            AND original_order_id IS NULL""",
        params,
    ).fetchone()[0]


def _identity_coverage(con: duckdb.DuckDBPyConnection, where: str, params: list) -> dict:
    """Share of sales revenue and of sale orders that belong to a known (non-guest) customer."""
    clause = f"{where} AND" if where else "WHERE"
    row = con.execute(
        f"""SELECT sum(o.amount_reporting) FILTER (WHERE NOT o.is_guest),
                   sum(o.amount_reporting),
                   count(*) FILTER (WHERE NOT o.is_guest), count(*)
            FROM orders o {clause} o.order_kind = 'sale'""",
        params,
    ).fetchone()
    return {
        "known_customer_revenue_share": _share(row[0], row[1]),
        "known_customer_order_share": _share(row[2], row[3]),
        "sales_revenue_reporting": str(row[1] or 0),  # a decimal, exact, as text
    }


def warehouse_quality(con: duckdb.DuckDBPyConnection) -> dict:
    """Figures over everything loaded so far."""
    counts = con.execute(
        """SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines),
                  (SELECT count(*) FROM customers), (SELECT count(*) FROM feedback),
                  (SELECT count(*) FROM quarantine), (SELECT count(*) FROM batches),
                  (SELECT count(*) FROM customer_merges),
                  (SELECT any_value(value) FROM warehouse_meta WHERE key = 'reporting_currency')"""
    ).fetchone()
    kinds = dict(con.execute("SELECT order_kind, count(*) FROM orders GROUP BY 1").fetchall())
    return {
        "reporting_currency": counts[7],
        "totals": {
            "orders": counts[0], "order_lines": counts[1], "customers": counts[2], "feedback": counts[3],
            "quarantined_rows": counts[4], "batches": counts[5], "customer_merges": counts[6],
            "orders_by_kind": kinds,
        },
        "completeness": _warehouse_completeness(con),
        "validity": {
            "quarantine_by_reason": dict(con.execute(
                "SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC").fetchall()),
            "unknown_country_orders": con.execute(
                "SELECT count(*) FROM orders WHERE country_code IS NULL").fetchone()[0],
            "unknown_country_values": dict(con.execute(
                """SELECT coalesce(country_raw, '(empty)'), count(*) FROM orders WHERE country_code IS NULL
                   GROUP BY 1 ORDER BY 2 DESC LIMIT 20""").fetchall()),
            "unknown_market_orders": con.execute(
                f"SELECT count(*) FROM orders WHERE market = '{UNKNOWN_MARKET}'").fetchone()[0],
            "orphan_returns": _orphan_returns(con, "", []),
        },
        "identity": _identity_coverage(con, "", []),
        "markets": dict(con.execute(
            "SELECT market, count(*) FROM orders WHERE order_kind = 'sale' GROUP BY 1 ORDER BY 2 DESC").fetchall()),
        "currencies": dict(con.execute(
            "SELECT currency, count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC").fetchall()),
    }


def _warehouse_completeness(con: duckdb.DuckDBPyConnection) -> dict:
    """Share of rows with each optional field present, in orders, order_lines and customers."""
    checks = {
        "orders": ("customer_id", "country_code", "channel"),
        "order_lines": ("sku", "description", "category"),
        "customers": ("email", "phone", "name", "country_code"),
    }
    result = {}
    for table, fields in checks.items():
        row = con.execute(
            "SELECT count(*), " + ", ".join(f"count({f})" for f in fields) + f" FROM {table}"
        ).fetchone()
        result[table] = {f: _share(n, row[0]) for f, n in zip(fields, row[1:])}
    return result
