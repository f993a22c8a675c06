from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fidelis.loyalty.earn import (
    MemberContext,
    lot_expires_on,
    Order,
    OrderLine,
    points_for_birthday,
    points_for_order,
    points_for_referral,
    points_for_review,
    referral_period,
    spendable_on,
)
from fidelis.loyalty.programme import Programme

SILVER = MemberContext("Silver")
QUIET_DAY = date(2025, 6, 10)  # no campaign


def order(*lines: OrderLine, currency: str = "EUR", market: str = "Europe", fx: str = "1",
          on: date = QUIET_DAY, first: bool = False) -> Order:
    return Order(lines=lines, currency=currency, market=market, fx_rate=D(fx), on=on, first_order=first)


def line(amount: str, category: str | None = "Shoes", sku: str = "SKU-1") -> OrderLine:
    return OrderLine(sku=sku, amount=D(amount), category=category)


# A basket worth EUR 100 at the frozen rates of the day, in four currencies and markets.
SAME_BASKET = [
    ("EUR", "Europe", "100.00", "1"),
    ("GBP", "Europe", "80.00", "1.25"),         # a GBP order outside the UK market: no local rate
    ("USD", "North America", "125.00", "0.8"),
    ("JPY", "Asia-Pacific other", "16000", "0.00625"),
    ("HUF", "Europe", "40000", "0.0025"),
]


@pytest.mark.parametrize(("currency", "market", "amount", "fx"), SAME_BASKET)
def test_the_same_basket_earns_the_same_points_in_every_currency(
        programme: Programme, currency: str, market: str, amount: str, fx: str) -> None:
    basket = order(line(amount), currency=currency, market=market, fx=fx)
    decision = points_for_order(programme, basket, SILVER)
    assert decision.points == 100  # 1 point per EUR, not 16,000 points for a yen basket
    assert decision.qualifying_spend == D(100)
    assert (decision.rate, decision.rate_currency, decision.rate_source) == (1, "EUR", "reporting")


def test_realistic_rates_agree_within_one_point(programme: Programme) -> None:
    baskets = [order(line("249.90")), order(line("213.81"), currency="GBP", fx="1.1688"),
               order(line("271.32"), currency="USD", market="North America", fx="0.92106"),
               order(line("41960"), currency="JPY", market="Asia-Pacific other", fx="0.005956")]
    points = [points_for_order(programme, b, SILVER).points for b in baskets]
    assert max(points) - min(points) <= 1, points


def test_a_market_local_rate_applies_only_where_the_programme_says_so(programme: Programme) -> None:
    uk_order = order(line("80.00"), currency="GBP", market="United Kingdom", fx="1.25")
    uk = points_for_order(programme, uk_order, SILVER)
    assert (uk.points, uk.rate_source, uk.rate_currency) == (80, "market", "GBP")  # 1 point per GBP there
    assert uk.qualifying_spend == D(100)  # spend is still reported in EUR
    eu = points_for_order(programme, order(line("80.00"), currency="GBP", market="Europe", fx="1.25"), SILVER)
    assert (eu.points, eu.rate_source) == (100, "reporting")


def test_a_uk_order_paid_in_another_currency_falls_back_to_the_base_rate(programme: Programme) -> None:
    eur_order = order(line("100"), currency="EUR", market="United Kingdom")
    decision = points_for_order(programme, eur_order, SILVER)
    assert (decision.points, decision.rate_source) == (100, "reporting")
    assert "not GBP" in decision.notes[0]


def test_points_are_floored_once_per_order_after_all_multipliers(programme: Programme) -> None:
    # Gold x1.25 on 3 lines of 0.99: base 2.97, tier bonus 0.7425, total 3.7125 -> 3 (not 0+0+0 per line)
    three_lines = order(line("0.99"), line("0.99"), line("0.99"))
    decision = points_for_order(programme, three_lines, MemberContext("Gold"))
    assert decision.base == D("2.97") and decision.tier_bonus == D("0.7425")
    assert (decision.points, decision.qualifying_points) == (3, 2)


