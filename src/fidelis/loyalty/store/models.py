"""SQLAlchemy 2 table models of the points ledger. The schema itself is made by the Alembic migrations
(`fidelis/loyalty/migrations`); these models must match them (a test compares the two).

Datetimes are stored as naive UTC. Points are integers (BigInteger). Postings and lot links are
append-only: the store refuses UPDATE and DELETE on them with triggers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ACCOUNT_KINDS = ("member", "member_pending", "member_held", "programme_issued", "programme_redeemed",
                 "programme_expired")
MEMBER_ACCOUNT_KINDS = ("member", "member_pending", "member_held")
TX_KINDS = ("earn", "release", "redeem", "hold", "capture", "void", "hold_expire", "refund", "expire", "reverse")
LOT_STATES = ("pending", "active", "spent", "expired", "cancelled")
HOLD_STATES = ("pending", "captured", "voided", "expired")


class Base(DeclarativeBase):
    pass


class Member(Base):
    __tablename__ = "ledger_members"
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("member_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_members.member_id"))
    kind: Mapped[str] = mapped_column(String(24))
    balance_points: Mapped[int] = mapped_column(BigInteger, default=0)  # cache of the postings (member kinds)


class Transaction(Base):
    __tablename__ = "ledger_transactions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[str] = mapped_column(ForeignKey("ledger_members.member_id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str | None] = mapped_column(String(3))
    fx_rate: Mapped[str | None] = mapped_column(String(40))  # decimal text, frozen at earn time
    reward: Mapped[str | None] = mapped_column(String(200))
    related_tx_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    reverses_tx_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    hold_id: Mapped[int | None] = mapped_column(Integer)


class Posting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (CheckConstraint("points <> 0", name="ck_posting_nonzero"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)


class Lot(Base):
    __tablename__ = "ledger_lots"
    __table_args__ = (
        CheckConstraint("points > 0", name="ck_lot_points"),
        CheckConstraint("remaining_points >= 0 AND remaining_points <= points", name="ck_lot_remaining"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("ledger_members.member_id"), index=True)
    earn_tx_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    points: Mapped[int] = mapped_column(BigInteger)
    remaining_points: Mapped[int] = mapped_column(BigInteger)  # cache of points - sum(links)
    state: Mapped[str] = mapped_column(String(12), index=True)
    pending_until: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)


class LotLink(Base):
    """Points a transaction took from (positive) or gave back to (negative) a lot."""

    __tablename__ = "ledger_lot_links"
    __table_args__ = (CheckConstraint("points <> 0", name="ck_link_nonzero"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("ledger_lots.id"), index=True)
    tx_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)


class Hold(Base):
    __tablename__ = "ledger_holds"
    __table_args__ = (CheckConstraint("points > 0", name="ck_hold_points"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("ledger_members.member_id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    hold_tx_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    settled_tx_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))


class IdempotencyRecord(Base):
    __tablename__ = "ledger_idempotency"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(24))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # 'ok' or 'failed'
    result: Mapped[str | None] = mapped_column(Text)  # JSON of the first answer
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
