"""The analytics file: segment rules, value tiers, lifecycle windows, clusters, loyalty index, targets.

The defaults ship as `fidelis/data/analytics.toml`; `FIDELIS_ANALYTICS_FILE` replaces the whole file.
Validation is pydantic's, and every error names the key (`targets[2].lift: ...`) so that an
operator can fix the file without reading code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fidelis.analytics.metrics import TARGETABLE_METRICS, Period
from fidelis.analytics.periods import is_period_label, parse_period_label
from fidelis.domain.markets import UNKNOWN_MARKET
from fidelis.domain.money import validate_currency_code
from fidelis.errors import ConfigError
from fidelis.tomlfiles import describe_validation, read_config_toml

SCORES = range(1, 6)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueTiers(_Strict):
    high_above: float = Field(500, ge=0, description="net value above this is 'high'")
    low_below: float = Field(200, ge=0, description="net value below this is 'low'")

    @model_validator(mode="after")
    def _ordered(self) -> ValueTiers:
        if self.low_below > self.high_above:
            raise ValueError("low_below must not exceed high_above")
        return self


class Lifecycle(_Strict):
    new_days: int = Field(30, ge=0)
    active_days: int = Field(90, ge=1)
    at_risk_days: int = Field(180, ge=1)
    dormant_days: int = Field(365, ge=1)

    @model_validator(mode="after")
    def _increasing(self) -> Lifecycle:
        if not self.active_days <= self.at_risk_days <= self.dormant_days:
            raise ValueError("windows must satisfy active_days <= at_risk_days <= dormant_days")
        return self


class SegmentRule(_Strict):
    name: str = Field(min_length=1)
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int] = (1, 5)

    @field_validator("r", "f", "m")
    @classmethod
    def _score_range(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        low, high = bounds
        if not (1 <= low <= high <= 5):
            raise ValueError("must be [low, high] with 1 <= low <= high <= 5")
        return bounds

    def matches(self, r: int, f: int, m: int) -> bool:
        return self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1] and self.m[0] <= m <= self.m[1]


class Clusters(_Strict):
    k: int = Field(4, ge=2, le=20)
    seed: int = Field(7, ge=0)


class LoyaltyIndex(_Strict):
    clv_scale: float = Field(500, gt=0)
    weights: dict[Literal["repeat_purchase_rate", "clv_historical", "csat", "nps", "retention_rate",
                          "active_rate"], float] = Field(
        default_factory=lambda: {"repeat_purchase_rate": 0.3, "clv_historical": 0.3, "csat": 0.2, "nps": 0.2})

    @field_validator("weights")
    @classmethod
    def _positive(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError("needs at least one weight, none negative, summing to more than 0")
        return weights


class RiskBands(_Strict):
    """Churn probability thresholds: below `watch_from` is 'low', below `at_risk_from` 'watch', else 'at risk'."""

    watch_from: float = Field(0.4, gt=0, lt=1)
    at_risk_from: float = Field(0.7, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> RiskBands:
        if self.watch_from >= self.at_risk_from:
            raise ValueError("watch_from must be below at_risk_from")
        return self


class Models(_Strict):
    """Defaults of the CLV and churn models (each has a command-line option that overrides it)."""

    clv_model: Literal["bgnbd", "pareto-nbd"] = "bgnbd"
    clv_horizon_days: int = Field(365, ge=1, le=3650)
    discount_rate_annual: float = Field(0.10, ge=0, lt=1)
    margin: float = Field(1.0, gt=0, le=1, description="share of revenue that is profit, for CLV")
    churn_horizon_days: int = Field(90, ge=1, le=730)
    risk_bands: RiskBands = RiskBands()
    at_risk_list_size: int = Field(25, ge=1, le=100_000)


class Target(_Strict):
    market: str = Field(min_length=1)
    metric: str
    period: Period = "quarter"
    lift: float | None = Field(None, gt=-1)
    value: float | None = None
    baseline_period: str | None = None
    deadline: date | None = None
    benchmark: float | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if metric not in TARGETABLE_METRICS:
            raise ValueError(f"'{metric}' is not a KPI; choose one of {', '.join(TARGETABLE_METRICS)}")
        return metric

    @field_validator("baseline_period")
    @classmethod
    def _label(cls, label: str | None) -> str | None:
        if label is not None and not is_period_label(label):
            raise ValueError("must look like 2024, 2024-Q1 or 2024-03")
        return label

    @model_validator(mode="after")
    def _one_goal(self) -> Target:
        if (self.lift is None) == (self.value is None):
            raise ValueError("give exactly one of 'lift' (relative) or 'value' (absolute)")
        if self.baseline_period is not None and parse_period_label(self.baseline_period)[1] != self.period:
            raise ValueError(f"baseline_period '{self.baseline_period}' is not a {self.period}")
        return self


class AnalyticsConfig(_Strict):
    currency: str | None = None  # of the amounts in this file (value tiers, clv_scale); None: the warehouse's
    value_tiers: ValueTiers = ValueTiers()
    lifecycle: Lifecycle = Lifecycle()
    rfm_segments: tuple[SegmentRule, ...]
    clusters: Clusters = Clusters()
    loyalty_index: LoyaltyIndex = LoyaltyIndex()
    models: Models = Models()
    targets: tuple[Target, ...] = ()

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return validate_currency_code(value) if value is not None else None

    @model_validator(mode="after")
    def _rules_cover_every_score(self) -> AnalyticsConfig:
        for r in SCORES:
            for f in SCORES:
                for m in SCORES:
                    if not any(rule.matches(r, f, m) for rule in self.rfm_segments):
                        raise ValueError(f"rfm_segments: no rule matches r={r}, f={f}, m={m}")
        return self

    def checked_for(self, reporting_currency: str, markets: tuple[str, ...]) -> AnalyticsConfig:
        """The config, refused when its amounts are in another currency than the warehouse's or a
        target names a market that the markets file does not define (a typo would read as no data)."""
        if self.currency is not None and self.currency != reporting_currency:
            raise ConfigError(
                f"currency is {self.currency} but the warehouse reports in {reporting_currency}; "
                "restate value_tiers and loyalty_index.clv_scale in the reporting currency")
        known = set(markets) | {UNKNOWN_MARKET}
        for number, target in enumerate(self.targets):
            if target.market not in known:
                raise ConfigError(f"targets[{number}].market: '{target.market}' is not a market; "
                                  f"choose one of {', '.join(markets)}")
        return self


def load_analytics_config(path: Path | None = None) -> AnalyticsConfig:
    """Read and validate an analytics TOML file (default: the bundled one)."""
    data, where = read_config_toml(path, bundled="analytics.toml", kind="analytics")
    try:
        return AnalyticsConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_validation(exc)}") from None
