"""Exported tables: a CSV and a Parquet file per table, decimals exact, empty values empty."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fidelis.report import write_report
from fidelis.report.exports import decimal_columns, write_tables


def _money_table() -> pd.DataFrame:
    return pd.DataFrame({
        "market": ["Europe", None, "United Kingdom"],
        "net_value": pd.Series([Decimal("1234.5678"), None, Decimal("0.0001")], dtype=object),
        "aov": pd.Series([Decimal("12.30"), Decimal("1E+3"), None], dtype=object),
        "tiny": pd.Series([Decimal("1E-7"), Decimal(0), 5], dtype=object),
        "rate": [0.25, float("nan"), 1.0],
        "change": pd.Series([None, 0.5, None], dtype=object),
        "orders": [3, 0, 12],
        "period_start": [date(2024, 1, 1), date(2024, 4, 1), date(2024, 7, 1)],
    })


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_decimal_columns_are_recognised() -> None:
    assert decimal_columns(_money_table()) == ["net_value", "aov", "tiny"]


def test_parquet_keeps_decimals_exact(tmp_path: Path) -> None:
    write_tables({"money": _money_table()}, tmp_path)
    table = pq.read_table(tmp_path / "money.parquet")
    assert table.schema.field("net_value").type == pa.decimal128(38, 4)
    assert table.schema.field("aov").type == pa.decimal128(38, 2)
    assert table.schema.field("tiny").type == pa.decimal128(38, 7)
    assert table.column("net_value").to_pylist() == [Decimal("1234.5678"), None, Decimal("0.0001")]
    assert table.column("aov").to_pylist() == [Decimal("12.30"), Decimal("1000.00"), None]
    assert table.column("tiny").to_pylist() == [Decimal("1E-7"), Decimal(0), Decimal(5)]
    assert table.column("rate").to_pylist()[1] is None
    assert table.column("market").to_pylist() == ["Europe", None, "United Kingdom"]
    assert table.schema.field("period_start").type == pa.date32()


def test_csv_has_plain_numbers_and_empty_cells(tmp_path: Path) -> None:
    write_tables({"money": _money_table()}, tmp_path)
    text = (tmp_path / "money.csv").read_text(encoding="utf-8")
    assert "nan" not in text.lower() and "None" not in text and "E-" not in text and "E+" not in text
    rows = _csv_rows(tmp_path / "money.csv")
    assert [row["net_value"] for row in rows] == ["1234.5678", "", "0.0001"]
    assert [row["aov"] for row in rows] == ["12.30", "1000.00", ""]  # every value at the column's scale
    assert [row["tiny"] for row in rows] == ["0.0000001", "0.0000000", "5.0000000"]
    assert [row["market"] for row in rows] == ["Europe", "", "United Kingdom"]
    assert [row["rate"] for row in rows] == ["0.25", "", "1"]
    assert [row["change"] for row in rows] == ["", "0.5", ""]
    assert [row["period_start"] for row in rows] == ["2024-01-01", "2024-04-01", "2024-07-01"]


def test_table_names_must_be_file_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file name"):
        write_tables({"../escape": _money_table()}, tmp_path)


def test_every_analysis_table_is_exported(analysis, tmp_path: Path) -> None:
    files = write_report(analysis, tmp_path / "out")
    names = set(analysis.tables)
    expected = {f"{name}.{kind}" for name in names for kind in ("csv", "parquet")}
    assert {path.name for path in files.exports} == expected
    folder = tmp_path / "out" / "tables"
    for name, frame in analysis.tables.items():
        csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        assert csv_path.exists() and parquet_path.exists()
        table = pq.read_table(parquet_path)
        columns = frame.column_names if isinstance(frame, pa.Table) else [str(c) for c in frame.columns]
        assert table.num_rows == len(frame) and table.column_names == columns
        rows = _csv_rows(csv_path)
        assert len(rows) == len(frame)
        assert not any(value in ("nan", "NaN", "None") for row in rows for value in row.values()), name


def test_analysis_money_round_trips_through_parquet(analysis, tmp_path: Path) -> None:
    write_tables({"kpis_market_quarter": analysis.kpis_market_quarter}, tmp_path)
    table = pq.read_table(tmp_path / "kpis_market_quarter.parquet")
    assert pa.types.is_decimal(table.schema.field("net_revenue").type)
    assert table.column("net_revenue").to_pylist() == list(analysis.kpis_market_quarter["net_revenue"])
    aov = table.column("aov").to_pylist()
    assert None in aov or all(isinstance(v, Decimal) for v in aov)
    expected = [None if v is None or v != v else v for v in analysis.kpis_market_quarter["aov"]]
    assert aov == expected
