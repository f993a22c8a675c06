"""Churn features and labels: values worked out by hand, and nothing read from at or after the cutoff."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from tests.analytics.golden_data import insert_feedback, insert_orders
from tests.models.churn.churn_data import HAND_CUTOFF, HAND_LABELS

from fidelis.analytics.inputs import inputs_from_backend
from fidelis.errors import ModelError
from fidelis.models.churn import churn_features, churn_labels, feature_set
from fidelis.models.churn.features import FEATURES
from fidelis.warehouse import open_warehouse


def _inputs(backend, cutoff: datetime):
    return replace(inputs_from_backend(backend, reporting_currency="EUR"), as_of=cutoff)


@pytest.fixture
def hand_features(hand_warehouse, open_backend):
    backend = open_backend(hand_warehouse)
    result = feature_set(_inputs(backend, HAND_CUTOFF), horizon_days=30, order_lines=backend.table("order_lines"))
    return result, result.frame.set_index("customer_id")


def test_population_is_customers_with_a_purchase_before_the_cutoff(hand_features):
    _, frame = hand_features
    # c4's only sale is voided; c7 first buys after the cutoff; c5's cancellation comes after it
    assert sorted(frame.index) == [1, 2, 3, 5, 6, 8]
    assert list(frame.columns[-len(FEATURES):]) == list(FEATURES)


def test_repeat_buyer_features_by_hand(hand_features):
    _, frame = hand_features
    c1 = frame.loc[1]
    expected = {
        "days_since_last": 30.5, "purchases": 4, "purchase_days": 3, "tenure_days": 90 + 14 / 24,
        "net_value": 330.0, "order_value_mean": 82.5,
        "gap_mean_days": 30.0, "gap_std_days": math.sqrt(800), "gap_max_days": 50.0, "overdue_ratio": 30.5 / 30,
        "purchases_30d": 0, "purchases_90d": 3, "purchases_prev_90d": 1, "purchases_change_90d": 2,
        "spend_30d": 0.0, "spend_90d": 280.0, "spend_prev_90d": 100.0, "spend_change_90d": 180 / 380,
        "refunds": 1, "refund_share": 50 / 380,
        "feedback_responses": 2, "rating_share_mean": 0.4, "csat_mean": 4.0, "complaints": 1,
        "categories_bought": 2, "top_category_share": 350 / 380,
    }
    for name, value in expected.items():
        assert c1[name] == pytest.approx(value, abs=1e-6), name
    assert math.isnan(c1["nps_mean"])  # nobody gave an NPS answer before the cutoff
    assert c1["market"] == "Europe"


def test_one_time_buyer_has_missing_not_zero_history(hand_features):
    _, frame = hand_features
    c2 = frame.loc[2]
    assert c2["days_since_last"] == pytest.approx(46.0)
    assert c2["purchases"] == 1
    for name in ("gap_mean_days", "gap_std_days", "gap_max_days", "overdue_ratio", "rating_share_mean",
                 "csat_mean", "complaints", "categories_bought", "top_category_share"):
        assert math.isnan(c2[name]), name
    assert c2["feedback_responses"] == 0 and c2["refund_share"] == 0
    # a purchase one minute before the cutoff counts, the one exactly at it does not
    assert frame.loc[3, "days_since_last"] == pytest.approx(1 / 1440)
    assert frame.loc[3, "purchases"] == 1
    assert frame.loc[5, "refunds"] == 0  # its cancellation is after the cutoff


def test_bgnbd_that_cannot_fit_leaves_its_columns_empty_and_says_so(hand_features):
    result, frame = hand_features  # six customers: too few for BG/NBD
    assert not result.bgnbd.fitted
    assert frame[["p_alive", "p_no_purchase_h", "expected_purchases_h"]].isna().all().all()
    assert any("BG/NBD could not be fitted at the cutoff 2024-04-01" in message for message in result.warnings)


def test_without_order_lines_the_category_mix_is_empty(hand_warehouse, open_backend):
    frame = churn_features(_inputs(open_backend(hand_warehouse), HAND_CUTOFF), horizon_days=30)
    assert frame[["categories_bought", "top_category_share"]].isna().all().all()


def test_labels_by_hand(hand_warehouse, open_backend):
    inputs = inputs_from_backend(open_backend(hand_warehouse), reporting_currency="EUR")
    labels = churn_labels(inputs, cutoff=HAND_CUTOFF, horizon_days=30)
    assert dict(zip(labels["customer_id"], labels["churned"], strict=True)) == HAND_LABELS


def test_labels_need_data_up_to_the_window_end(hand_warehouse, open_backend):
    inputs = inputs_from_backend(open_backend(hand_warehouse), reporting_currency="EUR")
    with pytest.raises(ModelError, match="need orders up to 2024-06-29.*data end on 2024-05-10"):
        churn_labels(inputs, cutoff=HAND_CUTOFF, horizon_days=90)


# ---------------------------------------------------------------- never the future

CUTOFF = datetime(2023, 10, 1, tzinfo=UTC)


def _features_at_cutoff(path, open_backend) -> pd.DataFrame:
    backend = open_backend(path)
    inputs = replace(inputs_from_backend(backend, reporting_currency="EUR"), as_of=CUTOFF)
    return churn_features(inputs, horizon_days=60, order_lines=backend.table("order_lines"))


def _change_the_future(path) -> None:
    """Rewrite everything at or after CUTOFF: amounts, categories, feedback; void a past sale; add orders."""
    with open_warehouse(path) as wh:
        con = wh.con
        con.execute("UPDATE orders SET amount = amount * 7, amount_reporting = amount_reporting * 7 "
                    "WHERE ordered_at >= ?", [CUTOFF])
        con.execute("UPDATE order_lines SET category = 'other' WHERE order_id IN "
                    "(SELECT order_id FROM orders WHERE ordered_at >= ?)", [CUTOFF])
        con.execute("UPDATE feedback SET csat = 1, rating = 1 WHERE submitted_at >= ?", [CUTOFF])
        last_sale = con.execute("SELECT order_id, customer_id, amount FROM orders WHERE order_kind = 'sale' "
                                "AND ordered_at < ? ORDER BY ordered_at DESC LIMIT 1", [CUTOFF]).fetchone()
        insert_orders(con, [
            # a cancellation exactly at the cutoff that voids the last sale before it
            (900001, "cancellation", last_sale[0], last_sale[1], CUTOFF.strftime("%Y-%m-%d %H:%M:%S"), "DE",
             "Europe", "web", f"{-last_sale[2]:.2f}"),
            (900002, "sale", None, 1, "2023-10-01 00:00:00", "DE", "Europe", "web", "999.00"),
            (900003, "sale", None, 2, "2023-12-24 10:00:00", "DE", "Europe", "web", "5.00"),
            (900004, "return", None, 3, "2023-11-02 10:00:00", "DE", "Europe", "web", "-40.00"),
        ])
        insert_feedback(con, [(900001, 4, None, "2023-10-01 00:00:00", "1", 5, 0, 1)])


def test_features_ignore_everything_at_or_after_the_cutoff(simulated_warehouse, writable_copy, open_backend):
    before = _features_at_cutoff(simulated_warehouse, open_backend)
    changed = writable_copy(simulated_warehouse)
    _change_the_future(changed)
    after = _features_at_cutoff(changed, open_backend)
    assert before["p_alive"].notna().all()  # BG/NBD fitted: its columns are compared too
    pd.testing.assert_frame_equal(before, after)


def test_the_same_check_sees_a_change_in_the_past(simulated_warehouse, writable_copy, open_backend):
    """The comparison above is not vacuous: one changed amount before the cutoff changes the features."""
    before = _features_at_cutoff(simulated_warehouse, open_backend)
    changed = writable_copy(simulated_warehouse)
    with open_warehouse(changed) as wh:
        wh.con.execute("UPDATE orders SET amount_reporting = amount_reporting + 100 WHERE order_id = "
                       "(SELECT max(order_id) FROM orders WHERE ordered_at < ? AND order_kind = 'sale')", [CUTOFF])
    after = _features_at_cutoff(changed, open_backend)
    assert not np.allclose(before["net_value"], after["net_value"])


def test_prepared_inputs_cut_later_do_not_leak(simulated_warehouse, open_backend):
    """Inputs prepared at the end of the data and then moved back to a cutoff read the raw tables."""
    from fidelis.analytics.inputs import prepared

    plain = _features_at_cutoff(simulated_warehouse, open_backend)
    backend = open_backend(simulated_warehouse)
    with prepared(inputs_from_backend(backend, reporting_currency="EUR")) as inputs:
        moved = churn_features(replace(inputs, as_of=CUTOFF), horizon_days=60,
                               order_lines=backend.table("order_lines"))
    pd.testing.assert_frame_equal(plain, moved)


def test_cutoff_outside_the_data_is_refused(hand_warehouse, open_backend):
    inputs = inputs_from_backend(open_backend(hand_warehouse), reporting_currency="EUR")
    with pytest.raises(ModelError, match="cutoff 2024-01-01 is not after the first order \\(2024-01-01 10:00 UTC\\)"):
        churn_features(replace(inputs, as_of=datetime(2024, 1, 1, tzinfo=UTC)), horizon_days=30)
    with pytest.raises(ModelError, match=r"cutoff 2024-07-02 is after the end of the data "
                                         r"\(they end on 2024-05-10\)"):
        churn_labels(inputs, cutoff=datetime(2024, 7, 2, tzinfo=UTC), horizon_days=30)


@pytest.mark.parametrize("horizon", [0, -30, 1.5])
def test_horizon_must_be_positive_whole_days(hand_warehouse, open_backend, horizon):
    inputs = _inputs(open_backend(hand_warehouse), HAND_CUTOFF)
    with pytest.raises(ModelError, match="horizon must be a whole number of days above 0"):
        churn_features(inputs, horizon_days=horizon)
