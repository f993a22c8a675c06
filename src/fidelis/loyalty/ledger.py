"""The points ledger service: double-entry, append-only postings in integer points, earn lots,
holds, refunds with debt, reversals, idempotency keys and the expiry/release jobs.

Every mutating call takes an `idempotency_key` and an explicit `at` (the business time, UTC).
Accounts: per member `member` (spendable; negative = debt), `member_pending` (in the return window)
and `member_held` (reserved by checkout holds); programme-wide `programme_issued`,
`programme_redeemed` and `programme_expired`. Every transaction's postings sum to zero.
The rules are in docs/ledger.md.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from fidelis.loyalty.store.errors import (
    ERRORS,
    HoldExpired,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidAmount,
    LedgerError,
    NothingToRefund,
    NotReversible,
    UnknownHold,
    UnknownMember,
    UnknownTransaction,
)
from fidelis.loyalty.store.models import (
    MEMBER_ACCOUNT_KINDS,
    Account,
    Hold,
    IdempotencyRecord,
    Lot,
    LotLink,
    Member,
    Posting,
    Transaction,
)

RETRIES_MAX = 50
KEY_LENGTH_MAX = 200
MEMBER_ID_LENGTH_MAX = 64
REVERSIBLE_KINDS = ("earn", "redeem", "refund", "expire")
RETRYABLE_SQLSTATES = {"40001", "40P01"}

_acct = Account.__table__
_member = Member.__table__
_tx = Transaction.__table__
_posting = Posting.__table__
_lot = Lot.__table__
_link = LotLink.__table__
_hold = Hold.__table__
_idem = IdempotencyRecord.__table__


@dataclass(frozen=True)
class Receipt:
    """The answer of a mutating call; a replay with the same key and payload returns an equal one."""

    kind: str
    member_id: str
    tx_id: int | None = None
    points: int = 0
    hold_id: int | None = None
    lot_id: int | None = None


@dataclass(frozen=True)
class Balance:
    member_id: str
    spendable: int
    pending: int
    held: int
    debt: int


@dataclass(frozen=True)
class HistoryEntry:
    tx_id: int
    kind: str
    points: int
    at: datetime
    spendable_delta: int
    pending_delta: int
    held_delta: int
    reason: str | None
    order_ref: str | None
    currency: str | None
    fx_rate: Decimal | None
    related_tx_id: int | None
    reverses_tx_id: int | None
    hold_id: int | None


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    next_cursor: int | None


@dataclass(frozen=True)
class LotView:
    id: int
    earn_tx_id: int
    points: int
    remaining_points: int
    state: str
    pending_until: datetime | None
    expires_at: datetime | None


class _Retry(Exception):
    """A concurrent writer won a race (same key, lock conflict): run the whole call again."""


class Ledger:
    """The points ledger on one store (see `fidelis.loyalty.store.open_ledger`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.connect() as conn, conn.begin():
            rows = conn.execute(select(_acct.c.kind, _acct.c.id).where(_acct.c.member_id.is_(None))).all()
        self._system = {kind: account_id for kind, account_id in rows}
        assert set(self._system) == {"programme_issued", "programme_redeemed", "programme_expired"}

    # ---- mutating calls -------------------------------------------------------------------------------

    def enrol(self, member_id: str, *, idempotency_key: str, at: datetime | None = None) -> Receipt:
        _check_member_id(member_id)
        when = _utc(at) if at is not None else _now()

        def work(conn: Connection) -> dict:
            if conn.execute(select(_member.c.member_id).where(_member.c.member_id == member_id)).first() is None:
                conn.execute(insert(_member).values(member_id=member_id, created_at=when))
                conn.execute(insert(_acct), [{"member_id": member_id, "kind": k, "balance_points": 0}
                                             for k in MEMBER_ACCOUNT_KINDS])
            return {"kind": "enrol", "member_id": member_id}

        return self._mutate("enrol", idempotency_key, {"member_id": member_id}, work)

    def earn(
        self, member_id: str, points: int, *, idempotency_key: str, reason: str, at: datetime,
        order_ref: str | None = None, currency: str | None = None, fx_rate: Decimal | str | None = None,
        pending_days: int = 0, expires_at: datetime | None = None,
    ) -> Receipt:
        """Credit `points` (computed by the earn rules) as a new lot; pending for `pending_days` first.
        The FX rate and currency the points were computed with are frozen on the transaction."""
        _check_points(points)
        when = _utc(at)
        if not isinstance(pending_days, int) or isinstance(pending_days, bool) or pending_days < 0:
            raise InvalidAmount(f"pending_days must be a whole number >= 0, not {pending_days!r}")
        pending_until = when + timedelta(days=pending_days) if pending_days else None
        expiry = _utc(expires_at) if expires_at is not None else None
        if expiry is not None and expiry <= (pending_until or when):
            raise InvalidAmount("expires_at must be after the earn time and the end of the pending window")
        rate = _check_fx(currency, fx_rate)
        payload = {"member_id": member_id, "points": points, "reason": reason, "at": when,
                   "order_ref": order_ref, "currency": currency, "fx_rate": rate, "pending_days": pending_days,
                   "expires_at": expiry}

        def work(conn: Connection) -> dict:
            accounts = self._lock_member(conn, member_id)
            tx_id = self._new_tx(conn, "earn", member_id, points, when, idempotency_key, reason=reason,
                                 order_ref=order_ref, currency=currency, fx_rate=rate)
            target = accounts["member_pending"] if pending_until else accounts["member"]
            self._post(conn, tx_id, [(self._system["programme_issued"], -points), (target, points)])
            lot_id = conn.execute(insert(_lot).values(
                member_id=member_id, earn_tx_id=tx_id, points=points, remaining_points=points,
                state="pending" if pending_until else "active", pending_until=pending_until, expires_at=expiry,
                activated_at=None if pending_until else when)).inserted_primary_key[0]
            self._align_lots(conn, member_id, tx_id, accounts)
            return {"kind": "earn", "member_id": member_id, "tx_id": tx_id, "points": points, "lot_id": lot_id}

        return self._mutate("earn", idempotency_key, payload, work)

    def redeem(self, member_id: str, points: int, *, idempotency_key: str, at: datetime,
               reward: str | None = None) -> Receipt:
        """Spend `points` now, taken from the member's lots soonest-expiring first."""
        _check_points(points)
        when = _utc(at)

        def work(conn: Connection) -> dict:
            accounts = self._lock_member(conn, member_id)
            self._require_spendable(conn, member_id, accounts, points)
            tx_id = self._new_tx(conn, "redeem", member_id, points, when, idempotency_key, reward=reward)
            self._post(conn, tx_id, [(accounts["member"], -points), (self._system["programme_redeemed"], points)])
            taken = self._take(conn, member_id, tx_id, points, final_state="spent")
            assert taken == points, (taken, points)
            return {"kind": "redeem", "member_id": member_id, "tx_id": tx_id, "points": points}

        return self._mutate("redeem", idempotency_key,
                            {"member_id": member_id, "points": points, "at": when, "reward": reward}, work)

    def hold(self, member_id: str, points: int, *, idempotency_key: str, at: datetime,
             expires_at: datetime) -> Receipt:
        """Reserve `points` for a checkout until `expires_at`; capture or void it before then."""
        _check_points(points)
        when, expiry = _utc(at), _utc(expires_at)
        if expiry <= when:
            raise InvalidAmount("a hold's expires_at must be after its time `at`")

        def work(conn: Connection) -> dict:
            accounts = self._lock_member(conn, member_id)
            self._require_spendable(conn, member_id, accounts, points)
            tx_id = self._new_tx(conn, "hold", member_id, points, when, idempotency_key)
            self._post(conn, tx_id, [(accounts["member"], -points), (accounts["member_held"], points)])
            taken = self._take(conn, member_id, tx_id, points, final_state="spent")
            assert taken == points, (taken, points)
            hold_id = conn.execute(insert(_hold).values(
                member_id=member_id, points=points, state="pending", expires_at=expiry, hold_tx_id=tx_id,
            )).inserted_primary_key[0]
            return {"kind": "hold", "member_id": member_id, "tx_id": tx_id, "points": points, "hold_id": hold_id}

        return self._mutate("hold", idempotency_key,
                            {"member_id": member_id, "points": points, "at": when, "expires_at": expiry}, work)

    def capture(self, hold_id: int, *, idempotency_key: str, at: datetime, reward: str | None = None) -> Receipt:
        """Turn a pending hold into a redemption of its points (the lots it reserved are the ones spent)."""
        when = _utc(at)

        def work(conn: Connection) -> dict:
            hold, accounts = self._lock_hold(conn, hold_id)
            if when >= hold.expires_at:
                raise HoldExpired(f"hold {hold_id} expired at {hold.expires_at.isoformat()}Z; it cannot be captured")
            tx_id = self._new_tx(conn, "capture", hold.member_id, hold.points, when, idempotency_key,
                                 reward=reward, related_tx_id=hold.hold_tx_id, hold_id=hold_id)
            self._post(conn, tx_id, [(accounts["member_held"], -hold.points),
                                     (self._system["programme_redeemed"], hold.points)])
            conn.execute(update(_hold).where(_hold.c.id == hold_id).values(state="captured", settled_tx_id=tx_id))
            return {"kind": "capture", "member_id": hold.member_id, "tx_id": tx_id, "points": hold.points,
                    "hold_id": hold_id}

        return self._mutate("capture", idempotency_key, {"hold_id": hold_id, "at": when, "reward": reward}, work)

    def void(self, hold_id: int, *, idempotency_key: str, at: datetime) -> Receipt:
        """Release a pending hold: its points go back to the lots they came from."""
        when = _utc(at)

        def work(conn: Connection) -> dict:
            hold, accounts = self._lock_hold(conn, hold_id)
            tx_id = self._release_hold(conn, hold, accounts, "void", when, idempotency_key, "voided")
            return {"kind": "void", "member_id": hold.member_id, "tx_id": tx_id, "points": hold.points,
                    "hold_id": hold_id}

        return self._mutate("void", idempotency_key, {"hold_id": hold_id, "at": when}, work)

    def refund(self, earn_tx_id: int, *, idempotency_key: str, at: datetime, points: int | None = None,
               share: Decimal | Fraction | str | None = None) -> Receipt:
        """Claw back the points the refunded part of an order earned: `share` of the earn (rounded half
        up, e.g. Decimal('0.25')) or exactly `points`. Taken from the earn's lot, then from the member's
        other lots; what was already spent becomes debt (a negative balance) that the next earn repays."""
        when = _utc(at)
        if (points is None) == (share is None):
            raise InvalidAmount("give exactly one of points or share")
        if points is not None:
            _check_points(points)
        fraction = _check_share(share) if share is not None else None

        def work(conn: Connection) -> dict:
            earn = self._earn_tx(conn, earn_tx_id)
            accounts = self._lock_member(conn, earn.member_id)
            open_points = self._open_points(conn, earn)
            if open_points == 0:
                raise NothingToRefund(f"earn {earn_tx_id} was already refunded or reversed in full")
            if fraction is not None:
                wanted = min(open_points, int(fraction * earn.points + Fraction(1, 2)))
                if wanted == 0:
                    raise InvalidAmount(f"share {share} of {earn.points} points rounds to 0 points")
            else:
                wanted = points
                if wanted > open_points:
                    raise NothingToRefund(f"only {open_points} points of earn {earn_tx_id} are left to refund, "
                                          f"not {wanted}")
            tx_id = self._new_tx(conn, "refund", earn.member_id, wanted, when, idempotency_key,
                                 related_tx_id=earn_tx_id, order_ref=earn.order_ref)
            self._claw_back(conn, earn, accounts, tx_id, wanted)
            return {"kind": "refund", "member_id": earn.member_id, "tx_id": tx_id, "points": wanted}

        payload = {"earn_tx_id": earn_tx_id, "at": when, "points": points,
                   "share": str(fraction) if fraction is not None else None}
        return self._mutate("refund", idempotency_key, payload, work)

    def reverse(self, tx_id: int, *, idempotency_key: str, at: datetime) -> Receipt:
        """Write the transaction that undoes `tx_id` (an earn, redemption, refund or expiry), once."""
        when = _utc(at)

        def work(conn: Connection) -> dict:
            original = conn.execute(select(_tx).where(_tx.c.id == tx_id)).first()
            if original is None:
                raise UnknownTransaction(f"no ledger transaction {tx_id}")
            if original.kind not in REVERSIBLE_KINDS:
                raise NotReversible(f"transaction {tx_id} is a {original.kind}; only "
                                    f"{', '.join(REVERSIBLE_KINDS)} can be reversed (holds: capture or void)")
            accounts = self._lock_member(conn, original.member_id)
            if conn.execute(select(_tx.c.id).where(_tx.c.reverses_tx_id == tx_id)).first() is not None:
                raise NotReversible(f"transaction {tx_id} was already reversed")
            if original.kind == "earn":
                open_points = self._open_points(conn, original)
                if open_points == 0:
                    raise NotReversible(f"earn {tx_id} was refunded in full; nothing is left to reverse")
                new_id = self._new_tx(conn, "reverse", original.member_id, open_points, when, idempotency_key,
                                      reverses_tx_id=tx_id)
                self._claw_back(conn, original, accounts, new_id, open_points)
                return {"kind": "reverse", "member_id": original.member_id, "tx_id": new_id, "points": open_points}
            if original.kind == "refund":
                earn = conn.execute(select(_tx).where(_tx.c.id == original.related_tx_id)).one()
                if self._reversal_of(conn, earn.id) is not None:
                    raise NotReversible(f"refund {tx_id} belongs to earn {earn.id}, which was reversed")
            new_id = self._new_tx(conn, "reverse", original.member_id, original.points, when, idempotency_key,
                                  reverses_tx_id=tx_id)
            postings = conn.execute(select(_posting.c.account_id, _posting.c.points)
                                    .where(_posting.c.tx_id == tx_id).order_by(_posting.c.id)).all()
            self._post(conn, new_id, [(account_id, -pts) for account_id, pts in postings])
            for lot_id, pts in conn.execute(select(_link.c.lot_id, _link.c.points)
                                            .where(_link.c.tx_id == tx_id).order_by(_link.c.id)).all():
                self._link_lot(conn, self._lot(conn, lot_id), new_id, -pts, final_state="spent")
            self._align_lots(conn, original.member_id, new_id, accounts, at=when)
            return {"kind": "reverse", "member_id": original.member_id, "tx_id": new_id, "points": original.points}

        return self._mutate("reverse", idempotency_key, {"tx_id": tx_id, "at": when}, work)

    # ---- jobs -----------------------------------------------------------------------------------------

    def release_pending(self, at: datetime) -> int:
        """Make the lots whose return window ended by `at` spendable. Returns how many were released."""
        when = _utc(at)
        due = self._ids(select(_lot.c.id, _lot.c.member_id).where(
            _lot.c.state == "pending", _lot.c.pending_until <= when).order_by(_lot.c.id))
        done = 0
        for lot_id, member_id in due:
            done += self._job(member_id, lambda conn, accounts, lot_id=lot_id: self._release(conn, accounts, lot_id,
                                                                                            when))
        return done

    def expire(self, at: datetime) -> int:
        """Expire what is left of every active lot whose expiry is at or before `at`, one explicit expiry
        transaction per lot. Running it again adds nothing. Returns how many lots expired."""
        when = _utc(at)
        due = self._ids(select(_lot.c.id, _lot.c.member_id).where(
            _lot.c.state == "active", _lot.c.expires_at <= when).order_by(_lot.c.id))
        done = 0
        for lot_id, member_id in due:
            done += self._job(member_id, lambda conn, accounts, lot_id=lot_id: self._expire_lot(conn, accounts,
                                                                                               lot_id, when))
        return done

    def expire_holds(self, at: datetime) -> int:
        """Release every pending hold whose expiry is at or before `at`. Returns how many expired."""
        when = _utc(at)
        due = self._ids(select(_hold.c.id, _hold.c.member_id).where(
            _hold.c.state == "pending", _hold.c.expires_at <= when).order_by(_hold.c.id))
        done = 0
        for hold_id, member_id in due:
            def work(conn: Connection, accounts: dict[str, int], hold_id: int = hold_id) -> int:
                hold = conn.execute(select(_hold).where(_hold.c.id == hold_id)).one()
                if hold.state != "pending":
                    return 0
                self._release_hold(conn, hold, accounts, "hold_expire", when, None, "expired")
                return 1
            done += self._job(member_id, work)
        return done

    def run_jobs(self, at: datetime) -> dict[str, int]:
        """The scheduled jobs in their order: expire holds, release pending lots, expire lots."""
        return {"holds_expired": self.expire_holds(at), "lots_released": self.release_pending(at),
                "lots_expired": self.expire(at)}

    # ---- reads ----------------------------------------------------------------------------------------

    def balance(self, member_id: str) -> Balance:
        with self.engine.connect() as conn, conn.begin():
            rows = dict(conn.execute(select(_acct.c.kind, _acct.c.balance_points)
                                     .where(_acct.c.member_id == member_id)).all())
        if not rows:
            raise UnknownMember(f"member {member_id!r} is not enrolled in the ledger")
        spendable = rows["member"]
        return Balance(member_id=member_id, spendable=max(spendable, 0), pending=rows["member_pending"],
                       held=rows["member_held"], debt=max(-spendable, 0))

    def history(self, member_id: str, *, limit: int = 50, cursor: int | None = None) -> HistoryPage:
        """The member's transactions, newest first; pass `next_cursor` back for the next page."""
        if not 1 <= limit <= 1000:
            raise InvalidAmount(f"limit must be 1..1000, not {limit}")
        with self.engine.connect() as conn, conn.begin():
            accounts = self._accounts(conn, member_id)
            query = select(_tx).where(_tx.c.member_id == member_id)
            if cursor is not None:
                query = query.where(_tx.c.id < cursor)
            txs = conn.execute(query.order_by(_tx.c.id.desc()).limit(limit)).all()
            kinds = {account_id: kind for kind, account_id in accounts.items()}
            deltas: dict[tuple[int, str], int] = {}
            if txs:
                for tx_id, account_id, pts in conn.execute(
                        select(_posting.c.tx_id, _posting.c.account_id, _posting.c.points).where(
                            _posting.c.tx_id.in_([t.id for t in txs]), _posting.c.account_id.in_(list(kinds)))):
                    key = (tx_id, kinds[account_id])
                    deltas[key] = deltas.get(key, 0) + pts
        entries = [HistoryEntry(
            tx_id=t.id, kind=t.kind, points=t.points, at=t.at.replace(tzinfo=UTC),
            spendable_delta=deltas.get((t.id, "member"), 0), pending_delta=deltas.get((t.id, "member_pending"), 0),
            held_delta=deltas.get((t.id, "member_held"), 0), reason=t.reason, order_ref=t.order_ref,
            currency=t.currency, fx_rate=Decimal(t.fx_rate) if t.fx_rate is not None else None,
            related_tx_id=t.related_tx_id, reverses_tx_id=t.reverses_tx_id, hold_id=t.hold_id) for t in txs]
        return HistoryPage(entries=entries, next_cursor=txs[-1].id if len(txs) == limit else None)

    def lots(self, member_id: str) -> list[LotView]:
        with self.engine.connect() as conn, conn.begin():
            self._accounts(conn, member_id)
            rows = conn.execute(select(_lot).where(_lot.c.member_id == member_id).order_by(_lot.c.id)).all()
        return [LotView(id=r.id, earn_tx_id=r.earn_tx_id, points=r.points, remaining_points=r.remaining_points,
                        state=r.state, pending_until=r.pending_until, expires_at=r.expires_at) for r in rows]

    def hold_state(self, hold_id: int) -> str:
        with self.engine.connect() as conn, conn.begin():
            state = conn.execute(select(_hold.c.state).where(_hold.c.id == hold_id)).scalar()
        if state is None:
            raise UnknownHold(f"no hold {hold_id}")
        return state

    def check_balances(self, *, repair: bool = False) -> list[str]:
        """Rebuild every cached balance from the postings and links and compare. Returns the problems
        found (empty when all agree); with `repair=True` the caches are overwritten with the rebuilt values."""
        problems: list[str] = []
        with self.engine.connect() as conn, conn.begin():
            for tx_id, total in conn.execute(select(_posting.c.tx_id, func.sum(_posting.c.points))
                                             .group_by(_posting.c.tx_id)
                                             .having(func.sum(_posting.c.points) != 0)):
                problems.append(f"transaction {tx_id}: postings sum to {total}, not 0")
            sums = dict(conn.execute(select(_posting.c.account_id, func.sum(_posting.c.points))
                                     .group_by(_posting.c.account_id)).all())
            for account_id, member_id, kind, cached in conn.execute(
                    select(_acct.c.id, _acct.c.member_id, _acct.c.kind, _acct.c.balance_points)
                    .where(_acct.c.member_id.is_not(None))):
                actual = int(sums.get(account_id, 0))
                if actual != cached:
                    problems.append(f"member {member_id} {kind}: cached {cached}, postings {actual}")
                    if repair:
                        conn.execute(update(_acct).where(_acct.c.id == account_id).values(balance_points=actual))
            used = dict(conn.execute(select(_link.c.lot_id, func.sum(_link.c.points)).group_by(_link.c.lot_id)).all())
            active: dict[str, int] = {}
            for lot in conn.execute(select(_lot)):
                actual = lot.points - int(used.get(lot.id, 0))
                if not 0 <= actual <= lot.points:
                    problems.append(f"lot {lot.id}: {lot.points - actual} points taken of {lot.points}")
                if actual != lot.remaining_points:
                    problems.append(f"lot {lot.id}: cached remaining {lot.remaining_points}, links {actual}")
                    if repair:
                        conn.execute(update(_lot).where(_lot.c.id == lot.id).values(remaining_points=actual))
                if (actual > 0) != (lot.state in ("pending", "active")):
                    problems.append(f"lot {lot.id}: state {lot.state} with {actual} points remaining")
                if lot.state == "active":
                    active[lot.member_id] = active.get(lot.member_id, 0) + actual
            for member_id, spendable in conn.execute(select(_acct.c.member_id, _acct.c.balance_points)
                                                     .where(_acct.c.kind == "member")):
                if active.get(member_id, 0) != max(spendable, 0):
                    problems.append(f"member {member_id}: active lots hold {active.get(member_id, 0)}, "
                                    f"spendable is {spendable}")
        return problems

    # ---- internals ------------------------------------------------------------------------------------

    def _mutate(self, operation: str, key: str, payload: dict, work: Callable[[Connection], dict]) -> Receipt:
        _check_key(key)
        digest = _digest(operation, payload)
        for attempt in range(RETRIES_MAX):
            try:
                return self._mutate_once(operation, key, digest, work)
            except _Retry:
                time.sleep(min(0.002 * (attempt + 1), 0.05))
        raise LedgerError(f"gave up on {operation} {key!r} after {RETRIES_MAX} conflicting attempts")

    def _mutate_once(self, operation: str, key: str, digest: str, work: Callable[[Connection], dict]) -> Receipt:
        failure: LedgerError | None = None
        try:
            with self.engine.connect() as conn, conn.begin():
                record = conn.execute(select(_idem).where(_idem.c.key == key)).first()
                if record is not None:
                    return _replay(record, operation, digest)
                conn.execute(insert(_idem).values(key=key, operation=operation, payload_sha256=digest,
                                                  status="ok", created_at=_now()))
                savepoint = conn.begin_nested()
                try:
                    result = work(conn)
                except LedgerError as exc:
                    savepoint.rollback()
                    failure = exc
                    conn.execute(update(_idem).where(_idem.c.key == key).values(
                        status="failed", error_type=type(exc).__name__, error_message=str(exc)))
                else:
                    savepoint.commit()
                    conn.execute(update(_idem).where(_idem.c.key == key).values(result=json.dumps(result)))
        except (IntegrityError, OperationalError, DBAPIError) as exc:
            if _retryable(exc):
                raise _Retry from exc
            raise
        if failure is not None:
            raise failure
        return Receipt(**result)

    def _job(self, member_id: str, work: Callable[[Connection, dict[str, int]], int]) -> int:
        for attempt in range(RETRIES_MAX):
            try:
                with self.engine.connect() as conn, conn.begin():
                    return work(conn, self._lock_member(conn, member_id))
            except (OperationalError, DBAPIError) as exc:
                if not _retryable(exc):
                    raise
                time.sleep(min(0.002 * (attempt + 1), 0.05))
        raise LedgerError(f"gave up on a job step for member {member_id!r} after {RETRIES_MAX} attempts")

    def _ids(self, query) -> list[tuple]:
        with self.engine.connect() as conn, conn.begin():
            return [tuple(row) for row in conn.execute(query)]

    def _accounts(self, conn: Connection, member_id: str) -> dict[str, int]:
        accounts = dict(conn.execute(select(_acct.c.kind, _acct.c.id).where(_acct.c.member_id == member_id)).all())
        if not accounts:
            raise UnknownMember(f"member {member_id!r} is not enrolled in the ledger")
        return accounts

    def _lock_member(self, conn: Connection, member_id: str) -> dict[str, int]:
        """Lock the member row (PostgreSQL: FOR UPDATE; SQLite: the BEGIN IMMEDIATE already serialises)."""
        found = conn.execute(select(_member.c.member_id).where(_member.c.member_id == member_id)
                             .with_for_update()).first()
        if found is None:
            raise UnknownMember(f"member {member_id!r} is not enrolled in the ledger")
        return self._accounts(conn, member_id)

    def _lock_hold(self, conn: Connection, hold_id: int):
        member_id = conn.execute(select(_hold.c.member_id).where(_hold.c.id == hold_id)).scalar()
        if member_id is None:
            raise UnknownHold(f"no hold {hold_id}")
        accounts = self._lock_member(conn, member_id)
        hold = conn.execute(select(_hold).where(_hold.c.id == hold_id)).one()
        if hold.state != "pending":
            raise HoldNotPending(f"hold {hold_id} is already {hold.state}")
        return hold, accounts

    def _spendable(self, conn: Connection, account_id: int) -> int:
        return conn.execute(select(_acct.c.balance_points).where(_acct.c.id == account_id)).scalar_one()

    def _require_spendable(self, conn: Connection, member_id: str, accounts: dict[str, int], points: int) -> None:
        spendable = self._spendable(conn, accounts["member"])
        if spendable < points:
            raise InsufficientPoints(f"member {member_id!r} has {max(spendable, 0)} spendable points; "
                                     f"{points} asked")

    def _new_tx(self, conn: Connection, kind: str, member_id: str, points: int, at: datetime, key: str | None,
                **fields: Any) -> int:
        return conn.execute(insert(_tx).values(kind=kind, member_id=member_id, points=points, at=at,
                                               idempotency_key=key, **fields)).inserted_primary_key[0]

    def _post(self, conn: Connection, tx_id: int, entries: list[tuple[int, int]]) -> None:
        """Append a transaction's postings (they must sum to zero) and update the member balance caches."""
        entries = [(account_id, pts) for account_id, pts in entries if pts != 0]
        assert sum(pts for _, pts in entries) == 0, entries
        conn.execute(insert(_posting), [{"tx_id": tx_id, "account_id": a, "points": p} for a, p in entries])
        system = set(self._system.values())
        for account_id, pts in sorted(entries):
            if account_id not in system:
                conn.execute(update(_acct).where(_acct.c.id == account_id)
                             .values(balance_points=_acct.c.balance_points + pts))

    def _lot(self, conn: Connection, lot_id: int):
        return conn.execute(select(_lot).where(_lot.c.id == lot_id)).one()

    def _link_lot(self, conn: Connection, lot, tx_id: int, points: int, *, final_state: str) -> None:
        """Take `points` from a lot (negative: give them back); a lot left empty takes `final_state`."""
        remaining = lot.remaining_points - points
        assert 0 <= remaining <= lot.points, (lot.id, lot.remaining_points, points)
        conn.execute(insert(_link).values(lot_id=lot.id, tx_id=tx_id, points=points))
        if remaining == 0:
            state = final_state
        else:
            state = "pending" if lot.activated_at is None else "active"
        conn.execute(update(_lot).where(_lot.c.id == lot.id).values(remaining_points=remaining, state=state))

    def _take(self, conn: Connection, member_id: str, tx_id: int, points: int, *, final_state: str,
              skip_lot: int | None = None) -> int:
        """Take up to `points` from the member's active lots, soonest-expiring first. Returns points taken."""
        lots = conn.execute(select(_lot).where(_lot.c.member_id == member_id, _lot.c.state == "active")
                            .order_by(_lot.c.expires_at.is_(None), _lot.c.expires_at, _lot.c.id)).all()
        taken = 0
        for lot in lots:
            if taken == points:
                break
            if lot.id == skip_lot:
                continue
            share = min(points - taken, lot.remaining_points)
            self._link_lot(conn, lot, tx_id, share, final_state=final_state)
            taken += share
        return taken

    def _align_lots(self, conn: Connection, member_id: str, tx_id: int, accounts: dict[str, int],
                    at: datetime | None = None) -> None:
        """Keep active lots equal to the spendable balance: a debt (negative balance) is repaid first
        from whatever lots are active. Only a reversal (`at` given) may leave more spendable points than
        lots (a reversed refund whose debt was since repaid): the surplus becomes a new non-expiring lot."""
        spendable = self._spendable(conn, accounts["member"])
        active = conn.execute(select(func.coalesce(func.sum(_lot.c.remaining_points), 0)).where(
            _lot.c.member_id == member_id, _lot.c.state == "active")).scalar_one()
        owed = int(active) - max(spendable, 0)
        if owed < 0:
            assert at is not None, (member_id, active, spendable)
            conn.execute(insert(_lot).values(member_id=member_id, earn_tx_id=tx_id, points=-owed,
                                             remaining_points=-owed, state="active", activated_at=at))
        elif owed:
            taken = self._take(conn, member_id, tx_id, owed, final_state="spent")
            assert taken == owed, (taken, owed)

    def _earn_tx(self, conn: Connection, earn_tx_id: int):
        earn = conn.execute(select(_tx).where(_tx.c.id == earn_tx_id)).first()
        if earn is None:
            raise UnknownTransaction(f"no ledger transaction {earn_tx_id}")
        if earn.kind != "earn":
            raise NothingToRefund(f"transaction {earn_tx_id} is a {earn.kind}, not an earn")
        return earn

    def _reversal_of(self, conn: Connection, tx_id: int) -> int | None:
        return conn.execute(select(_tx.c.id).where(_tx.c.reverses_tx_id == tx_id)).scalar()

    def _open_points(self, conn: Connection, earn) -> int:
        """Points of an earn not yet refunded (refunds that were reversed do not count) nor reversed."""
        if self._reversal_of(conn, earn.id) is not None:
            return 0
        reversed_ids = select(_tx.c.reverses_tx_id).where(_tx.c.reverses_tx_id.is_not(None))
        refunded = conn.execute(select(func.coalesce(func.sum(_tx.c.points), 0)).where(
            _tx.c.kind == "refund", _tx.c.related_tx_id == earn.id, _tx.c.id.not_in(reversed_ids))).scalar_one()
        return earn.points - int(refunded)

    def _claw_back(self, conn: Connection, earn, accounts: dict[str, int], tx_id: int, points: int) -> None:
        lot = conn.execute(select(_lot).where(_lot.c.earn_tx_id == earn.id)).one()
        issued = self._system["programme_issued"]
        if lot.state == "pending":
            assert points <= lot.remaining_points, (lot.id, points)
            self._post(conn, tx_id, [(accounts["member_pending"], -points), (issued, points)])
            self._link_lot(conn, lot, tx_id, points, final_state="cancelled")
            return
        self._post(conn, tx_id, [(accounts["member"], -points), (issued, points)])
        own = min(points, lot.remaining_points) if lot.state == "active" else 0
        if own:
            self._link_lot(conn, lot, tx_id, own, final_state="cancelled")
        self._align_lots(conn, earn.member_id, tx_id, accounts)

    def _release_hold(self, conn: Connection, hold, accounts: dict[str, int], kind: str, at: datetime,
                      key: str | None, state: str) -> int:
        tx_id = self._new_tx(conn, kind, hold.member_id, hold.points, at, key, related_tx_id=hold.hold_tx_id,
                             hold_id=hold.id)
        self._post(conn, tx_id, [(accounts["member_held"], -hold.points), (accounts["member"], hold.points)])
        for lot_id, pts in conn.execute(select(_link.c.lot_id, _link.c.points)
                                        .where(_link.c.tx_id == hold.hold_tx_id).order_by(_link.c.id)).all():
            self._link_lot(conn, self._lot(conn, lot_id), tx_id, -pts, final_state="spent")
        self._align_lots(conn, hold.member_id, tx_id, accounts)
        conn.execute(update(_hold).where(_hold.c.id == hold.id).values(state=state, settled_tx_id=tx_id))
        return tx_id

    def _release(self, conn: Connection, accounts: dict[str, int], lot_id: int, at: datetime) -> int:
        lot = self._lot(conn, lot_id)
        if lot.state != "pending":
            return 0
        member_id = lot.member_id
        tx_id = self._new_tx(conn, "release", member_id, lot.remaining_points, at, None,
                             related_tx_id=lot.earn_tx_id)
        self._post(conn, tx_id, [(accounts["member_pending"], -lot.remaining_points),
                                 (accounts["member"], lot.remaining_points)])
        conn.execute(update(_lot).where(_lot.c.id == lot_id).values(state="active", activated_at=at))
        self._align_lots(conn, member_id, tx_id, accounts)
        return 1

    def _expire_lot(self, conn: Connection, accounts: dict[str, int], lot_id: int, at: datetime) -> int:
        lot = self._lot(conn, lot_id)
        if lot.state != "active" or lot.expires_at is None or lot.expires_at > at:
            return 0
        tx_id = self._new_tx(conn, "expire", lot.member_id, lot.remaining_points, at, None,
                             related_tx_id=lot.earn_tx_id)
        self._post(conn, tx_id, [(accounts["member"], -lot.remaining_points),
                                 (self._system["programme_expired"], lot.remaining_points)])
        self._link_lot(conn, lot, tx_id, lot.remaining_points, final_state="expired")
        self._align_lots(conn, lot.member_id, tx_id, accounts)
        return 1


# ---- module helpers -------------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _utc(value: datetime) -> datetime:
    """Naive UTC, as stored. A naive datetime is taken to be UTC already."""
    if not isinstance(value, datetime):
        raise InvalidAmount(f"expected a datetime, not {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _check_points(points: int) -> None:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidAmount(f"points must be a whole number > 0, not {points!r}")


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip() or len(key) > KEY_LENGTH_MAX:
        raise InvalidAmount(f"idempotency_key must be a non-empty string of at most {KEY_LENGTH_MAX} characters")


def _check_member_id(member_id: str) -> None:
    if not isinstance(member_id, str) or not member_id.strip() or len(member_id) > MEMBER_ID_LENGTH_MAX:
        raise InvalidAmount(f"member_id must be a non-empty string of at most {MEMBER_ID_LENGTH_MAX} characters")


def _check_share(share: Decimal | Fraction | str) -> Fraction:
    if isinstance(share, float):
        raise InvalidAmount("share must be a Decimal, Fraction or string, not a float")
    try:
        fraction = Fraction(share)
    except (ValueError, TypeError, ZeroDivisionError):
        raise InvalidAmount(f"share must be a number in (0, 1], not {share!r}") from None
    if not 0 < fraction <= 1:
        raise InvalidAmount(f"share must be in (0, 1], not {share}")
    return fraction


def _check_fx(currency: str | None, fx_rate: Decimal | str | None) -> str | None:
    if fx_rate is None:
        return None
    if currency is None or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidAmount(f"an fx_rate needs the ISO 4217 currency it converts from, not {currency!r}")
    if isinstance(fx_rate, float):
        raise InvalidAmount("fx_rate must be a Decimal or a string, not a float")
    try:
        rate = Decimal(fx_rate)
    except ArithmeticError:
        raise InvalidAmount(f"fx_rate must be a positive decimal, not {fx_rate!r}") from None
    if not rate.is_finite() or rate <= 0:
        raise InvalidAmount(f"fx_rate must be a positive decimal, not {fx_rate!r}")
    return str(rate)


def _digest(operation: str, payload: dict) -> str:
    def default(value: object) -> str:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    text = json.dumps({"operation": operation, **payload}, sort_keys=True, default=default)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record, operation: str, digest: str) -> Receipt:
    if record.operation != operation or record.payload_sha256 != digest:
        raise IdempotencyConflict(f"idempotency key {record.key!r} was already used for another "
                                  f"{record.operation} request; use a new key")
    if record.status == "failed":
        raise ERRORS.get(record.error_type, LedgerError)(record.error_message)
    return Receipt(**json.loads(record.result))


def _retryable(exc: Exception) -> bool:
    """A lost race: duplicate idempotency key, serialization failure, deadlock, or SQLite busy."""
    if isinstance(exc, IntegrityError):
        return "idempotency" in str(exc).lower() or "ledger_idempotency" in str(exc)
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc)


__all__ = ["Balance", "HistoryEntry", "HistoryPage", "Ledger", "LotView", "Receipt"]
