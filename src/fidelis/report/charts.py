"""The report's charts: pure functions from an analytics DataFrame to a Plotly figure.

Each builder returns None when its table has nothing to draw (no rows, or only empty values), so
that the page can say "no data" instead of showing an empty axis. Money arrives as `Decimal` and
is converted to float here only for drawing; the exported tables keep the exact values.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from fidelis.analytics.segments import LIFECYCLE_STAGES, VALUE_TIERS
from fidelis.report.formatting import as_number

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
#: One colour per market, in order of appearance (colour-blind-safe qualitative palette).
PALETTE = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#332288", "#117733",
           "#882255", "#44AA99", "#999933")
TIER_COLOURS = {"high": "#1b6f4f", "mid": "#7fbf9f", "low": "#d9ead3"}
STAGE_COLOURS = {"new": "#4477AA", "active": "#228833", "at risk": "#CCBB44", "dormant": "#EE8866",
                 "churned": "#BBBBBB"}
COHORT_LIMIT = 24


def _usable(frame: pd.DataFrame | None, *columns: str) -> bool:
    """The table has rows and the columns a chart needs (an older or partial table draws nothing)."""
    return frame is not None and not frame.empty and set(columns) <= set(frame.columns)


def _floats(values: Sequence) -> list[float | None]:
    return [as_number(value) for value in values]


def _styled(figure: go.Figure, title: str, *, height: int = 380) -> go.Figure:
    """The common look: white background, light grid, system font, title left, legend below.

    Set directly rather than through a named Plotly template: a template is deep-copied into
    every figure (slow to build) and serialised into each one (8 KB per chart).
    """
    figure.update_layout(
        template="none", height=height, colorway=list(PALETTE), paper_bgcolor="#fff", plot_bgcolor="#fff",
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#1f2933"}, margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
    axis = {"gridcolor": "#e9edf2", "linecolor": "#c9d1da", "zerolinecolor": "#c9d1da", "automargin": True,
            "ticks": ""}
    figure.update_xaxes(**axis)
    figure.update_yaxes(**axis)
    return figure


def markets_by_size(kpis: pd.DataFrame) -> list[str]:
    """Markets, largest first (by active customer-months): the order of lines, colours and legend."""
    sizes = kpis.groupby("group")["customers_active"].sum()
    return sorted(sizes.index, key=lambda market: (-sizes[market], str(market)))


def market_trend(kpis: pd.DataFrame, column: str, *, title: str, y_title: str, share: bool = False,
                 currency: str | None = None, min_active_customers: float = 0) -> go.Figure | None:
    """One line per market over the monthly grid; empty ratios leave gaps rather than fake zeros.

    Markets whose typical month (the median over months with any active customer) has fewer than
    `min_active_customers` start hidden (a click on the legend shows them): a rate over two
    customers swings from 0% to 100% and would swamp the lines that mean something. The largest
    market is always shown, so that the chart is never blank.
    """
    if not _usable(kpis, "group", "period_start", "customers_active", column) or all(
            v is None for v in _floats(kpis[column])):
        return None
    figure = go.Figure()
    hover_value = "%{y:.1%}" if share else ("%{y:,.2f} " + currency if currency else "%{y:,.0f}")
    active = kpis[kpis["customers_active"] > 0]
    typical = active.groupby("group")["customers_active"].median()
    for number, market in enumerate(markets_by_size(kpis)):
        rows = kpis[kpis["group"] == market].sort_values("period_start")
        figure.add_trace(go.Scatter(
            x=pd.to_datetime(rows["period_start"]).tolist(), y=_floats(rows[column]), name=str(market),
            mode="lines", line={"color": PALETTE[number % len(PALETTE)], "width": 2}, connectgaps=False,
            visible=True if number == 0 or typical.get(market, 0) >= min_active_customers else "legendonly",
            hovertemplate=f"<b>{market}</b><br>%{{x|%Y-%m}}: {hover_value}<extra></extra>"))
    figure.update_yaxes(title_text=y_title, tickformat=".0%" if share else ",~s", rangemode="tozero")
    figure.update_xaxes(title_text=None)
    return _styled(figure, title)


def _recent_cohorts(cohorts: pd.DataFrame, limit: int) -> pd.DataFrame:
    frame = cohorts[cohorts["dimension"] == "all"] if "dimension" in cohorts else cohorts
    keep = sorted(frame["cohort"].unique())[-limit:]
    return frame[frame["cohort"].isin(keep)]


def _grid(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Cohorts as rows (oldest first), months since the first purchase as columns."""
    grid = frame.pivot_table(index="cohort", columns="months_since_first", values=value, aggfunc="first",
                             dropna=False)
    return grid.sort_index().sort_index(axis=1)


