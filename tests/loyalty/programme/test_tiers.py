from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fidelis.loyalty.programme import Programme
from fidelis.loyalty.tiers import (
    Activity,
    Gap,
    Totals,
    add_months,
    last_review_on,
    missing_to_next_tier,
    next_review_on,
    projected_tier,
    qualification_window,
    qualified_tier,
    qualifying_totals,
    tier_after_review,
)

AS_OF = date(2025, 6, 15)
HISTORY = [Activity(date(2024, 6, 15), 500, D(500)), Activity(date(2024, 6, 16), 400, D(400)),
           Activity(date(2024, 12, 31), 300, D(300)), Activity(date(2025, 1, 1), 200, D(200)),
           Activity(date(2025, 6, 15), 100, D(100)), Activity(date(2025, 6, 16), 1000, D(1000))]


def totals(points: int, spend: str = "0") -> Totals:
    return Totals(points, D(spend), AS_OF, AS_OF)


@pytest.mark.parametrize(("period", "anniversary", "window", "points"), [
    ("rolling_12_months", None, (date(2024, 6, 16), AS_OF), 1000),
    ("calendar_year", None, (date(2025, 1, 1), AS_OF), 300),
    ("anniversary_year", date(2021, 3, 20), (date(2025, 3, 20), AS_OF), 100),
    ("anniversary_year", date(2021, 12, 31), (date(2024, 12, 31), AS_OF), 600),
    ("anniversary_year", date(2020, 6, 15), (date(2025, 6, 15), AS_OF), 100),
])
def test_qualification_windows(period, anniversary, window, points) -> None:
    assert qualification_window(period, AS_OF, anniversary) == window
    result = qualifying_totals(HISTORY, period, AS_OF, anniversary)
    assert (result.points, result.start, result.end) == (points, *window)
    assert result.spend == D(points)


def test_windows_at_month_ends_and_leap_days() -> None:
    leap_day = date(2024, 2, 29)
    assert qualification_window("rolling_12_months", leap_day) == (date(2023, 3, 1), leap_day)
    assert qualification_window("anniversary_year", date(2025, 3, 1), leap_day)[0] == date(2025, 2, 28)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 31), -2) == date(2024, 11, 30)
    with pytest.raises(ValueError, match="anniversary"):
        qualification_window("anniversary_year", AS_OF)


def test_reversals_reduce_totals_but_never_below_zero() -> None:
    result = qualifying_totals([Activity(AS_OF, 100), Activity(AS_OF, -300)], "calendar_year", AS_OF)
    assert result.points == 0


@pytest.mark.parametrize(("points", "tier"), [(0, "Silver"), (999, "Silver"), (1000, "Gold"),
                                              (2999, "Gold"), (3000, "Platinum"), (10**9, "Platinum")])
def test_qualified_tier(programme: Programme, points: int, tier: str) -> None:
    assert qualified_tier(programme, totals(points)).name == tier


def test_missing_to_next_tier(programme: Programme) -> None:
    assert missing_to_next_tier(programme, totals(250)) == Gap("Gold", points=750)
    assert missing_to_next_tier(programme, totals(1000)) == Gap("Platinum", points=2000)
    assert missing_to_next_tier(programme, totals(3000)) is None


def test_a_spend_basis_programme(variant) -> None:
    programme = variant(lambda d: (d["qualification"].update(basis="spend"),
                                   d["tiers"][1].update(threshold="499.50")))
    assert qualified_tier(programme, totals(10**6, "499.49")).name == "Silver"
    assert qualified_tier(programme, totals(0, "499.50")).name == "Gold"
    assert missing_to_next_tier(programme, totals(0, "100")) == Gap("Gold", spend=D("399.50"))


@pytest.mark.parametrize(("cadence", "on", "last", "following"), [
    ("monthly", date(2025, 6, 15), date(2025, 6, 1), date(2025, 7, 1)),
    ("monthly", date(2025, 12, 1), date(2025, 12, 1), date(2026, 1, 1)),
    ("quarterly", date(2025, 6, 15), date(2025, 4, 1), date(2025, 7, 1)),
    ("quarterly", date(2025, 11, 2), date(2025, 10, 1), date(2026, 1, 1)),
    ("yearly", date(2025, 6, 15), date(2025, 1, 1), date(2026, 1, 1)),
])
def test_review_days(cadence, on, last, following) -> None:
    assert last_review_on(cadence, on) == last
    assert next_review_on(cadence, on) == following


def test_upgrades_happen_at_once_on_any_day(programme: Programme) -> None:
    decision = tier_after_review(programme, current="Silver", qualified="Platinum", as_of=date(2025, 5, 17),
                                 below_since=None)
    assert (decision.tier, decision.change, decision.below_since) == ("Platinum", "upgrade", None)


def test_a_member_back_above_their_tier_keeps_it_and_the_grace_clock_stops(programme: Programme) -> None:
    decision = tier_after_review(programme, current="Gold", qualified="Gold", as_of=date(2025, 5, 17),
                                 below_since=date(2025, 3, 1))
    assert (decision.tier, decision.change, decision.below_since) == ("Gold", "kept", None)


