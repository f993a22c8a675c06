"""Normalisation of the keys that identify a person across shops: email and phone.

Merging customers on a key is only as good as the key's normalisation, so the rules live in one
place and are used by the warehouse SQL (emails) and by Python (phones) alike.
"""

from __future__ import annotations

import re

import phonenumbers

# Deliberately simple: one @, a dot in the domain, no spaces. RFC 5322 allows much more, but
# a stricter-than-RFC check never merges two people on a malformed value.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def normalise_email(raw: str | None) -> str | None:
    """Lower-case and trim an email; None when empty or not shaped like an address."""
    if raw is None:
        return None
    value = raw.strip().lower()
    return value if _EMAIL_RE.match(value) else None


def normalise_phone(raw: str | None, country_code: str | None) -> str | None:
    """Return the E.164 form of a phone number, or None when it is not a valid number.

    National formats ('030 1234567') need the customer's country to be read; international
    ones ('+49 30 1234567') do not.
    """
    if raw is None or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, (country_code or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