def _matrix(grid: pd.DataFrame, scale: float = 1.0) -> list[list[float | None]]:
    return [[None if v is None else v * scale for v in _floats(row)] for row in grid.to_numpy(dtype=object)]


def cohort_retention(cohorts: pd.DataFrame, *, limit: int = COHORT_LIMIT) -> go.Figure | None:
    """Retention (%) by cohort month and months since the first purchase; hover gives the counts.

    Month 0 is 100% by definition, so the colour scale tops out at the highest later month: that
    keeps the differences that matter (months 1, 2, ...) visible instead of washed out.
    """
    needed = ("cohort", "months_since_first", "retention_rate", "customers_active", "cohort_size")
    if not _usable(cohorts, *needed):
        return None
    frame = _recent_cohorts(cohorts, limit)
    grid = _grid(frame, "retention_rate")
    z = _matrix(grid, scale=100.0)
    active, size = _grid(frame, "customers_active"), _grid(frame, "cohort_size")
    custom = [[[_int_or_none(a), _int_or_none(s)] for a, s in zip(active_row, size_row, strict=True)]
              for active_row, size_row in zip(active.to_numpy(dtype=object), size.to_numpy(dtype=object),
                                              strict=True)]
    later = [v for row in z for v in row[1:] if v is not None]
    figure = go.Figure(go.Heatmap(
        z=z, x=[int(c) for c in grid.columns], y=list(grid.index), customdata=custom, colorscale="Blues",
        zmin=0, zmax=max(later) if later and max(later) > 0 else 100, texttemplate="%{z:.0f}",
        textfont=_cell_font(grid), hoverongaps=False, colorbar={"title": {"text": "%"}, "ticksuffix": "%"},
        hovertemplate="cohort %{y}, month %{x}<br>retention %{z:.1f}%<br>"
                      "%{customdata[0]:,} of %{customdata[1]:,} customers active<extra></extra>"))
    return _cohort_axes(_styled(figure, "Retention by acquisition cohort (%)", height=_cohort_height(grid)))


def cohort_revenue(cohorts: pd.DataFrame, currency: str, *, limit: int = COHORT_LIMIT) -> go.Figure | None:
    """Cumulative net revenue per cohort customer: how fast each cohort pays back its acquisition."""
    if not _usable(cohorts, "cohort", "months_since_first", "revenue_per_customer_cumulative"):
        return None
    grid = _grid(_recent_cohorts(cohorts, limit), "revenue_per_customer_cumulative")
    figure = go.Figure(go.Heatmap(
        z=_matrix(grid), x=[int(c) for c in grid.columns], y=list(grid.index), colorscale="Greens",
        texttemplate="%{z:,.0f}", textfont=_cell_font(grid), hoverongaps=False,
        colorbar={"title": {"text": currency}},
        hovertemplate="cohort %{y}, month %{x}<br>%{z:,.2f} " + currency + " per customer<extra></extra>"))
    title = f"Cumulative net revenue per cohort customer ({currency})"
    return _cohort_axes(_styled(figure, title, height=_cohort_height(grid)))


def _int_or_none(value) -> int | None:
    number = as_number(value)
    return None if number is None else int(number)


def _cohort_height(grid: pd.DataFrame) -> int:
    return max(320, 110 + 22 * len(grid.index))


