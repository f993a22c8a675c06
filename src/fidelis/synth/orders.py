"""From purchases to order lines: guests, currencies, line splits, returns and dirty rows.

Rows are kept as a dict of equally long numpy arrays (one per column, codes instead of strings);
`fidelis.synth.writer` turns them into text only when writing, chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fidelis.synth.catalogue import Catalogue
from fidelis.synth.fx import FxMatrix
from fidelis.synth.identity import NameTable, draw_names
from fidelis.synth.markets import COUNTRIES, minor_unit_digits
from fidelis.synth.model import SECONDS_PER_DAY, Purchases, Window, group_starts
from fidelis.synth.params import SynthParams

Rows = dict[str, np.ndarray]

SALE, RETURN = 0, 1
ORDER_KINDS = ("sale", "return")
CHANNELS = ("web", "app", "marketplace")
PHONE_FORMS = ("e164", "international", "national")
DIRTY_KINDS = ("zero_unit_price", "negative_quantity", "duplicate_line", "unknown_country", "orphan_return")
_MAX_SKU_REDRAWS = 50


@dataclass(frozen=True)
class Currencies:
    """Currencies used, with per-country index and minor-unit scale (10**decimals)."""

    codes: tuple[str, ...]
    scale: np.ndarray  # int64 per currency
    of_country: np.ndarray  # per country
    euro_from: np.ndarray  # per country: datetime64[M] from which it prices in EUR (NaT = never)
    reporting: int  # index of the reporting currency


@dataclass(frozen=True)
class Orders:
    """Sale orders in time order; `number` is the order number written as O<number>."""

    number: np.ndarray
    at_s: np.ndarray
    customer: np.ndarray  # -1 for guests
    purchase: np.ndarray  # index into Purchases; -1 for guests
    country: np.ndarray
    currency: np.ndarray
    value: np.ndarray  # reporting currency
    name: np.ndarray  # index into NameTable.names
    channel: np.ndarray
    email_case: np.ndarray  # 0 lower, 1 title case, 2 upper case
    email_padded: np.ndarray  # bool: surrounding spaces
    phone_form: np.ndarray  # index into PHONE_FORMS
    country_text: np.ndarray  # index into the country spelling table

    def __len__(self) -> int:
        return len(self.number)


def country_spellings() -> tuple[list[str], np.ndarray, np.ndarray]:
    """The table of country texts (ISO code, then names, per country; 'Atlantis' last), the index
    of each country's ISO code in it and the number of names following it."""
    texts: list[str] = []
    first, names = [], []
    for country in COUNTRIES:
        first.append(len(texts))
        texts.extend((country.iso2, *country.names))
        names.append(len(country.names))
    texts.append("Atlantis")
    return texts, np.array(first), np.array(names)


def currencies_for(reporting: str) -> Currencies:
    """Currencies of all countries plus EUR and the reporting currency."""
    codes = tuple(dict.fromkeys([c.currency for c in COUNTRIES] + ["EUR", reporting]))
    scale = np.array([10 ** minor_unit_digits(c) for c in codes], np.int64)
    of_country = np.array([codes.index(c.currency) for c in COUNTRIES])
    euro_from = np.array([np.datetime64(c.euro_from_month or "NaT", "M") for c in COUNTRIES])
    return Currencies(codes, scale, of_country, euro_from, codes.index(reporting))


