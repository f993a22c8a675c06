"""Explain a customer: the keys that make it one person, the evidence and the merges."""

from __future__ import annotations

import duckdb

from fidelis.errors import FidelisError


class CustomerNotFoundError(FidelisError, LookupError):
    """No customer with that id, now or merged away."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _final_survivor(con: duckdb.DuckDBPyConnection, customer_id: int) -> int | None:
    """Where a merged-away id lives on now, following merges of merges; None if it was never merged."""
    current, seen = customer_id, set()
    while current not in seen:
        seen.add(current)
        row = con.execute(
            "SELECT into_customer_id FROM customer_merges WHERE merged_customer_id = ?", [current]
        ).fetchone()
        if row is None:
            return None if current == customer_id else current
        current = row[0]
    return current


def explain_customer(con: duckdb.DuckDBPyConnection, *, customer_id: int) -> dict:
    """Everything that says why records belong to `customer_id` (or where it was merged to)."""
    merged_into = _final_survivor(con, customer_id)
    profile = _rows(
        con,
        "SELECT customer_id, country_code, market, first_order_at, created_batch_id FROM customers WHERE customer_id = ?",
        [customer_id],
    )
    if not profile and merged_into is None:
        raise CustomerNotFoundError(f"no customer {customer_id} in this warehouse")
    keys = _rows(
        con,
        """SELECT k.key_type, k.key_value, k.first_source_row, k.batch_id, b.path
           FROM customer_keys k LEFT JOIN batches b USING (batch_id)
           WHERE k.customer_id = ? ORDER BY k.key_type DESC, k.key_value""",
        [customer_id],
    )
    links = _rows(
        con,
        """SELECT l.source_key, l.email, l.first_source_row, l.batch_id, b.path
           FROM customer_links l LEFT JOIN batches b USING (batch_id)
           WHERE l.source_key IN (SELECT key_value FROM customer_keys WHERE customer_id = ? AND key_type = 'source_id')
           ORDER BY l.source_key, l.email""",
        [customer_id],
    )
    # Every merge that ended in this customer, also through customers merged in turn (C -> B -> A).
    merges = _rows(
        con,
        """WITH RECURSIVE absorbed(customer_id) AS (
               SELECT ?::BIGINT
               UNION
               SELECT m.merged_customer_id FROM customer_merges m JOIN absorbed a ON m.into_customer_id = a.customer_id
           )
           SELECT m.merged_customer_id, m.into_customer_id, m.via_key_type, m.via_key_value, m.batch_id,
                  m.merged_at, b.path
           FROM customer_merges m LEFT JOIN batches b USING (batch_id)
           WHERE m.into_customer_id IN (SELECT customer_id FROM absorbed) ORDER BY m.merged_at, m.merged_customer_id""",
        [customer_id],
    )
    orders = con.execute(
        "SELECT count(*), count(DISTINCT source) FROM orders WHERE customer_id = ?", [customer_id]
    ).fetchone()
    return {
        "customer_id": customer_id,
        "merged_into": merged_into,
        "profile": profile[0] if profile else None,
        "orders": orders[0],
        "sources": orders[1],
        "keys": keys,
        "links": links,
        "merges": merges,
    }
