"""The load of one file of orders into the warehouse, as a few set-based SQL steps.

Every step works on whole tables in DuckDB; Python only orchestrates (and resolves identities
with scipy). The caller runs all of it inside one transaction, so a failure at any step leaves
the warehouse exactly as it was. To stay close to the speed of a bare `read_csv` + `INSERT`, the
rows are materialised once after parsing (`stg`); order-level work (countries, customers) runs on
one row per order, and small lookup tables (rates per currency and day) replace per-row lookups.

Row fates (each staged line has exactly one):
  quarantined       invalid; kept in `quarantine` with the reason, not loaded
  skipped_existing  its order (source, order id) is already in the warehouse from an earlier file
  guest             loaded, in an order with no customer id and no email
  sale / return / cancellation   loaded, in an order of a known customer
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from fidelis.domain.identity import EMAIL_PATTERN
from fidelis.domain.markets import UNKNOWN_MARKET, MarketConfig, country_name_table
from fidelis.domain.money import iso_currency_codes
from fidelis.errors import InputError, Location, MissingFxRateError, ParseError, UnknownCurrencyError
from fidelis.ingest.identity import IdentityOutcome, resolve_identities
from fidelis.ingest.parse import ParseFailure, decimal_expr, first_parse_failure, timestamp_expr
from fidelis.ingest.phones import normalise_phones
from fidelis.ingest.sources.base import ORDER_FIELDS, Staging, sql_literal

# Checked in this order; a row gets the first reason that applies.
QUARANTINE_RULES: tuple[tuple[str, str], ...] = (
    ("unparsable_value", "(ordered_at IS NOT NULL AND ordered_at_ts IS NULL)"
                         " OR (quantity IS NOT NULL AND quantity_raw_num IS NULL)"
                         " OR (unit_price IS NOT NULL AND unit_price_num IS NULL)"
                         " OR (line_amount IS NOT NULL AND line_amount_num IS NULL)"),
    ("unknown_order_kind", "order_kind IS NULL"),
    ("unknown_currency", "currency_code IS NULL OR NOT is_iso_currency"),
    ("missing_order_id", "source_order_id IS NULL"),
    ("missing_date", "ordered_at IS NULL"),
    ("missing_quantity", "quantity IS NULL"),
    ("missing_price", "unit_price IS NULL AND line_amount IS NULL"),
    ("zero_quantity", "quantity_raw_num = 0"),
    ("negative_quantity_in_sale", "order_kind = 'sale' AND quantity_raw_num < 0"),
    ("non_positive_price_in_sale", "order_kind = 'sale' AND price_num <= 0"),
    ("negative_price", "price_num < 0"),
)
# Checked after the row rules, with aggregates over whole orders (see `mark_order_level_problems`).
ORDER_LEVEL_REASONS = ("currency_differs_within_order", "duplicate_line")
# Reasons that strict mode (the default) raises as errors instead of quarantining.
STRICT_ERROR_REASONS = ("unparsable_value", "unknown_order_kind", "unknown_currency", "missing_fx_rate")
FATES = ("sale", "return", "cancellation", "guest", "quarantined", "skipped_existing")


@dataclass(frozen=True)
class OrdersLoaded:
    orders: int
    identity: IdentityOutcome


def stage(con: duckdb.DuckDBPyConnection, staging: Staging, extra_rows_sql: str | None) -> int:
    """TEMP TABLE stg: every line with its text fields, typed values, signed amounts and reason."""
    text_select = ", ".join(
        f"CAST({staging.expressions.get(f, 'NULL')} AS VARCHAR) AS {f}" for f in ORDER_FIELDS
    )
    text_sql = f"SELECT _row, {text_select} FROM raw"
    if extra_rows_sql:
        text_sql = f"{text_sql} UNION ALL BY NAME ({extra_rows_sql})"
    currency = "upper(currency)"
    if staging.default_currency:
        currency = f"upper(coalesce(currency, {sql_literal(staging.default_currency)}))"
    iso_list = ", ".join(sql_literal(c) for c in sorted(iso_currency_codes()))
    all_text = ", ".join(ORDER_FIELDS)
    rules = " ".join(f"WHEN {condition} THEN '{reason}'" for reason, condition in QUARANTINE_RULES)
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
                    currency_code IN ({iso_list}) AS is_iso_currency,
                    coalesce(unit_price_num,
                             CASE WHEN quantity_raw_num <> 0 THEN abs(line_amount_num / quantity_raw_num) END
                    )::DECIMAL(18,6) AS price_num,
                    CASE WHEN order_kind IN ('return', 'cancellation') THEN -abs(quantity_raw_num)
                         ELSE quantity_raw_num END AS quantity_num
                FROM typed
            )
            SELECT _row, {all_text}, ordered_at_ts, currency_code, quantity_raw_num, unit_price_num,
                   line_amount_num, price_num, quantity_num,
                   CASE WHEN line_amount_num IS NOT NULL THEN sign(quantity_num) * abs(line_amount_num)
                        ELSE round(quantity_num * price_num, 4) END::DECIMAL(18,4) AS amount_num,
                   CAST(ordered_at_ts AS DATE) AS order_date,
                   CASE {rules} END AS reason,
                   false AS skipped,
                   -- equal for exact-duplicate lines; with the order id, a false match is negligible
                   hash({all_text}) AS line_hash
            FROM derived"""
    )
    mark_order_level_problems(con)
    return con.execute("SELECT count(*) FROM stg").fetchone()[0]


