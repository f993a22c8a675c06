"""Canonical warehouse schema and its migrations.

Large tables (orders, order_lines, customers and their keys, feedback, quarantine) carry no
PRIMARY KEY or UNIQUE constraint: DuckDB maintains them as ART indexes, which make bulk loads
several times slower and larger. The load guarantees uniqueness itself (ids from the batch's
row numbers, anti-joins against what is already stored), and the tests check it.

Each migration is a list of SQL statements applied once, in order, inside one transaction; the
applied version is kept in `schema_migrations`. Tables are described for users in
docs/data-model.md: change both together.
"""

from __future__ import annotations

MONEY = "DECIMAL(18,4)"
UNIT_PRICE = "DECIMAL(18,6)"
RATE = "DECIMAL(28,12)"

_V1 = [
    """CREATE TABLE warehouse_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    """CREATE TABLE batches (
        batch_id VARCHAR PRIMARY KEY,
        dataset VARCHAR NOT NULL,            -- orders | feedback
        source VARCHAR NOT NULL,             -- namespace of the source's ids, e.g. online_retail
        source_format VARCHAR NOT NULL,      -- online_retail | shopify | generic | feedback
        path VARCHAR NOT NULL,
        content_sha256 VARCHAR NOT NULL,
        options_sha256 VARCHAR NOT NULL,
        loaded_at TIMESTAMPTZ NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        rows_skipped_existing BIGINT NOT NULL,
        summary JSON NOT NULL
    )""",
    """CREATE TABLE customers (
        customer_id BIGINT NOT NULL,
        email VARCHAR,
        phone VARCHAR,
        name VARCHAR,
        country_code VARCHAR,
        market VARCHAR NOT NULL,
        first_order_at TIMESTAMPTZ,
        contact_as_of TIMESTAMPTZ,           -- order date of the newest record contact details came from
        created_batch_id VARCHAR NOT NULL
    )""",
    """CREATE TABLE customer_keys (
        key_type VARCHAR NOT NULL,           -- source_id | email
        key_value VARCHAR NOT NULL,
        customer_id BIGINT NOT NULL,
        batch_id VARCHAR NOT NULL,
        first_source_row BIGINT
    )""",
    """CREATE TABLE customer_links (
        source_key VARCHAR NOT NULL,         -- a source's own customer id, namespaced
        email VARCHAR NOT NULL,              -- normalised email seen with it
        batch_id VARCHAR NOT NULL,
        first_source_row BIGINT
    )""",
    """CREATE TABLE customer_merges (
        merged_customer_id BIGINT NOT NULL,
        into_customer_id BIGINT NOT NULL,
        via_key_type VARCHAR NOT NULL,
        via_key_value VARCHAR NOT NULL,
        batch_id VARCHAR NOT NULL,
        merged_at TIMESTAMPTZ NOT NULL
    )""",
    f"""CREATE TABLE orders (
        order_id BIGINT NOT NULL,
        source VARCHAR NOT NULL,
        source_order_id VARCHAR NOT NULL,
        order_kind VARCHAR NOT NULL,         -- sale | return | cancellation
        original_order_id BIGINT,            -- the sale a return/cancellation undoes, when the source says
        source_original_order_id VARCHAR,
        customer_id BIGINT,
        is_guest BOOLEAN NOT NULL,
        ordered_at TIMESTAMPTZ NOT NULL,
        source_timezone VARCHAR NOT NULL,
        country_code VARCHAR,
        country_raw VARCHAR,
        market VARCHAR NOT NULL,
        channel VARCHAR,
        currency VARCHAR NOT NULL,
        amount {MONEY} NOT NULL,
        amount_reporting {MONEY} NOT NULL,
        fx_rate {RATE} NOT NULL,
        fx_rate_date DATE NOT NULL,
        line_count INTEGER NOT NULL,
        batch_id VARCHAR NOT NULL
    )""",
    f"""CREATE TABLE order_lines (
        line_id BIGINT NOT NULL,
        order_id BIGINT NOT NULL,
        line_kind VARCHAR NOT NULL,          -- sale | return | cancellation
        sku VARCHAR,
        description VARCHAR,
        category VARCHAR,
        quantity DECIMAL(18,4) NOT NULL,
        unit_price {UNIT_PRICE} NOT NULL,
        currency VARCHAR NOT NULL,
        amount {MONEY} NOT NULL,
        amount_reporting {MONEY} NOT NULL,
        fx_rate {RATE} NOT NULL,
        fx_rate_date DATE NOT NULL,
        batch_id VARCHAR NOT NULL,
        source_row BIGINT NOT NULL
    )""",
    """CREATE TABLE feedback (
        feedback_id BIGINT NOT NULL,
        source VARCHAR NOT NULL,
        source_feedback_id VARCHAR,
        dedupe_key VARCHAR NOT NULL,         -- source_feedback_id, else a hash of the row: reloads add nothing
        customer_id BIGINT,
        order_id BIGINT,
        source_customer_id VARCHAR,          -- kept to link feedback to customers and orders loaded later
        ids_namespaced BOOLEAN NOT NULL,     -- false: ids from a file loaded without --source (any shop's)
        email VARCHAR,                       -- normalised; contact data, as in customers
        source_order_id VARCHAR,
        submitted_at TIMESTAMPTZ NOT NULL,
        source_timezone VARCHAR NOT NULL,
        rating DECIMAL(6,2),
        rating_scale_max INTEGER,
        nps SMALLINT,
        csat SMALLINT,
        text VARCHAR,
        language VARCHAR,
        channel VARCHAR,
        batch_id VARCHAR NOT NULL,
        source_row BIGINT NOT NULL
    )""",
    """CREATE TABLE touchpoints (
        touchpoint_id BIGINT NOT NULL,
        source VARCHAR NOT NULL,
        customer_id BIGINT,
        occurred_at TIMESTAMPTZ NOT NULL,
        channel VARCHAR NOT NULL,
        event_type VARCHAR NOT NULL,
        campaign VARCHAR,
        batch_id VARCHAR NOT NULL,
        source_row BIGINT
    )""",
    f"""CREATE TABLE fx_rates (
        currency VARCHAR NOT NULL,
        rate_date DATE NOT NULL,
        rate_to_reporting {RATE} NOT NULL,   -- reporting-currency units per 1 unit of `currency`
        origin VARCHAR NOT NULL,             -- ecb-monthly-average | user:<file name>
        PRIMARY KEY (currency, rate_date)
    )""",
    """CREATE TABLE quarantine (
        batch_id VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        source_row BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR,                      -- the field that did not parse, for unparsable_value
        record JSON NOT NULL
    )""",
]

# Version 2: what the predictive models leave behind. A model card is written for every fit or
# training run (its parameters, metrics, data window and the serialised model); every scoring run
# appends its scores under a new run id, so that risk-band changes between runs can be listed.
# Predictions (expected spend, CLV) are statistics, not ledger amounts: floating point, in the
# warehouse's reporting currency.
_V2 = [
    """CREATE TABLE model_cards (
        model_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,               -- clv | churn
        model_name VARCHAR NOT NULL,         -- bgnbd | pareto-nbd | lightgbm
        created_at TIMESTAMPTZ NOT NULL,
        as_of TIMESTAMPTZ NOT NULL,          -- the data were cut here (exclusive)
        data_start TIMESTAMPTZ,
        data_end TIMESTAMPTZ,
        customers BIGINT NOT NULL,
        fidelis_version VARCHAR NOT NULL,
        card JSON NOT NULL                   -- parameters, metrics, diagnostics, the model itself
    )""",
    """CREATE TABLE score_runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,               -- clv | churn
        model_id VARCHAR NOT NULL,
        scored_at TIMESTAMPTZ NOT NULL,
        as_of TIMESTAMPTZ NOT NULL,
        horizon_days INTEGER NOT NULL,
        customers BIGINT NOT NULL
    )""",
    """CREATE TABLE clv_scores (
        run_id VARCHAR NOT NULL,
        customer_id BIGINT NOT NULL,
        expected_purchases DOUBLE NOT NULL,
        expected_purchases_seasonal DOUBLE,  -- only when a seasonal adjustment was asked for
        p_alive DOUBLE NOT NULL,
        expected_spend DOUBLE NOT NULL,
        clv DOUBLE NOT NULL
    )""",
    """CREATE TABLE churn_scores (
        run_id VARCHAR NOT NULL,
        customer_id BIGINT NOT NULL,
        churn_probability DOUBLE NOT NULL,
        risk_band VARCHAR NOT NULL,
        reason_1 VARCHAR NOT NULL,
        reason_2 VARCHAR NOT NULL,
        reason_3 VARCHAR NOT NULL,
        clv DOUBLE,
        value_at_risk DOUBLE
    )""",
    """CREATE TABLE churn_band_changes (
        run_id VARCHAR NOT NULL,
        previous_run_id VARCHAR NOT NULL,
        customer_id BIGINT NOT NULL,
        previous_band VARCHAR,               -- NULL: not scored in the previous run
        risk_band VARCHAR NOT NULL,
        previous_probability DOUBLE,
        churn_probability DOUBLE NOT NULL
    )""",
]

MIGRATIONS: list[list[str]] = [_V1, _V2]
SCHEMA_VERSION = len(MIGRATIONS)
