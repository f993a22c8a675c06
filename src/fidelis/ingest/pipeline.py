"""The load of one file of orders into the warehouse, as a sequence of set-based SQL steps.

Every step works on whole tables in DuckDB; Python only orchestrates, and resolves identities with
scipy. The caller runs all of it inside one transaction, so a failure at any step leaves the
warehouse exactly as it was.

Row fates (each staged line has exactly one):
  quarantined       invalid; kept in `quarantine` with the reason, not loaded
  skipped_existing  its order (source, order id) is already in the warehouse from an earlier file
  guest             loaded; no customer id and no email
  sale / return / cancellation   loaded for a known customer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from fidelis.domain.identity import EMAIL_PATTERN
from fidelis.domain.markets import UNKNOWN_MARKET, MarketConfig, country_name_table
from fidelis.domain.money import iso_currency_codes
from fidelis.errors import InputError, Location, MissingFxRateError, ParseError, UnknownCurrencyError
from fidelis.ingest.identity import IdentityOutcome, resolve_identities
from fidelis.ingest.parse import decimal_expr, first_parse_failure, timestamp_expr
from fidelis.ingest.phones import normalise_phones
from fidelis.ingest.sources.base import ORDER_FIELDS, Staging, sql_literal

# Checked in this order; a row gets the first reason that applies.
QUARANTINE_RULES: tuple[tuple[str, str], ...] = (
    ("missing_order_id", "source_order_id IS NULL"),
    ("missing_date", "ordered_at IS NULL"),
    ("missing_quantity", "quantity IS NULL"),
    ("missing_price", "unit_price IS NULL AND line_amount IS NULL"),
    ("zero_quantity", "quantity_num = 0"),
    ("negative_quantity_in_sale", "order_kind = 'sale' AND quantity_num < 0"),
    ("non_positive_price_in_sale", "order_kind = 'sale' AND price_num <= 0"),
    ("negative_price", "price_num < 0"),
    ("currency_differs_within_order", "currency_code <> order_currency"),
    ("duplicate_line", "duplicate_rank > 1"),
)
LENIENT_ONLY_REASONS = ("unparsable_value", "unknown_order_kind", "unknown_currency", "missing_fx_rate")


@dataclass
class OrdersLoadResult:
    """What one load did, for the batch record, the CLI and the tests."""

    rows_staged: int = 0
    lines_by_fate: dict[str, int] = field(default_factory=dict)
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    orders_loaded: int = 0
    identity: IdentityOutcome | None = None
    unknown_countries: dict[str, int] = field(default_factory=dict)
    orphan_returns: int = 0


def stage(con: duckdb.DuckDBPyConnection, staging: Staging, extra_rows_sql: str | None) -> int:
    """TEMP TABLE stg_text: one row per line with the canonical fields as text."""
    select = ", ".join(f"CAST({staging.expressions.get(f, 'NULL')} AS VARCHAR) AS {f}" for f in ORDER_FIELDS)
    sql = f"SELECT _row, {select} FROM raw"
    if extra_rows_sql:
        sql = f"{sql} UNION ALL BY NAME {extra_rows_sql}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg_text AS {sql}")
    return con.execute("SELECT count(*) FROM stg_text").fetchone()[0]


def parse(con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, lenient: bool) -> None:
    """TEMP TABLE stg_typed: typed values; unparsable ones are an error (or quarantined if lenient)."""
    currency = (
        f"upper(coalesce(currency, {sql_literal(staging.default_currency)}))"
        if staging.default_currency else "upper(currency)"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stg_typed AS
            SELECT *,
                   {timestamp_expr('ordered_at', staging)} AS ordered_at_ts,
                   {decimal_expr('quantity', staging, 18, 4)} AS quantity_raw_num,
                   {decimal_expr('unit_price', staging, 18, 6)} AS unit_price_num,
                   {decimal_expr('line_amount', staging, 18, 4)} AS line_amount_num,
                   {currency} AS currency_code
            FROM stg_text"""
    )
    problems = []
    for text_field, parsed in (("ordered_at", "ordered_at_ts"), ("quantity", "quantity_raw_num"),
                               ("unit_price", "unit_price_num"), ("line_amount", "line_amount_num"),
                               ("order_kind_raw", "order_kind")):
        failure = first_parse_failure(con, "stg_typed", text_field, parsed)
        if failure is not None:
            problems.append(failure)
    if problems and not lenient:
        first = min(problems, key=lambda p: p.row)
        what = _describe_parse_target(first.field, staging)
        raise ParseError(
            f"cannot read '{first.value}' as {what} ({first.count} row(s) like this; "
            f"use --lenient to quarantine them instead)",
            Location(path, first.row, _column_name(staging, first.field)),
        )
    _check_currencies(con, staging, path, lenient=lenient)