def mark_order_level_problems(con: duckdb.DuckDBPyConnection) -> None:
    """Quarantine lines whose currency differs from their order's first line, and repeated lines.

    Hash aggregates find the (rare) offending orders first; only their lines are then updated, which
    keeps the common case, a clean file, free of a sort over all rows.
    """
    con.execute(
        """UPDATE stg SET reason = 'currency_differs_within_order'
           FROM (SELECT source_order_id, min_by(currency_code, _row) AS order_currency FROM stg
                 WHERE source_order_id IN (SELECT source_order_id FROM stg GROUP BY 1
                                           HAVING count(DISTINCT currency_code) > 1)
                 GROUP BY 1) o
           WHERE stg.reason IS NULL AND stg.source_order_id = o.source_order_id
             AND stg.currency_code IS DISTINCT FROM o.order_currency"""
    )
    con.execute(
        """UPDATE stg SET reason = 'duplicate_line'
           FROM (SELECT source_order_id, line_hash, min(_row) AS first_row FROM stg
                 GROUP BY 1, 2 HAVING count(*) > 1) d
           WHERE stg.reason IS NULL AND stg.source_order_id IS NOT DISTINCT FROM d.source_order_id
             AND stg.line_hash = d.line_hash AND stg._row > d.first_row"""
    )


def check_strict(con: duckdb.DuckDBPyConnection, staging: Staging, path: Path) -> None:
    """Refuse the file at the first value that cannot be read: a wrong mapping, not a bad row."""
    failures: list[ParseFailure] = []
    for text_field, parsed in (("ordered_at", "ordered_at_ts"), ("quantity", "quantity_raw_num"),
                               ("unit_price", "unit_price_num"), ("line_amount", "line_amount_num"),
                               ("order_kind_raw", "order_kind")):
        failure = first_parse_failure(con, "stg", text_field, parsed)
        if failure is not None:
            failures.append(failure)
    if failures:
        first = min(failures, key=lambda f: f.row)
        raise ParseError(
            f"cannot read '{first.value}' as {_parse_target(first.field, staging)} ({first.count} row(s) like "
            f"this; use --lenient to quarantine them instead)",
            Location(path, first.row, _column_name(staging, first.field)),
        )
    missing = con.execute("SELECT min(_row) FROM stg WHERE currency_code IS NULL").fetchone()[0]
    if missing is not None:
        raise UnknownCurrencyError(
            "no currency: map a currency column or set default_currency",
            Location(path, missing, staging.columns.get("currency")),
        )
    bad = con.execute(
        """SELECT min_by(_row, _row), min_by(currency_code, _row), count(*) FROM stg
           WHERE reason = 'unknown_currency'"""
    ).fetchone()
    if bad[2]:
        raise UnknownCurrencyError(
            f"'{bad[1]}' is not an ISO 4217 currency code ({bad[2]} row(s) like this)",
            Location(path, bad[0], staging.columns.get("currency", "currency")),
        )


