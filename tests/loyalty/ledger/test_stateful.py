"""A Hypothesis state machine drives the ledger and checks it, after every step, against a small
in-memory model (balances, lots) and the store's own invariants (postings sum to zero per
transaction, no lot over-consumed, no lot both expired and spent, caches equal the postings)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fidelis.loyalty.store import (
    HoldExpired,
    HoldNotPending,
    InsufficientPoints,
    InvalidAmount,
    NothingToRefund,
    NotReversible,
)

from .conftest import ledger_on

T0 = datetime(2025, 1, 1)
DAY = timedelta(days=1)
FAR = datetime(9999, 1, 1)


class LedgerModel(RuleBasedStateMachine):
    ledger = None  # set per store by the test
    clock = T0  # examples share the store: each starts after everything earlier ones left is due

    @initialize()
    def start(self) -> None:
        self.now = LedgerModel.clock + 30 * DAY  # every due date is at most 20 days after the step making it
        LedgerModel.clock = self.now
        self.ledger.run_jobs(self.now)
        prefix = uuid.uuid4().hex[:8]
        self.members = [f"{prefix}-a", f"{prefix}-b"]
        self.acct = {m: 0 for m in self.members}
        self.pending = {m: 0 for m in self.members}
        self.held = {m: 0 for m in self.members}
        self.lots: dict[int, dict] = {}
        self.holds: dict[int, dict] = {}
        self.txs: dict[int, dict] = {}
        self.reversed: set[int] = set()
        self.keys = 0
        for m in self.members:
            self.ledger.enrol(m, idempotency_key=f"enrol-{m}")

    def key(self) -> str:
        self.keys += 1
        return f"{self.members[0]}-{self.keys}"

    # ---- model mechanics (mirror of the documented rules) ----

    def link(self, tx: dict, lot_id: int, pts: int, final: str) -> None:
        lot = self.lots[lot_id]
        lot["rem"] -= pts
        assert 0 <= lot["rem"] <= lot["points"]
        lot["state"] = final if lot["rem"] == 0 else ("active" if lot["activated"] else "pending")
        tx["links"].append((lot_id, pts))

    def take(self, member: str, tx: dict, points: int) -> None:
        active = sorted((i for i, lot in self.lots.items() if lot["member"] == member and lot["state"] == "active"),
                        key=lambda i: (self.lots[i]["expires"] is None, self.lots[i]["expires"] or FAR, i))
        for lot_id in active:
            share = min(points, self.lots[lot_id]["rem"])
            if share:
                self.link(tx, lot_id, share, "spent")
                points -= share
        assert points == 0

    def align(self, member: str, tx: dict) -> None:
        active = sum(lot["rem"] for lot in self.lots.values() if lot["member"] == member and lot["state"] == "active")
        owed = active - max(self.acct[member], 0)
        assert owed >= 0
        if owed:
            self.take(member, tx, owed)

    def new_tx(self, tx_id: int | None, kind: str, member: str, **extra) -> dict:
        tx = {"kind": kind, "member": member, "links": [], "acct": 0, "pending": 0, **extra}
        if tx_id is not None:
            self.txs[tx_id] = tx
        return tx

    def move(self, tx: dict, acct: int = 0, pending: int = 0) -> None:
        self.acct[tx["member"]] += acct
        self.pending[tx["member"]] += pending
        tx["acct"] += acct
        tx["pending"] += pending

    def open_points(self, earn_id: int) -> int:
        if earn_id in self.reversed:
            return 0
        refunded = sum(t["points"] for i, t in self.txs.items()
                       if t["kind"] == "refund" and t["earn"] == earn_id and i not in self.reversed)
        return self.txs[earn_id]["points"] - refunded

    def claw(self, earn_id: int, tx: dict, points: int) -> None:
        lot_id = self.txs[earn_id]["lot"]
        lot = self.lots[lot_id]
        if lot["state"] == "pending":
            self.move(tx, pending=-points)
            self.link(tx, lot_id, points, "cancelled")
            return
        self.move(tx, acct=-points)
        own = min(points, lot["rem"]) if lot["state"] == "active" else 0
        if own:
            self.link(tx, lot_id, own, "cancelled")
        self.align(tx["member"], tx)

    def give_back(self, source: dict, tx: dict) -> None:
        for lot_id, pts in source["links"]:
            self.link(tx, lot_id, -pts, "spent")

    # ---- rules ----

    @rule(m=st.integers(0, 1), points=st.integers(1, 200), pending_days=st.sampled_from([0, 0, 3]),
          expires_days=st.sampled_from([None, 5, 20]))
    def earn(self, m, points, pending_days, expires_days) -> None:
        member = self.members[m]
        expires = self.now + expires_days * DAY if expires_days else None
        receipt = self.ledger.earn(member, points, idempotency_key=self.key(), reason="order", at=self.now,
                                   pending_days=pending_days, expires_at=expires)
        tx = self.new_tx(receipt.tx_id, "earn", member, points=points, lot=receipt.lot_id)
        self.lots[receipt.lot_id] = {"member": member, "points": points, "rem": points, "expires": expires,
                                     "state": "pending" if pending_days else "active",
                                     "activated": not pending_days,
                                     "pending_until": self.now + pending_days * DAY}
        if pending_days:
            self.move(tx, pending=points)
        else:
            self.move(tx, acct=points)
            self.align(member, tx)

    @rule(m=st.integers(0, 1), points=st.integers(1, 150))
    def redeem(self, m, points) -> None:
        member = self.members[m]
        if self.acct[member] < points:
            with pytest.raises(InsufficientPoints):
                self.ledger.redeem(member, points, idempotency_key=self.key(), at=self.now)
            return
        receipt = self.ledger.redeem(member, points, idempotency_key=self.key(), at=self.now)
        tx = self.new_tx(receipt.tx_id, "redeem", member, points=points)
        self.move(tx, acct=-points)
        self.take(member, tx, points)

    @rule(m=st.integers(0, 1), points=st.integers(1, 100), ttl_days=st.integers(1, 3))
    def hold(self, m, points, ttl_days) -> None:
        member = self.members[m]
        expires = self.now + ttl_days * DAY
        if self.acct[member] < points:
            with pytest.raises(InsufficientPoints):
                self.ledger.hold(member, points, idempotency_key=self.key(), at=self.now, expires_at=expires)
            return
        receipt = self.ledger.hold(member, points, idempotency_key=self.key(), at=self.now, expires_at=expires)
        tx = self.new_tx(receipt.tx_id, "hold", member)
        self.move(tx, acct=-points)
        self.held[member] += points
        self.take(member, tx, points)
        self.holds[receipt.hold_id] = {"member": member, "points": points, "expires": expires,
                                       "state": "pending", "tx": tx}

    def settle(self, hold_id: int, state: str) -> None:
        hold = self.holds[hold_id]
        hold["state"] = state
        self.held[hold["member"]] -= hold["points"]
        if state != "captured":
            tx = self.new_tx(None, state, hold["member"])
            self.move(tx, acct=hold["points"])
            self.give_back(hold["tx"], tx)
            self.align(hold["member"], tx)

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def capture(self, data) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        hold = self.holds[hold_id]
        if hold["state"] != "pending":
            with pytest.raises(HoldNotPending):
                self.ledger.capture(hold_id, idempotency_key=self.key(), at=self.now)
        elif self.now >= hold["expires"]:
            with pytest.raises(HoldExpired):
                self.ledger.capture(hold_id, idempotency_key=self.key(), at=self.now)
        else:
            self.ledger.capture(hold_id, idempotency_key=self.key(), at=self.now)
            self.settle(hold_id, "captured")

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def void(self, data) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        if self.holds[hold_id]["state"] != "pending":
            with pytest.raises(HoldNotPending):
                self.ledger.void(hold_id, idempotency_key=self.key(), at=self.now)
            return
        self.ledger.void(hold_id, idempotency_key=self.key(), at=self.now)
        self.settle(hold_id, "voided")

    @precondition(lambda self: any(t["kind"] == "earn" for t in self.txs.values()))
    @rule(data=st.data(), share=st.sampled_from(["0.3", "0.5", "1"]))
    def refund(self, data, share) -> None:
        earn_id = data.draw(st.sampled_from(sorted(i for i, t in self.txs.items() if t["kind"] == "earn")))
        earn = self.txs[earn_id]
        open_points = self.open_points(earn_id)
        wanted = min(open_points, int(Fraction(share) * earn["points"] + Fraction(1, 2)))
        if open_points == 0:
            with pytest.raises(NothingToRefund):
                self.ledger.refund(earn_id, share=share, idempotency_key=self.key(), at=self.now)
            return
        if wanted == 0:
            with pytest.raises(InvalidAmount):
                self.ledger.refund(earn_id, share=share, idempotency_key=self.key(), at=self.now)
            return
        receipt = self.ledger.refund(earn_id, share=share, idempotency_key=self.key(), at=self.now)
        assert receipt.points == wanted
        tx = self.new_tx(receipt.tx_id, "refund", earn["member"], points=wanted, earn=earn_id)
        self.claw(earn_id, tx, wanted)

    @precondition(lambda self: any(t["kind"] in ("earn", "redeem", "refund") for t in self.txs.values()))
    @rule(data=st.data())
    def reverse(self, data) -> None:
        target = data.draw(st.sampled_from(sorted(i for i, t in self.txs.items()
                                                  if t["kind"] in ("earn", "redeem", "refund"))))
        original = self.txs[target]
        refused = (target in self.reversed
                   or (original["kind"] == "earn" and self.open_points(target) == 0)
                   or (original["kind"] == "refund" and original["earn"] in self.reversed))
        if refused:
            with pytest.raises(NotReversible):
                self.ledger.reverse(target, idempotency_key=self.key(), at=self.now)
            return
        receipt = self.ledger.reverse(target, idempotency_key=self.key(), at=self.now)
        tx = self.new_tx(receipt.tx_id, "reverse", original["member"])
        if original["kind"] == "earn":
            self.claw(target, tx, self.open_points(target))
        else:
            member = original["member"]
            self.move(tx, acct=-original["acct"], pending=-original["pending"])
            self.give_back(original, tx)
            active = sum(lot["rem"] for lot in self.lots.values() if lot["member"] == member
                         and lot["state"] == "active")
            surplus = max(self.acct[member], 0) - active
            if surplus > 0:  # a reversed refund whose debt was repaid since: a new lot carries the points
                [new_lot] = [lot for lot in self.ledger.lots(member) if lot.earn_tx_id == receipt.tx_id]
                self.lots[new_lot.id] = {"member": member, "points": surplus, "rem": surplus, "expires": None,
                                         "state": "active", "activated": True, "pending_until": self.now}
            self.align(member, tx)
        self.reversed.add(target)

    @rule(days=st.integers(1, 4))
    def tick(self, days) -> None:
        """Time passes; the jobs run in their order: holds, pending lots, expiry."""
        self.now += days * DAY
        LedgerModel.clock = max(LedgerModel.clock, self.now)
        self.jobs()

    @rule()
    def jobs_again(self) -> None:
        """The jobs at the same time: only what a reversal gave back to a lot already past its expiry
        expires; a second run adds nothing."""
        self.jobs()
        assert self.ledger.run_jobs(self.now) == {"holds_expired": 0, "lots_released": 0, "lots_expired": 0}

    def jobs(self) -> None:
        counts = self.ledger.run_jobs(self.now)
        expected = {"holds_expired": 0, "lots_released": 0, "lots_expired": 0}
        for hold_id in sorted(self.holds):
            hold = self.holds[hold_id]
            if hold["state"] == "pending" and hold["expires"] <= self.now and hold["member"] in self.members:
                self.settle(hold_id, "expired")
                expected["holds_expired"] += 1
        for lot_id in sorted(self.lots):
            lot = self.lots[lot_id]
            if lot["state"] == "pending" and lot["pending_until"] <= self.now:
                tx = self.new_tx(None, "release", lot["member"])
                rem = lot["rem"]
                self.move(tx, acct=rem, pending=-rem)
                lot["state"], lot["activated"] = "active", True
                expected["lots_released"] += 1
                self.align(lot["member"], tx)
        for lot_id in sorted(self.lots):
            lot = self.lots[lot_id]
            if lot["state"] == "active" and lot["expires"] is not None and lot["expires"] <= self.now:
                tx = self.new_tx(None, "expire", lot["member"])
                self.move(tx, acct=-lot["rem"])
                self.link(tx, lot_id, lot["rem"], "expired")
                expected["lots_expired"] += 1
                self.align(lot["member"], tx)
        assert counts == expected

    # ---- invariants ----

    @invariant()
    def agrees_with_the_model(self) -> None:
        if not hasattr(self, "members"):
            return
        for member in self.members:
            balance = self.ledger.balance(member)
            assert (balance.spendable, balance.debt, balance.pending, balance.held) == (
                max(self.acct[member], 0), max(-self.acct[member], 0), self.pending[member], self.held[member])
            stored = {lot.id: (lot.remaining_points, lot.state) for lot in self.ledger.lots(member)}
            modelled = {i: (lot["rem"], lot["state"]) for i, lot in self.lots.items() if lot["member"] == member}
            assert stored == modelled
        assert self.ledger.check_balances() == []


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_ledger_state_machine(store: str, tmp_path) -> None:
    with ledger_on(store, tmp_path) as ledger:
        LedgerModel.ledger = ledger
        try:
            run_state_machine_as_test(LedgerModel, settings=settings(
                max_examples=60, stateful_step_count=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
        finally:
            LedgerModel.ledger = None
