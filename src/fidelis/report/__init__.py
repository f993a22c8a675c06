"""The self-contained HTML report of an `Analysis`, with its tables exported as CSV and Parquet.

    from fidelis.report import write_report
    files = write_report(analysis, Path("report"))   # report/report.html, report/tables/*.csv|parquet

The page embeds plotly.js once and needs no network to open. Charts are built in `charts`, the
page in `html` (template in `templates/report.html.j2`), the exports in `exports`.
"""

from fidelis.report.service import ReportFiles, write_report

__all__ = ["ReportFiles", "write_report"]