def _parse_target(field_name: str, staging: Staging) -> str:
    if field_name == "ordered_at":
        return f"a date (format {staging.date_format})" if staging.date_format else "an ISO 8601 date"
    if field_name == "order_kind_raw":
        return "an order kind (map it under [values.order_kind])"
    return "a number"


def _column_name(staging: Staging, field_name: str) -> str:
    lookup = "order_kind" if field_name == "order_kind_raw" else field_name
    return staging.columns.get(lookup, lookup)


def skip_existing_orders(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Lines of orders already in the warehouse (an overlapping export) are skipped, not doubled."""
    if not con.execute("SELECT count(*) FROM orders WHERE source = ?", [source]).fetchone()[0]:
        return
    con.execute(
        """UPDATE stg SET skipped = true
           WHERE source_order_id IN (SELECT source_order_id FROM orders WHERE source = ?)""",
        [source],
    )


def convert_currency(
    con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, reporting_currency: str,
    max_age_days: int, lenient: bool,
) -> None:
    """TEMP TABLE day_rates: the rate to the reporting currency per (currency, order day).

    The rate is the latest one on or before the order's day (an ASOF join over a few thousand
    distinct pairs, not over rows), at most `max_age_days` old. The reporting currency converts at
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
            FROM (SELECT DISTINCT currency_code, order_date FROM stg WHERE reason IS NULL) d
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
           WHERE s.reason IS NULL AND r.fx_rate IS NULL"""
    ).fetchone()
    raise MissingFxRateError(currency, str(day), reporting_currency,
                             Location(path, int(row), staging.columns.get("currency")))


def prepare_load(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """TEMP TABLE stg_load: the lines that will load, with rates, reporting amounts and identity keys."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stg_load AS
            SELECT s._row, s.source_order_id, s.order_kind, s.source_original_order_id, s.ordered_at_ts,
                   s.source_customer_id, s.email, s.phone, s.customer_name, s.country, s.currency_code,
                   s.sku, s.description, s.category, s.quantity_num, s.price_num, s.amount_num, s.channel,
                   r.fx_rate, r.fx_rate_date,
                   round(s.amount_num * r.fx_rate, 4)::DECIMAL(18,4) AS amount_reporting,
                   CASE WHEN s.source_customer_id IS NOT NULL
                        THEN {sql_literal(source)} || ':' || s.source_customer_id END AS source_key,
                   CASE WHEN regexp_matches(lower(s.email), {sql_literal(EMAIL_PATTERN)})
                        THEN lower(s.email) END AS email_norm
            FROM stg s JOIN day_rates r USING (currency_code, order_date)
            WHERE s.reason IS NULL AND NOT s.skipped"""
    )


def resolve_customers(con: duckdb.DuckDBPyConnection, batch_id: str) -> IdentityOutcome:
    """Customer ids for every key in the load, through the identity graph (see identity.py)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE stg_ids AS
           SELECT source_key, email_norm AS email, min(_row) AS first_row FROM stg_load
           WHERE source_key IS NOT NULL OR email_norm IS NOT NULL
           GROUP BY ALL"""
    )
    return resolve_identities(con, batch_id=batch_id)


def register_countries(con: duckdb.DuckDBPyConnection, markets: MarketConfig) -> None:
    """TEMP TABLE ref_country(name_key, country_code, market) from ISO names and aliases."""
    table = pd.DataFrame(country_name_table(markets), columns=["name_key", "country_code", "market"])
    con.register("_countries", table)
    con.execute("CREATE OR REPLACE TEMP TABLE ref_country AS SELECT * FROM _countries")
    con.unregister("_countries")


def insert_orders(con: duckdb.DuckDBPyConnection, *, source: str, batch_id: str, timezone: str) -> int:
    """One orders row per source order id; order-level fields come from the order's first line."""
    con.execute(
        f"""INSERT INTO orders
            WITH totals AS (
                SELECT source_order_id, min(_row) AS first_row, sum(amount_num) AS amount,
                       sum(amount_reporting) AS amount_reporting, count(*) AS line_count
                FROM stg_load GROUP BY source_order_id
            )
            SELECT (SELECT coalesce(max(order_id), 0) FROM orders) + row_number() OVER (ORDER BY t.first_row),
                   ?, t.source_order_id, f.order_kind, NULL, f.source_original_order_id,
                   coalesce(ks.customer_id, ke.customer_id),
                   coalesce(ks.customer_id, ke.customer_id) IS NULL,
                   f.ordered_at_ts, ?, rc.country_code, f.country, coalesce(rc.market, '{UNKNOWN_MARKET}'),
                   f.channel, f.currency_code, t.amount, t.amount_reporting, f.fx_rate, f.fx_rate_date,
                   t.line_count, ?
            FROM totals t JOIN stg_load f ON f.source_order_id = t.source_order_id AND f._row = t.first_row
            LEFT JOIN key_customer ks ON ks.key_type = 'source_id' AND ks.key_value = f.source_key
            LEFT JOIN key_customer ke ON ke.key_type = 'email' AND ke.key_value = f.email_norm
            LEFT JOIN ref_country rc ON rc.name_key = upper(f.country)""",
        [source, timezone, batch_id],
    )
    return con.execute("SELECT count(*) FROM orders WHERE batch_id = ?", [batch_id]).fetchone()[0]


