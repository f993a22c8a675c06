"""The load of one file of orders into the warehouse, as a few set-based SQL steps.

Every step works on whole tables in DuckDB; Python only orchestrates (and resolves identities
with scipy). The preparation steps write only temporary tables; the caller runs the steps that
write the warehouse (`apply_identities`, `insert_*`, `link_returns`, `upsert_customers`,
`quarantine_rows`) in one transaction, so a failure at any step leaves the warehouse as it was.

The shape is chosen for speed at tens of millions of lines: lines are parsed once into `stg`
(typed values only: the text of parsed fields is looked up again in `raw` for the rare error
message); everything about orders and customers runs on one row per order (`batch_orders`); rates
are looked up per (currency, day), not per line; and checks that need grouping (duplicates, mixed
currencies) find the few offending groups with hash aggregates before touching any line.

Row fates (each staged line has exactly one, in this order of precedence):
  skipped_existing  its order (source, order id) is already in the warehouse from an earlier file
  quarantined       invalid; kept in `quarantine` with the reason, not loaded
  guest             loaded, in an order with no customer id and no email
  sale / return / cancellation   loaded, in an order of a known customer
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from fidelis.domain.identity import EMAIL_PATTERN
from fidelis.domain.markets import UNKNOWN_MARKET, MarketConfig, country_name_table
from fidelis.domain.money import iso_currency_codes
from fidelis.errors import InputError, Location, MissingFxRateError, ParseError, UnknownCurrencyError
from fidelis.ingest.identity import IdentityPlan, plan_identities
from fidelis.ingest.parse import decimal_expr, timestamp_expr
from fidelis.ingest.phones import normalise_phones
from fidelis.ingest.sources.base import ORDER_FIELDS, Staging, sql_literal

# Parsed fields: the staged text, its typed column and what the error message calls it.
PARSED_FIELDS = (
    ("ordered_at", "ordered_at_ts"),
    ("quantity", "quantity_raw_num"),
    ("unit_price", "unit_price_num"),
    ("line_amount", "line_amount_num"),
)
# Checked in this order; a line gets the first reason that applies. `{bad_currencies}` is filled
# with the currency codes of this file that are not ISO 4217 (found on distinct values first).
QUARANTINE_RULES: tuple[tuple[str, str], ...] = (
    ("unparsable_value", "bad_field IS NOT NULL"),
    ("unknown_order_kind", "order_kind IS NULL AND order_kind_raw IS NOT NULL"),
    ("missing_order_kind", "order_kind IS NULL"),
    ("unknown_currency", "currency_code IS NULL OR currency_code IN ({bad_currencies})"),
    ("missing_order_id", "source_order_id IS NULL"),
    ("missing_date", "ordered_at IS NULL"),
    ("missing_quantity", "quantity IS NULL"),
    ("missing_price", "unit_price IS NULL AND line_amount IS NULL"),
    ("zero_quantity", "quantity_raw_num = 0"),
    ("negative_quantity_in_sale", "order_kind = 'sale' AND quantity_raw_num < 0"),
    ("non_positive_price_in_sale", "order_kind = 'sale' AND price_num <= 0"),
    ("negative_price", "price_num < 0"),
    ("negative_amount_in_sale", "order_kind = 'sale' AND line_amount_num < 0"),
    ("amount_out_of_range", "amount_num IS NULL"),
)
# Found later, over groups of lines: duplicate_line (`mark_duplicates`), currency_differs_within_order
# (`build_batch_orders`), and with --lenient missing_fx_rate (`convert_currency`). Without --lenient,
# unparsable_value, unknown_order_kind, unknown_currency and missing_fx_rate refuse the file instead.
FATES = ("sale", "return", "cancellation", "guest", "quarantined", "skipped_existing")  # in report order


def distinct_currencies(con: duckdb.DuckDBPyConnection, staging: Staging) -> set[str]:
    """The currency codes a file uses, read from one column before the full parse."""
    expression = staging.expressions.get("currency", "NULL")
    if staging.default_currency:
        expression = f"coalesce({expression}, {sql_literal(staging.default_currency)})"
    rows = con.execute(f"SELECT DISTINCT upper(CAST({expression} AS VARCHAR)) FROM raw").fetchall()
    return {code for (code,) in rows if code is not None}


def stage(con: duckdb.DuckDBPyConnection, staging: Staging, extra_rows_sql: str | None, source: str) -> int:
    """TEMP TABLE stg: one row per line, typed, with its quarantine reason (or NULL)."""
    text_select = ", ".join(
        f"CAST({staging.expressions.get(f, 'NULL')} AS VARCHAR) AS {f}" for f in ORDER_FIELDS
    )
    text_sql = f"SELECT _row, 0 AS _variant, {text_select} FROM raw"
    if extra_rows_sql:
        # Extra rows (a layout's refunds, say) share the _row of the line they came from.
        text_sql += (f" UNION ALL BY NAME SELECT *, row_number() OVER (PARTITION BY _row ORDER BY source_order_id)"
                     f" AS _variant FROM ({extra_rows_sql})")
    currency = "upper(currency)"
    if staging.default_currency:
        currency = f"upper(coalesce(currency, {sql_literal(staging.default_currency)}))"
    bad = sorted(distinct_currencies(con, staging) - iso_currency_codes())
    bad_list = ", ".join(sql_literal(code) for code in bad) or "NULL"
    rules = " ".join(f"WHEN {condition.format(bad_currencies=bad_list)} THEN '{reason}'"
                     for reason, condition in QUARANTINE_RULES)
    bad_field = " ".join(f"WHEN {text} IS NOT NULL AND {typed} IS NULL THEN '{text}'" for text, typed in PARSED_FIELDS)
    existing = _existing_orders_sql(con, source)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stg AS
            WITH text_rows AS ({text_sql}),
            typed AS (
                SELECT *,
                    {timestamp_expr('ordered_at', staging)} AS ordered_at_ts,
                    {decimal_expr('quantity', staging, 18, 4)} AS quantity_raw_num,
                    {decimal_expr('unit_price', staging, 18, 6)} AS unit_price_num,
                    {decimal_expr('line_amount', staging, 18, 4)} AS line_amount_num,
                    {currency} AS currency_code
                FROM text_rows
            ),
            derived AS (
                SELECT *,
                    coalesce(unit_price_num,
                             CASE WHEN quantity_raw_num <> 0 THEN abs(line_amount_num / quantity_raw_num) END
                    )::DECIMAL(18,6) AS price_num,
                    CASE WHEN order_kind IN ('return', 'cancellation') THEN -abs(quantity_raw_num)
                         ELSE quantity_raw_num END AS quantity_num,
                    CASE {bad_field} END AS bad_field
                FROM typed
            ),
            amounts AS (
                SELECT *,
                    -- Wide arithmetic, then a checked narrowing: 1e8 units of a small currency is real.
                    try_cast(CASE WHEN line_amount_num IS NOT NULL
                                  THEN CASE WHEN order_kind = 'sale' THEN line_amount_num
                                            ELSE -abs(line_amount_num) END
                                  ELSE round(CAST(quantity_num AS DECIMAL(38,4)) * price_num, 4) END
                             AS DECIMAL(18,4)) AS amount_num
                FROM derived
            )
            SELECT _row, _variant, source_order_id, order_kind, order_kind_raw, source_original_order_id, ordered_at_ts,
                   CAST(ordered_at_ts AS DATE) AS order_date,
                   source_customer_id, email, phone, customer_name, country, currency_code, sku, description,
                   category, quantity_num, price_num,
                   amount_num,
                   channel, bad_field,
                   CASE {rules} END AS reason,
                   {existing} AS skipped
            FROM amounts"""
    )
    mark_duplicates(con)
    return con.execute("SELECT count(*) FROM stg").fetchone()[0]