def _describe_parse_target(field_name: str, staging: Staging) -> str:
    if field_name == "ordered_at":
        return f"a date (format {staging.date_format})" if staging.date_format else "an ISO 8601 date"
    if field_name == "order_kind_raw":
        return "an order kind (map it under [values.order_kind])"
    return "a number"


def _column_name(staging: Staging, field_name: str) -> str:
    lookup = "order_kind" if field_name == "order_kind_raw" else field_name
    return staging.columns.get(lookup, lookup)


def _check_currencies(con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, lenient: bool) -> None:
    missing = con.execute("SELECT min(_row) FROM stg_typed WHERE currency_code IS NULL").fetchone()[0]
    if missing is not None and not lenient:
        raise UnknownCurrencyError(
            "no currency: map a currency column or set default_currency", Location(path, missing, staging.columns.get("currency"))
        )
    con.register("_iso_currencies", _iso_table())
    bad = con.execute(
        """SELECT min_by(_row, _row), min_by(currency_code, _row), count(*) FROM stg_typed
           WHERE currency_code IS NOT NULL AND currency_code NOT IN (SELECT code FROM _iso_currencies)"""
    ).fetchone()
    con.unregister("_iso_currencies")
    if bad[2] and not lenient:
        raise UnknownCurrencyError(
            f"'{bad[1]}' is not an ISO 4217 currency code ({bad[2]} row(s) like this)",
            Location(path, bad[0], staging.columns.get("currency", "currency")),
        )


def _iso_table():
    import pandas as pd

    return pd.DataFrame({"code": sorted(iso_currency_codes())})


def classify(con: duckdb.DuckDBPyConnection, staging: Staging) -> None:
    """TEMP TABLE stg_checked: signed quantities, prices, amounts and each row's quarantine reason."""
    iso = ", ".join(sql_literal(c) for c in sorted(iso_currency_codes()))
    lenient_reasons = (
        "WHEN (ordered_at IS NOT NULL AND ordered_at_ts IS NULL) OR (quantity IS NOT NULL AND quantity_raw_num IS NULL)"
        " OR (unit_price IS NOT NULL AND unit_price_num IS NULL) OR (line_amount IS NOT NULL AND line_amount_num IS NULL)"
        " THEN 'unparsable_value' "
        "WHEN order_kind IS NULL THEN 'unknown_order_kind' "
        f"WHEN currency_code IS NULL OR currency_code NOT IN ({iso}) THEN 'unknown_currency' "
    )
    rules = " ".join(f"WHEN {condition} THEN '{reason}'" for reason, condition in QUARANTINE_RULES)
    text_fields = ", ".join(f for f in ORDER_FIELDS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stg_checked AS
            WITH signed AS (
                SELECT *,
                    CASE WHEN order_kind IN ('return', 'cancellation') THEN -abs(quantity_raw_num)
                         ELSE quantity_raw_num END AS quantity_num,
                    coalesce(unit_price_num,
                             CASE WHEN quantity_raw_num <> 0 THEN abs(line_amount_num / quantity_raw_num) END
                    )::DECIMAL(18,6) AS price_num,
                    first_value(currency_code) OVER (PARTITION BY source_order_id ORDER BY _row) AS order_currency,
                    row_number() OVER (PARTITION BY {text_fields} ORDER BY _row) AS duplicate_rank
                FROM stg_typed
            )
            SELECT *,
                CASE {lenient_reasons} {rules} END AS reason,
                CASE WHEN line_amount_num IS NOT NULL THEN sign(quantity_num) * abs(line_amount_num)
                     ELSE round(quantity_num * price_num, 4) END::DECIMAL(18,4) AS amount_num
            FROM signed"""
    )


def mark_existing(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Rows of orders already in the warehouse (an overlapping export) are skipped, not doubled."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE existing_orders AS
           SELECT DISTINCT s.source_order_id FROM stg_checked s
           JOIN orders o ON o.source = ? AND o.source_order_id = s.source_order_id""",
        [source],
    )


def normalise_countries(con: duckdb.DuckDBPyConnection, markets: MarketConfig) -> None:
    """TEMP TABLE ref_country from ISO names and aliases; joined by upper-cased trimmed text."""
    import pandas as pd

    table = pd.DataFrame(country_name_table(markets), columns=["name_key", "country_code", "market"])
    con.register("_countries", table)
    con.execute("CREATE OR REPLACE TEMP TABLE ref_country AS SELECT * FROM _countries")
    con.unregister("_countries")


