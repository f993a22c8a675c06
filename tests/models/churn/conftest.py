"""Fixtures of the churn tests: the simulated shop's warehouse, read-only backends, writable copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis
import pytest
from tests.models.churn.churn_data import build_hand_shop, build_shop, simulated_rows


@pytest.fixture(scope="session")
def simulated_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated shop's warehouse file (read-only: copy before writing)."""
    rows = simulated_rows()
    path = tmp_path_factory.mktemp("churn_sim") / "warehouse.duckdb"
    return build_shop(path, customers=rows["customers"], orders=rows["orders"], feedback=rows["feedback"],
                      lines=rows["lines"])


@pytest.fixture
def open_backend() -> Callable[[Path], ibis.BaseBackend]:
    """Open a warehouse file read-only as an Ibis DuckDB backend; closed after the test."""
    connections: list[duckdb.DuckDBPyConnection] = []

    def open_(path: Path):
        con = duckdb.connect(str(path), read_only=True)
        connections.append(con)
        return ibis.duckdb.from_connection(con)

    yield open_
    for con in connections:
        con.close()


@pytest.fixture
def writable_copy(tmp_path: Path) -> Callable[[Path], Path]:
    """A copy of a warehouse file to change in a test."""

    def copy(path: Path) -> Path:
        target = tmp_path / f"copy_{len(list(tmp_path.iterdir()))}.duckdb"
        shutil.copy(path, target)
        return target

    return copy


@pytest.fixture(scope="session")
def hand_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made shop of `churn_data` (read-only)."""
    return build_hand_shop(tmp_path_factory.mktemp("churn_hand") / "warehouse.duckdb")
