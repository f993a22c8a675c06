"""Warehouses shared by the analytics tests: the Online Retail file, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fidelis.config import Settings
from fidelis.ingest.service import ingest_file

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def online_retail_warehouse(tmp_path_factory: pytest.TempPathFactory, shared_file) -> Path:
    """The nine months of Online Retail in a GBP warehouse (treat as read-only: copy before writing)."""
    warehouse = tmp_path_factory.mktemp("online_retail_analytics") / "warehouse.duckdb"
    settings = Settings(reporting_currency="GBP", environment="test")
    ingest_file(shared_file("online_retail_2010-12_2011-08.csv.gz"), warehouse_path=warehouse, settings=settings)
    return warehouse


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
