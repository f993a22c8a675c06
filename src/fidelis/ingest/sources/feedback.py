"""Survey and review exports (NPS, CSAT, star ratings), recognised by their header alone.

Such exports differ in every tool but share a shape: a date, one or more scores, something that
says who answered (customer id, email or order id), often a free text. Column names are matched
ignoring case, spaces, underscores and hyphens ("Review Score" = review_score).

Scores: nps / nps_score / likelihood_to_recommend -> nps (0-10); csat / csat_score / satisfaction ->
csat; rating / stars / review_score -> rating on a 1-5 scale; a bare "score" -> rating on a scale
this layout does not know (rating_scale_max None: the pipeline decides), because "score" is as often
an NPS answer as a star rating. When several date columns exist the one closest to "when the answer
was given" wins (submitted_at before created_at before date); see `DATE_COLUMNS`.
"""

from __future__ import annotations

from pathlib import Path

from fidelis.errors import Location, MappingError
from fidelis.ingest.sources.base import FEEDBACK_FIELDS, SourceOptions, Staging, find_column, text_of

# Candidates per canonical field, best first.
DATE_COLUMNS = (
    "submitted_at", "response_date", "review_answer_timestamp", "review_date", "survey_date",
    "created_at", "review_creation_date", "date", "timestamp",
)
NPS_COLUMNS = ("nps", "nps_score", "likelihood_to_recommend")
CSAT_COLUMNS = ("csat", "csat_score", "satisfaction")
STAR_COLUMNS = ("rating", "stars", "review_score")
RATING_COLUMNS = (*STAR_COLUMNS, "score")
IDENTITY_COLUMNS = ("customer_id", "customer", "email", "customer_email", "order_id")
CANDIDATES: dict[str, tuple[str, ...]] = {
    "source_feedback_id": ("id", "feedback_id", "review_id", "response_id"),
    "source_customer_id": ("customer_id", "customer"),
    "email": ("email", "customer_email"),
    "source_order_id": ("order_id",),
    "submitted_at": DATE_COLUMNS,
    "rating": RATING_COLUMNS,
    "nps": NPS_COLUMNS,
    "csat": CSAT_COLUMNS,
    "text": ("text", "comment", "review", "review_text", "feedback", "message", "review_comment_message"),
    "language": ("language", "lang", "locale"),
    "channel": ("channel", "source"),
}
assert set(CANDIDATES) == set(FEEDBACK_FIELDS)

# Parts of column names that mark an orders file (a quantity and a price or amount).
_QUANTITY_PARTS = ("quantity", "qty")
_PRICE_PARTS = ("price", "amount", "total", "revenue")
STAR_SCALE_MAX = 5


class FeedbackSource:
    name = "feedback"
    dataset = "feedback"
    description = "survey/review export: a date, a score (nps, csat, rating, stars) and who answered"

    def detect(self, header: list[str]) -> bool:
        has_score = find_column(header, *NPS_COLUMNS, *CSAT_COLUMNS, *RATING_COLUMNS) is not None
        has_identity = find_column(header, *IDENTITY_COLUMNS) is not None
        has_date = find_column(header, *DATE_COLUMNS) is not None
        return has_date and has_score and has_identity and not _looks_like_orders(header)

    def read_options(self, options: SourceOptions) -> dict[str, str]:
        return {}  # CSV, XLSX or JSON lines alike: the reader goes by the file name

    def staging(self, header: list[str], path: Path, options: SourceOptions) -> Staging:
        chosen = {field: find_column(header, *names) for field, names in CANDIDATES.items()}
        _check_usable(header, path, chosen)
        expressions = {field: text_of(column) if column else "NULL" for field, column in chosen.items()}
        return Staging(
            dataset="feedback",
            source_name=options.source_name or self.name,
            namespaced=options.source_name is not None,
            expressions=expressions,
            columns={field: column for field, column in chosen.items() if column},
            timezone=options.timezone or "UTC",
            rating_scale_max=_rating_scale(chosen["rating"]),
        )


def _looks_like_orders(header: list[str]) -> bool:
    """An orders export may carry a product 'rating' and a 'date'; its quantity and price give it away."""
    keys = [h.lower() for h in header]
    has_quantity = any(part in key for key in keys for part in _QUANTITY_PARTS)
    has_price = any(part in key for key in keys for part in _PRICE_PARTS)
    return has_quantity and has_price


def _check_usable(header: list[str], path: Path, chosen: dict[str, str | None]) -> None:
    """A file forced into this layout still needs a date and something to learn from."""
    missing = []
    if chosen["submitted_at"] is None:
        missing.append(f"a date column (one of {', '.join(DATE_COLUMNS)})")
    if not any(chosen[f] for f in ("rating", "nps", "csat", "text")):
        missing.append("a score or text column (e.g. nps, csat, rating, stars, comment)")
    if missing:
        raise MappingError(
            f"not a usable feedback export: missing {' and '.join(missing)}; "
            f"its columns are: {', '.join(header)}",
            Location(path),
        )


def _rating_scale(column: str | None) -> int | None:
    """Stars and review scores are out of 5 by convention; a bare 'score' has no convention."""
    if column is not None and find_column([column], *STAR_COLUMNS):
        return STAR_SCALE_MAX
    return None


SOURCE = FeedbackSource()