def test_tier_multiplier_adds_to_base(programme: Programme) -> None:
    decision = points_for_order(programme, order(line("100")), MemberContext("Platinum"))
    assert (decision.points, decision.qualifying_points, decision.tier) == (150, 100, "Platinum")


def test_category_and_sku_bonuses(programme: Programme) -> None:
    decision = points_for_order(programme, order(
        line("40", category="Sustainable range"), line("60"),
        line("3", category="Wrap", sku="GIFTWRAP-01")), SILVER)
    assert decision.base == D(103)
    assert decision.category_bonus == D(40) + 10  # x2 on the sustainable line, +10 fixed for the wrap
    assert decision.points == 153
    assert decision.qualifying_points == 103  # bonuses never count toward tiers


def test_excluded_categories_earn_nothing(programme: Programme) -> None:
    decision = points_for_order(programme, order(line("50", category="Gift cards"), line("10")), SILVER)
    assert (decision.points, decision.qualifying_spend) == (10, D(10))


def test_first_order_bonus(programme: Programme) -> None:
    assert points_for_order(programme, order(line("10"), first=True), SILVER).points == 210
    assert points_for_order(programme, order(line("10")), SILVER).first_order_bonus == 0


@pytest.mark.parametrize(("market", "on", "campaign", "points"), [
    ("Europe", date(2025, 11, 23), None, 100),               # the day before Black Friday week
    ("Europe", date(2025, 11, 24), "Black Friday week", 200),  # first day, inclusive
    ("North America", date(2025, 11, 30), "Black Friday week", 200),  # last day, inclusive
    ("Europe", date(2025, 12, 1), None, 100),
    ("Southeast Asia", date(2025, 11, 26), None, 100),        # not a Black Friday market
    ("Southeast Asia", date(2025, 11, 11), "Singles' Day", 300),
    ("Europe", date(2025, 11, 11), None, 100),                # Singles' Day is for Asian markets only
])
def test_campaign_windows_by_market_and_date(programme: Programme, market: str, on: date,
                                             campaign: str | None, points: int) -> None:
    decision = points_for_order(programme, order(line("100"), market=market, on=on), SILVER)
    assert (decision.campaign, decision.points) == (campaign, points)


def test_overlapping_campaigns_do_not_stack(variant) -> None:
    programme = variant(lambda d: d["earn"]["campaigns"][0].update(
        markets=[], start=date(2025, 11, 1), end=date(2025, 11, 30)))
    decision = points_for_order(programme, order(line("100"), on=date(2025, 11, 25)), SILVER)
    assert (decision.campaign, decision.points) == ("Singles' Day", 300)


def test_an_unknown_tier_is_refused(programme: Programme) -> None:
    with pytest.raises(ValueError, match="'Bronze' is not a tier"):
        points_for_order(programme, order(line("1")), MemberContext("Bronze"))


@pytest.mark.parametrize("bad", [D("-1"), D("NaN"), 1.5])
def test_bad_line_amounts_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="amount must be a finite Decimal"):
        OrderLine(sku="X", amount=bad)


def test_bad_orders_are_refused() -> None:
    with pytest.raises(ValueError, match="fx_rate"):
        order(line("1"), fx="0")
    with pytest.raises(ValueError, match="ISO 4217"):
        order(line("1"), currency="EURO")


def test_review_birthday_and_pending(programme: Programme) -> None:
    assert points_for_review(programme) == 20
    assert points_for_review(programme, with_media=True) == 50
    assert points_for_birthday(programme) == 100
    assert spendable_on(programme, date(2025, 1, 15)) == date(2025, 2, 14)


def test_lot_expiry(programme: Programme, variant) -> None:
    assert lot_expires_on(programme, date(2024, 2, 29)) == date(2026, 2, 28)
    inactivity = variant(lambda d: d.update(expiry={"inactivity_months": 18}))
    assert lot_expires_on(inactivity, date(2024, 2, 29)) is None


