"""Parameters of the synthetic data generator, with defaults that give realistic-looking data.

Model parameters use the papers' notation so that they can be compared with fitted values:
BG/NBD (Fader, Hardie & Lee 2005) `r`, `alpha` (days), `a`, `b`; Gamma-Gamma (Fader, Hardie &
Lee 2005, "RFM and CLV") `p`, `q`, `gamma` (reporting currency). With the defaults a customer makes
about 4 purchases over the default three-year window, an order has 2.5 lines on average (about 10
order lines per customer) and the mean order value is p*gamma/(q-1) = 80 USD.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SynthParams:
    """Everything that shapes the generated data except customer count, seed and window."""

    # BG/NBD: lambda ~ Gamma(shape=r, rate=alpha) per day; dropout p ~ Beta(a, b).
    r: float = 0.75
    alpha: float = 60.0
    a: float = 0.8
    b: float = 2.5
    # Gamma-Gamma: nu ~ Gamma(shape=q, rate=gamma); order value z ~ Gamma(shape=p, rate=nu).
    p: float = 6.0
    q: float = 4.0
    gamma: float = 40.0
    reporting_currency: str = "USD"

    # Order shape
    lines_per_order_probs: tuple[float, ...] = (0.30, 0.25, 0.20, 0.15, 0.10)  # 1..5 lines
    quantity_probs: tuple[float, ...] = (0.75, 0.18, 0.07)  # quantity 1..3
    line_split_concentration: float = 2.0  # Dirichlet parameter splitting an order's value over lines
    catalogue_size: int = 500
    channel_probs: tuple[float, float, float] = (0.5, 0.3, 0.2)  # web, app, marketplace

    # Other order kinds
    guest_order_fraction: float = 0.03  # of all sale orders
    return_line_fraction: float = 0.06  # of sale lines (before dropping returns after the window)
    return_min_days: float = 3.0
    return_max_days: float = 40.0
    dirty_line_fraction: float = 1e-4  # of sale lines, split evenly over the five dirty kinds

    # Feedback
    feedback_order_fraction: float = 0.20  # of customers' sale orders
    feedback_min_days: float = 1.0
    feedback_max_days: float = 14.0
    feedback_text_fraction: float = 0.75  # the others leave the text empty
    feedback_missing_score_fraction: float = 0.10  # csat and rating each left empty this often
    local_language_fraction: float = 0.85  # feedback in the market's language; otherwise English

    # Messy identity data
    country_name_fraction: float = 0.35  # orders writing the country as a name instead of ISO code
    mixed_case_email_fraction: float = 0.10
    padded_email_fraction: float = 0.08  # surrounding spaces
    no_phone_fraction: float = 0.08  # customers without a phone number
    national_phone_fraction: float = 0.10  # orders with the phone in national format
    spaced_phone_fraction: float = 0.10  # orders with "+49 1512 3456789" style

    def __post_init__(self) -> None:
        for name in ("r", "alpha", "a", "b", "p", "q", "gamma", "line_split_concentration"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SynthParams.{name} must be > 0, got {getattr(self, name)}")
        if self.q <= 1:
            raise ValueError("SynthParams.q must be > 1 so that the mean order value p*gamma/(q-1) exists")
        for name in ("lines_per_order_probs", "quantity_probs", "channel_probs"):
            probs = getattr(self, name)
            if any(x < 0 for x in probs) or not math.isclose(sum(probs), 1.0, abs_tol=1e-9):
                raise ValueError(f"SynthParams.{name} must be non-negative and sum to 1, got {probs}")
        for name in self._fraction_names():
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SynthParams.{name} must be within [0, 1], got {getattr(self, name)}")
        if self.guest_order_fraction >= 1.0:
            raise ValueError("SynthParams.guest_order_fraction must be < 1")
        if not 0 <= self.return_min_days <= self.return_max_days:
            raise ValueError("SynthParams needs 0 <= return_min_days <= return_max_days")
        if not 0 <= self.feedback_min_days <= self.feedback_max_days:
            raise ValueError("SynthParams needs 0 <= feedback_min_days <= feedback_max_days")
        if self.national_phone_fraction + self.spaced_phone_fraction > 1.0:
            raise ValueError("SynthParams: national_phone_fraction + spaced_phone_fraction must be <= 1")
        if self.catalogue_size < 10:
            raise ValueError("SynthParams.catalogue_size must be at least 10")

    @staticmethod
    def _fraction_names() -> tuple[str, ...]:
        return ("guest_order_fraction", "return_line_fraction", "dirty_line_fraction", "feedback_order_fraction",
                "feedback_text_fraction", "feedback_missing_score_fraction", "local_language_fraction",
                "country_name_fraction", "mixed_case_email_fraction", "padded_email_fraction",
                "no_phone_fraction", "national_phone_fraction", "spaced_phone_fraction")

    def expected_values(self) -> dict[str, float]:
        """Population means implied by the parameters, for comparison with the data."""
        return {
            "mean_lambda_per_day": self.r / self.alpha,
            "mean_p": self.a / (self.a + self.b),
            "mean_transaction_value": self.p * self.gamma / (self.q - 1),
            "mean_lines_per_order": sum((i + 1) * w for i, w in enumerate(self.lines_per_order_probs)),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of every parameter."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