def test_downgrades_wait_for_a_review_after_the_grace_period(programme: Programme) -> None:
    # Gold: quarterly reviews, 90 days of grace. Below since 10 Feb: grace ends 11 May; next review 1 Jul.
    below = date(2025, 2, 10)
    for day in (date(2025, 2, 10), date(2025, 4, 1), date(2025, 5, 12), date(2025, 6, 30)):
        decision = tier_after_review(programme, current="Gold", qualified="Silver", as_of=day,
                                     below_since=below)
        assert (decision.tier, decision.change, decision.below_since) == ("Gold", "grace", below), day
        assert decision.downgrade_from == date(2025, 7, 1)
    decision = tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 7, 1),
                                 below_since=below)
    assert (decision.tier, decision.change, decision.below_since) == ("Silver", "downgrade", None)


def test_a_missed_review_day_is_caught_up(programme: Programme) -> None:
    decision = tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 8, 20),
                                 below_since=date(2025, 2, 10))
    assert decision.tier == "Silver"


def test_first_time_below_starts_the_grace_clock(programme: Programme) -> None:
    decision = tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 7, 1),
                                 below_since=None)
    assert (decision.change, decision.below_since, decision.downgrade_from) == ("grace", date(2025, 7, 1),
                                                                                 date(2025, 10, 1))


def test_one_tier_down_at_most(programme: Programme, variant) -> None:
    decision = tier_after_review(programme, current="Platinum", qualified="Silver", as_of=date(2025, 7, 1),
                                 below_since=date(2025, 1, 1))
    assert (decision.tier, decision.change, decision.below_since) == ("Gold", "downgrade", date(2025, 7, 1))
    # the grace clock restarts: Gold is kept for its 90 days of grace, lost at the review after them
    assert tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 9, 28),
                             below_since=decision.below_since).change == "grace"
    assert tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 10, 1),
                             below_since=decision.below_since).tier == "Silver"
    free_fall = variant(lambda d: d["tiers"][2].update(one_tier_down_at_most=False))
    assert tier_after_review(free_fall, current="Platinum", qualified="Silver", as_of=date(2025, 7, 1),
                             below_since=date(2025, 1, 1)).tier == "Silver"


def test_no_grace_downgrades_on_the_review_day_itself(variant) -> None:
    programme = variant(lambda d: d["tiers"][1].update(grace_days=0, review="monthly"))
    assert tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 8, 1),
                             below_since=None).tier == "Silver"
    assert tier_after_review(programme, current="Gold", qualified="Silver", as_of=date(2025, 8, 2),
                             below_since=None).change == "grace"


def test_the_spendable_balance_plays_no_part(programme: Programme) -> None:
    # Spending points writes no qualifying activity: the tier only sees qualifying history.
    history = [Activity(date(2025, 5, 1), 1200, D(1200))]
    assert qualified_tier(programme, qualifying_totals(history, "rolling_12_months", AS_OF)).name == "Gold"


def test_projected_tier_drops_activity_that_leaves_the_window(programme: Programme) -> None:
    history = [Activity(date(2024, 6, 20), 900), Activity(date(2025, 3, 1), 300)]
    # today (15 Jun 2025): 1200 qualifying points, Gold; at the 1 Jul review the June 2024 points have gone
    projection = projected_tier(programme, history=history, current="Gold", below_since=None, as_of=AS_OF)
    assert (projection.tier, projection.change, projection.below_since) == ("Gold", "grace", date(2025, 7, 1))
    assert projection.downgrade_from == date(2025, 10, 1)
    kept = projected_tier(programme, history=history + [Activity(AS_OF, 700)], current="Gold",
                          below_since=None, as_of=AS_OF)
    assert kept.change == "kept"
    upgraded = projected_tier(programme, history=[Activity(AS_OF, 5000)], current="Silver", below_since=None,
                              as_of=AS_OF)
    assert upgraded.tier == "Platinum"


@given(low=st.integers(0, 10**7), extra=st.integers(0, 10**7))
def test_the_tier_is_monotone_in_qualifying_points(programme: Programme, low: int, extra: int) -> None:
    index = [t.name for t in programme.tiers].index
    lower = qualified_tier(programme, totals(low)).name
    higher = qualified_tier(programme, totals(low + extra)).name
    assert index(lower) <= index(higher)


@given(points=st.integers(0, 10**7))
def test_the_gap_reaches_the_next_tier_exactly(programme: Programme, points: int) -> None:
    gap = missing_to_next_tier(programme, totals(points))
    if gap is not None:
        assert gap.points > 0
        assert qualified_tier(programme, totals(points + gap.points)).name == gap.tier
        assert qualified_tier(programme, totals(points + gap.points - 1)).name != gap.tier


@given(current=st.sampled_from(["Silver", "Gold", "Platinum"]),
       qualified=st.sampled_from(["Silver", "Gold", "Platinum"]),
       as_of=st.dates(date(2024, 1, 1), date(2026, 12, 31)), since_days=st.none() | st.integers(0, 800))
def test_reviews_never_go_below_the_qualified_tier_nor_skip_grace(programme, current, qualified, as_of,
                                                                   since_days) -> None:
    below_since = None if since_days is None else as_of - timedelta(days=since_days)
    decision = tier_after_review(programme, current=current, qualified=qualified, as_of=as_of,
                                 below_since=below_since)
    rank = programme.tier_index
    assert rank(decision.tier) >= rank(qualified)
    if programme.tier(current).one_tier_down_at_most:
        assert rank(decision.tier) >= rank(current) - 1
    if rank(qualified) > rank(current):
        assert decision.tier == qualified
    if decision.change == "downgrade":
        grace = programme.tier(current).grace_days
        assert (as_of - (below_since or as_of)).days >= grace