def build_orders(
    rng: np.random.Generator,
    purchases: Purchases,
    customer_country: np.ndarray,
    customer_name: np.ndarray,
    guest_count: int,
    names: NameTable,
    params: SynthParams,
    window: Window,
    country_weights: np.ndarray,
) -> Orders:
    """Customers' purchases plus one-off guest orders, in time order, with per-order attributes."""
    g_country = rng.choice(len(country_weights), size=guest_count, p=country_weights).astype(np.int16)
    g_at = window.start_s + np.floor(rng.random(guest_count) * window.length_s).astype(np.int64)
    g_nu = rng.gamma(params.q, 1.0 / params.gamma, size=guest_count)
    g_value = rng.gamma(params.p, 1.0 / g_nu)
    g_name = draw_names(rng, g_country, names).name_index
    customer = np.concatenate([purchases.customer, np.full(guest_count, -1)])
    at_s = np.concatenate([purchases.at_s, g_at])
    order = np.argsort(at_s, kind="stable")
    customer = customer[order]
    country = np.concatenate([customer_country[purchases.customer], g_country])[order]
    n = len(order)
    _, first_text, name_count = country_spellings()
    use_name = rng.random(n) < params.country_name_fraction
    which_name = 1 + np.floor(rng.random(n) * name_count[country]).astype(np.int64)
    case_draw = rng.random(n)
    return Orders(
        number=np.arange(1, n + 1, dtype=np.int64),
        at_s=at_s[order],
        customer=customer,
        purchase=np.concatenate([np.arange(len(purchases.customer)), np.full(guest_count, -1)])[order],
        country=country,
        currency=np.zeros(n, np.int16),  # replaced with convert_values' result
        value=np.concatenate([purchases.value, g_value])[order],
        name=np.concatenate([customer_name[purchases.customer], g_name])[order],
        channel=rng.choice(len(CHANNELS), size=n, p=params.channel_probs).astype(np.int8),
        email_case=np.where(case_draw < params.mixed_case_email_fraction * 0.7, 1,
                            np.where(case_draw < params.mixed_case_email_fraction, 2, 0)).astype(np.int8),
        email_padded=rng.random(n) < params.padded_email_fraction,
        phone_form=rng.choice(3, size=n, p=_phone_form_probs(params)).astype(np.int8),
        country_text=(first_text[country] + np.where(use_name, which_name, 0)).astype(np.int16),
    )


def _phone_form_probs(params: SynthParams) -> list[float]:
    local = params.national_phone_fraction + params.spaced_phone_fraction
    return [1.0 - local, params.spaced_phone_fraction, params.national_phone_fraction]


