"""Unit tests of each ledger operation and error, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fidelis.errors import FidelisError
from fidelis.loyalty.ledger import Ledger
from fidelis.loyalty.store import (
    HoldExpired,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidAmount,
    NothingToRefund,
    NotReversible,
    UnknownHold,
    UnknownMember,
)

T0 = datetime(2025, 3, 1, 12, 0)
DAY = timedelta(days=1)


def _member(ledger: Ledger, member_id: str = "m1") -> str:
    ledger.enrol(member_id, idempotency_key=f"enrol-{member_id}")
    return member_id


def _earn(ledger: Ledger, points: int, key: str, member_id: str = "m1", **kwargs):
    kwargs.setdefault("at", T0)
    return ledger.earn(member_id, points, idempotency_key=key, reason="order", **kwargs)


def _ok(ledger: Ledger) -> None:
    assert ledger.check_balances() == []


def test_earn_credits_an_active_lot_and_freezes_the_rate(ledger: Ledger) -> None:
    _member(ledger)
    receipt = _earn(ledger, 120, "e1", order_ref="o-1", currency="EUR", fx_rate=Decimal("1.0842"))
    assert ledger.balance("m1").spendable == 120
    entry = ledger.history("m1").entries[0]
    assert (entry.tx_id, entry.currency, entry.fx_rate, entry.order_ref) == (receipt.tx_id, "EUR",
                                                                            Decimal("1.0842"), "o-1")
    assert [(lot.points, lot.state) for lot in ledger.lots("m1")] == [(120, "active")]
    _ok(ledger)


def test_pending_points_are_released_after_the_return_window(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 80, "e1", pending_days=14)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").pending) == (0, 80)
    with pytest.raises(InsufficientPoints):
        ledger.redeem("m1", 10, idempotency_key="r1", at=T0 + DAY)
    assert ledger.release_pending(T0 + 13 * DAY) == 0
    assert ledger.release_pending(T0 + 14 * DAY) == 1
    assert ledger.release_pending(T0 + 15 * DAY) == 0
    assert (ledger.balance("m1").spendable, ledger.balance("m1").pending) == (80, 0)
    _ok(ledger)


def test_redemption_takes_the_soonest_expiring_lots_first(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 100, "late", expires_at=T0 + 90 * DAY)
    _earn(ledger, 100, "never")
    _earn(ledger, 100, "soon", expires_at=T0 + 10 * DAY)
    ledger.redeem("m1", 150, idempotency_key="r1", at=T0)
    assert [(lot.remaining_points, lot.state) for lot in ledger.lots("m1")] == [
        (50, "active"), (100, "active"), (0, "spent")]
    _ok(ledger)


def test_expiry_writes_one_transaction_and_running_twice_adds_nothing(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 100, "e1", expires_at=T0 + 30 * DAY)
    ledger.redeem("m1", 30, idempotency_key="r1", at=T0)
    assert ledger.expire(T0 + 29 * DAY) == 0
    assert ledger.expire(T0 + 30 * DAY) == 1
    after_first = ledger.history("m1").entries
    assert ledger.expire(T0 + 30 * DAY) == 0
    assert ledger.expire(T0 + 60 * DAY) == 0
    assert ledger.history("m1").entries == after_first
    assert after_first[0].kind == "expire" and after_first[0].spendable_delta == -70
    assert ledger.balance("m1").spendable == 0
    assert ledger.lots("m1")[0].state == "expired"
    _ok(ledger)


def test_an_expired_lot_is_never_spent_and_a_spent_lot_never_expires(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 50, "a", expires_at=T0 + DAY)
    _earn(ledger, 50, "b", expires_at=T0 + 2 * DAY)
    ledger.redeem("m1", 50, idempotency_key="r1", at=T0)
    assert ledger.expire(T0 + 3 * DAY) == 1
    assert [lot.state for lot in ledger.lots("m1")] == ["spent", "expired"]
    assert ledger.balance("m1").spendable == 0
    _ok(ledger)


def test_refund_claws_back_a_proportional_share(ledger: Ledger) -> None:
    _member(ledger)
    earn = _earn(ledger, 200, "e1", pending_days=30)
    assert ledger.refund(earn.tx_id, share=Decimal("0.25"), idempotency_key="f1", at=T0 + DAY).points == 50
    assert ledger.balance("m1").pending == 150
    assert ledger.refund(earn.tx_id, points=150, idempotency_key="f2", at=T0 + DAY).points == 150
    assert ledger.lots("m1")[0].state == "cancelled"
    with pytest.raises(NothingToRefund):
        ledger.refund(earn.tx_id, share="0.1", idempotency_key="f3", at=T0 + DAY)
    _ok(ledger)


def test_refund_of_spent_points_is_a_debt_the_next_earn_repays(ledger: Ledger) -> None:
    _member(ledger)
    earn = _earn(ledger, 100, "e1")
    ledger.redeem("m1", 80, idempotency_key="r1", at=T0)
    ledger.refund(earn.tx_id, share="1", idempotency_key="f1", at=T0 + DAY)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").debt) == (0, 80)
    with pytest.raises(InsufficientPoints):
        ledger.redeem("m1", 1, idempotency_key="r2", at=T0 + DAY)
    _earn(ledger, 50, "e2", at=T0 + 2 * DAY)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").debt) == (0, 30)
    _earn(ledger, 50, "e3", at=T0 + 2 * DAY)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").debt) == (20, 0)
    _ok(ledger)


def test_refund_takes_other_lots_before_making_debt(ledger: Ledger) -> None:
    _member(ledger)
    first = _earn(ledger, 100, "e1")
    _earn(ledger, 100, "e2")
    ledger.redeem("m1", 100, idempotency_key="r1", at=T0)  # all of lot 1
    ledger.refund(first.tx_id, points=60, idempotency_key="f1", at=T0)
    assert ledger.balance("m1").spendable == 40
    assert [lot.remaining_points for lot in ledger.lots("m1")] == [0, 40]
    _ok(ledger)


def test_hold_capture_and_void(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 100, "e1")
    hold = ledger.hold("m1", 70, idempotency_key="h1", at=T0, expires_at=T0 + DAY)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").held) == (30, 70)
    with pytest.raises(InsufficientPoints):
        ledger.hold("m1", 31, idempotency_key="h2", at=T0, expires_at=T0 + DAY)
    ledger.capture(hold.hold_id, idempotency_key="c1", at=T0 + DAY / 2)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").held) == (30, 0)
    with pytest.raises(HoldNotPending):
        ledger.void(hold.hold_id, idempotency_key="v1", at=T0 + DAY / 2)
    second = ledger.hold("m1", 30, idempotency_key="h3", at=T0, expires_at=T0 + DAY)
    ledger.void(second.hold_id, idempotency_key="v2", at=T0)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").held) == (30, 0)
    assert ledger.hold_state(second.hold_id) == "voided"
    with pytest.raises(UnknownHold):
        ledger.capture(999, idempotency_key="c2", at=T0)
    _ok(ledger)


def test_an_expired_hold_cannot_be_captured_and_the_job_releases_it(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 100, "e1")
    hold = ledger.hold("m1", 100, idempotency_key="h1", at=T0, expires_at=T0 + DAY)
    with pytest.raises(HoldExpired):
        ledger.capture(hold.hold_id, idempotency_key="c1", at=T0 + DAY)
    assert ledger.expire_holds(T0 + DAY) == 1
    assert ledger.expire_holds(T0 + DAY) == 0
    assert ledger.hold_state(hold.hold_id) == "expired"
    assert ledger.balance("m1").spendable == 100
    _ok(ledger)


def test_reverse_an_earn_a_redemption_a_refund_and_an_expiry(ledger: Ledger) -> None:
    _member(ledger)
    earn = _earn(ledger, 100, "e1", expires_at=T0 + 10 * DAY)
    redeem = ledger.redeem("m1", 40, idempotency_key="r1", at=T0)
    ledger.reverse(redeem.tx_id, idempotency_key="x1", at=T0)
    assert ledger.balance("m1").spendable == 100
    with pytest.raises(NotReversible):
        ledger.reverse(redeem.tx_id, idempotency_key="x2", at=T0)
    refund = ledger.refund(earn.tx_id, share="0.5", idempotency_key="f1", at=T0)
    ledger.reverse(refund.tx_id, idempotency_key="x3", at=T0)
    assert ledger.balance("m1").spendable == 100
    ledger.expire(T0 + 10 * DAY)
    expiry = ledger.history("m1").entries[0]
    ledger.reverse(expiry.tx_id, idempotency_key="x4", at=T0 + 10 * DAY)
    assert ledger.balance("m1").spendable == 100
    ledger.reverse(earn.tx_id, idempotency_key="x5", at=T0 + 10 * DAY)
    assert ledger.balance("m1").spendable == 0
    assert ledger.lots("m1")[0].state == "cancelled"
    _ok(ledger)


def test_holds_and_reversals_are_not_reversible(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 10, "e1")
    hold = ledger.hold("m1", 5, idempotency_key="h1", at=T0, expires_at=T0 + DAY)
    with pytest.raises(NotReversible):
        ledger.reverse(hold.tx_id, idempotency_key="x1", at=T0)


def test_idempotency_same_payload_other_payload_and_failed_key(ledger: Ledger) -> None:
    _member(ledger)
    first = _earn(ledger, 100, "k1")
    assert _earn(ledger, 100, "k1") == first
    assert ledger.balance("m1").spendable == 100
    with pytest.raises(IdempotencyConflict) as conflict:
        _earn(ledger, 101, "k1")
    assert isinstance(conflict.value, ValueError) and isinstance(conflict.value, FidelisError)
    with pytest.raises(InsufficientPoints):
        ledger.redeem("m1", 500, idempotency_key="k2", at=T0)
    _earn(ledger, 1000, "k3")
    with pytest.raises(InsufficientPoints, match="500 asked"):  # a failed key stays failed
        ledger.redeem("m1", 500, idempotency_key="k2", at=T0)
    assert ledger.balance("m1").spendable == 1100
    assert ledger.enrol("m1", idempotency_key="enrol-m1").member_id == "m1"


def test_errors(ledger: Ledger) -> None:
    with pytest.raises(UnknownMember, match="'ghost' is not enrolled"):
        _earn(ledger, 1, "k1", member_id="ghost")
    with pytest.raises(UnknownMember):
        ledger.balance("ghost")
    _member(ledger)
    for bad in (0, -5, 1.5, True):
        with pytest.raises(InvalidAmount):
            _earn(ledger, bad, f"bad-{bad}")
    with pytest.raises(InvalidAmount, match="float"):
        _earn(ledger, 1, "fx", currency="EUR", fx_rate=1.1)
    with pytest.raises(InvalidAmount):
        _earn(ledger, 1, "exp", pending_days=10, expires_at=T0 + DAY)
    earn = _earn(ledger, 10, "ok")
    with pytest.raises(InvalidAmount):
        ledger.refund(earn.tx_id, share="1.5", idempotency_key="f1", at=T0)
    with pytest.raises(InvalidAmount):
        ledger.refund(earn.tx_id, idempotency_key="f2", at=T0)
    assert issubclass(InvalidAmount, ValueError)


def test_history_pages(ledger: Ledger) -> None:
    _member(ledger)
    for i in range(5):
        _earn(ledger, 10 + i, f"e{i}")
    page = ledger.history("m1", limit=3)
    assert [e.points for e in page.entries] == [14, 13, 12]
    rest = ledger.history("m1", limit=3, cursor=page.next_cursor)
    assert [e.points for e in rest.entries] == [11, 10] and rest.next_cursor is None


def test_check_balances_finds_and_repairs_a_wrong_cache(ledger: Ledger) -> None:
    _member(ledger)
    _earn(ledger, 100, "e1")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_accounts SET balance_points = 7 WHERE member_id = 'm1' AND kind = 'member'"))
    assert ledger.balance("m1").spendable == 7
    assert any("cached 7, postings 100" in p for p in ledger.check_balances(repair=True))
    assert ledger.check_balances() == []
    assert ledger.balance("m1").spendable == 100


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_postings SET points = points + 1",
    "DELETE FROM ledger_postings",
    "UPDATE ledger_lot_links SET points = 1",
    "DELETE FROM ledger_lot_links",
])
def test_the_store_refuses_to_change_postings_and_links(ledger: Ledger, statement: str) -> None:
    _member(ledger)
    _earn(ledger, 100, "e1")
    ledger.redeem("m1", 10, idempotency_key="r1", at=T0)
    with pytest.raises(DBAPIError, match="append-only"):
        with ledger.engine.begin() as conn:
            conn.execute(text(statement))
    _ok(ledger)


def test_the_models_match_the_migrated_schema(ledger: Ledger) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fidelis.loyalty.store.models import Base

    with ledger.engine.connect() as conn, conn.begin():
        context = MigrationContext.configure(conn, opts={"version_table": "ledger_alembic_version"})
        assert compare_metadata(context, Base.metadata) == []


def test_reversing_a_refund_whose_debt_was_repaid_restores_the_points(ledger: Ledger) -> None:
    _member(ledger)
    earn = _earn(ledger, 100, "e1")
    ledger.redeem("m1", 100, idempotency_key="r1", at=T0)
    refund = ledger.refund(earn.tx_id, points=40, idempotency_key="f1", at=T0)
    assert ledger.balance("m1").debt == 40
    _earn(ledger, 50, "e2")  # repays the debt: 10 spendable
    ledger.reverse(refund.tx_id, idempotency_key="x1", at=T0 + DAY)
    assert (ledger.balance("m1").spendable, ledger.balance("m1").debt) == (50, 0)
    assert sum(lot.remaining_points for lot in ledger.lots("m1")) == 50
    _ok(ledger)
