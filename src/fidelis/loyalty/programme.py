"""The programme file: tiers, earn rules, pending and expiry, rewards (TOML, validated with pydantic).

The defaults ship as `fidelis/data/programme.toml`. Validation is pydantic's and every error names
the key (`tiers[1].threshold: ...`) so that an operator can fix the file without reading code.
Market names are checked against the markets file (`fidelis.domain.markets`). Every key is
described in docs/programme.md.

Points are integers everywhere; money (thresholds in spend, point value, coupon values) is Decimal
in the programme's reporting `currency`; rates (points per unit, multipliers) are Decimal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fidelis.config import Settings, get_settings
from fidelis.domain.markets import load_market_config
from fidelis.domain.money import validate_currency_code
from fidelis.errors import ConfigError
from fidelis.tomlfiles import describe_validation, read_config_toml

Period = Literal["rolling_12_months", "calendar_year", "anniversary_year"]
Cadence = Literal["monthly", "quarterly", "yearly"]
Basis = Literal["points", "spend"]

Points = Annotated[int, Field(ge=0, strict=True)]
PositivePoints = Annotated[int, Field(gt=0, strict=True)]
Rate = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Multiplier = Annotated[Decimal, Field(ge=1, le=100, allow_inf_nan=False)]
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_markets(markets: list[str] | tuple[str, ...] | dict, info: ValidationInfo) -> None:
    """Refuse market names that the markets file does not define (a typo would silently never match)."""
    known = (info.context or {}).get("markets")
    if known is None:
        known = load_market_config().markets
    unknown = [name for name in markets if name not in known]
    if unknown:
        names = ", ".join(repr(m) for m in unknown)
        raise ValueError(f"unknown market {names}; choose from {', '.join(known)}")


# --- qualification and tiers ---------------------------------------------------------------------

class Qualification(_Strict):
    basis: Basis = "points"
    period: Period = "rolling_12_months"


class Tier(_Strict):
    name: str = Field(min_length=1)
    threshold: Money  # qualifying points (whole number) or spend in `currency`, per qualification.basis
    multiplier: Multiplier = Decimal(1)
    benefits: tuple[str, ...] = ()
    review: Cadence = "yearly"
    grace_days: int = Field(0, ge=0, le=3660)
    one_tier_down_at_most: bool = False


# --- earn rules ----------------------------------------------------------------------------------

class MarketRate(_Strict):
    """A local-currency rate for one market: `points_per_unit` per unit of `currency`."""

    currency: str
    points_per_unit: Rate

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str) -> str:
        return validate_currency_code(value)


class Bonus(_Strict):
    """Extra points for lines of a category or a SKU: a multiplier of the line's base points, or fixed."""

    category: str | None = Field(None, min_length=1)
    sku: str | None = Field(None, min_length=1)
    multiplier: Multiplier | None = None
    points: PositivePoints | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> Bonus:
        if (self.category is None) == (self.sku is None):
            raise ValueError("give exactly one of 'category' or 'sku'")
        if (self.multiplier is None) == (self.points is None):
            raise ValueError("give exactly one of 'multiplier' or 'points'")
        return self

    def matches(self, *, sku: str, category: str | None) -> bool:
        return (self.sku is not None and self.sku == sku) or (
            self.category is not None and self.category == category)


