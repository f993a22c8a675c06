"""The analytics tests' golden-file check (the Online Retail warehouse is in tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def golden():
    """Compare a text with a golden file; FIDELIS_UPDATE_GOLDEN=1 rewrites the file instead."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("FIDELIS_UPDATE_GOLDEN") == "1":
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"golden file {path} is missing; run with FIDELIS_UPDATE_GOLDEN=1 to create it"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"

    return check
