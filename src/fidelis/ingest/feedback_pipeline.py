"""The load of one file of feedback (reviews, NPS and CSAT surveys) into the warehouse.

Feedback is tied to customers already known from orders (by the source's customer id or by
email) and to the order it is about when the file names one; it does not create customers, so
load orders first. Scores outside their scale are quarantined, not clipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from fidelis.domain.identity import EMAIL_PATTERN
from fidelis.errors import Location, ParseError
from fidelis.ingest.parse import decimal_expr, first_parse_failure, integer_expr, timestamp_expr
from fidelis.ingest.sources.base import FEEDBACK_FIELDS, Staging, sql_literal

DEFAULT_RATING_SCALE_MAX = 5


@dataclass(frozen=True)
class FeedbackLinks:
    customers_created: int = 0
    customers_merged: int = 0


def stage(con: duckdb.DuckDBPyConnection, staging: Staging) -> int:
    select = ", ".join(f"CAST({staging.expressions.get(f, 'NULL')} AS VARCHAR) AS {f}" for f in FEEDBACK_FIELDS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE fb_text AS SELECT _row, {select} FROM raw")
    return con.execute("SELECT count(*) FROM fb_text").fetchone()[0]


def parse(con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, lenient: bool) -> None:
    """TEMP TABLE fb_checked: typed scores and each row's quarantine reason."""
    scale = staging.rating_scale_max or DEFAULT_RATING_SCALE_MAX
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fb_typed AS
            SELECT *, {timestamp_expr('submitted_at', staging)} AS submitted_at_ts,
                   {decimal_expr('rating', staging, 6, 2)} AS rating_num,
                   {integer_expr('nps', staging)} AS nps_num,
                   {integer_expr('csat', staging)} AS csat_num
            FROM fb_text"""
    )
    failures = [
        failure for text_field, parsed in (("submitted_at", "submitted_at_ts"), ("rating", "rating_num"),
                                           ("nps", "nps_num"), ("csat", "csat_num"))
        if (failure := first_parse_failure(con, "fb_typed", text_field, parsed)) is not None
    ]
    if failures and not lenient:
        first = min(failures, key=lambda f: f.row)
        what = "a date" if first.field == "submitted_at" else "a whole number" if first.field in ("nps", "csat") else "a number"
        raise ParseError(
            f"cannot read '{first.value}' as {what} ({first.count} row(s) like this; use --lenient to quarantine them)",
            Location(path, first.row, staging.columns.get(first.field, first.field)),
        )
    all_text = ", ".join(FEEDBACK_FIELDS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fb_checked AS
            SELECT *, CASE
                WHEN (submitted_at IS NOT NULL AND submitted_at_ts IS NULL) OR (rating IS NOT NULL AND rating_num IS NULL)
                  OR (nps IS NOT NULL AND nps_num IS NULL) OR (csat IS NOT NULL AND csat_num IS NULL)
                  THEN 'unparsable_value'
                WHEN submitted_at IS NULL THEN 'missing_date'
                WHEN rating IS NULL AND nps IS NULL AND csat IS NULL AND text IS NULL THEN 'no_score_or_text'
                WHEN nps_num NOT BETWEEN 0 AND 10 THEN 'nps_out_of_range'
                WHEN csat_num NOT BETWEEN 1 AND 5 THEN 'csat_out_of_range'
                WHEN rating_num < 0 OR rating_num > {scale} THEN 'rating_out_of_range'
                WHEN row_number() OVER (PARTITION BY {all_text} ORDER BY _row) > 1 THEN 'duplicate_feedback'
              END AS reason,
              {scale} AS rating_scale_max
            FROM fb_typed"""
    )


def resolve_customers(con: duckdb.DuckDBPyConnection, source: str, batch_id: str) -> FeedbackLinks:
    """Customer and order ids for valid rows, from keys already in the warehouse."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fb_load AS
            SELECT f.*, coalesce(ks.customer_id, ke.customer_id, o.customer_id) AS customer_id, o.order_id
            FROM fb_checked f
            LEFT JOIN customer_keys ks ON ks.key_type = 'source_id'
                 AND ks.key_value = {sql_literal(source)} || ':' || f.source_customer_id
            LEFT JOIN customer_keys ke ON ke.key_type = 'email'
                 AND ke.key_value = CASE WHEN regexp_matches(lower(trim(f.email)), {sql_literal(EMAIL_PATTERN)})
                                         THEN lower(trim(f.email)) END
            LEFT JOIN orders o ON o.source = {sql_literal(source)} AND o.source_order_id = f.source_order_id
            WHERE f.reason IS NULL"""
    )
    return FeedbackLinks()


def insert_feedback(con: duckdb.DuckDBPyConnection, staging: Staging, batch_id: str) -> int:
    con.execute(
        """INSERT INTO feedback
           SELECT (SELECT coalesce(max(feedback_id), 0) FROM feedback) + row_number() OVER (ORDER BY _row),
                  ?, source_feedback_id, customer_id, order_id, source_order_id, submitted_at_ts, ?,
                  rating_num, CASE WHEN rating_num IS NOT NULL THEN rating_scale_max END, nps_num, csat_num,
                  text, lower(language), channel, ?, _row
           FROM fb_load""",
        [staging.source_name, staging.timezone, batch_id],
    )
    return con.execute("SELECT count(*) FROM feedback WHERE batch_id = ?", [batch_id]).fetchone()[0]


def quarantine_rows(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, int]:
    con.execute(
        """INSERT INTO quarantine
           SELECT ?, 'feedback', f._row, f.reason, NULL, to_json(r)
           FROM fb_checked f JOIN raw r USING (_row) WHERE f.reason IS NOT NULL""",
        [batch_id],
    )
    rows = con.execute(
        "SELECT reason, count(*) FROM fb_checked WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    return {reason: count for reason, count in rows}


def batch_quality(con: duckdb.DuckDBPyConnection, staging: Staging, batch_id: str) -> dict:
    row = con.execute(
        """SELECT count(*), count(customer_id), count(order_id), count(nps), count(csat), count(rating), count(text)
           FROM feedback WHERE batch_id = ?""",
        [batch_id],
    ).fetchone()
    total = row[0] or 0

    def share(n: int) -> float | None:
        return round(n / total, 6) if total else None

    return {
        "rows": total,
        "completeness": {"nps": share(row[3]), "csat": share(row[4]), "rating": share(row[5]), "text": share(row[6])},
        "identity": {"linked_to_customer_share": share(row[1]), "linked_to_order_share": share(row[2])},
    }
