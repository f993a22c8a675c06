"""Acquisition cohorts of the golden data set (tests/analytics/golden_data.py), worked out by hand
from docs/metrics.md, as of 2024-04-30 (the last month is 2024-04).

First purchases: c6 2023-04; c5 2023-08; c1, c4, c2 2024-01; c8 2024-02; c3 and c7 2024-04 (c7's
February sale is voided, so it is not its first purchase).
"""

from __future__ import annotations

import gc
from decimal import Decimal as D

import ibis
import pytest
from tests.analytics.golden_data import AS_OF, build_golden_warehouse, mismatches

import fidelis.analytics as fa
from fidelis.warehouse import open_warehouse


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    path = build_golden_warehouse(tmp_path_factory.mktemp("golden_cohorts") / "w.duckdb")
    with open_warehouse(path, read_only=True) as wh:
        inputs = fa.inputs_from_backend(ibis.duckdb.from_connection(wh.con), reporting_currency="EUR", as_of=AS_OF)
        table = fa.cohort_table(inputs)
        del inputs
        gc.collect()
    return table


def cells(months: list[str], size: int, values: list[tuple]) -> list[dict]:
    """Expected cells of one cohort: (customers_active, retention_rate, net_revenue,
    net_revenue_cumulative, revenue_per_customer_cumulative) for each month from the cohort's."""
    assert len(months) == len(values)
    return [dict(months_since_first=k, month=month, cohort_size=size, customers_active=active, retention_rate=rate,
                 net_revenue=D(net), net_revenue_cumulative=D(cumulative),
                 revenue_per_customer_cumulative=D(per_customer))
            for k, (month, (active, rate, net, cumulative, per_customer)) in enumerate(zip(months, values))]


MONTHS_2023 = ["2023-04", "2023-05", "2023-06", "2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12"]
MONTHS_2024 = ["2024-01", "2024-02", "2024-03", "2024-04"]
QUIET_150 = (0, 0.0, "0.00", "150.00", "150.00")
QUIET_200 = (0, 0.0, "0.00", "200.00", "200.00")

EXPECTED = {
    # c6: 101 (150) in its first month, nothing after: cumulative stays 150 per customer.
    "2023-04": cells(MONTHS_2023 + MONTHS_2024, 1, [(1, 1.0, "150.00", "150.00", "150.00")] + [QUIET_150] * 12),
    # c5: 102 + 103 (200) in August 2023, nothing after.
    "2023-08": cells(MONTHS_2023[4:] + MONTHS_2024, 1, [(1, 1.0, "200.00", "200.00", "200.00")] + [QUIET_200] * 8),
    "2024-01": cells(MONTHS_2024, 3, [
        # 104 + 105 + 106 = 490; 490/3 = 163.333 -> 163.33
        (3, 1.0, "490.00", "490.00", "163.33"),
        # c1 (109 + 110) and c2 (111, in Europe) buy: 2/3; 320 - return 114 (30) = 290; 780/3 = 260
        (2, 0.666667, "290.00", "780.00", "260.00"),
        # nobody buys; c2's unlinked cancellation 116 (25.50) is dated in March; 754.50/3 = 251.50
        (0, 0.0, "-25.50", "754.50", "251.50"),
        # c2 (115, 150) and c1 (119, 120): 2/3; 1024.50/3 = 341.50
        (2, 0.666667, "270.00", "1024.50", "341.50"),
    ]),
    # c8: 108 (500) in February, nothing after.
    "2024-02": cells(MONTHS_2024[1:], 1, [(1, 1.0, "500.00", "500.00", "500.00"),
                                          (0, 0.0, "0.00", "500.00", "500.00"),
                                          (0, 0.0, "0.00", "500.00", "500.00")]),
    # c3 (117, 199.97) and c7 (118, 200): 399.97 / 2 = 199.985 -> 199.99 (half up)
    "2024-04": cells(MONTHS_2024[3:], 2, [(2, 1.0, "399.97", "399.97", "199.99")]),
}


def test_every_cell_of_every_cohort_is_present(cohorts) -> None:
    expected_keys = [(cohort, cell["months_since_first"]) for cohort, rows in EXPECTED.items() for cell in rows]
    assert list(zip(cohorts["cohort"], cohorts["months_since_first"])) == expected_keys
    assert set(cohorts["dimension"]) == {"all"} and set(cohorts["group"]) == {"all"}


@pytest.mark.parametrize("cohort", list(EXPECTED))
def test_cohort_cells(cohorts, cohort) -> None:
    rows = cohorts[cohorts["cohort"] == cohort].reset_index(drop=True)
    assert len(rows) == len(EXPECTED[cohort])
    problems = []
    for actual, expected in zip(rows.to_dict("records"), EXPECTED[cohort]):
        problems += [f"+{expected['months_since_first']} {p}" for p in mismatches(actual, expected)]
    assert not problems, f"cohort {cohort}:\n  " + "\n  ".join(problems)


def test_retention_matrix_of_the_january_cohort(cohorts) -> None:
    matrix = fa.retention_matrix(cohorts)
    assert matrix.loc["2024-01"].dropna().tolist() == pytest.approx([1.0, 0.666667, 0.0, 0.666667], abs=1e-6)
