"""From purchases to order lines: guests, currencies, line splits, returns and dirty rows.

Memory matters at millions of rows, so data is kept normalised as numpy arrays of codes: `Orders`
holds one entry per order (who, where, which currency, how the e-mail was typed...), and `Rows`
(a dict of equally long arrays) holds per line only the order index, time, kind, SKU, quantity and
unit price. `fidelis.synth.writer` joins them into text only when writing, chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as fields_of

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
_TITLE_CASE_SHARE = 0.7  # of the mixed-case e-mails; the others are upper case


@dataclass(frozen=True)
class Currencies:
    """Currencies used, with per-country index and minor-unit scale (10**decimals)."""

    codes: tuple[str, ...]
    scale: np.ndarray  # int64 per currency
    of_country: np.ndarray  # per country
    reporting: int  # index of the reporting currency


@dataclass(frozen=True)
class Orders:
    """Orders in time order; order i is written as O<number[i]> (number = i + 1).

    The sale orders come first; the generator appends (`concat_orders`) the unknown-country orders
    and the never-written orders that orphan returns refer to, both made by `build_dirty_rows`.
    """

    number: np.ndarray
    at_s: np.ndarray
    customer: np.ndarray  # -1 for guests
    country: np.ndarray  # index into COUNTRIES; len(COUNTRIES) = unknown
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
    """Currencies of all countries plus the reporting currency."""
    codes = tuple(dict.fromkeys([c.currency for c in COUNTRIES] + [reporting]))
    scale = np.array([10 ** minor_unit_digits(c) for c in codes], np.int64)
    of_country = np.array([codes.index(c.currency) for c in COUNTRIES])
    return Currencies(codes, scale, of_country, codes.index(reporting))


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
    customer = np.concatenate([purchases.customer, np.full(guest_count, -1)]).astype(np.int32)
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
        country=country,
        currency=np.zeros(n, np.int16),  # replaced with convert_values' result
        value=np.concatenate([purchases.value, g_value])[order],
        name=np.concatenate([customer_name[purchases.customer], g_name])[order].astype(np.int32),
        channel=rng.choice(len(CHANNELS), size=n, p=params.channel_probs).astype(np.int8),
        email_case=np.where(case_draw < params.mixed_case_email_fraction * _TITLE_CASE_SHARE, 1,
                            np.where(case_draw < params.mixed_case_email_fraction, 2, 0)).astype(np.int8),
        email_padded=rng.random(n) < params.padded_email_fraction,
        phone_form=rng.choice(3, size=n, p=_phone_form_probs(params)).astype(np.int8),
        country_text=(first_text[country] + np.where(use_name, which_name, 0)).astype(np.int16),
    )


def _phone_form_probs(params: SynthParams) -> list[float]:
    local = params.national_phone_fraction + params.spaced_phone_fraction
    return [1.0 - local, params.spaced_phone_fraction, params.national_phone_fraction]


def check_fx_coverage(fx: FxMatrix, currencies: Currencies) -> None:
    """Fail before any work if a country's currency lacks a rate in some month of the window."""
    months = fx.first_month + np.arange(fx.rates.shape[0])
    for currency in np.unique(currencies.of_country):
        fx.rate(months, np.full(len(months), currency))


