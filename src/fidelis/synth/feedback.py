"""Post-purchase feedback: NPS, CSAT, star rating and a review text consistent with the scores.

Satisfaction rises a little with the order's value and drops when the order had a return, so
that models linking feedback to behaviour have a signal to find. Complaint topics follow the
order's story: returned orders complain about size, damage or refunds, others about shipping
time or customs fees.
"""

from __future__ import annotations

import numpy as np

from fidelis.synth.markets import COUNTRIES
from fidelis.synth.model import SECONDS_PER_DAY, Window
from fidelis.synth.orders import Orders
from fidelis.synth.params import SynthParams
from fidelis.synth.texts import LANGUAGES, OPENINGS_PER_SENTIMENT, TOPICS, text_index

Columns = dict[str, np.ndarray]

_NPS_CENTRE, _NPS_SPREAD = 8.2, 1.7
_VALUE_EFFECT, _RETURN_EFFECT = 0.4, -1.6
_TOPIC_CHANCE = {"neutral": 0.3, "negative": 0.75}
_RETURN_TOPICS = {"damaged_item": 0.3, "wrong_size": 0.45, "refund": 0.25}
_OTHER_TOPICS = {"shipping_delay": 0.5, "customs_fees": 0.3, "damaged_item": 0.2}


def build_feedback(
    rng: np.random.Generator, orders: Orders, returned: np.ndarray, params: SynthParams, window: Window
) -> Columns:
    """Feedback rows for a random share of the customers' orders, sorted by submission time."""
    chosen = np.flatnonzero((orders.customer >= 0) & (rng.random(len(orders)) < params.feedback_order_fraction))
    n = len(chosen)
    delay_s = rng.uniform(params.feedback_min_days, params.feedback_max_days, n) * SECONDS_PER_DAY
    submitted_s = np.minimum(orders.at_s[chosen] + delay_s.astype(np.int64), window.end_s - 1)
    value_ratio = orders.value[chosen] / (params.p * params.gamma / (params.q - 1))
    mood = (rng.standard_normal(n) + _VALUE_EFFECT * np.log(value_ratio) + _RETURN_EFFECT * returned[chosen])
    nps = np.clip(np.rint(_NPS_CENTRE + _NPS_SPREAD * mood), 0, 10).astype(np.int8)
    csat = np.clip(np.rint(1 + 0.4 * nps + rng.normal(0, 0.5, n)), 1, 5).astype(np.int8)
    rating = np.clip(np.rint(csat + rng.normal(0, 0.6, n)), 1, 5).astype(np.int8)
    sentiment = np.where(nps >= 9, 0, np.where(nps >= 7, 1, 2))
    order = np.argsort(submitted_s, kind="stable")
    columns = {
        "order": chosen, "submitted_s": submitted_s, "nps": nps, "csat": csat, "rating": rating,
        "csat_missing": rng.random(n) < params.feedback_missing_score_fraction,
        "rating_missing": rng.random(n) < params.feedback_missing_score_fraction,
        "language": _languages(rng, orders.country[chosen], params),
        "text": _texts(rng, sentiment, returned[chosen], params),
    }
    columns["text"] = np.where(columns["text"] >= 0, columns["text"] + _language_offset(columns["language"]), -1)
    return {name: column[order] for name, column in columns.items()}


def _languages(rng: np.random.Generator, country: np.ndarray, params: SynthParams) -> np.ndarray:
    """Index into texts.LANGUAGES: the country's language mostly, English otherwise."""
    local = np.array([LANGUAGES.index(c.language) for c in COUNTRIES])[country]
    english = LANGUAGES.index("en")
    return np.where(rng.random(len(country)) < params.local_language_fraction, local, english).astype(np.int8)


def _texts(rng: np.random.Generator, sentiment: np.ndarray, returned: np.ndarray, params: SynthParams) -> np.ndarray:
    """Text index without the language part (added by the caller); -1 for no text."""
    n = len(sentiment)
    chance = np.select([sentiment == 1, sentiment == 2], [_TOPIC_CHANCE["neutral"], _TOPIC_CHANCE["negative"]], 0.0)
    with_topic = rng.random(n) < chance
    topic = np.where(returned, _pick(rng, _RETURN_TOPICS, n), _pick(rng, _OTHER_TOPICS, n))
    opening = rng.integers(0, OPENINGS_PER_SENTIMENT, n)
    index = text_index(0, sentiment, opening, np.where(with_topic, 1 + topic, 0))
    return np.where(rng.random(n) < params.feedback_text_fraction, index, -1)


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """Index into texts.TOPICS drawn with the given topic weights."""
    topics = np.array([TOPICS.index(t) for t in weights])
    return topics[rng.choice(len(topics), size=n, p=list(weights.values()))]


def _language_offset(language: np.ndarray) -> np.ndarray:
    return text_index(language.astype(np.int64), 0, 0, 0)
