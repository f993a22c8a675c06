"""Calendar periods (UTC months, quarters, years) as consecutive integers, and their labels.

A period is numbered so that the previous one is always `index - 1`: months as year*12 + month-1,
quarters as year*4 + quarter-1, years as the year. Integer arithmetic compiles the same way on
every Ibis backend, where interval arithmetic on timestamps does not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import ibis.expr.types as ir

from fidelis.analytics.metrics import Period

__all__ = ["Period", "index_of", "is_period_label", "parse_period_label", "period_end", "period_index",
           "period_label", "period_start"]

_LABEL = re.compile(r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$")


def period_index(moment: ir.TimestampValue, period: Period) -> ir.IntegerValue:
    year = moment.year().cast("int64")
    if period == "month":
        return year * 12 + moment.month().cast("int64") - 1
    if period == "quarter":
        return year * 4 + moment.quarter().cast("int64") - 1
    return year


def index_of(moment: date | datetime, period: Period) -> int:
    """The same numbering for a Python date or instant (taken in UTC)."""
    if isinstance(moment, datetime):
        moment = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    if period == "month":
        return moment.year * 12 + moment.month - 1
    if period == "quarter":
        return moment.year * 4 + (moment.month - 1) // 3
    return moment.year


def period_start(index: int, period: Period) -> date:
    if period == "month":
        return date(index // 12, index % 12 + 1, 1)
    if period == "quarter":
        return date(index // 4, (index % 4) * 3 + 1, 1)
    return date(index, 1, 1)


def period_label(index: int, period: Period) -> str:
    """'2011-03', '2011-Q1' or '2011'."""
    if period == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if period == "quarter":
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    return f"{index:04d}"


def is_period_label(label: str) -> bool:
    return bool(_LABEL.match(label))


def parse_period_label(label: str) -> tuple[int, Period]:
    """The index and granularity of a label such as '2011', '2011-Q2' or '2011-04'."""
    if "-Q" in label:
        year, quarter = label.split("-Q")
        return int(year) * 4 + int(quarter) - 1, "quarter"
    if "-" in label:
        year, month = label.split("-")
        return int(year) * 12 + int(month) - 1, "month"
    return int(label), "year"


def period_end(index: int, period: Period) -> date:
    """The first day after the period (exclusive end)."""
    return period_start(index + 1, period)