def convert_currency(
    con: duckdb.DuckDBPyConnection, staging: Staging, path: Path, *, reporting_currency: str,
    max_age_days: int, lenient: bool,
) -> None:
    """TEMP TABLE stg_fx: the rate to the reporting currency for every row that will load.

    The rate is the latest one on or before the order date (an ASOF join), at most `max_age_days`
    old. The reporting currency itself converts at exactly 1. A row with no usable rate is an error
    naming the currency and date (never a silent 1.0), or quarantined when lenient.
    """
    reporting = sql_literal(reporting_currency)
    # The ASOF join runs over distinct (currency, day) pairs, a few thousand at most, not over rows.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE day_rates AS
            SELECT d.currency_code, d.order_date,
                   CASE WHEN d.currency_code = {reporting} THEN 1
                        WHEN date_diff('day', f.rate_date, d.order_date) <= {int(max_age_days)}
                        THEN f.rate_to_reporting END::DECIMAL(28,12) AS fx_rate,
                   CASE WHEN d.currency_code = {reporting} THEN d.order_date ELSE f.rate_date END AS fx_rate_date
            FROM (SELECT DISTINCT currency_code, CAST(ordered_at_ts AS DATE) AS order_date
                  FROM stg_checked WHERE reason IS NULL) d
            ASOF LEFT JOIN fx_rates f ON d.currency_code = f.currency AND d.order_date >= f.rate_date"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE stg_fx AS
           SELECT s._row, s.currency_code, r.order_date, r.fx_rate, r.fx_rate_date
           FROM stg_checked s JOIN day_rates r
             ON r.currency_code = s.currency_code AND r.order_date = CAST(s.ordered_at_ts AS DATE)
           WHERE s.reason IS NULL"""
    )
    missing = con.execute(
        "SELECT min_by(_row, _row), min_by(currency_code, _row), min_by(order_date, _row) FROM stg_fx WHERE fx_rate IS NULL"
    ).fetchone()
    if missing[0] is not None and not lenient:
        raise MissingFxRateError(
            missing[1], str(missing[2]), reporting_currency,
            Location(path, int(missing[0]), staging.columns.get("currency")),
        )


def finalise_rows(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """TEMP TABLE stg_final: every staged row with its fate, and for loadable rows all the values."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stg_final AS
            SELECT c.*,
                   coalesce(c.reason, CASE WHEN fx.fx_rate IS NULL THEN 'missing_fx_rate' END) AS final_reason,
                   fx.fx_rate, fx.fx_rate_date,
                   round(c.amount_num * fx.fx_rate, 4)::DECIMAL(18,4) AS amount_reporting,
                   rc.country_code AS country_code,
                   coalesce(rc.market, '{UNKNOWN_MARKET}') AS market,
                   CASE WHEN c.source_customer_id IS NOT NULL
                        THEN {sql_literal(source)} || ':' || c.source_customer_id END AS source_key,
                   CASE WHEN regexp_matches(lower(trim(c.email)), {sql_literal(EMAIL_PATTERN)})
                        THEN lower(trim(c.email)) END AS email_norm,
                   c.source_order_id IN (SELECT source_order_id FROM existing_orders) AS already_loaded
            FROM stg_checked c
            LEFT JOIN stg_fx fx USING (_row)
            LEFT JOIN ref_country rc ON rc.name_key = upper(trim(c.country))"""
    )


def resolve_customers(con: duckdb.DuckDBPyConnection, batch_id: str) -> IdentityOutcome:
    """Customer id per loadable row (NULL for guests), through the identity graph."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE stg_ids AS
           SELECT source_key, email_norm AS email, min(_row) AS first_row FROM stg_final
           WHERE final_reason IS NULL AND NOT already_loaded AND (source_key IS NOT NULL OR email_norm IS NOT NULL)
           GROUP BY ALL"""
    )
    outcome = resolve_identities(con, batch_id=batch_id)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE stg_load AS
           SELECT f.*, coalesce(ks.customer_id, ke.customer_id) AS customer_id
           FROM stg_final f
           LEFT JOIN key_customer ks ON ks.key_type = 'source_id' AND ks.key_value = f.source_key
           LEFT JOIN key_customer ke ON ke.key_type = 'email' AND ke.key_value = f.email_norm
           WHERE f.final_reason IS NULL AND NOT f.already_loaded"""
    )
    return outcome