def _existing_orders_sql(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """SQL flagging lines of orders already loaded; `false` when the source has none yet."""
    if not con.execute("SELECT count(*) FROM orders WHERE source = ?", [source]).fetchone()[0]:
        return "false"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE existing_orders AS SELECT source_order_id FROM orders WHERE source = ?",
        [source],
    )
    return "coalesce(source_order_id IN (SELECT source_order_id FROM existing_orders), false)"


# The staged values two lines must share to be duplicates: every field, typed.
_LINE_VALUES = ("source_order_id, order_kind, source_original_order_id, ordered_at_ts, source_customer_id, email, "
                "phone, customer_name, country, currency_code, sku, description, category, quantity_num, price_num, "
                "amount_num, channel")


def mark_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """Quarantine every repeat of an identical line (all fields, order id included) but the first.

    A cheap hash over a few typed columns finds the candidate groups (rare in real files); only
    their lines are then compared on every field.
    """
    candidate = "hash(source_order_id, sku, quantity_num, price_num, amount_num)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE duplicate_lines AS
            SELECT _row, _variant FROM (
                SELECT _row, _variant,
                       row_number() OVER (PARTITION BY {_LINE_VALUES} ORDER BY _row, _variant) AS nth
                FROM stg
                WHERE {candidate} IN (SELECT {candidate} FROM stg GROUP BY 1 HAVING count(*) > 1)
            ) WHERE nth > 1"""
    )
    con.execute(
        """UPDATE stg SET reason = 'duplicate_line' FROM duplicate_lines d
           WHERE stg.reason IS NULL AND stg._row = d._row AND stg._variant = d._variant"""
    )


def check_strict(con: duckdb.DuckDBPyConnection, staging: Staging, path: Path) -> None:
    """Refuse the file at the first value that cannot be read: a wrong mapping, not a bad row."""
    found = con.execute(
        """SELECT min_by(_row, _row), min_by(bad_field, _row), min_by(reason, _row), min_by(currency_code, _row),
                  min_by(order_kind_raw, _row), count(*)
           FROM stg WHERE NOT skipped AND reason IN ('unparsable_value', 'unknown_order_kind', 'unknown_currency')"""
    ).fetchone()
    row, field, reason, currency, kind, count = found
    if not count:
        return
    others = f"{count} row(s) with this or another problem; use --lenient to quarantine them instead"
    if reason == "unknown_currency":
        if currency is None:
            message = ("empty currency (give --currency for rows without one)" if "currency" in staging.columns
                       else "no currency: map a currency column or give --currency")
            raise UnknownCurrencyError(message, Location(path, row, staging.columns.get("currency")))
        raise UnknownCurrencyError(f"'{currency}' is not an ISO 4217 currency code ({others})",
                                   Location(path, row, staging.columns.get("currency", "currency")))
    if reason == "unknown_order_kind":
        raise ParseError(
            f"'{kind}' is not a known order kind: sale, return or cancellation (a mapping lists the values "
            f"meaning each under [values.order_kind]) ({others})",
            Location(path, row, staging.columns.get("order_kind", "order_kind")),
        )
    value = con.execute(
        f"SELECT CAST({staging.expressions.get(field, 'NULL')} AS VARCHAR) FROM raw WHERE _row = ?", [row]
    ).fetchone()
    raise ParseError(
        f"cannot read '{value[0] if value else ''}' as {_parse_target(field, staging)} ({others})",
        Location(path, row, staging.columns.get(field, field)),
    )


def _parse_target(field_name: str, staging: Staging) -> str:
    if field_name == "ordered_at":
        return f"a date (format {staging.date_format})" if staging.date_format else "an ISO 8601 date"
    return "a number"


def convert_currency(
    con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, reporting_currency: str,
    max_age_days: int, lenient: bool,
) -> None:
    """TEMP TABLE day_rates: the rate to the reporting currency per (currency, order day).

    The rate is the latest one on or before the order's day (an ASOF join over a few thousand
    distinct pairs, not over lines), at most `max_age_days` old. The reporting currency converts at
    exactly 1. A day with no usable rate is an error naming currency and date (never a silent 1.0);
    with --lenient its lines are quarantined instead.
    """
    reporting = sql_literal(reporting_currency)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE day_rates AS
            SELECT d.currency_code, d.order_date,
                   CASE WHEN d.currency_code = {reporting} THEN 1
                        WHEN date_diff('day', f.rate_date, d.order_date) <= {int(max_age_days)}
                        THEN f.rate_to_reporting END::DECIMAL(28,12) AS fx_rate,
                   CASE WHEN d.currency_code = {reporting} THEN d.order_date ELSE f.rate_date END AS fx_rate_date
            FROM (SELECT DISTINCT currency_code, order_date FROM stg WHERE reason IS NULL AND NOT skipped) d
            ASOF LEFT JOIN fx_rates f ON d.currency_code = f.currency AND d.order_date >= f.rate_date"""
    )
    if not con.execute("SELECT count(*) FROM day_rates WHERE fx_rate IS NULL").fetchone()[0]:
        return
    if lenient:
        con.execute(
            """UPDATE stg SET reason = 'missing_fx_rate' FROM day_rates r
               WHERE stg.reason IS NULL AND r.fx_rate IS NULL
                 AND r.currency_code = stg.currency_code AND r.order_date = stg.order_date"""
        )
        return
    row, currency, day = con.execute(
        """SELECT min_by(s._row, s._row), min_by(s.currency_code, s._row), min_by(s.order_date, s._row)
           FROM stg s JOIN day_rates r USING (currency_code, order_date)
           WHERE s.reason IS NULL AND NOT s.skipped AND r.fx_rate IS NULL"""
    ).fetchone()
    raise MissingFxRateError(currency, str(day), reporting_currency,
                             Location(path, int(row), staging.columns.get("currency")))


