"""RepeatData: every bad column is named, with the first bad row (or customer id) and the count."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fidelis.errors import ModelError
from fidelis.models.clv import BetaGeoModel, RepeatData


def good():
    return np.array([0.0, 1.0, 3.0, 2.0]), np.array([0.0, 4.0, 9.5, 10.0]), np.array([10.0, 10.0, 10.0, 10.0])


@pytest.mark.parametrize(("column", "index", "value", "message"), [
    ("frequency", 2, -1.0, "column 'frequency' is negative in 1 row, first at row 2"),
    ("frequency", 1, 1.5, "column 'frequency' is not a whole number in 1 row, first at row 1"),
    ("frequency", 3, np.nan, "column 'frequency' is not finite (NaN or infinite) in 1 row, first at row 3"),
    ("recency", 1, np.inf, "column 'recency' is not finite (NaN or infinite) in 1 row, first at row 1"),
    ("recency", 2, -0.5, "column 'recency' is negative in 1 row, first at row 2"),
    ("recency", 3, 10.5, "column 'recency' is greater than T in 1 row, first at row 3"),
    ("recency", 0, 2.0, "column 'recency' is not 0 although frequency is 0 in 1 row, first at row 0"),
    ("T", 1, 0.0, "column 'T' is not > 0 in 1 row, first at row 1"),
    ("T", 2, np.nan, "column 'T' is not finite (NaN or infinite) in 1 row, first at row 2"),
])
def test_each_bad_column_is_named(column, index, value, message):
    columns = dict(zip(("frequency", "recency", "T"), good(), strict=True))
    columns[column] = columns[column].copy()
    columns[column][index] = value
    with pytest.raises(ModelError, match=re.escape(message)):
        RepeatData.from_arrays(**columns)


def test_count_and_customer_id_are_reported():
    x, t_x, T = good()
    T = T.copy()
    T[[1, 3]] = -1.0
    with pytest.raises(ModelError, match=r"column 'T' is not > 0 in 2 rows, first at row 1 \(customer 'b'\)"):
        RepeatData.from_arrays(x, t_x, T, customer_id=["a", "b", "c", "d"])


def test_lengths_and_types():
    x, t_x, T = good()
    with pytest.raises(ModelError, match="same length, got frequency 4, recency 3, T 4"):
        RepeatData.from_arrays(x, t_x[:3], T)
    with pytest.raises(ModelError, match="customer_id 2"):
        RepeatData.from_arrays(x, t_x, T, customer_id=["a", "b"])
    with pytest.raises(ModelError, match="column 'recency' is not numeric"):
        RepeatData.from_arrays(x, ["a", "b", "c", "d"], T)
    with pytest.raises(ModelError, match="column 'T' must be one-dimensional"):
        RepeatData.from_arrays(x, t_x, np.ones((4, 2)))


def test_float_noise_is_tolerated_and_cleaned():
    """Summaries computed from timestamps carry a few ulps of error: recency a hair above T or a hair
    off 0 for one-time buyers is accepted and clipped, more is refused."""
    data = RepeatData.from_arrays([0, 2], [1e-13, 10.0 + 1e-12], [10.0, 10.0])
    assert data.recency[0] == 0.0 and data.recency[1] == 10.0
    with pytest.raises(ModelError, match="greater than T"):
        RepeatData.from_arrays([2], [10.001], [10.0])


def test_scalars_broadcast_and_grouping_counts():
    data = RepeatData.from_arrays([0, 1, 1, 0], [0, 2.0, 2.0, 0], 10.0)
    assert len(data) == 4 and data.T.tolist() == [10.0] * 4
    grouped = data.grouped()
    assert sorted(zip(grouped.frequency, grouped.weights, strict=True)) == [(0.0, 2), (1.0, 2)]
    assert grouped.n_customers == 4


def test_fit_reports_bad_rows_with_customer_ids():
    x, t_x, T = (np.tile(v, 10) for v in good())
    t_x = t_x.copy()
    t_x[13] = 99.0
    with pytest.raises(ModelError, match=r"column 'recency'.*first at row 13 \(customer 'id-13'\)"):
        BetaGeoModel().fit(x, t_x, T, customer_id=[f"id-{i}" for i in range(len(x))])
