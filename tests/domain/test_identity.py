from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fidelis.domain.identity import normalise_email, normalise_phone


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Anna.Schmidt@Example.COM ", "anna.schmidt@example.com"),
    ("bob@example.co.uk", "bob@example.co.uk"),
    ("not-an-email", None), ("a@b", None), ("", None), (None, None), ("two@@example.com", None),
])
def test_normalise_email(raw, expected) -> None:
    assert normalise_email(raw) == expected


@given(st.emails())
def test_email_normalisation_is_idempotent(email: str) -> None:
    once = normalise_email(email)
    assert once is None or normalise_email(once) == once


@pytest.mark.parametrize(("raw", "country", "expected"), [
    ("+49 30 1234567", None, "+49301234567"),
    ("030 1234567", "DE", "+49301234567"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("123", "GB", None), ("abc", "DE", None), ("", "DE", None), ("030 1234567", None, None),
])
def test_normalise_phone_to_e164(raw, country, expected) -> None:
    assert normalise_phone(raw, country) == expected
