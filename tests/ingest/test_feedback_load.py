"""Feedback: linked to customers and orders, also when they arrive later; reloads add nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from fidelis.config import Settings
from fidelis.errors import ParseError
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions

ORDERS = "order,date,customer,email,amount,qty\nA1,2023-03-01,c1,ann@example.com,10,1\nA2,2023-03-02,c2,,5,1\n"
ORDERS_MAPPING = """
[source]
name = "shop"
default_currency = "EUR"
[columns]
order_id = "order"
ordered_at = "date"
customer_id = "customer"
email = "email"
line_amount = "amount"
quantity = "qty"
"""
SURVEY = ("response_id,customer_id,order_id,email,submitted_at,nps,csat,comment\n"
          "r1,c1,A1,,2023-03-05,9,5,Fast delivery\n"
          "r2,,,ANN@example.com,2023-03-06,3,2,Parcel arrived damaged\n"
          "r3,c2,A2,,2023-03-07,10,,\n"
          "r4,c9,Z9,,2023-03-07,7,4,who is this\n")
SETTINGS = Settings(reporting_currency="EUR")


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    files = {"orders": ORDERS, "orders.toml": ORDERS_MAPPING, "survey": SURVEY}
    out = {}
    for name, text in files.items():
        path = tmp_path / (f"{name}.csv" if "." not in name else name)
        path.write_text(text)
        out[name] = path
    out["warehouse"] = tmp_path / "wh.duckdb"
    return out


def load_orders(paths) -> None:
    ingest_file(paths["orders"], warehouse_path=paths["warehouse"], settings=SETTINGS,
                options=SourceOptions(mapping_path=paths["orders.toml"]))


def load_survey(paths, survey: Path, source: str | None = "shop", **kwargs):
    """Load a survey file into the test warehouse, in the shop's namespace unless source is None."""
    return ingest_file(survey, warehouse_path=paths["warehouse"], settings=SETTINGS,
                       options=SourceOptions(source_name=source), **kwargs)


def links(paths) -> dict[str, tuple]:
    with duckdb.connect(str(paths["warehouse"]), read_only=True) as con:
        rows = con.execute(
            """SELECT f.source_feedback_id, f.customer_id, o.source_order_id, f.nps, f.csat
               FROM feedback f LEFT JOIN orders o USING (order_id) ORDER BY 1""").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_survey_detected_and_linked_by_id_order_and_email(paths) -> None:
    load_orders(paths)
    report = load_survey(paths, paths["survey"])
    assert report.source_format == "feedback" and report.feedback_loaded == 4
    assert links(paths) == {"r1": (1, "A1", 9, 5), "r2": (1, None, 3, 2), "r3": (2, "A2", 10, None),
                            "r4": (None, None, 7, 4)}


def test_feedback_before_orders_is_linked_when_orders_arrive(paths) -> None:
    load_survey(paths, paths["survey"])
    assert all(customer is None for customer, *_ in links(paths).values())
    load_orders(paths)
    assert links(paths)["r1"] == (1, "A1", 9, 5) and links(paths)["r2"][0] == 1


def test_survey_without_namespace_links_ids_found_in_exactly_one_shop(paths) -> None:
    load_orders(paths)
    load_survey(paths, paths["survey"], source=None)
    assert links(paths)["r1"] == (1, "A1", 9, 5)


def test_reloading_feedback_adds_nothing(paths) -> None:
    load_orders(paths)
    first = load_survey(paths, paths["survey"])
    again = load_survey(paths, paths["survey"], lenient=True)  # other options: no hash match
    assert first.feedback_loaded == 4
    assert again.status == "loaded" and again.feedback_loaded == 0 and again.lines_by_fate["skipped_existing"] == 4


def test_scores_out_of_scale_are_quarantined_and_bad_numbers_refused(paths, tmp_path: Path) -> None:
    load_orders(paths)
    survey = tmp_path / "scores.csv"
    survey.write_text("customer_id,submitted_at,nps,csat\nc1,2023-03-05,11,5\nc1,2023-03-06,8,0\nc2,2023-03-06,8,4\n")
    report = load_survey(paths, survey)
    assert report.quarantine_by_reason == {"csat_out_of_range": 1, "nps_out_of_range": 1}
    survey.write_text("customer_id,submitted_at,nps\nc1,2023-03-05,9.5\n")
    with pytest.raises(ParseError, match="row 2, column 'nps'"):
        load_survey(paths, survey)


def test_rating_scale_of_a_bare_score_column_is_inferred(paths, tmp_path: Path) -> None:
    load_orders(paths)
    survey = tmp_path / "scores.csv"
    survey.write_text("customer_id,date,score\nc1,2023-03-05,8\nc2,2023-03-06,10\n")
    report = load_survey(paths, survey)
    assert report.feedback_loaded == 2
    with duckdb.connect(str(paths["warehouse"]), read_only=True) as con:
        assert con.execute("SELECT DISTINCT rating_scale_max FROM feedback").fetchall() == [(10,)]


def test_dedupe_keys_tell_apart_which_score_is_given_and_repeat_ids_are_duplicates(paths, tmp_path: Path) -> None:
    load_orders(paths)
    survey = tmp_path / "dupes.csv"
    survey.write_text("response_id,customer_id,submitted_at,nps,csat\n"
                      ",c1,2023-03-05,4,\n,c1,2023-03-05,,4\nx1,c2,2023-03-06,8,\nx1,c2,2023-03-07,9,\n")
    report = load_survey(paths, survey)
    assert report.feedback_loaded == 3 and report.quarantine_by_reason == {"duplicate_feedback": 1}