def _cell_font(grid: pd.DataFrame) -> dict:
    """Smaller cell labels when there are many months, so that the numbers still fit their cells."""
    return {"size": 10 if len(grid.columns) > 16 else 12}


def _cohort_axes(figure: go.Figure) -> go.Figure:
    figure.update_xaxes(title_text="months since first purchase", dtick=1, side="bottom")
    figure.update_yaxes(title_text="cohort", autorange="reversed", type="category")
    return figure


def rfm_grid(grid: pd.DataFrame, currency: str) -> go.Figure | None:
    """Customers per (R, F) score pair on the full 5 x 5 grid; empty pairs stay blank."""
    if not _usable(grid, "r_score", "f_score", "customers", "net_value", "revenue_share"):
        return None
    cells = {(int(r.r_score), int(r.f_score)): r for r in grid.itertuples()}
    r_scores, f_scores = [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]
    z = [[_int_or_none(cells[(r, f)].customers) if (r, f) in cells else None for f in f_scores]
         for r in r_scores]
    custom = [[[as_number(cells[(r, f)].net_value), as_number(cells[(r, f)].revenue_share)]
               if (r, f) in cells else [None, None] for f in f_scores] for r in r_scores]
    figure = go.Figure(go.Heatmap(
        z=z, x=[str(f) for f in f_scores], y=[str(r) for r in r_scores], customdata=custom,
        colorscale="Purples",
        texttemplate="%{z:,}", hoverongaps=False, colorbar={"title": {"text": "customers"}},
        hovertemplate="R %{y}, F %{x}<br>%{z:,} customers<br>net value %{customdata[0]:,.2f} " + currency
                      + "<br>%{customdata[1]:.1%} of revenue<extra></extra>"))
    figure.update_xaxes(title_text="F score (frequency, 5 = most purchases)", type="category")
    figure.update_yaxes(title_text="R score (recency, 5 = most recent)", type="category",
                        autorange="reversed")
    return _styled(figure, "Customers by recency and frequency score", height=420)


def segment_shares(segments: pd.DataFrame) -> go.Figure | None:
    """Share of customers against share of revenue per segment, largest revenue first."""
    if not _usable(segments, "segment", "customers", "customer_share", "revenue_share"):
        return None
    frame = segments.assign(_revenue=_floats(segments["revenue_share"]))
    frame = frame.sort_values("_revenue", ascending=True, na_position="first")
    names = [str(name) if name is not None else "unassigned" for name in frame["segment"]]
    figure = go.Figure([
        go.Bar(y=names, x=_floats(frame["customer_share"]), name="share of customers", orientation="h",
               marker_color="#88a9d4", customdata=frame["customers"].tolist(),
               hovertemplate="%{y}: %{x:.1%} of customers (%{customdata:,})<extra></extra>"),
        go.Bar(y=names, x=frame["_revenue"].tolist(), name="share of net revenue", orientation="h",
               marker_color="#2f5d95", hovertemplate="%{y}: %{x:.1%} of net revenue<extra></extra>"),
    ])
    figure.update_layout(barmode="group", bargap=0.25)
    figure.update_xaxes(tickformat=".0%", title_text=None)
    return _styled(figure, "Segments: customers and revenue", height=max(360, 90 + 38 * len(names)))