def insert_lines(con: duckdb.DuckDBPyConnection, *, source: str, batch_id: str) -> None:
    con.execute(
        """INSERT INTO order_lines
           SELECT (SELECT coalesce(max(line_id), 0) FROM order_lines) + row_number() OVER (ORDER BY s._row),
                  o.order_id, row_number() OVER (PARTITION BY o.order_id ORDER BY s._row), s.order_kind,
                  s.sku, s.description, s.category, s.quantity_num, s.price_num, s.currency_code,
                  s.amount_num, s.amount_reporting, s.fx_rate, s.fx_rate_date, ?, s._row
           FROM stg_load s JOIN orders o ON o.source_order_id = s.source_order_id
           WHERE o.batch_id = ? AND o.source = ?""",
        [batch_id, batch_id, source],
    )


def link_returns(con: duckdb.DuckDBPyConnection) -> int:
    """Point returns and cancellations at the sale they undo where the source names it.

    Runs over the whole warehouse, so a return loaded before its sale is linked once the sale
    arrives. Returns how many still point at an order the warehouse does not have (orphans).
    """
    con.execute(
        """UPDATE orders SET original_order_id = o2.order_id
           FROM orders o2
           WHERE orders.original_order_id IS NULL AND orders.source_original_order_id IS NOT NULL
             AND o2.source = orders.source AND o2.source_order_id = orders.source_original_order_id"""
    )
    return con.execute(
        "SELECT count(*) FROM orders WHERE source_original_order_id IS NOT NULL AND original_order_id IS NULL"
    ).fetchone()[0]


