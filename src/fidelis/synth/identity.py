"""Names, e-mail addresses, phone numbers and customer ids, built column-wise.

E-mail addresses and phone numbers are unique per customer (after the normalisation the ingest
applies: trim + lower-case for e-mails, E.164 for phones), so identity resolution on the generated
data must find exactly the generated customers. Strings are assembled with Arrow compute kernels
or numpy byte matrices, never one Python string per customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fidelis.synth.markets import COUNTRIES, FAMILY_FIRST_GROUPS, NameEntry, name_entries

EMAIL_DOMAINS = ("mail.example", "example.com", "example.net", "example.org", "post.example")
# local-part shapes: given.family, givenfamily, given_family, g.family (initial), given only
_EMAIL_SHAPES = 5
_EMAIL_SHAPE_PROBS = (0.4, 0.2, 0.15, 0.15, 0.1)
_PHONE_SUFFIX_DIGITS = 6
_PHONE_SCRAMBLE = 7919  # coprime with 10: (rank * 7919 + salt) mod 10**6 is a bijection


@dataclass(frozen=True)
class NameTable:
    """Every full name of every country's name group, in Latin and (where different) local script."""

    names: pa.Array  # str
    offsets: np.ndarray  # per country: index of its first name
    given_counts: np.ndarray  # per country
    family_counts: np.ndarray  # per country
    has_native: np.ndarray  # per country: whether a local-script block follows the Latin one
    given_email: pa.Array  # e-mail fragments of all countries' given names, country after country
    given_offsets: np.ndarray  # per country: index of its first given name in given_email
    family_email: pa.Array
    family_offsets: np.ndarray


@dataclass(frozen=True)
class NameDraw:
    """Names drawn for a set of people: index into NameTable.names plus the parts for e-mails."""

    name_index: np.ndarray
    given_email: pa.Array
    family_email: pa.Array


def build_name_table() -> NameTable:
    """All name combinations per country (a few hundred strings per name group)."""
    names: list[str] = []
    given_email: list[str] = []
    family_email: list[str] = []
    offsets, given_offsets, family_offsets, given_counts, family_counts, has_native = [], [], [], [], [], []
    for country in COUNTRIES:
        given, family = name_entries(country.name_group)
        offsets.append(len(names))
        native = any(e.local != e.latin for e in given + family)
        names.extend(_full_names(given, family, country.name_group, local=False))
        if native:
            names.extend(_full_names(given, family, country.name_group, local=True))
        given_counts.append(len(given))
        family_counts.append(len(family))
        has_native.append(native)
        given_offsets.append(len(given_email))
        family_offsets.append(len(family_email))
        given_email.extend(e.email for e in given)
        family_email.extend(e.email for e in family)
    return NameTable(pa.array(names, pa.string()), np.array(offsets), np.array(given_counts),
                     np.array(family_counts), np.array(has_native), pa.array(given_email, pa.string()),
                     np.array(given_offsets), pa.array(family_email, pa.string()), np.array(family_offsets))


def _full_names(given: tuple[NameEntry, ...], family: tuple[NameEntry, ...], group: str, local: bool) -> list[str]:
    out = []
    for g in given:
        for f in family:
            first, last = (g.local, f.local) if local else (g.latin, f.latin)
            if group in FAMILY_FIRST_GROUPS:
                out.append(f"{last}{first}" if local and group == "ko" else f"{last} {first}")
            else:
                out.append(f"{first} {last}")
    return out


def draw_names(rng: np.random.Generator, country: np.ndarray, table: NameTable) -> NameDraw:
    """A name for each person of the given countries; local script for some where available."""
    n = len(country)
    native_share = np.array([c.native_script_fraction for c in COUNTRIES])
    g_count, f_count = table.given_counts[country], table.family_counts[country]
    given = np.floor(rng.random(n) * g_count).astype(np.int64)
    family = np.floor(rng.random(n) * f_count).astype(np.int64)
    native = (rng.random(n) < native_share[country]) & table.has_native[country]
    index = table.offsets[country] + native * g_count * f_count + given * f_count + family
    given_email = pc.take(table.given_email, pa.array(table.given_offsets[country] + given))
    family_email = pc.take(table.family_email, pa.array(table.family_offsets[country] + family))
    return NameDraw(index, given_email, family_email)


