"""Threads against one store: no negative balance, every request applied once or refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select

from fidelis.loyalty.ledger import Ledger
from fidelis.loyalty.store import InsufficientPoints
from fidelis.loyalty.store.models import Transaction

T0 = datetime(2025, 3, 1)
MEMBERS = [f"c{i}" for i in range(5)]


def _setup(ledger: Ledger, points: int) -> None:
    for member in MEMBERS:
        ledger.enrol(member, idempotency_key=f"enrol-{member}")
        ledger.earn(member, points, idempotency_key=f"earn-{member}", reason="seed", at=T0)


def test_concurrent_redemptions_never_overdraw(ledger: Ledger) -> None:
    _setup(ledger, 200)  # each member: 40 requests of 10 points = twice the balance

    def redeem(i: int) -> str:
        try:
            ledger.redeem(MEMBERS[i % 5], 10, idempotency_key=f"r{i}", at=T0)
            return "ok"
        except InsufficientPoints:
            return "refused"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(redeem, range(200)))
    assert outcomes.count("ok") == 100 and outcomes.count("refused") == 100
    for member in MEMBERS:
        assert ledger.balance(member).spendable == 0 and ledger.balance(member).debt == 0
    assert ledger.check_balances() == []


def test_each_key_sent_three_times_at_once_applies_once(ledger: Ledger) -> None:
    _setup(ledger, 1)
    requests = [(i, attempt) for i in range(100) for attempt in range(3)]

    def earn(request: tuple[int, int]):
        i, _ = request
        return ledger.earn(MEMBERS[i % 5], 7, idempotency_key=f"k{i}", reason="order", at=T0).tx_id

    with ThreadPoolExecutor(max_workers=16) as pool:
        tx_ids = list(pool.map(earn, requests))
    assert len(set(tx_ids)) == 100
    with ledger.engine.connect() as conn, conn.begin():
        earns = conn.execute(select(func.count()).select_from(Transaction).where(
            Transaction.idempotency_key.like("k%"))).scalar_one()
    assert earns == 100
    assert sum(ledger.balance(m).spendable for m in MEMBERS) == 5 + 700
    assert ledger.check_balances() == []