def _share_bars(frame: pd.DataFrame, *, category: str, order: Sequence[str], colours: dict[str, str],
                measure: str, title: str, unit: str) -> go.Figure | None:
    """Horizontal 100% stacked bars per market: composition, with the absolute figure in the hover.

    Markets differ in size by orders of magnitude (the home market against a handful of abroad
    customers), so absolute stacks would hide every small market; shares keep them readable and
    the market labels carry the totals.
    """
    if not _usable(frame, "market", category, measure):
        return None
    frame = frame.assign(_value=_floats(frame[measure]))
    totals = frame.groupby("market")["_value"].sum()
    markets = list(totals.sort_values(ascending=True).index)
    labels = {m: f"{m} ({totals[m]:,.0f}{unit})" for m in markets}
    found = set(frame[category].dropna())
    present = [c for c in order if c in found] + sorted(found - set(order), key=str)
    figure = go.Figure()
    for name in present:
        by_market = frame[frame[category] == name].groupby("market")["_value"].sum(min_count=1)
        values = [as_number(by_market.get(m)) for m in markets]
        shares = [None if v is None or not totals[m] else v / totals[m]
                  for v, m in zip(values, markets, strict=True)]
        figure.add_trace(go.Bar(
            y=[labels[m] for m in markets], x=shares, name=str(name), orientation="h", customdata=values,
            marker_color=colours.get(name, "#999999"),
            hovertemplate=f"{name}: %{{x:.1%}} (%{{customdata:,.0f}}{unit})<extra>%{{y}}</extra>"))
    figure.update_layout(barmode="stack", legend={"traceorder": "normal"})
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    return _styled(figure, title, height=max(300, 120 + 34 * len(markets)))


def value_tiers(tiers: pd.DataFrame, *, measure: str = "customers", currency: str = "") -> go.Figure | None:
    """Value tiers per market, by customers or by net value (`measure`)."""
    money = measure == "net_value"
    title = f"Value tiers by market: {'net value' if money else 'customers'}"
    return _share_bars(tiers, category="value_tier", order=VALUE_TIERS, colours=TIER_COLOURS,
                       measure=measure, title=title, unit=f" {currency}" if money else "")


def lifecycle(stages: pd.DataFrame) -> go.Figure | None:
    """Lifecycle stages per market as shares of the market's customers."""
    return _share_bars(stages, category="lifecycle_stage", order=LIFECYCLE_STAGES,
                       colours=STAGE_COLOURS, measure="customers", title="Lifecycle stages by market",
                       unit="")


def clv_distribution(scores: pd.DataFrame | None, currency: str, horizon_days: int) -> go.Figure | None:
    """Customers by expected CLV. CLV is heavy-tailed, so the axis stops at the 99th percentile and the
    last bar holds everyone above it (said in the title): a few wholesalers would otherwise squash the rest."""
    if not _usable(scores, "clv"):
        return None
    values = pd.Series(_floats(scores["clv"]), dtype=float).dropna()
    if values.empty:
        return None
    cap = float(values.quantile(0.99))
    shown = values.clip(upper=cap) if cap > 0 else values
    figure = go.Figure(go.Histogram(
        x=shown.tolist(), nbinsx=40, marker_color="#2f5d95",
        hovertemplate=f"CLV %{{x}} {currency}<br>%{{y:,}} customers<extra></extra>"))
    figure.update_xaxes(title_text=currency)
    figure.update_yaxes(title_text="customers")
    title = f"Expected CLV over {horizon_days} days (top 1% gathered at {cap:,.0f} {currency})"
    return _styled(figure, title)


def p_alive_by_segment(scores: pd.DataFrame | None, order: Sequence[str]) -> go.Figure | None:
    """Mean P(alive) per RFM segment, with the customer count in the hover, in the segments' display order."""
    if not _usable(scores, "segment", "p_alive"):
        return None
    grouped = scores.groupby("segment", observed=True)["p_alive"].agg(["mean", "count"])
    names = [name for name in order if name in grouped.index] + sorted(set(grouped.index) - set(order))
    if not names:
        return None
    grouped = grouped.loc[names]
    figure = go.Figure(go.Bar(
        y=names, x=grouped["mean"].tolist(), orientation="h", marker_color="#228833",
        customdata=grouped["count"].tolist(),
        hovertemplate="%{y}: mean P(alive) %{x:.2f} over %{customdata:,} customers<extra></extra>"))
    figure.update_xaxes(range=[0, 1], title_text="mean probability of still being a customer")
    figure.update_yaxes(autorange="reversed")
    return _styled(figure, "P(alive) by segment", height=max(320, 90 + 34 * len(names)))