def insert_orders(con: duckdb.DuckDBPyConnection, *, source: str, batch_id: str, timezone: str) -> int:
    """One orders row per source order id; order-level fields come from the order's first line."""
    con.execute(
        """INSERT INTO orders
           SELECT (SELECT coalesce(max(order_id), 0) FROM orders) + row_number() OVER (ORDER BY min(_row)),
                  ?, source_order_id, arg_min(order_kind, _row), NULL,
                  arg_min(source_original_order_id, _row), arg_min(customer_id, _row),
                  arg_min(customer_id, _row) IS NULL, arg_min(ordered_at_ts, _row), ?,
                  arg_min(country_code, _row), arg_min(country, _row), arg_min(market, _row),
                  arg_min(channel, _row), arg_min(currency_code, _row),
                  sum(amount_num), sum(amount_reporting), arg_min(fx_rate, _row), arg_min(fx_rate_date, _row),
                  count(*), ?
           FROM stg_load GROUP BY source_order_id""",
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
           FROM stg_load s JOIN orders o ON o.source = ? AND o.source_order_id = s.source_order_id AND o.batch_id = ?""",
        [batch_id, source, batch_id],
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
    normalise_phones(con, source_table="stg_load", target_table="stg_phones")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE touched AS
           SELECT s.customer_id,
                  arg_max(s.email_norm, s.ordered_at_ts) FILTER (WHERE s.email_norm IS NOT NULL) AS email,
                  arg_max(p.phone_e164, s.ordered_at_ts) FILTER (WHERE p.phone_e164 IS NOT NULL) AS phone,
                  arg_max(s.customer_name, s.ordered_at_ts) FILTER (WHERE s.customer_name IS NOT NULL) AS name,
                  min(s.ordered_at_ts) AS first_order_at
           FROM stg_load s LEFT JOIN stg_phones p ON p.phone_raw = s.phone AND p.country_code IS NOT DISTINCT FROM s.country_code
           WHERE s.customer_id IS NOT NULL GROUP BY s.customer_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE home_country AS
            SELECT customer_id, first(country_code ORDER BY n DESC, last_at DESC) AS country_code
            FROM (SELECT customer_id, country_code, count(*) AS n, max(ordered_at) AS last_at FROM orders
                  WHERE country_code IS NOT NULL AND customer_id IN (SELECT customer_id FROM touched)
                  GROUP BY ALL)
            GROUP BY customer_id"""
    )
    con.register("_market_of", _market_table(markets))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE profile AS
            SELECT t.*, h.country_code, coalesce(m.market, '{UNKNOWN_MARKET}') AS market
            FROM touched t LEFT JOIN home_country h USING (customer_id)
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


def _market_table(markets: MarketConfig):
    import pandas as pd

    return pd.DataFrame(list(markets.market_by_country.items()), columns=["country_code", "market"])


def quarantine_rows(con: duckdb.DuckDBPyConnection, *, batch_id: str) -> dict[str, int]:
    """Keep every invalid row, as the file had it, with the reason; count them by reason."""
    con.execute(
        """INSERT INTO quarantine
           SELECT ?, 'orders', f._row, f.final_reason, NULL, to_json(r)
           FROM stg_final f JOIN raw r USING (_row)
           WHERE f.final_reason IS NOT NULL""",
        [batch_id],
    )
    rows = con.execute(
        "SELECT final_reason, count(*) FROM stg_final WHERE final_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    return {reason: count for reason, count in rows}


def fates(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many staged lines met each fate; they add up to the staged row count."""
    rows = con.execute(
        """SELECT CASE WHEN f.final_reason IS NOT NULL THEN 'quarantined'
                       WHEN f.already_loaded THEN 'skipped_existing'
                       WHEN l.customer_id IS NULL THEN 'guest'
                       ELSE f.order_kind END AS fate, count(*)
           FROM stg_final f LEFT JOIN stg_load l USING (_row) GROUP BY 1"""
    ).fetchall()
    counts = {fate: 0 for fate in ("sale", "return", "cancellation", "guest", "quarantined", "skipped_existing")}
    counts.update({fate: count for fate, count in rows})
    return counts


def unknown_countries(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        """SELECT coalesce(country, '(empty)'), count(*) FROM stg_final
           WHERE final_reason IS NULL AND country_code IS NULL GROUP BY 1 ORDER BY 2 DESC"""
    ).fetchall()
    return {name: count for name, count in rows}


def require_columns(staging: Staging, path: Path) -> None:
    """The orders fields no layout may leave unmapped."""
    for needed in ("source_order_id", "ordered_at", "quantity"):
        if staging.expressions.get(needed, "NULL") == "NULL":
            raise InputError(f"layout gives no '{needed}' field", Location(path))
