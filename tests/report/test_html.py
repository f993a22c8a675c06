"""The page on awkward data: empty values, absent tables, a market without feedback."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import pandas as pd
from tests.report.report_data import empty_analysis

from fidelis.report.html import kpi_tiles, latest_quarter, render_report, rfm_note


class _Text(HTMLParser):
    """The text a reader sees: everything outside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def _assert_no_raw_empties(page: str) -> None:
    words = visible_text(page).split()
    assert not {"nan", "NaN", "None", "nan%", "NaN%"} & set(words)


def test_an_empty_analysis_renders_with_no_data_messages() -> None:
    page = render_report(empty_analysis(), [])
    _assert_no_raw_empties(page)
    assert "No quarter with orders to show." in page
    for chart_id in ("chart-trend-net-revenue", "chart-cohort-retention", "chart-rfm-grid",
                     "chart-lifecycle"):
        assert f'id="{chart_id}" data-state="empty"' in page
    assert page.count("Plotly.newPlot") == 0
    assert page.count("<script>") == 2  # the config and plotly.js itself, once


def test_missing_feedback_and_empty_segments(analysis) -> None:
    quarter = analysis.kpis_market_quarter.copy()
    quarter["nps"] = None
    quarter["csat"] = float("nan")
    quarter["nps_change"] = None
    tables = {**analysis.tables, "rfm_grid": analysis.tables["rfm_grid"].iloc[0:0],
              "lifecycle": pd.DataFrame()}
    changed = dataclasses.replace(analysis, kpis_market_quarter=quarter, kpis_channel_quarter=None,
                                  tables=tables, cluster_profiles=analysis.cluster_profiles.iloc[0:0])
    page = render_report(changed, tables)
    _assert_no_raw_empties(page)
    assert 'id="chart-rfm-grid" data-state="empty"' in page
    assert 'id="chart-lifecycle" data-state="empty"' in page
    assert '<span class="empty" title="no data">–</span>' in page
    assert "Too few customers to form clusters." in page
    assert 'id="chart-cohort-retention" data-state' not in page


def test_tiles_use_the_latest_complete_quarter(analysis) -> None:
    period, partial = latest_quarter(analysis.kpis_market_quarter)
    complete = analysis.kpis_market_quarter[analysis.kpis_market_quarter["complete"]]
    assert not partial and period == complete.sort_values("period_start")["period"].iloc[-1]
    tiles, idle = kpi_tiles(analysis.kpis_market_quarter, analysis.targets, "GBP")
    rows = analysis.kpis_market_quarter[analysis.kpis_market_quarter["period"] == period]
    assert sorted(t.market for t in tiles) == sorted(rows[rows["orders"] > 0]["group"])
    assert sorted(idle) == sorted(rows[rows["orders"] == 0]["group"])
    assert all(len(tile.metrics) == 10 for tile in tiles)


def test_a_partial_quarter_is_shown_when_none_is_complete() -> None:
    kpis = pd.DataFrame({"period": ["2024-Q3"], "period_start": ["2024-07-01"], "complete": [False]})
    assert latest_quarter(kpis) == ("2024-Q3", True)


def test_rfm_note_explains_an_empty_score() -> None:
    grid = pd.DataFrame({"r_score": [1, 2, 3, 4, 5], "f_score": [1, 1, 3, 4, 5]})
    assert rfm_note(grid).startswith("No customer has F score 2:")
    full = pd.DataFrame({"r_score": [1, 2, 3, 4, 5], "f_score": [1, 2, 3, 4, 5]})
    assert rfm_note(full) == ""
