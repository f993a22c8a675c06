"""`write_report`: the HTML page and the exported tables, replaced together or not at all.

Everything is first written into a fresh temporary folder beside the output folder (same file
system, so the final moves are renames). Only when the page and every table are complete do
they replace the previous `tables/` and `report.html`; a failure on the way leaves the previous
report as it was and removes the temporary folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fidelis.report.exports import write_tables
from fidelis.report.html import render_report

if TYPE_CHECKING:
    from fidelis.analytics.service import Analysis

REPORT_NAME = "report.html"
TABLES_DIR = "tables"


@dataclass
class ReportFiles:
    """Where the report went: the page and the exported tables (CSV and Parquet for each)."""

    html: Path
    exports: list[Path] = field(default_factory=list)


def write_report(analysis: Analysis, out_dir: Path) -> ReportFiles:
    """Write `out_dir/report.html` and `out_dir/tables/NAME.{csv,parquet}` for every analysis table."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        tables = analysis.tables or {}
        written = write_tables(tables, staging / TABLES_DIR)
        (staging / REPORT_NAME).write_text(render_report(analysis, tables.keys()), encoding="utf-8")
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    exports = [out_dir / TABLES_DIR / path.name for path in written]
    return ReportFiles(html=out_dir / REPORT_NAME, exports=exports)


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace out_dir's tables/ and report.html with the staged ones; other files are left alone.

    The tables go first and the page last, so a page is never newer than its tables; if moving
    the new tables in fails, the old ones are put back.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target, previous = out_dir / TABLES_DIR, staging / "previous-tables"
    if target.exists():
        os.replace(target, previous)
    try:
        os.replace(staging / TABLES_DIR, target)
    except OSError:
        if previous.exists():
            os.replace(previous, target)
        raise
    os.replace(staging / REPORT_NAME, out_dir / REPORT_NAME)
