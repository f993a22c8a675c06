from __future__ import annotations

import copy
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fidelis.errors import ConfigError
from fidelis.loyalty.programme import (
    Bonus,
    Campaign,
    CouponReward,
    DiscountReward,
    Earn,
    MarketRate,
    PartnerReward,
    Expiry,
    Programme,
    Qualification,
    Referral,
    Tier,
    load_programme,
    parse_programme,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "programme.md"


def test_the_bundled_programme_loads(programme: Programme) -> None:
    assert programme.currency == "EUR"
    assert [t.name for t in programme.tiers] == ["Silver", "Gold", "Platinum"]
    assert programme.tiers[0].threshold == 0
    assert programme.point_value == Decimal("0.01")
    assert programme.earn.markets["United Kingdom"].currency == "GBP"
    assert programme.expiry.after_months == 24
    assert isinstance(programme.rewards[0], CouponReward)
    assert programme.earn.campaigns[0].start == date(2025, 11, 11)


def test_a_file_given_by_path_loads_and_names_itself_in_errors(tmp_path: Path, bundled_data: dict) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "X"\ncurrency = "eur"\npoint_value = "0.01"\n'
                    '[[tiers]]\nname = "Base"\nthreshold = 0\n')
    programme = load_programme(path)
    assert programme.currency == "EUR" and programme.earn.points_per_unit == 1
    path.write_text('name = "X"\ncurrency = "EUR"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}: point_value: Field required")):
        load_programme(path)


def test_an_unreadable_or_invalid_toml_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read programme file"):
        load_programme(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[tiers\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_programme(tmp_path / "bad.toml")


def _set(path: str, value):
    """An edit that sets data[a][b][0][c] = value for path 'a.b.0.c' ('-' deletes the key)."""
    def edit(data: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        if value == "-":
            del node[last]
        else:
            node[last] = value
    return edit


@pytest.mark.parametrize(("edit", "message"), [
    (_set("tiers.1.threshold", 5000), "tiers[2].threshold: must be above tiers[1].threshold (5000)"),
    (_set("tiers.0.threshold", 10), "tiers[0].threshold: the first tier's threshold must be 0"),
    (_set("tiers.1.threshold", "1000.5"), "tiers[1].threshold: qualifying points must be a whole number"),
    (_set("tiers.1.multiplier", "0.5"), "tiers[1].multiplier: Input should be greater than or equal to 1"),
    (_set("tiers.2.name", "Gold"), "tiers[2].name: 'Gold' is used twice"),
    (_set("tiers.1.review", "weekly"), "tiers[1].review: Input should be 'monthly', 'quarterly' or 'yearly'"),
    (_set("tiers.1.colour", "gold"), "tiers[1].colour: Extra inputs are not permitted"),
    (_set("currency", "EURO"), "currency: 'EURO' is not an ISO 4217 currency code"),
    (_set("earn.markets.United Kingdom.currency", "XYZ"),
     "earn.markets.United Kingdom.currency: 'XYZ' is not an ISO 4217 currency code"),
    (_set("earn.markets.Britain", {"currency": "GBP", "points_per_unit": 1}),
     "earn.markets: unknown market 'Britain'"),
    (_set("earn.campaigns.0.markets", ["Asia"]), "earn.campaigns[0].markets: unknown market 'Asia'"),
    (_set("earn.campaigns.1.end", date(2025, 11, 1)),
     "earn.campaigns[1]: end 2025-11-01 is before start 2025-11-24"),
    (_set("earn.bonuses.0.points", 5), "earn.bonuses[0]: give exactly one of 'multiplier' or 'points'"),
    (_set("earn.bonuses.1.category", "Toys"), "earn.bonuses[1]: give exactly one of 'category' or 'sku'"),
    (_set("earn.points_per_unit", 0), "earn.points_per_unit: Input should be greater than 0"),
    (_set("earn.first_order_points", 10.5), "earn.first_order_points: Input should be a valid integer"),
    (_set("earn.referral.cap_period", "week"), "earn.referral.cap_period: Input should be"),
    (_set("expiry.inactivity_months", 12),
     "expiry: give at most one of 'after_months' or 'inactivity_months'"),
    (_set("rewards.0.points_cost", "-"), "rewards[0].coupon.points_cost: Field required"),
    (_set("rewards.0.kind", "cash"), "rewards[0]: Input tag 'cash' found using 'kind' does not match"),
    (_set("rewards.2.min_tier", "Diamond"), "rewards[2].min_tier: 'Diamond' is not a tier"),
    (_set("rewards.1.id", "coupon-5"), "rewards[1].id: 'coupon-5' is used twice"),
    (_set("pending_days", -1), "pending_days: Input should be greater than or equal to 0"),
])
def test_malformed_programmes_name_the_key(bundled_data: dict, edit, message: str) -> None:
    data = copy.deepcopy(bundled_data)
    edit(data)
    with pytest.raises(ConfigError) as error:
        parse_programme(data, where="p.toml")
    assert str(error.value).startswith("p.toml: ")
    assert message in str(error.value)


def test_market_names_are_checked_against_the_given_markets_file(tmp_path: Path, bundled_data: dict) -> None:
    markets = tmp_path / "markets.toml"
    markets.write_text('[markets.Home]\ncountries = ["DE"]\n')
    programme = tmp_path / "programme.toml"
    programme.write_text('name = "X"\ncurrency = "EUR"\npoint_value = 0.01\n[[tiers]]\nname = "Base"\n'
                         'threshold = 0\n[earn.markets.Home]\ncurrency = "EUR"\npoints_per_unit = 2\n')
    assert load_programme(programme, markets_path=markets).earn.markets["Home"].points_per_unit == 2
    with pytest.raises(ConfigError, match="unknown market 'Home'"):
        load_programme(programme)


def test_the_programme_is_frozen(programme: Programme) -> None:
    with pytest.raises(ValueError):
        programme.currency = "USD"  # type: ignore[misc]


@pytest.mark.parametrize("model", [Programme, Qualification, Tier, Earn, MarketRate, Bonus, Campaign,
                                   Referral, Expiry, CouponReward, DiscountReward, PartnerReward])
def test_every_key_is_documented(model) -> None:
    doc = DOC.read_text(encoding="utf-8")
    for key in model.model_fields:
        assert f"`{key}`" in doc, f"docs/programme.md does not document `{key}` ({model.__name__})"


def test_the_setting_names_the_programme_file(tmp_path, monkeypatch) -> None:
    from fidelis.config import Settings
    from fidelis.loyalty.programme import programme_from_settings

    bundled = programme_from_settings(Settings(environment="test"))
    custom = tmp_path / "programme.toml"
    custom.write_text((Path(__file__).resolve().parents[3] / "src/fidelis/data/programme.toml")
                      .read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("FIDELIS_PROGRAMME_FILE", str(custom))
    assert Settings(environment="test").programme_file == custom
    assert programme_from_settings(Settings(environment="test")) == bundled
    custom.write_text("[tiers]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(custom))):
        programme_from_settings(Settings(environment="test"))