def convert_values(orders: Orders, currencies: Currencies, fx: FxMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(currency index, value in local minor units) per order, at the rate of the order's month."""
    month = orders.at_s.astype("datetime64[s]").astype("datetime64[M]")
    euro_from = currencies.euro_from[orders.country]
    in_euro = ~np.isnat(euro_from) & (month >= euro_from)
    currency = np.where(in_euro, currencies.codes.index("EUR"), currencies.of_country[orders.country])
    local = orders.value * fx.rate(month, currency) * currencies.scale[currency]
    return currency.astype(np.int16), np.maximum(np.rint(local), 1).astype(np.int64)


def build_lines(
    rng: np.random.Generator, orders: Orders, value_minor: np.ndarray, catalogue: Catalogue, params: SynthParams
) -> tuple[Rows, np.ndarray]:
    """Split every order into 1-5 lines of distinct SKUs whose amounts add up to about its value.

    Unit prices are whole minor units and line_amount = quantity * unit_price exactly, so an
    order's total is the sum of its lines (within rounding of the drawn value).
    """
    n_lines = 1 + rng.choice(len(params.lines_per_order_probs), size=len(orders), p=params.lines_per_order_probs)
    owner = np.repeat(np.arange(len(orders)), n_lines)
    weight = rng.gamma(params.line_split_concentration, size=len(owner))
    share = weight / np.add.reduceat(weight, group_starts(n_lines))[owner]
    quantity = 1 + rng.choice(len(params.quantity_probs), size=len(owner), p=params.quantity_probs)
    unit = np.maximum(np.rint(value_minor[owner] * share / quantity), 1).astype(np.int64)
    sku = distinct_skus(rng, owner, catalogue)
    rows = _order_fields(orders, owner)
    rows.update(kind=np.full(len(owner), SALE, np.int8), sku=sku, qty=quantity.astype(np.int32),
                unit_minor=unit, amount_minor=unit * quantity)
    return rows, owner


def _order_fields(orders: Orders, index: np.ndarray) -> Rows:
    """Row columns that come from the order."""
    return {
        "at_s": orders.at_s[index], "order_num": orders.number[index], "customer": orders.customer[index],
        "name": orders.name[index], "country": orders.country[index], "country_text": orders.country_text[index],
        "currency": orders.currency[index], "channel": orders.channel[index],
        "email_case": orders.email_case[index], "email_padded": orders.email_padded[index],
        "phone_form": orders.phone_form[index],
    }


def distinct_skus(rng: np.random.Generator, owner: np.ndarray, catalogue: Catalogue) -> np.ndarray:
    """SKUs by popularity, redrawn until no order has the same SKU on two lines.

    Only lines of orders that still have a repeat are redrawn, so the rounds get cheap quickly.
    """
    size = len(catalogue)
    sku = draw_skus(rng, catalogue, len(owner))
    candidates = np.arange(len(owner))
    for _ in range(_MAX_SKU_REDRAWS):
        key = owner[candidates].astype(np.int64) * size + sku[candidates]
        order = np.argsort(key, kind="stable")
        repeated = np.zeros(len(candidates), bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not repeated.any():
            return sku
        redo = candidates[repeated]
        sku[redo] = draw_skus(rng, catalogue, len(redo))
        candidates = candidates[np.isin(owner[candidates], owner[redo])]
    raise RuntimeError("could not give every order distinct SKUs; the catalogue is too small")


def draw_skus(rng: np.random.Generator, catalogue: Catalogue, k: int) -> np.ndarray:
    """k SKU indices drawn by popularity."""
    cdf = np.cumsum(catalogue.popularity)
    return np.minimum(np.searchsorted(cdf, rng.random(k), side="right"), len(catalogue) - 1).astype(np.int32)


def build_returns(
    rng: np.random.Generator, sales: Rows, owner: np.ndarray, n_orders: int, catalogue: Catalogue,
    params: SynthParams, window: Window,
) -> tuple[Rows, np.ndarray]:
    """Full-line returns, all of an order's returned lines together, some days after the sale.

    Returns falling after the window are not written (they have not happened yet).
    """
    chance = np.minimum(params.return_line_fraction * catalogue.return_propensity[sales["sku"]], 1.0)
    returned = rng.random(len(owner)) < chance
    delay_s = rng.uniform(params.return_min_days, params.return_max_days, n_orders) * SECONDS_PER_DAY
    at_s = sales["at_s"] + delay_s.astype(np.int64)[owner]
    keep = np.flatnonzero(returned & (at_s < window.end_s))
    rows = take_rows(sales, keep)
    rows.update(kind=np.full(len(keep), RETURN, np.int8), at_s=at_s[keep], qty=-rows["qty"],
                amount_minor=-rows["amount_minor"])
    returned_orders = np.zeros(n_orders, bool)
    returned_orders[owner[keep]] = True
    return rows, returned_orders


def dirty_count_per_kind(sale_lines: int, customers: int, params: SynthParams) -> int:
    """How many rows of each dirty kind: the fraction split over kinds, at least 1 from 100 customers."""
    count = int(round(params.dirty_line_fraction * sale_lines / len(DIRTY_KINDS)))
    return max(count, 1) if customers >= 100 else count


def build_dirty_rows(
    rng: np.random.Generator, sales: Rows, per_kind: int, first_free_number: int, currencies: Currencies,
    names: NameTable, catalogue: Catalogue, params: SynthParams, window: Window,
) -> tuple[Rows, dict[str, int]]:
    """Rows a loader must reject or repair, `per_kind` of each of DIRTY_KINDS.

    They never create or remove a customer's purchase: extra lines go into existing orders, the
    unknown-country orders are guest orders, and orphan returns refund orders that do not exist.
    """
    k = per_kind
    if k == 0:
        return take_rows(sales, np.zeros(0, np.int64)), dict.fromkeys(DIRTY_KINDS, 0)
    customer_lines = np.flatnonzero(sales["customer"] >= 0)
    picked = rng.choice(customer_lines, size=min(4 * k, len(customer_lines)), replace=False)
    zero, negative, duplicate, orphan = (take_rows(sales, picked[i * k:(i + 1) * k]) for i in range(4))
    zero.update(sku=draw_skus(rng, catalogue, len(zero["sku"])),
                qty=np.ones(len(zero["sku"]), np.int32), unit_minor=np.zeros(len(zero["sku"]), np.int64),
                amount_minor=np.zeros(len(zero["sku"]), np.int64))
    neg_qty = -rng.integers(1, 3, len(negative["sku"])).astype(np.int32)
    negative.update(sku=draw_skus(rng, catalogue, len(neg_qty)), qty=neg_qty,
                    amount_minor=neg_qty * negative["unit_minor"])
    orphan_numbers = first_free_number + k + np.arange(len(orphan["sku"]), dtype=np.int64)
    orphan.update(kind=np.full(len(orphan_numbers), RETURN, np.int8), order_num=orphan_numbers,
                  qty=-orphan["qty"], amount_minor=-orphan["amount_minor"],
                  at_s=window.start_s + np.floor(rng.random(len(orphan_numbers)) * window.length_s).astype(np.int64))
    atlantis = _unknown_country_orders(rng, k, first_free_number, currencies, names, catalogue, params, window)
    parts = {"zero_unit_price": zero, "negative_quantity": negative, "duplicate_line": duplicate,
             "unknown_country": atlantis, "orphan_return": orphan}
    return concat_rows(list(parts.values())), {kind: len(rows["sku"]) for kind, rows in parts.items()}


def _unknown_country_orders(
    rng: np.random.Generator, k: int, first_number: int, currencies: Currencies, names: NameTable,
    catalogue: Catalogue, params: SynthParams, window: Window,
) -> Rows:
    """One-line guest orders from 'Atlantis', priced in the reporting currency."""
    scale = currencies.scale[currencies.reporting]
    value = rng.gamma(params.p, 1.0 / rng.gamma(params.q, 1.0 / params.gamma, k))
    unit = np.maximum(np.rint(value * scale), 1).astype(np.int64)
    name_country = rng.integers(0, len(COUNTRIES), k).astype(np.int16)
    texts, _, _ = country_spellings()
    return {
        "at_s": window.start_s + np.floor(rng.random(k) * window.length_s).astype(np.int64),
        "order_num": first_number + np.arange(k, dtype=np.int64), "customer": np.full(k, -1, np.int64),
        "name": draw_names(rng, name_country, names).name_index, "country": np.full(k, len(COUNTRIES), np.int16),
        "country_text": np.full(k, len(texts) - 1, np.int16),
        "currency": np.full(k, currencies.reporting, np.int16),
        "channel": rng.integers(0, len(CHANNELS), k).astype(np.int8), "email_case": np.zeros(k, np.int8),
        "email_padded": np.zeros(k, bool), "phone_form": np.zeros(k, np.int8), "kind": np.full(k, SALE, np.int8),
        "sku": draw_skus(rng, catalogue, k),
        "qty": np.ones(k, np.int32), "unit_minor": unit, "amount_minor": unit,
    }


def take_rows(rows: Rows, index: np.ndarray) -> Rows:
    """The given rows of every column."""
    return {name: column[index] for name, column in rows.items()}


def concat_rows(parts: list[Rows]) -> Rows:
    """Rows of all parts, in order (columns matched by name)."""
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def sort_rows(rows: Rows) -> Rows:
    """Rows in time order; ties keep their order (an order's lines stay together, duplicates follow)."""
    order = np.argsort(rows["at_s"], kind="stable")
    return {name: column[order] for name, column in rows.items()}
