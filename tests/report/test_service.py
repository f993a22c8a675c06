"""write_report: the page and tables land together, and a failure leaves the previous report whole."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from tests.report.report_data import empty_analysis

from fidelis.report import ReportFiles, write_report


def _analysis(**tables: pd.DataFrame):
    return empty_analysis(tables=tables)


def _table(value: str) -> pd.DataFrame:
    return pd.DataFrame({"segment": ["Loyal"], "net_value": pd.Series([Decimal(value)], dtype=object)})


def test_writes_the_page_and_both_formats(tmp_path: Path) -> None:
    files = write_report(_analysis(segments=_table("1.50")), tmp_path / "out")
    assert isinstance(files, ReportFiles)
    assert files.html == tmp_path / "out" / "report.html" and files.html.exists()
    assert sorted(p.name for p in files.exports) == ["segments.csv", "segments.parquet"]
    assert all(p.exists() and p.parent == tmp_path / "out" / "tables" for p in files.exports)
    page = files.html.read_text(encoding="utf-8")
    assert 'href="tables/segments.csv"' in page and 'href="tables/segments.parquet"' in page


def test_a_new_report_replaces_the_old_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(_analysis(old=_table("1.00")), out)
    (out / "notes.txt").write_text("kept")
    write_report(_analysis(new=_table("2.00")), out)
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["new.csv", "new.parquet"]
    assert (out / "notes.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_leaves_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_report(_analysis(segments=_table("1.00")), out)
    before = {p.name: p.read_bytes() for p in [out / "report.html", *sorted((out / "tables").iterdir())]}

    def broken(*_args, **_kwargs):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("fidelis.report.service.render_report", broken)
    with pytest.raises(RuntimeError, match="rendering failed"):
        write_report(_analysis(segments=_table("2.00"), extra=_table("3.00")), out)
    after = {p.name: p.read_bytes() for p in [out / "report.html", *sorted((out / "tables").iterdir())]}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left behind
