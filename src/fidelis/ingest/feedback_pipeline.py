"""The load of one file of feedback (reviews, NPS and CSAT surveys) into the warehouse.

Feedback is tied to customers known from orders (by the source's customer id or by email) and to
the order it is about when the file names one. It does not create customers: rows whose customer
or order is not (yet) in the warehouse keep their keys and are linked when a later orders load
brings them (`relink`). Scores outside their scale are quarantined, not clipped. Reloading the same
feedback adds nothing: each row has a dedupe key (its feedback id, else a hash of the row).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from fidelis.domain.identity import EMAIL_PATTERN
from fidelis.errors import Location, ParseError
from fidelis.ingest.parse import decimal_expr, integer_expr, timestamp_expr
from fidelis.ingest.sources.base import FEEDBACK_FIELDS, Staging, sql_literal

PARSED_FIELDS = (("submitted_at", "submitted_at_ts"), ("rating", "rating_num"), ("nps", "nps_num"),
                 ("csat", "csat_num"))
# Scales tried, smallest first, when a layout cannot tell the rating scale ('score' columns).
INFERRED_SCALES = (5, 10, 100)


def stage(con: duckdb.DuckDBPyConnection, staging: Staging) -> int:
    """TEMP TABLE fb_typed: the canonical fields as text and typed."""
    select = ", ".join(f"CAST({staging.expressions.get(f, 'NULL')} AS VARCHAR) AS {f}" for f in FEEDBACK_FIELDS)
    all_text = ", ".join(FEEDBACK_FIELDS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fb_typed AS
            SELECT *, {timestamp_expr('submitted_at', staging)} AS submitted_at_ts,
                   {decimal_expr('rating', staging, 6, 2)} AS rating_num,
                   {integer_expr('nps', staging)} AS nps_num,
                   {integer_expr('csat', staging)} AS csat_num,
                   coalesce(source_feedback_id, md5(to_json(struct_pack({all_text})))) AS dedupe_key,
                   CASE WHEN regexp_matches(lower(email), {sql_literal(EMAIL_PATTERN)}) THEN lower(email) END
                       AS email_norm
            FROM (SELECT _row, {select} FROM raw)"""
    )
    return con.execute("SELECT count(*) FROM fb_typed").fetchone()[0]


def rating_scale(con: duckdb.DuckDBPyConnection, staging: Staging) -> int:
    """The layout's scale, else the smallest usual scale (5, 10, 100) that holds every rating."""
    if staging.rating_scale_max is not None:
        return staging.rating_scale_max
    highest = con.execute("SELECT max(rating_num) FROM fb_typed").fetchone()[0]
    for scale in INFERRED_SCALES:
        if highest is None or highest <= scale:
            return scale
    return INFERRED_SCALES[-1]


def parse(con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, lenient: bool) -> None:
    """TEMP TABLE fb_checked: each row's quarantine reason; unparsable values refuse the file unless lenient."""
    bad_field = " ".join(f"WHEN {text} IS NOT NULL AND {typed} IS NULL THEN '{text}'" for text, typed in PARSED_FIELDS)
    scale = rating_scale(con, staging)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fb_checked AS
            SELECT *, CASE
                WHEN bad_field IS NOT NULL THEN 'unparsable_value'
                WHEN submitted_at IS NULL THEN 'missing_date'
                WHEN rating IS NULL AND nps IS NULL AND csat IS NULL AND text IS NULL THEN 'no_score_or_text'
                WHEN nps_num NOT BETWEEN 0 AND 10 THEN 'nps_out_of_range'
                WHEN csat_num NOT BETWEEN 1 AND 5 THEN 'csat_out_of_range'
                WHEN rating_num < 0 OR rating_num > {scale} THEN 'rating_out_of_range'
                WHEN row_number() OVER (PARTITION BY dedupe_key ORDER BY _row) > 1 THEN 'duplicate_feedback'
              END AS reason,
              {scale} AS rating_scale_max
            FROM (SELECT *, CASE {bad_field} END AS bad_field FROM fb_typed)"""
    )
    if lenient:
        return
    found = con.execute(
        "SELECT min_by(_row, _row), min_by(bad_field, _row), count(*) FROM fb_checked WHERE reason = 'unparsable_value'"
    ).fetchone()
    if found[2]:
        row, field = found[0], found[1]
        value = con.execute(f"SELECT {field} FROM fb_checked WHERE _row = ?", [row]).fetchone()[0]
        what = "a date" if field == "submitted_at" else "a whole number" if field in ("nps", "csat") else "a number"
        raise ParseError(
            f"cannot read '{value}' as {what} ({found[2]} row(s) like this; use --lenient to quarantine them)",
            Location(path, row, staging.columns.get(field, field)),
        )


def insert_feedback(con: duckdb.DuckDBPyConnection, staging: Staging, batch_id: str) -> tuple[int, int]:
    """Insert valid rows not loaded before; return (loaded, skipped as already present)."""
    source = sql_literal(staging.source_name)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE fb_new AS
            SELECT f.* FROM fb_checked f
            WHERE f.reason IS NULL
              AND f.dedupe_key NOT IN (SELECT dedupe_key FROM feedback WHERE source = {source})"""
    )
    con.execute(
        f"""INSERT INTO feedback
            SELECT (SELECT coalesce(max(feedback_id), 0) FROM feedback) + row_number() OVER (ORDER BY _row),
                   {source}, source_feedback_id, dedupe_key, NULL, NULL, source_customer_id, ?, email_norm,
                   source_order_id, submitted_at_ts, ?, rating_num,
                   CASE WHEN rating_num IS NOT NULL THEN rating_scale_max END, nps_num, csat_num,
                   text, lower(language), channel, ?, _row
            FROM fb_new""",
        [staging.namespaced, staging.timezone, batch_id],
    )
    relink(con, namespaced=staging.namespaced, source=staging.source_name, batch_id=batch_id)
    loaded = con.execute("SELECT count(*) FROM fb_new").fetchone()[0]
    valid = con.execute("SELECT count(*) FROM fb_checked WHERE reason IS NULL").fetchone()[0]
    return loaded, valid - loaded