def test_referrals_are_capped_per_referrer_per_period(programme: Programme) -> None:
    assert points_for_referral(programme, rewarded_so_far=0).referrer_points == 500
    assert points_for_referral(programme, rewarded_so_far=9).referrer_points == 500
    tenth = points_for_referral(programme, rewarded_so_far=10)
    assert (tenth.referrer_points, tenth.referee_points, tenth.capped) == (0, 250, True)
    with pytest.raises(ValueError):
        points_for_referral(programme, rewarded_so_far=-1)


def test_no_cap_means_no_cap(variant) -> None:
    programme = variant(lambda d: d["earn"]["referral"].pop("cap_per_referrer"))
    assert points_for_referral(programme, rewarded_so_far=10_000).referrer_points == 500


@pytest.mark.parametrize(("period", "on", "window"), [
    ("year", date(2025, 5, 3), (date(2025, 1, 1), date(2025, 12, 31))),
    ("quarter", date(2025, 5, 3), (date(2025, 4, 1), date(2025, 6, 30))),
    ("quarter", date(2025, 12, 31), (date(2025, 10, 1), date(2025, 12, 31))),
    ("month", date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 29))),
    ("month", date(2025, 12, 10), (date(2025, 12, 1), date(2025, 12, 31))),
])
def test_referral_periods(variant, period: str, on: date, window: tuple[date, date]) -> None:
    programme = variant(lambda d: d["earn"]["referral"].update(cap_period=period))
    assert referral_period(programme, on) == window


amounts = st.decimals(min_value=0, max_value=100_000, places=2)
lines = st.lists(st.builds(OrderLine, sku=st.sampled_from(["SKU-1", "GIFTWRAP-01"]), amount=amounts,
                           category=st.sampled_from([None, "Shoes", "Sustainable range", "Gift cards"])),
                 min_size=0, max_size=6)
rates = st.decimals(min_value=D("0.0001"), max_value=D("10"), places=4)
tiers = st.sampled_from(["Silver", "Gold", "Platinum"])
markets = st.sampled_from(["Europe", "United Kingdom", "Southeast Asia", "North America"])
days = st.dates(min_value=date(2025, 11, 1), max_value=date(2025, 12, 5))


@settings(max_examples=200, deadline=None)
@given(lines=lines, fx=rates, tier=tiers, market=markets, on=days,
       currency=st.sampled_from(["EUR", "GBP", "JPY"]), first=st.booleans())
def test_points_are_whole_and_never_negative(programme: Programme, lines, fx, tier, market, on, currency,
                                             first) -> None:
    decision = points_for_order(programme, Order(tuple(lines), currency, market, fx, on, first),
                                MemberContext(tier))
    assert isinstance(decision.points, int) and decision.points >= decision.qualifying_points >= 0
    assert decision.points >= decision.first_order_bonus


@settings(max_examples=200, deadline=None)
@given(first=amounts, extra=amounts, fx=rates, tier=tiers, market=markets, on=days)
def test_points_are_monotone_in_the_amount(programme: Programme, first, extra, fx, tier, market, on) -> None:
    def points(amount: D) -> int:
        basket = Order((OrderLine("SKU-1", amount, "Shoes"),), "USD", market, fx, on)
        return points_for_order(programme, basket, MemberContext(tier)).points
    assert points(first) <= points(first + extra)


@settings(max_examples=100, deadline=None)
@given(amount=amounts, fx=rates)
def test_a_foreign_amount_earns_what_its_reporting_value_earns(programme: Programme, amount, fx) -> None:
    foreign = points_for_order(programme, order(OrderLine("S", amount), currency="JPY", fx=str(fx)), SILVER)
    home = points_for_order(programme, order(OrderLine("S", amount * fx)), SILVER)
    assert foreign.points == home.points
