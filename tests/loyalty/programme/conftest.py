"""Programmes for the earn and tier tests: the bundled one, and variants of its parsed data."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from fidelis.loyalty.programme import Programme, load_programme, parse_programme
from fidelis.tomlfiles import read_config_toml


@pytest.fixture(scope="session")
def bundled_data() -> dict:
    return read_config_toml(None, bundled="programme.toml", kind="programme")[0]


@pytest.fixture(scope="session")
def programme() -> Programme:
    return load_programme()


@pytest.fixture
def variant(bundled_data: dict) -> Callable[..., Programme]:
    """`variant(edit)`: the bundled programme with `edit(data)` applied to a deep copy of its data."""
    def build(edit: Callable[[dict], object]) -> Programme:
        data = copy.deepcopy(bundled_data)
        edit(data)
        return parse_programme(data, where="test programme")
    return build
