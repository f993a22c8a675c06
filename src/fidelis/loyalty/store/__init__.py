"""The points ledger's store: table models, Alembic-migrated schema, engine setup and errors."""

from fidelis.loyalty.store.engine import create_ledger_engine, migrate, open_ledger
from fidelis.loyalty.store.errors import (
    HoldExpired,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidAmount,
    LedgerError,
    LedgerStoreError,
    NothingToRefund,
    NotReversible,
    UnknownHold,
    UnknownMember,
    UnknownTransaction,
)

__all__ = [
    "HoldExpired", "HoldNotPending", "IdempotencyConflict", "InsufficientPoints", "InvalidAmount", "LedgerError",
    "LedgerStoreError", "NotReversible", "NothingToRefund", "UnknownHold", "UnknownMember", "UnknownTransaction",
    "create_ledger_engine", "migrate", "open_ledger",
]
