"""Earn rules: how many points an order, a review, a referral or a birthday is worth. Pure functions.

Rules (docs/programme.md, "Earn rules"):

- The rate. An order earns `earn.points_per_unit` per unit of the programme's reporting currency,
  on each line's amount converted at the FX rate frozen at the order date. The same basket paid in
  GBP, EUR, USD or JPY therefore earns the same points. Only where the programme file gives a
  market a local rate (`[earn.markets."United Kingdom"]`) and the order is paid in that market's
  currency is the local rate applied to the local amount instead.
- Base points are the rate times each eligible line's amount (lines of `excluded_categories` earn
  nothing). They are the qualifying points (tiers), whatever the bonuses.
- Bonuses add to the base, they do not compound: tier bonus = base x (tier multiplier - 1); category
  bonus = line base x (best matching multiplier - 1), plus the fixed points of every matching rule;
  campaign bonus = base x (best active campaign multiplier - 1).
- Rounding: exact Decimal arithmetic throughout, then ONE floor per order of base + bonuses; the
  first-order bonus (whole points) is added after. So no order earns a fraction, and splitting
  an amount across lines never gains a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from fidelis.domain.money import validate_currency_code
from fidelis.loyalty.programme import Programme
from fidelis.loyalty.tiers import add_months

ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderLine:
    sku: str
    amount: Decimal  # net of discounts and tax as the shop reports it, in the order currency; >= 0
    category: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount < 0:
            raise ValueError(f"line {self.sku}: amount must be a finite Decimal >= 0, not {self.amount!r}")


@dataclass(frozen=True)
class Order:
    """An order as the earn rules see it. `fx_rate` is reporting-currency units per one unit of
    `currency`, frozen at `on` (1 when the order is in the reporting currency)."""

    lines: tuple[OrderLine, ...]
    currency: str
    market: str
    fx_rate: Decimal
    on: date
    first_order: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", validate_currency_code(self.currency))
        object.__setattr__(self, "lines", tuple(self.lines))
        if not isinstance(self.fx_rate, Decimal) or not self.fx_rate.is_finite() or self.fx_rate <= 0:
            raise ValueError(f"fx_rate must be a finite Decimal > 0, not {self.fx_rate!r}")

    @property
    def amount(self) -> Decimal:
        """Total in the order currency."""
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def amount_reporting(self) -> Decimal:
        """Total in the reporting currency at the frozen rate (exact, unrounded)."""
        return self.amount * self.fx_rate


@dataclass(frozen=True)
class MemberContext:
    tier: str  # the tier the member holds when the order is placed


@dataclass(frozen=True)
class EarnDecision:
    """Points an order earns and why. Components are exact Decimals; `points` is floored once."""

    points: int
    qualifying_points: int  # floor(base): what counts toward tiers
    qualifying_spend: Decimal  # eligible amount in the reporting currency (exact)
    base: Decimal
    tier_bonus: Decimal
    category_bonus: Decimal
    campaign_bonus: Decimal
    first_order_bonus: int
    rate: Decimal  # points per unit of `rate_currency`
    rate_currency: str
    rate_source: Literal["reporting", "market"]
    fx_rate: Decimal
    tier: str
    campaign: str | None = None
    notes: tuple[str, ...] = field(default=())


def points_for_order(programme: Programme, order: Order, member: MemberContext) -> EarnDecision:
    """The points `order` earns a `member` holding `member.tier` (see the module's rules)."""
    tier = programme.tier(member.tier)
    earn = programme.earn
    local = earn.markets.get(order.market)
    notes: list[str] = []
    source: Literal["reporting", "market"] = "reporting"
    rate, rate_currency, to_rate_currency = earn.points_per_unit, programme.currency, order.fx_rate
    if local is not None and local.currency == order.currency:
        source = "market"
        rate, rate_currency, to_rate_currency = local.points_per_unit, local.currency, Decimal(1)
    elif local is not None:
        notes.append(f"order paid in {order.currency}, not {local.currency}: the base rate applies")
    excluded = set(earn.excluded_categories)
    base = category_bonus = qualifying_spend = ZERO
    for line in order.lines:
        if line.category in excluded:
            continue
        line_base = line.amount * to_rate_currency * rate
        base += line_base
        qualifying_spend += line.amount * order.fx_rate
        category_bonus += _line_bonus(programme, line, line_base)
    tier_bonus = base * (tier.multiplier - 1)
    campaign = max((c for c in earn.campaigns if c.applies(market=order.market, on=order.on)),
                   key=lambda c: c.multiplier, default=None)
    campaign_bonus = base * (campaign.multiplier - 1) if campaign else ZERO
    first_order_bonus = earn.first_order_points if order.first_order else 0
    points = _floor(base + tier_bonus + category_bonus + campaign_bonus) + first_order_bonus
    return EarnDecision(
        points=points, qualifying_points=_floor(base), qualifying_spend=qualifying_spend, base=base,
        tier_bonus=tier_bonus, category_bonus=category_bonus, campaign_bonus=campaign_bonus,
        first_order_bonus=first_order_bonus, rate=rate, rate_currency=rate_currency, rate_source=source,
        fx_rate=order.fx_rate, tier=tier.name, campaign=campaign.name if campaign else None,
        notes=tuple(notes))


def _line_bonus(programme: Programme, line: OrderLine, line_base: Decimal) -> Decimal:
    """Best matching multiplier's extra on the line's base, plus every matching fixed bonus."""
    matching = [b for b in programme.earn.bonuses if b.matches(sku=line.sku, category=line.category)]
    multiplier = max((b.multiplier for b in matching if b.multiplier is not None), default=Decimal(1))
    fixed = sum((b.points for b in matching if b.points is not None), 0)
    return line_base * (multiplier - 1) + fixed


def _floor(value: Decimal) -> int:
    return max(0, int(value.to_integral_value(rounding=ROUND_FLOOR)))


def points_for_review(programme: Programme, *, with_media: bool = False) -> int:
    """Points for a product review; `with_media` (photo or video) earns `media_review_points` instead."""
    return programme.earn.media_review_points if with_media else programme.earn.review_points


def points_for_birthday(programme: Programme) -> int:
    return programme.earn.birthday_points


@dataclass(frozen=True)
class ReferralAward:
    referrer_points: int
    referee_points: int
    capped: bool  # the referrer has reached the cap for the period: they earn 0, the referee still earns


def points_for_referral(programme: Programme, *, rewarded_so_far: int) -> ReferralAward:
    """Points for one more successful referral, given how many referrals the referrer has already
    been rewarded for in the current cap period (`referral_period`)."""
    if rewarded_so_far < 0:
        raise ValueError("rewarded_so_far must be >= 0")
    referral = programme.earn.referral
    capped = referral.cap_per_referrer is not None and rewarded_so_far >= referral.cap_per_referrer
    return ReferralAward(0 if capped else referral.referrer_points, referral.referee_points, capped)


def referral_period(programme: Programme, on: date) -> tuple[date, date]:
    """First and last day (inclusive) of the referral cap period that contains `on`."""
    period = programme.earn.referral.cap_period
    if period == "year":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    first_month = on.month if period == "month" else 3 * ((on.month - 1) // 3) + 1
    start = date(on.year, first_month, 1)
    months = 1 if period == "month" else 3
    after = date(start.year + (start.month + months - 1) // 12, (start.month + months - 1) % 12 + 1, 1)
    return start, after - timedelta(days=1)


def spendable_on(programme: Programme, earned_on: date) -> date:
    """The day points earned on `earned_on` leave pending (the return window is over)."""
    return earned_on + timedelta(days=programme.pending_days)


def lot_expires_on(programme: Programme, earned_on: date) -> date | None:
    """The day a lot earned on `earned_on` expires under `expiry.after_months` (month ends clamped);
    None when lots do not expire on their own (no expiry, or `inactivity_months`, which the ledger
    applies to a member's whole balance from their last activity)."""
    months = programme.expiry.after_months
    return None if months is None else add_months(earned_on, months)