def convert_values(orders: Orders, currencies: Currencies, fx: FxMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(currency index, value in local minor units) per order, at the rate of the order's month."""
    month = orders.at_s.astype("datetime64[s]").astype("datetime64[M]")
    currency = currencies.of_country[orders.country]
    local = orders.value * fx.rate(month, currency) * currencies.scale[currency]
    return currency.astype(np.int16), np.maximum(np.rint(local), 1).astype(np.int64)


def build_lines(
    rng: np.random.Generator, orders: Orders, value_minor: np.ndarray, catalogue: Catalogue, params: SynthParams
) -> Rows:
    """Split every order into 1-5 lines of distinct SKUs whose amounts add up to about its value.

    Unit prices are whole minor units and line_amount = quantity * unit_price exactly, so an
    order's total is the sum of its lines (within rounding of the drawn value).
    """
    n_lines = 1 + rng.choice(len(params.lines_per_order_probs), size=len(orders), p=params.lines_per_order_probs)
    owner = np.repeat(np.arange(len(orders), dtype=np.int32), n_lines)
    share = rng.gamma(params.line_split_concentration, size=len(owner))
    share /= np.add.reduceat(share, group_starts(n_lines))[owner]
    quantity = (1 + rng.choice(len(params.quantity_probs), size=len(owner), p=params.quantity_probs)).astype(np.int16)
    share *= value_minor[owner]
    share /= quantity
    unit = np.maximum(np.rint(share), 1).astype(np.int64)
    del share
    sku = distinct_skus(rng, owner, catalogue, len(params.lines_per_order_probs))
    return {"order": owner, "at_s": orders.at_s[owner], "kind": np.full(len(owner), SALE, np.int8), "sku": sku,
            "qty": quantity, "unit_minor": unit}


def distinct_skus(rng: np.random.Generator, owner: np.ndarray, catalogue: Catalogue, max_lines: int) -> np.ndarray:
    """SKUs by popularity, redrawn until no order has the same SKU on two lines.

    An order's lines are contiguous, so a repeat is a match with one of the previous
    `max_lines - 1` lines of the same order. Only orders that still have a repeat are looked at
    again, so the rounds get cheap quickly.
    """
    sku = draw_skus(rng, catalogue, len(owner))
    candidates = np.arange(len(owner))
    for _ in range(_MAX_SKU_REDRAWS):
        own, drawn = owner[candidates], sku[candidates]
        repeated = np.zeros(len(candidates), bool)
        for shift in range(1, max_lines):
            repeated[shift:] |= (own[shift:] == own[:-shift]) & (drawn[shift:] == drawn[:-shift])
        if not repeated.any():
            return sku
        redo = candidates[repeated]
        sku[redo] = draw_skus(rng, catalogue, len(redo))
        candidates = candidates[np.isin(own, owner[redo])]
    raise RuntimeError("could not give every order distinct SKUs; the catalogue is too small")


def draw_skus(rng: np.random.Generator, catalogue: Catalogue, k: int) -> np.ndarray:
    """k SKU indices drawn by popularity."""
    cdf = np.cumsum(catalogue.popularity)
    return np.minimum(np.searchsorted(cdf, rng.random(k), side="right"), len(catalogue) - 1).astype(np.int32)


def build_returns(
    rng: np.random.Generator, sales: Rows, n_orders: int, catalogue: Catalogue, params: SynthParams,
    window: Window,
) -> tuple[Rows, np.ndarray]:
    """Full-line returns, all of an order's returned lines together, some days after the sale.

    Returns falling after the window are not written (they have not happened yet). Also returns
    which orders had a return.
    """
    chance = np.minimum(params.return_line_fraction * catalogue.return_propensity[sales["sku"]], 1.0)
    returned = np.flatnonzero(rng.random(len(chance)) < chance)
    delay_s = (rng.uniform(params.return_min_days, params.return_max_days, n_orders) * SECONDS_PER_DAY)
    at_s = sales["at_s"][returned] + delay_s.astype(np.int64)[sales["order"][returned]]
    keep = at_s < window.end_s
    rows = take_rows(sales, returned[keep])
    rows.update(kind=np.full(int(keep.sum()), RETURN, np.int8), at_s=at_s[keep], qty=-rows["qty"])
    had_return = np.zeros(n_orders, bool)
    had_return[rows["order"]] = True
    return rows, had_return


def dirty_count_per_kind(sale_lines: int, customers: int, params: SynthParams) -> int:
    """How many rows of each dirty kind: the fraction split over kinds, at least 1 from 100 customers."""
    count = round(params.dirty_line_fraction * sale_lines / len(DIRTY_KINDS))
    return max(count, 1) if customers >= 100 else count


def build_dirty_rows(
    rng: np.random.Generator, sales: Rows, per_kind: int, orders: Orders, currencies: Currencies,
    names: NameTable, catalogue: Catalogue, params: SynthParams, window: Window,
) -> tuple[Rows, Orders, dict[str, int]]:
    """Rows a loader must reject or repair, `per_kind` of each of DIRTY_KINDS, and the orders to
    append for them (unknown-country orders, then the never-written orders orphans refer to).

    They never create or remove a customer's purchase: extra lines go into existing orders, the
    unknown-country orders are guest orders, and orphan returns refund orders that do not exist.
    """
    customer_lines = np.flatnonzero(orders.customer[sales["order"]] >= 0)
    k = min(per_kind, len(customer_lines) // 4)
    picked = rng.choice(customer_lines, size=4 * k, replace=False)
    zero, negative, duplicate, orphan = (take_rows(sales, picked[i * k:(i + 1) * k]) for i in range(4))
    zero.update(sku=draw_skus(rng, catalogue, k), qty=np.ones(k, np.int16), unit_minor=np.zeros(k, np.int64))
    negative.update(sku=draw_skus(rng, catalogue, k), qty=-rng.integers(1, 3, k).astype(np.int16))
    atlantis_orders = _unknown_country_orders(rng, k, len(orders), currencies, names, params, window)
    atlantis = {"order": len(orders) + np.arange(k, dtype=np.int32), "at_s": atlantis_orders.at_s,
                "kind": np.full(k, SALE, np.int8), "sku": draw_skus(rng, catalogue, k), "qty": np.ones(k, np.int16),
                "unit_minor": np.maximum(np.rint(atlantis_orders.value * currencies.scale[currencies.reporting]),
                                         1).astype(np.int64)}
    orphan_orders = _take_orders(orders, orphan["order"], first_number=len(orders) + k + 1)
    orphan.update(order=len(orders) + k + np.arange(k, dtype=np.int32), kind=np.full(k, RETURN, np.int8),
                  qty=-orphan["qty"], at_s=_orphan_times(rng, orphan["at_s"], params, window))
    parts = {"zero_unit_price": zero, "negative_quantity": negative, "duplicate_line": duplicate,
             "unknown_country": atlantis, "orphan_return": orphan}
    extra_orders = concat_orders([atlantis_orders, orphan_orders])
    return concat_rows(list(parts.values())), extra_orders, {kind: len(r["order"]) for kind, r in parts.items()}


def _orphan_times(rng: np.random.Generator, sale_s: np.ndarray, params: SynthParams, window: Window) -> np.ndarray:
    """A return delay after the copied sale line, or the sale's own time where that would leave the
    window (the row must be rejected for its orphan id, not for its date)."""
    at_s = sale_s + (rng.uniform(params.return_min_days, params.return_max_days, len(sale_s))
                     * SECONDS_PER_DAY).astype(np.int64)
    return np.where(at_s < window.end_s, at_s, sale_s)


def _uniform_times(rng: np.random.Generator, k: int, window: Window) -> np.ndarray:
    return window.start_s + np.floor(rng.random(k) * window.length_s).astype(np.int64)


def _unknown_country_orders(
    rng: np.random.Generator, k: int, first_index: int, currencies: Currencies, names: NameTable,
    params: SynthParams, window: Window,
) -> Orders:
    """Guest orders from 'Atlantis', priced in the reporting currency."""
    texts, _, _ = country_spellings()
    name_country = rng.integers(0, len(COUNTRIES), k).astype(np.int16)
    zeros = np.zeros(k, np.int8)
    return Orders(
        number=first_index + 1 + np.arange(k, dtype=np.int64), at_s=_uniform_times(rng, k, window),
        customer=np.full(k, -1, np.int32), country=np.full(k, len(COUNTRIES), np.int16),
        currency=np.full(k, currencies.reporting, np.int16),
        value=rng.gamma(params.p, 1.0 / rng.gamma(params.q, 1.0 / params.gamma, k)),
        name=draw_names(rng, name_country, names).name_index.astype(np.int32),
        channel=rng.integers(0, len(CHANNELS), k).astype(np.int8), email_case=zeros,
        email_padded=zeros.astype(bool), phone_form=zeros, country_text=np.full(k, len(texts) - 1, np.int16),
    )


def _take_orders(orders: Orders, index: np.ndarray, first_number: int) -> Orders:
    """Copies of some orders, renumbered from `first_number`."""
    fields = {f.name: getattr(orders, f.name)[index] for f in fields_of(Orders)}
    fields["number"] = first_number + np.arange(len(index), dtype=np.int64)
    return Orders(**fields)


def concat_orders(parts: list[Orders]) -> Orders:
    """Orders of all parts, in order."""
    return Orders(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields_of(Orders)})


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


def merge_sorted(base: Rows, extra: Rows) -> Rows:
    """`base` (already in time order) with `extra` merged in by time; extras go after base rows of the
    same second. Consumes `base` column by column so that only one column is ever held twice."""
    extra = sort_rows(extra)
    position = np.searchsorted(base["at_s"], extra["at_s"], side="right") + np.arange(len(extra["at_s"]))
    total = len(base["at_s"]) + len(extra["at_s"])
    from_base = np.ones(total, bool)
    from_base[position] = False
    merged: Rows = {}
    for name in list(base):
        column = base.pop(name)
        out = np.empty(total, np.result_type(column, extra[name]))
        out[from_base] = column
        out[position] = extra[name]
        merged[name] = out
        del column
    return merged
