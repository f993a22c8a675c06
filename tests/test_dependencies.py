"""The pinned dependency set works together (ibis 12 with sqlglot and duckdb 1.x)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import sqlglot

from fidelis.warehouse import open_warehouse

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, pinned = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = pinned.strip()
    return pins


def test_installed_versions_are_the_locked_ones() -> None:
    pins = _locked()
    for package in ("duckdb", "ibis-framework", "sqlglot", "pandas", "pyarrow", "typer", "pydantic"):
        assert version(package) == pins[package], package


def test_known_bad_combination_is_excluded() -> None:
    """ibis 12.0.0 fails with sqlglot 30.30 (DROP VIEW IF EXISTS parse error); duckdb 2 files break 1.x."""
    major, minor = (int(part) for part in sqlglot.__version__.split(".")[:2])
    assert (major, minor) <= (30, 0) and (major, minor) >= (27, 29)
    assert duckdb.__version__.startswith("1.")
    assert int(pd.__version__.split(".")[0]) < 3


def test_ibis_creates_tables_and_views_on_the_warehouse(tmp_path: Path) -> None:
    """The calls that break with a bad sqlglot: create_table (it drops a temp view) and create_view."""
    with open_warehouse(tmp_path / "wh.duckdb", reporting_currency="EUR") as wh:
        backend = wh.ibis()
        frame = pd.DataFrame({"customer_id": [1, 2, 2], "amount": [10.0, 5.0, 7.5]})
        backend.create_table("scratch", frame, overwrite=True)
        backend.create_table("scratch", frame, overwrite=True)
        table = backend.table("scratch")
        totals = table.group_by("customer_id").aggregate(total=table.amount.sum()).order_by("customer_id")
        backend.create_view("scratch_totals", totals, overwrite=True)
        result = backend.table("scratch_totals").execute()
        assert result["total"].tolist() == [10.0, 12.5]
        assert "orders" in backend.list_tables()
        assert ibis.__version__ == version("ibis-framework")
