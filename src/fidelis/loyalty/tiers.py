"""The tier engine: qualification windows, the tier earned, reviews with grace. Pure functions.

Qualification is computed from qualifying activity (qualifying points or spend, per the programme's
`qualification.basis`), never from the spendable balance: spending points does not cost a tier.

- Upgrades happen at once, on any day the member qualifies for a higher tier.
- Downgrades happen only at a review (the held tier's `review` cadence: the first day of each month,
  quarter or year; yearly reviews fall on the member's anniversary under `anniversary_year`), and only
  when the member has been below their tier for at least the tier's `grace_days` at that review.
  With `one_tier_down_at_most`, one review lowers the tier by one step, and the grace clock restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from fidelis.loyalty.programme import Cadence, Period, Programme, Tier

ZERO = Decimal(0)


@dataclass(frozen=True)
class Activity:
    """Qualifying activity on a day: qualifying points (negative for a reversal) and spend."""

    on: date
    points: int
    spend: Decimal = ZERO


@dataclass(frozen=True)
class Totals:
    points: int
    spend: Decimal
    start: date  # the window, both ends inclusive
    end: date


@dataclass(frozen=True)
class TierDecision:
    tier: str
    change: Literal["upgrade", "downgrade", "kept", "grace"]
    below_since: date | None  # store it: the grace clock for the next call (None: not below)
    downgrade_from: date | None = None  # under grace: first review day a downgrade may happen


@dataclass(frozen=True)
class Gap:
    """What is still missing to reach `tier` (only the programme's basis is filled in)."""

    tier: str
    points: int | None = None
    spend: Decimal | None = None


def add_months(day: date, months: int) -> date:
    """`day` moved by `months`, clamped to the end of a shorter month (31 Jan + 1 -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def last_anniversary(anniversary: date, as_of: date) -> date:
    """The latest anniversary of `anniversary` on or before `as_of` (29 Feb -> 28 Feb in other years)."""
    years = as_of.year - anniversary.year
    candidate = add_months(anniversary, 12 * years)
    return candidate if candidate <= as_of else add_months(anniversary, 12 * (years - 1))


def qualification_window(period: Period, as_of: date, anniversary: date | None = None) -> tuple[date, date]:
    """First and last day (inclusive) of the qualification window that ends on `as_of`."""
    if period == "rolling_12_months":
        return add_months(as_of, -12) + timedelta(days=1), as_of
    if period == "calendar_year":
        return date(as_of.year, 1, 1), as_of
    if anniversary is None:
        raise ValueError("an anniversary_year window needs the member's anniversary (the day they joined)")
    return last_anniversary(anniversary, as_of), as_of


def qualifying_totals(history: Iterable[Activity], period: Period, as_of: date,
                      anniversary: date | None = None) -> Totals:
    """Qualifying points and spend inside the window ending on `as_of`; never below zero."""
    start, end = qualification_window(period, as_of, anniversary)
    inside = [a for a in history if start <= a.on <= end]
    points = sum((a.points for a in inside), 0)
    spend = sum((a.spend for a in inside), ZERO)
    return Totals(max(0, points), max(ZERO, spend), start, end)


def _measure(programme: Programme, totals: Totals) -> Decimal:
    return Decimal(totals.points) if programme.qualification.basis == "points" else totals.spend


def qualified_tier(programme: Programme, totals: Totals) -> Tier:
    """The highest tier whose threshold the totals reach (the first tier's is 0)."""
    measure = _measure(programme, totals)
    return [tier for tier in programme.tiers if tier.threshold <= measure][-1]


def missing_to_next_tier(programme: Programme, totals: Totals) -> Gap | None:
    """Points (or spend) still needed for the tier above the one the totals reach; None at the top."""
    index = programme.tiers.index(qualified_tier(programme, totals))
    if index + 1 == len(programme.tiers):
        return None
    following = programme.tiers[index + 1]
    missing = following.threshold - _measure(programme, totals)
    if programme.qualification.basis == "points":
        return Gap(following.name, points=int(missing))
    return Gap(following.name, spend=missing)


def last_review_on(cadence: Cadence, as_of: date, anniversary: date | None = None) -> date:
    """The latest review day on or before `as_of` (yearly: 1 January, or the anniversary if given)."""
    if cadence == "monthly":
        return date(as_of.year, as_of.month, 1)
    if cadence == "quarterly":
        return date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    return last_anniversary(anniversary, as_of) if anniversary else date(as_of.year, 1, 1)


def next_review_on(cadence: Cadence, after: date, anniversary: date | None = None) -> date:
    """The first review day strictly after `after`."""
    if cadence == "monthly":
        return add_months(date(after.year, after.month, 1), 1)
    if cadence == "quarterly":
        return add_months(last_review_on("quarterly", after), 3)
    return add_months(last_review_on("yearly", after, anniversary), 12)


def _review_anniversary(programme: Programme, anniversary: date | None) -> date | None:
    return anniversary if programme.qualification.period == "anniversary_year" else None


def tier_after_review(programme: Programme, *, current: str, qualified: str, as_of: date,
                      below_since: date | None, anniversary: date | None = None) -> TierDecision:
    """The member's tier on `as_of`, given the tier held, the tier the qualifying totals reach now,
    and since when the member has been below the held tier (None: not known to be below).

    Call it on any day (after each earn, or daily): it upgrades at once, and downgrades only if a
    review day of the held tier falls between the end of the grace period and `as_of`.
    """
    held, reached = programme.tier(current), programme.tier(qualified)
    held_index, reached_index = programme.tier_index(current), programme.tier_index(qualified)
    if reached_index > held_index:
        return TierDecision(reached.name, "upgrade", None)
    if reached_index == held_index:
        return TierDecision(held.name, "kept", None)
    since = below_since or as_of
    grace_end = since + timedelta(days=held.grace_days)
    review = last_review_on(held.review, as_of, _review_anniversary(programme, anniversary))
    if review < grace_end:
        first_review = next_review_on(held.review, grace_end - timedelta(days=1),
                                      _review_anniversary(programme, anniversary))
        return TierDecision(held.name, "grace", since, first_review)
    new_index = max(reached_index, held_index - 1) if held.one_tier_down_at_most else reached_index
    still_below = new_index > reached_index
    return TierDecision(programme.tiers[new_index].name, "downgrade", as_of if still_below else None)


def projected_tier(programme: Programme, *, history: Iterable[Activity], current: str,
                   below_since: date | None, as_of: date, anniversary: date | None = None) -> TierDecision:
    """The tier the member will hold after the held tier's next review if nothing else is earned:
    qualifying activity that leaves the window by then no longer counts."""
    history = list(history)
    today = tier_after_review(programme, current=current, as_of=as_of, below_since=below_since,
                              anniversary=anniversary,
                              qualified=_qualified_name(programme, history, as_of, anniversary))
    held = programme.tier(today.tier)
    review = next_review_on(held.review, as_of, _review_anniversary(programme, anniversary))
    return tier_after_review(programme, current=today.tier, as_of=review,
                             below_since=today.below_since,
                             anniversary=anniversary,
                             qualified=_qualified_name(programme, history, review, anniversary))


def _qualified_name(programme: Programme, history: list[Activity], as_of: date,
                    anniversary: date | None) -> str:
    totals = qualifying_totals(history, programme.qualification.period, as_of, anniversary)
    return qualified_tier(programme, totals).name
