"""Shared fixtures: where the reference data is, fresh warehouses, and the CLI runner."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fidelis.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FIDELIS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ONLINE_RETAIL = SHARED_DATA / "online_retail_2010-12_2011-08.csv.gz"


def _shared_file(name: str) -> Path:
    """A reference data file; skipped locally when absent, but a failure under CI."""
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"reference data {path} is missing (set FIDELIS_SHARED_DATA)")
        pytest.skip(f"reference data {path} not present")
    return path


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


@pytest.fixture
def settings() -> Settings:
    return Settings(reporting_currency="GBP", environment="test")


@pytest.fixture
def usd_settings() -> Settings:
    return Settings(reporting_currency="USD", environment="test")


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def shared_file():
    """A function returning a reference data file's path (skips locally, fails in CI, if absent)."""
    return _shared_file


@pytest.fixture(scope="session")
def online_retail_warehouse(tmp_path_factory: pytest.TempPathFactory, shared_file) -> Path:
    """The nine months of Online Retail in a GBP warehouse (treat as read-only: copy before writing)."""
    from fidelis.ingest.service import ingest_file

    warehouse = tmp_path_factory.mktemp("online_retail") / "warehouse.duckdb"
    settings = Settings(reporting_currency="GBP", environment="test")
    ingest_file(shared_file("online_retail_2010-12_2011-08.csv.gz"), warehouse_path=warehouse, settings=settings)
    return warehouse


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def write_csv():
    """A function writing a CSV file (header, rows) with the csv module's quoting; returns the path."""
    return _write_csv
