"""The points ledger: members, accounts, transactions, append-only postings, lots, holds, idempotency.

Revision ID: 0001_ledger
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_postings", "ledger_lot_links")
SYSTEM_ACCOUNTS = ("programme_issued", "programme_redeemed", "programme_expired")


def upgrade() -> None:
    op.create_table(
        "ledger_members",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.String(64), sa.ForeignKey("ledger_members.member_id"), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("balance_points", sa.BigInteger(), nullable=False, server_default="0"),
        sa.UniqueConstraint("member_id", "kind"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("member_id", sa.String(64), sa.ForeignKey("ledger_members.member_id"), nullable=False,
                  index=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("order_ref", sa.String(200), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("fx_rate", sa.String(40), nullable=True),
        sa.Column("reward", sa.String(200), nullable=True),
        sa.Column("related_tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=True),
        sa.Column("reverses_tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=True,
                  unique=True),
        sa.Column("hold_id", sa.Integer(), nullable=True),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=False, index=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("ledger_accounts.id"), nullable=False, index=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points <> 0", name="ck_posting_nonzero"),
    )
    op.create_table(
        "ledger_lots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.String(64), sa.ForeignKey("ledger_members.member_id"), nullable=False,
                  index=True),
        sa.Column("earn_tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=False,
                  unique=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining_points", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("pending_until", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("points > 0", name="ck_lot_points"),
        sa.CheckConstraint("remaining_points >= 0 AND remaining_points <= points", name="ck_lot_remaining"),
    )
    op.create_table(
        "ledger_lot_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lot_id", sa.Integer(), sa.ForeignKey("ledger_lots.id"), nullable=False, index=True),
        sa.Column("tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=False, index=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points <> 0", name="ck_link_nonzero"),
    )
    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.String(64), sa.ForeignKey("ledger_members.member_id"), nullable=False,
                  index=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("hold_tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=False),
        sa.Column("settled_tx_id", sa.Integer(), sa.ForeignKey("ledger_transactions.id"), nullable=True),
        sa.CheckConstraint("points > 0", name="ck_hold_points"),
    )
    op.create_table(
        "ledger_idempotency",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("operation", sa.String(24), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    accounts = sa.table("ledger_accounts", sa.column("kind", sa.String), sa.column("balance_points", sa.BigInteger))
    op.bulk_insert(accounts, [{"kind": kind, "balance_points": 0} for kind in SYSTEM_ACCOUNTS])
    _refuse_changes()


def _refuse_changes() -> None:
    """Postings and lot links are append-only: the store itself refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'ledger %: % is refused, the table is append-only', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'P0001'; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'ledger {table}: {action} is refused, the table is append-only'); END"
            )


def downgrade() -> None:
    for table in ("ledger_idempotency", "ledger_holds", "ledger_lot_links", "ledger_lots", "ledger_postings",
                  "ledger_transactions", "ledger_accounts", "ledger_members"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
