"""The report opens in a real headless Chromium, offline, and every chart draws.

The browser is Debian's Chromium at /usr/bin/chromium, driven by Playwright's Python package
(no browser download). Every request that is not file:// or data: is aborted and recorded: the
page must need none. Skipped locally without Chromium, a failure under CI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fidelis.report import write_report
from fidelis.report.html import kpi_tiles

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
RAW_EMPTY = re.compile(r"\b(nan|NaN|None|undefined)\b")

# Per chart container: is there a plot, its size, and how many drawn traces / heatmap images.
CHART_STATE_JS = """
() => Array.from(document.querySelectorAll('.fidelis-chart')).map(el => {
  const svg = el.querySelector('.js-plotly-plot .main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    id: el.id,
    empty: el.dataset.state === 'empty',
    plot: Boolean(svg),
    width: box.width,
    height: box.height,
    traces: el.querySelectorAll('.js-plotly-plot g.trace').length,
    heatmaps: el.querySelectorAll('.js-plotly-plot g.heatmaplayer image, .js-plotly-plot g.hm image').length,
  };
})
"""


def _chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not present")
    return CHROMIUM


@pytest.fixture(scope="module")
def rendered(analysis, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Write the report, open it in Chromium with the network blocked, and collect what happened."""
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path_factory.mktemp("report") / "out"
    files = write_report(analysis, out)
    blocked, errors = [], []

    def route(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/*", route)
            page.goto(files.html.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
            screenshot = out.parent / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
            state = {
                "charts": page.evaluate(CHART_STATE_JS),
                "text": page.evaluate("document.body.innerText"),
                "tiles": page.eval_on_selector_all(".kpi-tile", "els => els.map(e => e.dataset.market)"),
            }
        finally:
            browser.close()
    return {**state, "blocked": blocked, "errors": errors, "files": files, "screenshot": screenshot}


def test_page_makes_no_network_request(rendered) -> None:
    assert rendered["blocked"] == []


def test_page_logs_no_error(rendered) -> None:
    assert rendered["errors"] == []


def test_every_chart_draws(rendered) -> None:
    charts = rendered["charts"]
    drawn = {chart["id"] for chart in charts if not chart["empty"]}
    assert {"chart-trend-net-revenue", "chart-trend-active-customers", "chart-trend-repeat-rate",
            "chart-cohort-retention", "chart-cohort-revenue", "chart-rfm-grid", "chart-segments",
            "chart-value-tiers-customers", "chart-value-tiers-value", "chart-lifecycle",
            "chart-clv-distribution", "chart-p-alive-segments"} <= drawn
    for chart in charts:
        if chart["empty"]:
            continue
        assert chart["plot"], chart
        assert chart["width"] > 100 and chart["height"] > 100, chart
        assert chart["traces"] + chart["heatmaps"] > 0, chart


def test_no_raw_empty_value_is_displayed(rendered) -> None:
    found = RAW_EMPTY.findall(rendered["text"])
    assert found == [], [m.group(0) for m in RAW_EMPTY.finditer(rendered["text"])]


def test_a_tile_for_each_market_with_orders(rendered, analysis) -> None:
    tiles, _idle = kpi_tiles(analysis.kpis_market_quarter, analysis.targets, analysis.reporting_currency)
    expected = [tile.market for tile in tiles]
    assert expected, "the test data should have markets with orders in the latest quarter"
    assert rendered["tiles"] == expected


def test_header_and_footer(rendered, analysis) -> None:
    text = rendered["text"]
    assert "Fidelis loyalty report" in text
    assert f"Reporting currency {analysis.reporting_currency}" in text
    for name in analysis.tables:
        assert name in text


def test_predictions_section_shows_the_early_warning_list(rendered, analysis) -> None:
    predictions = analysis.predictions
    assert predictions is not None
    assert [note for note in predictions.notes if "not fitted" in note or "not trained" in note] == []
    assert not predictions.at_risk.empty, "the synthetic shop should have customers at risk"
    text = rendered["text"]
    assert "Early warning: customers at risk" in text
    assert str(predictions.at_risk["customer_id"].iloc[0]) in text
    assert "Churn model against baselines" in text


def test_screenshot_taken(rendered) -> None:
    assert rendered["screenshot"].stat().st_size > 10_000
