"""Ledger errors. Input errors also inherit `ValueError`; each has one clear message."""

from __future__ import annotations

from fidelis.errors import FidelisError


class LedgerError(FidelisError):
    """Base of the errors the points ledger raises on purpose."""


class LedgerStoreError(LedgerError):
    """The ledger store cannot be opened, created or migrated."""


class InvalidAmount(LedgerError, ValueError):
    """A number of points, a share or a date is out of range."""


class UnknownMember(LedgerError, ValueError):
    """No ledger account exists for this member (enrol first)."""


class UnknownTransaction(LedgerError, ValueError):
    """No ledger transaction has this id."""


class UnknownHold(LedgerError, ValueError):
    """No hold has this id."""


class InsufficientPoints(LedgerError, ValueError):
    """The member's spendable points are fewer than asked."""


class HoldNotPending(LedgerError, ValueError):
    """The hold was already captured, voided or expired."""


class HoldExpired(HoldNotPending):
    """The hold's expiry time has passed; it can no longer be captured."""


class NothingToRefund(LedgerError, ValueError):
    """The earn transaction was already refunded or reversed in full, or is not an earn."""


class NotReversible(LedgerError, ValueError):
    """This transaction cannot be reversed (already reversed, or of a kind settled otherwise)."""


class IdempotencyConflict(LedgerError, ValueError):
    """The idempotency key was already used with another payload (the API maps this to 422)."""


ERRORS: dict[str, type[LedgerError]] = {
    cls.__name__: cls
    for cls in (
        InvalidAmount, UnknownMember, UnknownTransaction, UnknownHold, InsufficientPoints,
        HoldNotPending, HoldExpired, NothingToRefund, NotReversible, IdempotencyConflict, LedgerError,
    )
}