def upsert_customers(con: duckdb.DuckDBPyConnection, *, batch_id: str, markets: MarketConfig) -> None:
    """Create new customers and refresh the profile of those this load touched.

    Contact details: the latest non-empty value wins. Home country: the country of most of the
    customer's orders (ties: the most recent), and its market.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE load_contacts AS
           SELECT o.customer_id, s.ordered_at_ts, s.email_norm, s.phone, s.customer_name, o.country_code
           FROM stg_load s JOIN orders o ON o.source_order_id = s.source_order_id
           WHERE o.batch_id = ? AND o.customer_id IS NOT NULL""",
        [batch_id],
    )
    normalise_phones(con, source_table="load_contacts", target_table="load_phones")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE touched AS
           SELECT c.customer_id,
                  arg_max(c.email_norm, c.ordered_at_ts) FILTER (WHERE c.email_norm IS NOT NULL) AS email,
                  arg_max(p.phone_e164, c.ordered_at_ts) FILTER (WHERE p.phone_e164 IS NOT NULL) AS phone,
                  arg_max(c.customer_name, c.ordered_at_ts) FILTER (WHERE c.customer_name IS NOT NULL) AS name,
                  min(c.ordered_at_ts) AS first_order_at
           FROM load_contacts c LEFT JOIN load_phones p
             ON p.phone_raw = c.phone AND p.country_code IS NOT DISTINCT FROM c.country_code
           GROUP BY c.customer_id"""
    )
    con.register("_market_of", pd.DataFrame(list(markets.market_by_country.items()),
                                            columns=["country_code", "market"]))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE profile AS
            WITH home AS (
                SELECT customer_id, first(country_code ORDER BY n DESC, last_at DESC) AS country_code
                FROM (SELECT customer_id, country_code, count(*) AS n, max(ordered_at) AS last_at FROM orders
                      WHERE country_code IS NOT NULL AND customer_id IN (SELECT customer_id FROM touched)
                      GROUP BY ALL)
                GROUP BY customer_id
            )
            SELECT t.*, h.country_code, coalesce(m.market, '{UNKNOWN_MARKET}') AS market
            FROM touched t LEFT JOIN home h USING (customer_id)
            LEFT JOIN _market_of m ON m.country_code = h.country_code"""
    )
    con.unregister("_market_of")
    con.execute(
        """UPDATE customers SET email = coalesce(p.email, customers.email), phone = coalesce(p.phone, customers.phone),
                  name = coalesce(p.name, customers.name),
                  country_code = coalesce(p.country_code, customers.country_code),
                  market = CASE WHEN p.country_code IS NULL THEN customers.market ELSE p.market END,
                  first_order_at = least(customers.first_order_at, p.first_order_at)
           FROM profile p WHERE customers.customer_id = p.customer_id"""
    )
    con.execute(
        """INSERT INTO customers
           SELECT p.customer_id, p.email, p.phone, p.name, p.country_code, p.market, p.first_order_at, ?
           FROM profile p ANTI JOIN customers c USING (customer_id)""",
        [batch_id],
    )


def quarantine_rows(con: duckdb.DuckDBPyConnection, *, batch_id: str) -> dict[str, int]:
    """Keep every invalid row, as the file had it, with the reason; count them by reason."""
    con.execute(
        """INSERT INTO quarantine
           SELECT ?, 'orders', s._row, s.reason, NULL, to_json(r)
           FROM stg s JOIN raw r USING (_row)
           WHERE s.reason IS NOT NULL""",
        [batch_id],
    )
    rows = con.execute(
        "SELECT reason, count(*) FROM stg WHERE reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    return dict(rows)


def fates(con: duckdb.DuckDBPyConnection, *, batch_id: str) -> dict[str, int]:
    """How many staged lines met each fate; they add up to the staged row count."""
    rows = con.execute(
        """SELECT CASE WHEN s.reason IS NOT NULL THEN 'quarantined'
                       WHEN s.skipped THEN 'skipped_existing'
                       WHEN o.is_guest THEN 'guest'
                       ELSE s.order_kind END AS fate, count(*)
           FROM stg s LEFT JOIN (SELECT source_order_id, is_guest FROM orders WHERE batch_id = ?) o
             ON o.source_order_id = s.source_order_id
           GROUP BY 1""",
        [batch_id],
    ).fetchall()
    counts = dict.fromkeys(FATES, 0)
    counts.update(dict(rows))
    return counts


def require_fields(staging: Staging, path: Path) -> None:
    """The orders fields no layout may leave unmapped."""
    for needed in ("source_order_id", "ordered_at", "quantity"):
        if staging.expressions.get(needed, "NULL") == "NULL":
            raise InputError(f"layout gives no '{needed}' field", Location(path))
