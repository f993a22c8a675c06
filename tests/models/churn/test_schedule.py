"""The time scheme: evaluation at A - H, training cutoffs whose labels end by it, production shifted by H."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fidelis.errors import ModelError
from fidelis.models.churn import ChurnOptions, churn_schedule

FIRST_ORDER = datetime(2010, 12, 1, 8, 26, tzinfo=UTC)  # Online Retail's first order
END = datetime(2011, 9, 1, tzinfo=UTC)                   # midnight after its last order's day


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_online_retail_dates():
    schedule = churn_schedule(data_start=FIRST_ORDER, as_of=END, options=ChurnOptions(horizon_days=90))
    assert schedule.evaluation_cutoff == utc(2011, 6, 3)
    # c_val - H - k * 30 while 30 days of data lie before: 2010-12-05 has only 4
    assert schedule.training_cutoffs == (utc(2011, 3, 5), utc(2011, 2, 3), utc(2011, 1, 4))
    assert schedule.final_cutoffs == (utc(2011, 6, 3), utc(2011, 5, 4), utc(2011, 4, 4), utc(2011, 3, 5),
                                      utc(2011, 2, 3), utc(2011, 1, 4))
    assert schedule.cutoffs == tuple(sorted(set(schedule.final_cutoffs)))


def test_no_label_window_reaches_past_its_limit():
    options = ChurnOptions(horizon_days=45, cutoff_step_days=10, training_cutoffs_max=12, min_history_days=0)
    schedule = churn_schedule(data_start=FIRST_ORDER, as_of=END, options=options)
    horizon = timedelta(days=45)
    assert schedule.evaluation_cutoff + horizon == END
    assert all(cutoff + horizon <= schedule.evaluation_cutoff for cutoff in schedule.training_cutoffs)
    assert all(cutoff + horizon <= END for cutoff in schedule.final_cutoffs)
    assert all(cutoff > FIRST_ORDER for cutoff in schedule.final_cutoffs)
    assert len(schedule.training_cutoffs) == 12  # capped by training_cutoffs_max (19 would fit)


def test_at_most_training_cutoffs_max_and_enough_history():
    options = ChurnOptions(horizon_days=30, training_cutoffs_max=2, min_history_days=60)
    schedule = churn_schedule(data_start=FIRST_ORDER, as_of=END, options=options)
    assert len(schedule.training_cutoffs) == 2 and len(schedule.final_cutoffs) == 2
    assert schedule.training_cutoffs == (utc(2011, 7, 3), utc(2011, 6, 3))  # A - 2H, then a step back


def test_too_short_data_says_what_is_needed():
    with pytest.raises(ModelError, match=r"need 210 days of orders \(30 of history \+ 2 x 90\), the data cover 200"):
        churn_schedule(data_start=utc(2011, 1, 1), as_of=utc(2011, 7, 20), options=ChurnOptions(horizon_days=90))


def test_just_long_enough_gives_one_training_cutoff():
    schedule = churn_schedule(data_start=utc(2011, 1, 1), as_of=utc(2011, 1, 1) + timedelta(days=210),
                              options=ChurnOptions(horizon_days=90))
    assert schedule.training_cutoffs == (utc(2011, 1, 31),)


@pytest.mark.parametrize("horizon", [0, -1])
def test_horizon_must_be_positive(horizon):
    with pytest.raises(ModelError, match="horizon"):
        churn_schedule(data_start=FIRST_ORDER, as_of=END, options=ChurnOptions(horizon_days=horizon))