class Campaign(_Strict):
    """A multiplier on base points for orders placed from `start` to `end` (both inclusive)."""

    name: str = Field(min_length=1)
    markets: tuple[str, ...] = ()  # empty: every market
    start: date
    end: date
    multiplier: Multiplier

    @field_validator("markets")
    @classmethod
    def _markets(cls, markets: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        _known_markets(markets, info)
        return markets

    @model_validator(mode="after")
    def _ordered(self) -> Campaign:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def applies(self, *, market: str, on: date) -> bool:
        return self.start <= on <= self.end and (not self.markets or market in self.markets)


class Referral(_Strict):
    referrer_points: Points = 0
    referee_points: Points = 0
    # rewarded referrals per referrer and period; None: no cap
    cap_per_referrer: int | None = Field(None, ge=0)
    cap_period: Literal["month", "quarter", "year"] = "year"


class Earn(_Strict):
    points_per_unit: Rate = Decimal(1)  # per unit of the reporting currency
    markets: dict[str, MarketRate] = Field(default_factory=dict)
    excluded_categories: tuple[str, ...] = ()
    bonuses: tuple[Bonus, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    first_order_points: Points = 0
    birthday_points: Points = 0
    review_points: Points = 0
    media_review_points: Points = 0  # a review with a photo or video (UGC), instead of review_points
    referral: Referral = Referral()

    @field_validator("markets")
    @classmethod
    def _markets(cls, markets: dict[str, MarketRate], info: ValidationInfo) -> dict[str, MarketRate]:
        _known_markets(markets, info)
        return markets


# --- pending, expiry and rewards -------------------------------------------------------------------

class Expiry(_Strict):
    """At most one of: points expire `after_months` after they were earned, or all of a member's
    points expire after `inactivity_months` without earning or spending. Neither: never."""

    after_months: int | None = Field(None, ge=1, le=600)
    inactivity_months: int | None = Field(None, ge=1, le=600)

    @model_validator(mode="after")
    def _at_most_one(self) -> Expiry:
        if self.after_months is not None and self.inactivity_months is not None:
            raise ValueError("give at most one of 'after_months' or 'inactivity_months'")
        return self


class _Reward(_Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    stock: int | None = Field(None, ge=0)  # None: unlimited
    limit_per_member: int | None = Field(None, ge=1)  # None: no limit
    min_tier: str | None = None


class CouponReward(_Reward):
    kind: Literal["coupon"]
    points_cost: PositivePoints
    value: Money  # in the programme currency


class DiscountReward(_Reward):
    """A discount bought with points: `points_per_unit` points per unit of the programme currency."""

    kind: Literal["discount"]
    points_per_unit: PositivePoints
    min_points: PositivePoints | None = None
    max_points: PositivePoints | None = None

    @model_validator(mode="after")
    def _bounds(self) -> DiscountReward:
        if self.min_points is not None and self.max_points is not None and self.min_points > self.max_points:
            raise ValueError("min_points must not exceed max_points")
        return self


class FreeShippingReward(_Reward):
    kind: Literal["free_shipping"]
    points_cost: PositivePoints


class PartnerReward(_Reward):
    kind: Literal["partner"]
    points_cost: PositivePoints
    partner: str = Field(min_length=1)


Reward = Annotated[CouponReward | DiscountReward | FreeShippingReward | PartnerReward,
                   Field(discriminator="kind")]


# --- the programme -------------------------------------------------------------------------------

class Programme(_Strict):
    name: str = Field(min_length=1)
    currency: str  # reporting currency: base earn rate, spend thresholds, point value, coupon values
    point_value: Money  # cost of one point in `currency`, for liability reports
    pending_days: int = Field(30, ge=0, le=365)
    qualification: Qualification = Qualification()
    tiers: tuple[Tier, ...] = Field(min_length=1)
    earn: Earn = Earn()
    expiry: Expiry = Expiry()
    rewards: tuple[Reward, ...] = ()

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str) -> str:
        return validate_currency_code(value)

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        problems = self._tier_problems() + self._reward_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _tier_problems(self) -> list[str]:
        problems = []
        if self.tiers[0].threshold != 0:
            problems.append("tiers[0].threshold: the first tier's threshold must be 0")
        seen: set[str] = set()
        for number, tier in enumerate(self.tiers):
            if tier.name in seen:
                problems.append(f"tiers[{number}].name: '{tier.name}' is used twice")
            seen.add(tier.name)
            if self.qualification.basis == "points" and tier.threshold != tier.threshold.to_integral_value():
                problems.append(f"tiers[{number}].threshold: qualifying points must be a whole number")
            if number and tier.threshold <= self.tiers[number - 1].threshold:
                problems.append(f"tiers[{number}].threshold: must be above tiers[{number - 1}].threshold "
                                f"({self.tiers[number - 1].threshold})")
        return problems

    def _reward_problems(self) -> list[str]:
        problems = []
        names = {tier.name for tier in self.tiers}
        ids: set[str] = set()
        for number, reward in enumerate(self.rewards):
            if reward.id in ids:
                problems.append(f"rewards[{number}].id: '{reward.id}' is used twice")
            ids.add(reward.id)
            if reward.min_tier is not None and reward.min_tier not in names:
                problems.append(f"rewards[{number}].min_tier: '{reward.min_tier}' is not a tier; "
                                f"choose from {', '.join(names)}")
        return problems

    def tier(self, name: str) -> Tier:
        """The tier called `name`; ValueError naming the tiers when there is none."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise ValueError(f"'{name}' is not a tier of this programme; choose from "
                         f"{', '.join(t.name for t in self.tiers)}")

    def tier_index(self, name: str) -> int:
        return self.tiers.index(self.tier(name))


def parse_programme(data: dict, *, where: str = "programme",
                    markets: tuple[str, ...] | None = None) -> Programme:
    """Validate an already-parsed programme file; `markets` defaults to the bundled markets file's."""
    if markets is None:
        markets = load_market_config().markets
    try:
        return Programme.model_validate(data, context={"markets": markets})
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_validation(exc)}") from None


def load_programme(path: Path | None = None, *, markets_path: Path | None = None) -> Programme:
    """Read and validate a programme TOML file (default: the bundled one), checking its market names
    against the markets file at `markets_path` (default: the bundled one)."""
    data, where = read_config_toml(path, bundled="programme.toml", kind="programme")
    return parse_programme(data, where=where, markets=load_market_config(markets_path).markets)


def programme_from_settings(settings: Settings | None = None) -> Programme:
    """The programme of the settings (`FIDELIS_PROGRAMME_FILE`, else the bundled example), with the
    market names checked against the settings' markets file."""
    settings = settings or get_settings()
    return load_programme(settings.programme_file, markets_path=settings.markets_file)