def customer_ids(n: int) -> pa.Array:
    """'S0000001', 'S0000002', ... (at least 7 digits, more when needed)."""
    width = max(7, len(str(n)))
    return _prefixed_numbers("S", np.arange(1, n + 1), width)


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Ids like 'O00000042' for an array of numbers."""
    return _prefixed_numbers(prefix, numbers, width)


def _prefixed_numbers(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def emails(rng: np.random.Generator, draw: NameDraw) -> pa.Array:
    """Lower-case e-mail addresses, unique per person: the number in the local part is a bijection
    of the person's index, and names contain no digits."""
    n = len(draw.name_index)
    shape = rng.choice(_EMAIL_SHAPES, size=n, p=_EMAIL_SHAPE_PROBS)
    domain = pc.take(pa.array(EMAIL_DOMAINS), pa.array(rng.integers(0, len(EMAIL_DOMAINS), n)))
    modulus = 10 ** max(4, len(str(n)) + 1)
    number = pc.cast(pa.array((np.arange(n, dtype=np.int64) * 7919 + 1009) % modulus), pa.string())
    initial = pc.utf8_slice_codeunits(draw.given_email, 0, 1)
    first = pc.if_else(pa.array(shape == 3), initial, draw.given_email)
    separator = pc.take(pa.array([".", "", "_", ".", ""]), pa.array(shape))
    family = pc.if_else(pa.array(shape == 4), "", draw.family_email)
    return pc.binary_join_element_wise(first, separator, family, number, "@", domain, "")


def phone_numbers(rng: np.random.Generator, country: np.ndarray, no_phone: np.ndarray) -> tuple[pa.Array, ...]:
    """(E.164, international with spaces, national) forms; null for people without a phone.

    Within a country the k-th person with a phone gets prefix k // 10**6 and a scrambled 6-digit
    suffix of k, so numbers never repeat; beyond the prefixes' capacity people get no phone.
    """
    salt = rng.integers(0, 10**_PHONE_SUFFIX_DIGITS, len(COUNTRIES))
    pieces: list[tuple[np.ndarray, list[pa.Array]]] = []
    for c in np.unique(country):  # loop over countries (a couple of dozen), not people
        plan = COUNTRIES[c].phone
        rows = np.flatnonzero((country == c) & ~no_phone)
        rows = rows[: len(plan.prefixes) * 10**_PHONE_SUFFIX_DIGITS]
        rank = np.arange(len(rows))
        suffix = (rank % 10**_PHONE_SUFFIX_DIGITS * _PHONE_SCRAMBLE + salt[c]) % 10**_PHONE_SUFFIX_DIGITS
        digits = _national_digits(plan.prefixes, rank // 10**_PHONE_SUFFIX_DIGITS, suffix)
        patterns = ("+" + str(plan.country_code) + "#" * digits.shape[1],
                    plan.international_pattern, plan.national_pattern)
        pieces.append((rows, [_fill_pattern(pattern, digits) for pattern in patterns]))
    return tuple(_scatter(len(country), [(rows, forms[i]) for rows, forms in pieces]) for i in range(3))


def _scatter(n: int, pieces: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """An array of length n holding each piece's values at its rows and null elsewhere."""
    rows = np.concatenate([r for r, _ in pieces] + [np.zeros(0, np.int64)])
    values = pa.concat_arrays([v for _, v in pieces] + [pa.nulls(1, pa.string())])
    where = np.full(n, len(values) - 1, np.int64)  # the trailing null
    where[rows] = np.arange(len(rows))
    return pc.take(values, pa.array(where))


def _national_digits(prefixes: tuple[str, ...], prefix: np.ndarray, suffix: np.ndarray) -> np.ndarray:
    """(n, digits) uint8 matrix of ASCII digits: prefix digits then the 6-digit suffix."""
    prefix_bytes = np.frombuffer("".join(prefixes).encode(), np.uint8).reshape(len(prefixes), -1)
    powers = 10 ** np.arange(_PHONE_SUFFIX_DIGITS - 1, -1, -1)
    suffix_bytes = (suffix[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    return np.hstack([prefix_bytes[prefix], suffix_bytes])


def _fill_pattern(pattern: str, digits: np.ndarray) -> pa.Array:
    """Strings of `pattern` with its '#' slots filled by each row of `digits`."""
    template = np.frombuffer(pattern.encode(), np.uint8)
    slots = np.flatnonzero(template == ord("#"))
    if len(slots) != digits.shape[1]:
        raise ValueError(f"phone pattern {pattern!r} has {len(slots)} slots for {digits.shape[1]} digits")
    matrix = np.tile(template, (len(digits), 1))
    matrix[:, slots] = digits
    width = len(template)
    offsets = np.arange(0, (len(digits) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(digits), pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes()))
