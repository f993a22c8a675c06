"""Draw the CDNOW calibration/holdout check of docs/models.md: predicted against actual repeat purchases.

All 23,570 customers of `CDNOW_master.txt` (first purchase in Q1 1997): BG/NBD and Pareto/NBD are
fitted on the 39 weeks to 1997-09-30 and predict each customer's purchases in the next 39 weeks;
the chart shows the mean per calibration frequency next to what the customers really did. The same
split is checked by `tests/models/clv/test_holdout.py`.

Run: `.venv/bin/python scripts/holdout_plot.py` (needs Debian's chromium for the PNG). Writes
`docs/models/cdnow-holdout.png` and prints the table as Markdown.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from fidelis.models.clv import BetaGeoModel, ParetoNBDModel, calibration_holdout, holdout_by_frequency

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "CDNOW_master.txt"
OUT = ROOT / "docs" / "models" / "cdnow-holdout.png"
CHROMIUM = "/usr/bin/chromium"


def holdout_table() -> pd.DataFrame:
    transactions = pd.read_csv(DATA, sep=r"\s+", skiprows=1, names=["customer_id", "date", "cds", "dollars"],
                               dtype={"date": str})
    transactions["date"] = pd.to_datetime(transactions["date"], format="%Y%m%d")
    frame = calibration_holdout(transactions, "1997-09-30", "1998-06-30", "weeks")
    tables = {}
    for name, model_class in (("BG/NBD", BetaGeoModel), ("Pareto/NBD", ParetoNBDModel)):
        model = model_class().fit(frame.frequency_cal, frame.recency_cal, frame.T_cal, time_unit="weeks")
        tables[name] = holdout_by_frequency(model, frame)
    table = tables["BG/NBD"][["label", "customers", "actual_mean", "predicted_mean"]].rename(
        columns={"predicted_mean": "BG/NBD"})
    table["Pareto/NBD"] = tables["Pareto/NBD"]["predicted_mean"].to_numpy()
    return table


def figure(table: pd.DataFrame) -> go.Figure:
    chart = go.Figure([
        go.Scatter(x=table["label"], y=table["actual_mean"], name="actual", mode="lines+markers",
                   line={"color": "#1f2933", "width": 3}),
        go.Scatter(x=table["label"], y=table["BG/NBD"], name="BG/NBD", mode="lines+markers",
                   line={"color": "#2f5d95", "dash": "dash"}),
        go.Scatter(x=table["label"], y=table["Pareto/NBD"], name="Pareto/NBD", mode="lines+markers",
                   line={"color": "#EE6677", "dash": "dot"}),
    ])
    chart.update_layout(template="none", width=760, height=460, paper_bgcolor="#fff",
                        title={"text": "CDNOW: repeat purchases in weeks 40-78, by purchases in weeks 1-39",
                               "x": 0.02},
                        xaxis_title="repeat purchases in the calibration period (weeks 1-39)",
                        yaxis_title="mean purchases in the holdout (weeks 40-78)",
                        xaxis_type="category", legend={"x": 0.02, "y": 0.98}, margin={"l": 70, "r": 20, "t": 60, "b": 60})
    return chart


def write_png(chart: go.Figure, path: Path) -> None:
    from playwright import sync_api

    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "chart.html"
        chart.write_html(page_path, include_plotlyjs=True, full_html=True)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox", "--disable-background-networking"])
            try:
                page = browser.new_page(viewport={"width": 800, "height": 500})
                page.goto(page_path.as_uri(), wait_until="load")
                page.wait_for_function("document.querySelectorAll('.main-svg').length > 0")
                path.parent.mkdir(parents=True, exist_ok=True)
                page.locator(".plotly-graph-div").screenshot(path=str(path))
            finally:
                browser.close()


def main() -> int:
    table = holdout_table()
    write_png(figure(table), OUT)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    print(f"written {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
