"""Progress against targets per market and metric.

For each target of the analytics file: the baseline value (its `baseline_period`, else the first
complete period with orders in that market), the target value (baseline x (1 + lift), or the
absolute `value`), the current value (the latest complete period), the progress made
((current - baseline) / (target - baseline)) and a status. A target whose market or periods have
no data says so in `status` and `note` with empty values, never a made-up zero.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from fidelis.analytics.config import AnalyticsConfig, Target
from fidelis.analytics.metrics import Period
from fidelis.analytics.numbers import as_float
from fidelis.analytics.periods import parse_period_label, period_end

STATUSES = ("achieved", "on track", "behind", "in progress", "no data")
COLUMNS = ["market", "metric", "period", "baseline_period", "baseline", "target", "current_period", "current",
           "progress", "benchmark", "deadline", "status", "note"]


def target_progress(config: AnalyticsConfig, kpis_by_period: dict[Period, pd.DataFrame]) -> pd.DataFrame:
    """One row per configured target; `kpis_by_period[p]` is the KPI table by market for period p."""
    rows = [_progress(target, kpis_by_period[target.period]) for target in config.targets]
    return pd.DataFrame(rows, columns=COLUMNS)


def _progress(target: Target, kpis: pd.DataFrame) -> dict:
    row = {"market": target.market, "metric": target.metric, "period": target.period,
           "baseline_period": target.baseline_period, "baseline": None, "target": target.value,
           "current_period": None, "current": None, "progress": None, "benchmark": target.benchmark,
           "deadline": target.deadline, "status": "no data", "note": None}
    market = kpis[kpis["group"] == target.market].sort_values("period_start")
    complete = market[market["complete"]]
    if market.empty or int(market["orders"].sum()) == 0:
        return {**row, "note": f"no orders in market {target.market}"}
    baseline_row = _baseline_row(target, market, complete)
    if baseline_row is None:
        return {**row, "note": f"no complete {target.period} with orders to take as the baseline"
                if target.baseline_period is None else f"baseline period {target.baseline_period} is outside the data"}
    if complete.empty:
        return {**row, "baseline_period": baseline_row["period"], "baseline": as_float(baseline_row[target.metric]),
                "note": f"no complete {target.period} yet to measure the current value"}
    current_row = complete.iloc[-1]
    if current_row["period_start"] < baseline_row["period_start"]:
        return {**row, "baseline_period": baseline_row["period"], "current_period": current_row["period"],
                "note": f"the baseline period {baseline_row['period']} is after the latest complete "
                        f"{target.period}, {current_row['period']}"}
    baseline = as_float(baseline_row[target.metric])
    current = as_float(current_row[target.metric])
    row.update(baseline_period=baseline_row["period"], baseline=baseline, current_period=current_row["period"],
               current=current)
    if baseline is None:
        return {**row, "note": f"{target.metric} has no value in the baseline period {baseline_row['period']}"}
    if target.value is None and baseline == 0:
        return {**row, "note": f"{target.metric} is 0 in the baseline period {baseline_row['period']}: "
                               "a relative lift of 0 is 0; set an absolute 'value' instead"}
    goal = target.value if target.value is not None else baseline * (1 + target.lift)
    row["target"] = round(goal, 6)
    if current is None:
        return {**row, "note": f"{target.metric} has no value in {current_row['period']}"}
    progress = (current - baseline) / (goal - baseline) if goal != baseline else None
    row["progress"] = None if progress is None else round(progress, 4)
    row["status"] = _status(target, goal, baseline, current, progress, baseline_row, current_row)
    return row


def _baseline_row(target: Target, market: pd.DataFrame, complete: pd.DataFrame) -> pd.Series | None:
    """The named baseline period (complete or not: the operator chose it), else the first complete one."""
    if target.baseline_period is not None:
        match = market[market["period"] == target.baseline_period]
        return match.iloc[0] if not match.empty else None
    with_orders = complete[complete["orders"] > 0]
    return with_orders.iloc[0] if not with_orders.empty else None


def _status(target: Target, goal: float, baseline: float, current: float, progress: float | None,
            baseline_row: pd.Series, current_row: pd.Series) -> str:
    rising = goal >= baseline
    if (current >= goal) if rising else (current <= goal):
        return "achieved"
    if target.deadline is None or progress is None:
        return "in progress"
    start = _end_of(baseline_row["period"])
    now = _end_of(current_row["period"])
    span_days = (target.deadline - start).days
    elapsed = 1.0 if span_days <= 0 else min(1.0, max(0.0, (now - start).days / span_days))
    return "on track" if progress >= elapsed else "behind"


def _end_of(label: str) -> date:
    index, period = parse_period_label(label)
    return period_end(index, period)