def build_batch_orders(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """TEMP TABLE batch_orders: one row per order of the loadable lines.

    Order-level fields are the first non-empty value among the order's lines, in file order, so a
    customer id written only on a later line still identifies the order's customer. Lines in
    another currency than the order's first line are quarantined and the orders rebuilt.
    """
    _aggregate_orders(con, source)
    if con.execute("SELECT count(*) FROM batch_orders WHERE mixed_currency").fetchone()[0]:
        con.execute(
            """UPDATE stg SET reason = 'currency_differs_within_order' FROM batch_orders b
               WHERE b.mixed_currency AND stg.source_order_id = b.source_order_id AND stg.reason IS NULL
                 AND NOT stg.skipped AND stg.currency_code <> b.currency_code"""
        )
        _aggregate_orders(con, source)


def _aggregate_orders(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """One hash aggregate: totals per order, the first line's fields, the first customer keys.

    The keys that identify the customer are the first non-empty ones among the order's lines, so
    an id written only on a later line still identifies the order's customer.
    """
    first_line = ("{'order_kind': s.order_kind, 'source_original_order_id': s.source_original_order_id, "
                  "'ordered_at': s.ordered_at_ts, 'phone': s.phone, 'customer_name': s.customer_name, "
                  "'country': s.country, 'channel': s.channel, 'currency_code': s.currency_code, "
                  "'fx_rate': r.fx_rate, 'fx_rate_date': r.fx_rate_date}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE batch_orders AS
            SELECT source_order_id, first_row, first.*, source_customer_id, email, mixed_currency, amount,
                   amount_reporting, line_count, sale_lines, return_lines, cancellation_lines,
                   CASE WHEN source_customer_id IS NOT NULL
                        THEN {sql_literal(source)} || ':' || source_customer_id END AS source_key,
                   CASE WHEN regexp_matches(lower(email), {sql_literal(EMAIL_PATTERN)})
                        THEN lower(email) END AS email_norm
            FROM (
                SELECT s.source_order_id, min(s._row) AS first_row,
                       arg_min({first_line}, s._row) AS first,
                       arg_min(s.source_customer_id, s._row) FILTER (WHERE s.source_customer_id IS NOT NULL)
                           AS source_customer_id,
                       arg_min(s.email, s._row) FILTER (WHERE s.email IS NOT NULL) AS email,
                       min(s.currency_code) <> max(s.currency_code) AS mixed_currency,
                       sum(s.amount_num) AS amount,
                       sum(round(s.amount_num * r.fx_rate, 4)) AS amount_reporting,
                       count(*) AS line_count,
                       count(*) FILTER (WHERE s.order_kind = 'sale') AS sale_lines,
                       count(*) FILTER (WHERE s.order_kind = 'return') AS return_lines,
                       count(*) FILTER (WHERE s.order_kind = 'cancellation') AS cancellation_lines
                FROM stg s JOIN day_rates r USING (currency_code, order_date)
                WHERE s.reason IS NULL AND NOT s.skipped
                GROUP BY s.source_order_id
            )"""
    )


def plan_customers(con: duckdb.DuckDBPyConnection) -> IdentityPlan:
    """Customer ids for every key in the load, through the identity graph (see identity.py)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE stg_ids AS
           SELECT source_key, email_norm AS email, min(first_row) AS first_row FROM batch_orders
           WHERE source_key IS NOT NULL OR email_norm IS NOT NULL
           GROUP BY ALL"""
    )
    return plan_identities(con)


def register_countries(con: duckdb.DuckDBPyConnection, markets: MarketConfig) -> None:
    """TEMP TABLE ref_country(name_key, country_code, market) from ISO names and aliases."""
    table = pd.DataFrame(country_name_table(markets), columns=["name_key", "country_code", "market"])
    con.register("_countries", table)
    con.execute("CREATE OR REPLACE TEMP TABLE ref_country AS SELECT * FROM _countries")
    con.unregister("_countries")


def prepare_orders(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP TABLE batch_orders_final: orders numbered in file order, with customers and countries."""
    # Ids from a sort of two narrow columns: sorting the whole order rows would cost ten times more.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE order_ids AS
           SELECT source_order_id,
                  (SELECT coalesce(max(order_id), 0) FROM orders) + row_number() OVER (ORDER BY first_row, source_order_id)
                      AS order_id
           FROM batch_orders"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE batch_orders_final AS
            SELECT i.order_id, b.*, coalesce(ks.customer_id, ke.customer_id) AS customer_id,
                   rc.country_code, coalesce(rc.market, '{UNKNOWN_MARKET}') AS market
            FROM batch_orders b JOIN order_ids i USING (source_order_id)
            LEFT JOIN key_customer ks ON ks.key_type = 'source_id' AND ks.key_value = b.source_key
            LEFT JOIN key_customer ke ON ke.key_type = 'email' AND ke.key_value = b.email_norm
            LEFT JOIN ref_country rc ON rc.name_key = upper(b.country)"""
    )


def insert_orders(con: duckdb.DuckDBPyConnection, *, source: str, batch_id: str, timezone: str) -> int:
    con.execute(
        """INSERT INTO orders
           SELECT order_id, ?, source_order_id, order_kind, NULL, source_original_order_id, customer_id,
                  customer_id IS NULL, ordered_at, ?, country_code, country, market, channel, currency_code,
                  amount, amount_reporting, fx_rate, fx_rate_date, line_count, ?
           FROM batch_orders_final""",
        [source, timezone, batch_id],
    )
    return con.execute("SELECT count(*) FROM batch_orders_final").fetchone()[0]


def insert_lines(con: duckdb.DuckDBPyConnection, *, batch_id: str) -> None:
    """Insert the lines. Ids follow file order without a sort: from the line's row and variant.

    A file whose layout adds no rows has one variant per row and gets dense ids; a layout that
    adds rows (refunds, say) leaves gaps, which ids may have.
    """
    base, first_row, variants = con.execute(
        """SELECT (SELECT coalesce(max(line_id), 0) FROM order_lines), min(_row), max(_variant) + 1 FROM stg"""
    ).fetchone()
    con.execute(
        """INSERT INTO order_lines
           SELECT ? + (s._row - ?) * ? + s._variant + 1,
                  o.order_id, s.order_kind, s.sku, s.description, s.category, s.quantity_num, s.price_num,
                  s.currency_code, s.amount_num, round(s.amount_num * r.fx_rate, 4), r.fx_rate, r.fx_rate_date,
                  ?, s._row
           FROM stg s JOIN order_ids o USING (source_order_id)
           JOIN day_rates r ON r.currency_code = s.currency_code AND r.order_date = s.order_date
           WHERE s.reason IS NULL AND NOT s.skipped""",
        [base, first_row, variants, batch_id],
    )


def link_returns(con: duckdb.DuckDBPyConnection, *, source: str) -> int:
    """Point returns and cancellations at the sale they undo where the source names it.

    Covers all unlinked orders of the source, so a return loaded before its sale is linked once
    the sale arrives. Returns how many still point at an order the warehouse does not have.
    """
    con.execute(
        """UPDATE orders SET original_order_id = o2.order_id
           FROM orders o2
           WHERE orders.source = ? AND orders.original_order_id IS NULL
             AND orders.source_original_order_id IS NOT NULL
             AND o2.source = orders.source AND o2.source_order_id = orders.source_original_order_id""",
        [source],
    )
    return con.execute(
        """SELECT count(*) FROM orders
           WHERE source = ? AND source_original_order_id IS NOT NULL AND original_order_id IS NULL""",
        [source],
    ).fetchone()[0]


def upsert_customers(con: duckdb.DuckDBPyConnection, *, batch_id: str, markets: MarketConfig,
                     merged_into: list[int]) -> None:
    """Create new customers and refresh the profile of those this load touched.

    Contact details: the non-empty value of the most recent order wins, across loads too. Home
    country and market: those of most of
    the customer's orders (ties: the most recent); first order: the earliest of all their orders,
    recomputed, so a merge moves it correctly.
    """
    normalise_phones(con, source_table="batch_orders_final", target_table="load_phones")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE touched AS
           SELECT o.customer_id,
                  arg_max(o.email_norm, o.ordered_at) FILTER (WHERE o.email_norm IS NOT NULL) AS email,
                  arg_max(p.phone_e164, o.ordered_at) FILTER (WHERE p.phone_e164 IS NOT NULL) AS phone,
                  arg_max(o.customer_name, o.ordered_at) FILTER (WHERE o.customer_name IS NOT NULL) AS name,
                  max(o.ordered_at) AS contact_as_of
           FROM batch_orders_final o LEFT JOIN load_phones p
             ON p.phone_raw = o.phone AND p.country_code IS NOT DISTINCT FROM o.country_code
           WHERE o.customer_id IS NOT NULL GROUP BY o.customer_id"""
    )
    if merged_into:
        con.execute(
            """INSERT INTO touched SELECT m.id, NULL, NULL, NULL, NULL FROM (SELECT UNNEST(?::BIGINT[]) AS id) m
               WHERE m.id NOT IN (SELECT customer_id FROM touched)""",
            [merged_into],
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE profile AS
            WITH mine AS (
                SELECT customer_id, country_code, market, ordered_at FROM orders
                WHERE customer_id IN (SELECT customer_id FROM touched)
            ),
            by_country AS (
                SELECT customer_id, first(country_code ORDER BY n DESC, last_at DESC) AS country_code
                FROM (SELECT customer_id, country_code, count(*) AS n, max(ordered_at) AS last_at FROM mine
                      WHERE country_code IS NOT NULL GROUP BY ALL)
                GROUP BY customer_id
            ),
            by_market AS (
                SELECT customer_id, first(market ORDER BY n DESC, last_at DESC) AS market
                FROM (SELECT customer_id, market, count(*) AS n, max(ordered_at) AS last_at FROM mine
                      WHERE market <> '{UNKNOWN_MARKET}' GROUP BY ALL)
                GROUP BY customer_id
            ),
            first_orders AS (SELECT customer_id, min(ordered_at) AS first_order_at FROM mine GROUP BY customer_id)
            SELECT t.*, f.first_order_at, c.country_code, coalesce(m.market, '{UNKNOWN_MARKET}') AS market
            FROM touched t LEFT JOIN first_orders f USING (customer_id)
            LEFT JOIN by_country c USING (customer_id) LEFT JOIN by_market m USING (customer_id)"""
    )
    con.execute(
        """UPDATE customers SET
                  -- contact details from this load only where they are newer than what is stored:
                  -- loading an old export after a recent one must not bring back an old address
                  email = CASE WHEN newer THEN coalesce(p.email, customers.email) ELSE coalesce(customers.email, p.email) END,
                  phone = CASE WHEN newer THEN coalesce(p.phone, customers.phone) ELSE coalesce(customers.phone, p.phone) END,
                  name = CASE WHEN newer THEN coalesce(p.name, customers.name) ELSE coalesce(customers.name, p.name) END,
                  contact_as_of = greatest(customers.contact_as_of, p.contact_as_of),
                  country_code = p.country_code, market = p.market, first_order_at = p.first_order_at
           FROM (SELECT *, contact_as_of >= (SELECT c.contact_as_of FROM customers c WHERE c.customer_id = profile.customer_id)
                           IS NOT false AS newer FROM profile) p
           WHERE customers.customer_id = p.customer_id"""
    )
    con.execute(
        """INSERT INTO customers
           SELECT p.customer_id, p.email, p.phone, p.name, p.country_code, p.market, p.first_order_at,
                  p.contact_as_of, ?
           FROM profile p ANTI JOIN customers c USING (customer_id)""",
        [batch_id],
    )


def release_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the file's own rows of the quarantined lines, then free the full copy of the file.

    Called once every reason is known; at ten million lines this returns gigabytes of memory
    before the largest writes.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE raw_quarantined AS
           SELECT r._row, to_json(r) AS record FROM raw r
           WHERE r._row IN (SELECT _row FROM stg WHERE reason IS NOT NULL AND NOT skipped)"""
    )
    con.execute("DROP VIEW raw")
    con.execute("DROP TABLE raw_scan")


def quarantine_rows(con: duckdb.DuckDBPyConnection, *, batch_id: str) -> dict[str, int]:
    """Keep every invalid line, as the file had it, with the reason; count them by reason."""
    con.execute(
        """INSERT INTO quarantine
           SELECT ?, 'orders', q._row, q.reason, q.bad_field, r.record
           FROM (SELECT _row, reason, bad_field FROM stg WHERE reason IS NOT NULL AND NOT skipped) q
           JOIN raw_quarantined r USING (_row)""",
        [batch_id],
    )
    rows = con.execute(
        "SELECT reason, count(*) FROM stg WHERE reason IS NOT NULL AND NOT skipped GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    return dict(rows)


def fates(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many staged lines met each fate; they add up to the staged line count."""
    skipped, quarantined = con.execute(
        "SELECT count(*) FILTER (WHERE skipped), count(*) FILTER (WHERE reason IS NOT NULL AND NOT skipped) FROM stg"
    ).fetchone()
    guest, sale, returned, cancelled = con.execute(
        """SELECT coalesce(sum(line_count) FILTER (WHERE customer_id IS NULL), 0),
                  coalesce(sum(sale_lines) FILTER (WHERE customer_id IS NOT NULL), 0),
                  coalesce(sum(return_lines) FILTER (WHERE customer_id IS NOT NULL), 0),
                  coalesce(sum(cancellation_lines) FILTER (WHERE customer_id IS NOT NULL), 0)
           FROM batch_orders_final"""
    ).fetchone()
    return {"sale": int(sale), "return": int(returned), "cancellation": int(cancelled), "guest": int(guest),
            "quarantined": quarantined, "skipped_existing": skipped}


def require_fields(staging: Staging, path: Path) -> None:
    """The orders fields no layout may leave unmapped."""
    for needed in ("source_order_id", "ordered_at", "quantity"):
        if staging.expressions.get(needed, "NULL") == "NULL":
            raise InputError(f"layout gives no '{needed}' field", Location(path))