def relink(con: duckdb.DuckDBPyConnection, *, namespaced: bool, source: str | None = None,
           batch_id: str | None = None) -> None:
    """Link unlinked feedback to the customers and orders the warehouse now knows.

    Namespaced rows (of `source`, or of every source when it is None) match `source:id` and the
    source's own orders; emails match whichever shop brought them. Rows without a namespace match
    any shop's customer id or order id, and are linked only where exactly one shop has it: an
    ambiguous id stays unlinked rather than guessed.
    """
    scope = "(customer_id IS NULL OR (order_id IS NULL AND source_order_id IS NOT NULL)) AND ids_namespaced = ?"
    params: list = [namespaced]
    if namespaced and source is not None:
        scope += " AND source = ?"
        params.append(source)
    if batch_id is not None:
        scope += " AND batch_id = ?"
        params.append(batch_id)
    con.execute(f"CREATE OR REPLACE TEMP TABLE fb_unlinked AS SELECT * FROM feedback WHERE {scope}", params)
    if not con.execute("SELECT count(*) FROM fb_unlinked").fetchone()[0]:
        return
    if namespaced:
        id_keys = """SELECT key_value AS id_key, customer_id FROM customer_keys
                     WHERE key_type = 'source_id' AND key_value IN (SELECT source || ':' || source_customer_id
                                                                     FROM fb_unlinked)"""
        id_expr = "f.source || ':' || f.source_customer_id"
        order_keys = """SELECT source || ':' || source_order_id AS order_key, order_id, customer_id FROM orders
                        WHERE source_order_id IN (SELECT source_order_id FROM fb_unlinked)"""
        order_expr = "f.source || ':' || f.source_order_id"
    else:
        id_keys = """SELECT substr(key_value, strpos(key_value, ':') + 1) AS id_key, min(customer_id) AS customer_id
                     FROM customer_keys WHERE key_type = 'source_id'
                       AND substr(key_value, strpos(key_value, ':') + 1) IN (SELECT source_customer_id FROM fb_unlinked)
                     GROUP BY 1 HAVING count(DISTINCT customer_id) = 1"""
        id_expr = "f.source_customer_id"
        order_keys = """SELECT source_order_id AS order_key, min(order_id) AS order_id, min(customer_id) AS customer_id
                        FROM orders WHERE source_order_id IN (SELECT source_order_id FROM fb_unlinked)
                        GROUP BY 1 HAVING count(*) = 1"""
        order_expr = "f.source_order_id"
    con.execute(
        f"""UPDATE feedback SET customer_id = coalesce(feedback.customer_id, l.customer_id),
                                order_id = coalesce(feedback.order_id, l.order_id)
            FROM (SELECT f.feedback_id, coalesce(ki.customer_id, ke.customer_id, o.customer_id) AS customer_id,
                         o.order_id
                  FROM fb_unlinked f
                  LEFT JOIN ({id_keys}) ki ON ki.id_key = {id_expr}
                  LEFT JOIN customer_keys ke ON ke.key_type = 'email' AND ke.key_value = f.email
                  LEFT JOIN ({order_keys}) o ON o.order_key = {order_expr}) l
            WHERE feedback.feedback_id = l.feedback_id"""
    )


def quarantine_rows(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, int]:
    con.execute(
        """INSERT INTO quarantine
           SELECT ?, 'feedback', f._row, f.reason, f.bad_field, to_json(r)
           FROM fb_checked f JOIN raw r USING (_row) WHERE f.reason IS NOT NULL""",
        [batch_id],
    )
    rows = con.execute(
        "SELECT reason, count(*) FROM fb_checked WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    return dict(rows)


def batch_quality(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict:
    row = con.execute(
        """SELECT count(*), count(customer_id), count(order_id), count(nps), count(csat), count(rating), count(text)
           FROM feedback WHERE batch_id = ?""",
        [batch_id],
    ).fetchone()
    loaded = row[0] or 0

    def share(n: int) -> float | None:
        return round(n / loaded, 6) if loaded else None

    return {
        "rows": con.execute("SELECT count(*) FROM fb_checked").fetchone()[0],
        "loaded": loaded,
        "completeness": {"nps": share(row[3]), "csat": share(row[4]), "rating": share(row[5]), "text": share(row[6])},
        "identity": {"linked_to_customer_share": share(row[1]), "linked_to_order_share": share(row[2])},
    }
