"""The header-detected feedback layout: which headers it claims, and how columns become fields."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from fidelis.errors import MappingError
from fidelis.ingest.readers import read_raw
from fidelis.ingest.sources import REGISTRY
from fidelis.ingest.sources.base import FEEDBACK_FIELDS, SourceOptions
from fidelis.ingest.sources.feedback import SOURCE

SURVEY = ["Response ID", "Email", "Submitted At", "NPS", "Comment", "Language", "Channel"]
OLIST_REVIEWS = ["review_id", "order_id", "review_score", "review_comment_title", "review_comment_message",
                 "review_creation_date", "review_answer_timestamp"]
STORE_REVIEWS = ["Review Date", "Customer Email", "Stars", "Review Text", "Locale"]
ONLINE_RETAIL = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                 "CustomerID", "Country"]
SHOPIFY = ["Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem name",
           "Lineitem price", "Currency"]


def _staged(path: Path, options: SourceOptions = SourceOptions()) -> list[dict[str, str | None]]:
    con = duckdb.connect()
    header = read_raw(con, path)
    staging = SOURCE.staging(header, path, options)
    select = ", ".join(f"{staging.expressions[f]} AS {f}" for f in FEEDBACK_FIELDS)
    relation = con.sql(f"SELECT _row, {select} FROM raw ORDER BY _row")
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


@pytest.mark.parametrize("header", [SURVEY, OLIST_REVIEWS, STORE_REVIEWS], ids=["survey", "olist", "store"])
def test_detects_feedback_exports_and_only_this_layout_does(header: list[str]) -> None:
    assert [name for name, source in REGISTRY.items() if source.detect(header)] == ["feedback"]


@pytest.mark.parametrize(
    "header",
    [
        ["order_id", "order_date", "rating", "quantity", "unit_price"],  # an orders file with product ratings
        ["customer_id", "date", "stars", "qty", "line_amount"],
        ["email", "nps", "comment"],                                     # no date
        ["email", "submitted_at", "comment"],                            # no score
        ["submitted_at", "nps", "comment"],                              # nobody to attach it to
        ONLINE_RETAIL,
        SHOPIFY,
    ],
    ids=["orders-rating", "orders-stars", "no-date", "no-score", "no-identity", "online-retail", "shopify"],
)
def test_does_not_detect(header: list[str]) -> None:
    assert not SOURCE.detect(header)


def test_read_options_leave_the_format_to_the_file_name() -> None:
    assert SOURCE.read_options(SourceOptions()) == {}


def test_survey_columns_become_fields(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "survey.csv", SURVEY, [
        ["r1", " ann@example.com ", "2023-01-05 10:00:00", "9", "Fast shipping", "en", "email"],
        ["r2", "bo@example.com", "2023-01-06T08:00:00+01:00", "3", "", "", ""],
    ])
    first, second = _staged(path)
    assert first == {
        "_row": 2, "source_feedback_id": "r1", "source_customer_id": None, "email": "ann@example.com",
        "source_order_id": None, "submitted_at": "2023-01-05 10:00:00", "rating": None, "nps": "9",
        "csat": None, "text": "Fast shipping", "language": "en", "channel": "email",
    }
    assert (second["nps"], second["text"], second["language"]) == ("3", None, None)


def test_olist_reviews_use_the_answer_time_and_a_five_point_scale(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "reviews.csv", OLIST_REVIEWS, [
        ["rv1", "o1", "4", "", "Recebi bem antes do prazo", "2018-01-18 00:00:00", "2018-01-18 21:46:59"],
    ])
    (row,) = _staged(path)
    assert (row["source_feedback_id"], row["source_order_id"], row["rating"]) == ("rv1", "o1", "4")
    assert row["submitted_at"] == "2018-01-18 21:46:59"
    assert row["text"] == "Recebi bem antes do prazo"
    assert SOURCE.staging(OLIST_REVIEWS, path, SourceOptions()).rating_scale_max == 5


def test_staging_settings() -> None:
    path = Path("feedback.csv")
    stars = SOURCE.staging(STORE_REVIEWS, path, SourceOptions())
    assert (stars.dataset, stars.source_name, stars.timezone) == ("feedback", "feedback", "UTC")
    assert stars.rating_scale_max == 5
    assert stars.columns == {"submitted_at": "Review Date", "email": "Customer Email", "rating": "Stars",
                             "text": "Review Text", "language": "Locale"}
    named = SOURCE.staging(SURVEY, path, SourceOptions(source_name="typeform", timezone="Europe/Paris"))
    assert (named.source_name, named.timezone, named.rating_scale_max) == ("typeform", "Europe/Paris", None)


def test_a_bare_score_has_no_assumed_scale() -> None:
    staging = SOURCE.staging(["customer_id", "date", "score"], Path("f.csv"), SourceOptions())
    assert staging.expressions["rating"] != "NULL"
    assert staging.rating_scale_max is None


def test_csat_and_customer_id(tmp_path: Path, write_csv) -> None:
    path = write_csv(tmp_path / "csat.csv", ["customer_id", "created_at", "satisfaction", "feedback_id"],
                  [["c-17", "2023-03-01", "5", "f9"]])
    (row,) = _staged(path)
    assert (row["source_customer_id"], row["csat"], row["source_feedback_id"]) == ("c-17", "5", "f9")


def test_forced_on_a_file_without_a_date_names_what_is_missing() -> None:
    with pytest.raises(MappingError, match="date column"):
        SOURCE.staging(["email", "nps"], Path("f.csv"), SourceOptions())
    with pytest.raises(MappingError, match="score or text"):
        SOURCE.staging(["email", "date", "language"], Path("f.csv"), SourceOptions())
