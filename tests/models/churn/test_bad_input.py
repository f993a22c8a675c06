"""Bad input gives one clear ModelError line (what and where), never a model or a NaN score."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from tests.models.churn.churn_data import FAST_OPTIONS

from fidelis.errors import ModelError
from fidelis.models.churn import score_churn, train_churn


@pytest.mark.parametrize("horizon", [0, -90])
def test_horizon_must_be_positive(simulated_warehouse, open_backend, horizon):
    with pytest.raises(ModelError, match=f"horizon must be a whole number of days above 0, not {horizon}"):
        train_churn(open_backend(simulated_warehouse), reporting_currency="EUR", horizon_days=horizon,
                    options=FAST_OPTIONS)


def test_too_short_data(hand_warehouse, open_backend):
    # the hand-made shop runs 2024-01-01 .. 2024-05-10: 131 days (from 10:00 on the first), 210 needed for a 90-day horizon
    with pytest.raises(ModelError, match=r"need 210 days of orders .* the data cover 131 \(2024-01-01 to 2024-05-10\)"):
        train_churn(open_backend(hand_warehouse), reporting_currency="EUR", horizon_days=90)


def test_too_few_customers(hand_warehouse, open_backend):
    with pytest.raises(ModelError, match=r"too few customers for a churn model in the training rows \(cutoffs "
                                         r"2024-02-01, 2024-03-02, 2024-04-01\): 6, at least 50 needed"):
        train_churn(open_backend(hand_warehouse), reporting_currency="EUR", horizon_days=20)


def test_the_least_number_of_customers_is_an_option(simulated_warehouse, open_backend):
    options = replace(FAST_OPTIONS, min_customers=10_000)  # the training rows are checked first
    with pytest.raises(ModelError, match="too few customers for a churn model in the training rows"):
        train_churn(open_backend(simulated_warehouse), reporting_currency="EUR", horizon_days=60, options=options)


@pytest.mark.parametrize("as_of", [date(2022, 6, 30), date(2030, 1, 1)])
def test_as_of_outside_the_data(simulated_warehouse, open_backend, as_of):
    message = f"the as-of date {as_of:%Y-%m-%d} is outside the data, which run from 2023-01-.. to 2024-02-24"
    with pytest.raises(ModelError, match=message.replace("(", "\\(")):
        train_churn(open_backend(simulated_warehouse), reporting_currency="EUR", horizon_days=60, as_of=as_of,
                    options=FAST_OPTIONS)


def test_scoring_outside_the_data(simulated_warehouse, open_backend, tmp_path):
    backend = open_backend(simulated_warehouse)
    training = train_churn(backend, reporting_currency="EUR", horizon_days=60, options=FAST_OPTIONS)
    with pytest.raises(ModelError, match="the as-of date 2030-01-01 is outside the data"):
        score_churn(backend, training.model, reporting_currency="EUR", as_of=date(2030, 1, 1))
    with pytest.raises(ModelError, match="trained on amounts in EUR, but this warehouse reports in GBP"):
        score_churn(backend, training.model, reporting_currency="GBP")
    scores = score_churn(backend, training.model, reporting_currency="EUR", as_of=date(2023, 6, 30))
    assert scores["churn_probability"].notna().all()
