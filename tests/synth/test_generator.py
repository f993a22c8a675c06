"""The synthetic data generator: determinism, file contracts, internal consistency, statistics, CLI."""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow.parquet as pq
import pytest
import typer
from scipy.special import hyp2f1
from typer.testing import CliRunner

from fidelis.cli.synth import synth_command
from fidelis.synth import SynthParams, generate
from fidelis.synth.markets import COUNTRIES
from fidelis.synth.texts import OPENINGS

ORDER_COLUMNS = ["order_id", "order_date", "order_type", "refund_of", "customer_id", "email", "phone",
                 "customer_name", "country", "currency", "sku", "product", "category", "quantity", "unit_price",
                 "line_amount", "channel"]
FEEDBACK_COLUMNS = ["feedback_id", "customer_id", "email", "order_id", "submitted_at", "nps", "csat", "rating",
                    "text", "language"]
WINDOW_END = pd.Timestamp("2026-01-01")  # default window: 2023-01-01 .. 2025-12-31 inclusive
SECONDS_PER_DAY = 86_400


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    generate(out, customers=3000, seed=11)
    return out


@pytest.fixture(scope="module")
def orders(synth: Path) -> pd.DataFrame:
    df = pd.read_csv(synth / "orders.csv", dtype=str, keep_default_na=False)
    df["order_date"] = pd.to_datetime(df["order_date"], format="%Y-%m-%d %H:%M:%S")
    for column in ("quantity", "unit_price", "line_amount"):
        df[column] = pd.to_numeric(df[column])
    return df


@pytest.fixture(scope="module")
def params(synth: Path) -> dict:
    return json.loads((synth / "params.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(synth: Path) -> pd.DataFrame:
    return pd.read_parquet(synth / "customers_truth.parquet")


def _sales(orders: pd.DataFrame) -> pd.DataFrame:
    return orders[orders["order_type"] == "sale"]


def _returns(orders: pd.DataFrame) -> pd.DataFrame:
    return orders[orders["order_type"] == "return"]


# --- determinism -------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", customers=800, seed=3)
    second = generate(tmp_path / "b", customers=800, seed=3)
    third = generate(tmp_path / "c", customers=800, seed=4)
    assert sorted(p.name for p in first.files.values()) == sorted(p.name for p in (tmp_path / "a").iterdir())
    for role, path in first.files.items():
        assert path.read_bytes() == second.files[role].read_bytes(), role
    assert first.orders_path.read_bytes() != third.orders_path.read_bytes()


def test_gzip_and_parquet_hold_the_same_rows_as_csv(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", customers=400, seed=9)
    packed = generate(tmp_path / "gz", customers=400, seed=9, compress=True)
    parquet = generate(tmp_path / "pq", customers=400, seed=9, fmt="parquet")
    assert packed.orders_path.name == "orders.csv.gz"
    assert gzip.decompress(packed.orders_path.read_bytes()) == plain.orders_path.read_bytes()
    assert gzip.decompress(packed.feedback_path.read_bytes()) == plain.feedback_path.read_bytes()
    from_csv = pd.read_csv(plain.orders_path, dtype=str, keep_default_na=False)
    from_parquet = pq.read_table(parquet.orders_path).to_pandas()
    assert list(from_parquet.columns) == ORDER_COLUMNS
    assert len(from_parquet) == len(from_csv)
    assert (from_parquet["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S") == from_csv["order_date"]).all()
    assert np.allclose(from_parquet["line_amount"], pd.to_numeric(from_csv["line_amount"]))
    mapping = tomllib.loads((tmp_path / "pq" / "orders.mapping.toml").read_text())
    assert mapping["source"]["format"] == "parquet" and "date_format" not in mapping["source"]


# --- file contracts ----------------------------------------------------------------------------------------


def test_files_and_headers_are_exactly_as_documented(synth: Path) -> None:
    names = {p.name for p in synth.iterdir()}
    assert names == {"orders.csv", "orders.mapping.toml", "feedback.csv", "feedback.mapping.toml",
                     "customers_truth.parquet", "params.json", "README.md"}
    with (synth / "orders.csv").open(encoding="utf-8") as fh:
        assert fh.readline().strip().replace('"', "").split(",") == ORDER_COLUMNS
        assert re.match(r'^"O\d{8}",\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,"sale",', fh.readline())
    with (synth / "feedback.csv").open(encoding="utf-8") as fh:
        assert fh.readline().strip().replace('"', "").split(",") == FEEDBACK_COLUMNS


def test_mapping_files_are_valid_generic_source_mappings(synth: Path) -> None:
    import fidelis.ingest.sources  # noqa: F401  (fidelis.ingest.mapping cannot be imported first: import cycle)
    from fidelis.ingest.mapping import load_mapping

    orders_mapping = load_mapping(synth / "orders.mapping.toml")
    feedback_mapping = load_mapping(synth / "feedback.mapping.toml")
    assert orders_mapping.source.name == "synth" and orders_mapping.source.kind == "orders"
    assert orders_mapping.source.date_format == "%Y-%m-%d %H:%M:%S" and orders_mapping.source.timezone == "UTC"
    assert set(orders_mapping.columns.values()) == set(ORDER_COLUMNS)
    assert orders_mapping.values["order_kind"] == {"sale": ["sale"], "return": ["return"],
                                                   "cancellation": ["cancellation"]}
    assert feedback_mapping.source.kind == "feedback" and feedback_mapping.source.rating_scale_max == 5
    assert set(feedback_mapping.columns.values()) == set(FEEDBACK_COLUMNS)


def test_rows_are_sorted_by_time_within_the_window(orders: pd.DataFrame) -> None:
    assert orders["order_date"].is_monotonic_increasing
    assert orders["order_date"].min() >= pd.Timestamp("2023-01-01")
    assert orders["order_date"].max() < WINDOW_END


# --- counts ------------------------------------------------------------------------------------------------


def test_counts_match_params_json(synth: Path, orders: pd.DataFrame, params: dict, truth: pd.DataFrame) -> None:
    counts, dirty = params["counts"], params["dirty_rows"]
    sales, returns = _sales(orders), _returns(orders)
    extra_sale_rows = dirty["zero_unit_price"] + dirty["negative_quantity"] + dirty["duplicate_line"] \
        + dirty["unknown_country"]
    assert len(orders) == counts["order_rows"]
    assert len(sales) == counts["sale_lines"] + extra_sale_rows
    assert len(returns) == counts["return_lines"] + dirty["orphan_return"]
    known = sales[sales["customer_id"] != ""]
    guests = sales[(sales["customer_id"] == "") & (sales["country"] != "Atlantis")]
    assert known["order_id"].nunique() == counts["customer_orders"] == counts["customers"] \
        + counts["repeat_purchases"]
    assert guests["order_id"].nunique() == counts["guest_orders"]
    assert counts["sale_orders"] == counts["customer_orders"] + counts["guest_orders"]
    assert len(truth) == counts["customers"] == params["customers"] == 3000
    assert int(truth["alive_at_end"].sum()) == counts["customers_alive_at_end"]
    assert len(pd.read_csv(synth / "feedback.csv")) == counts["feedback_rows"]
    assert params["seed"] == 11 and params["window"]["start_date"] == "2023-01-01"
    assert params["window"]["end_date"] == "2025-12-31" and params["units"]["time"] == "days"
    assert params["model"] == {"bgnbd": {"r": 0.75, "alpha": 60.0, "a": 0.8, "b": 2.5},
                               "gamma_gamma": {"p": 6.0, "q": 4.0, "gamma": 40.0}}
    assert set(params["files"]) == {p.name for p in synth.iterdir()}


def test_shares_of_guests_returns_and_feedback_are_as_configured(params: dict) -> None:
    counts = params["counts"]
    assert counts["guest_orders"] / counts["sale_orders"] == pytest.approx(0.03, abs=0.005)
    assert counts["return_lines"] / counts["sale_lines"] == pytest.approx(0.06, abs=0.01)
    assert counts["feedback_rows"] / counts["customer_orders"] == pytest.approx(0.20, abs=0.02)
    assert 8 <= counts["sale_lines"] / counts["customers"] <= 12


# --- dirty rows --------------------------------------------------------------------------------------------


def test_each_dirty_kind_is_present_exactly_as_counted(orders: pd.DataFrame, params: dict) -> None:
    dirty = params["dirty_rows"]
    sales, returns = _sales(orders), _returns(orders)
    assert all(dirty[kind] >= 1 for kind in dirty)
    assert (sales["unit_price"] == 0).sum() == dirty["zero_unit_price"]
    assert (sales["quantity"] < 0).sum() == dirty["negative_quantity"]
    assert orders.duplicated().sum() == dirty["duplicate_line"]
    assert (orders["country"] == "Atlantis").sum() == dirty["unknown_country"]
    orphans = ~returns["refund_of"].isin(set(sales["order_id"]))
    assert orphans.sum() == dirty["orphan_return"]


def test_no_unparsable_values_or_unknown_currencies(orders: pd.DataFrame) -> None:
    assert orders["order_date"].notna().all()
    assert orders[["quantity", "unit_price", "line_amount"]].notna().all().all()
    table_currencies = set(pd.read_csv(Path(__file__).parents[2] / "src/fidelis/ingest/data/fx_monthly_ecb.csv")
                           ["currency"]) | {"EUR"}
    assert set(orders["currency"]) <= table_currencies


# --- orders and returns ------------------------------------------------------------------------------------


def test_line_amount_is_quantity_times_unit_price_in_minor_units(orders: pd.DataFrame) -> None:
    decimals = orders["currency"].map(lambda c: 0 if c in {"JPY", "KRW", "IDR"} else 2)
    scale = 10.0 ** decimals
    assert np.allclose(orders["unit_price"] * scale, np.round(orders["unit_price"] * scale))
    assert np.allclose(orders["line_amount"], np.round(orders["quantity"] * orders["unit_price"] * scale) / scale)
    zero_decimal = orders[decimals == 0]
    assert len(zero_decimal) > 0 and (zero_decimal["unit_price"] % 1 == 0).all()


def test_orders_have_one_to_five_distinct_skus_and_one_customer_time_and_currency(orders: pd.DataFrame) -> None:
    genuine = _sales(orders).drop_duplicates()
    genuine = genuine[(genuine["unit_price"] > 0) & (genuine["quantity"] > 0)]
    per_order = genuine.groupby("order_id").agg(lines=("sku", "size"), skus=("sku", "nunique"),
                                                times=("order_date", "nunique"), customers=("customer_id", "nunique"),
                                                currencies=("currency", "nunique"))
    assert per_order["lines"].between(1, 5).all()
    assert (per_order["skus"] == per_order["lines"]).all()
    assert (per_order[["times", "customers", "currencies"]] == 1).all().all()
    assert genuine["quantity"].between(1, 3).all()
    assert set(genuine["channel"]) == {"web", "app", "marketplace"}


def test_returns_refund_existing_lines_3_to_40_days_later(orders: pd.DataFrame, params: dict) -> None:
    sales = _sales(orders).drop_duplicates()
    returns = _returns(orders)
    linked = returns.merge(sales, left_on=["refund_of", "sku"], right_on=["order_id", "sku"], suffixes=("", "_sale"))
    assert len(linked) == len(returns) - params["dirty_rows"]["orphan_return"]
    assert (linked["order_id"] == "R" + linked["refund_of"].str[1:]).all()
    assert (linked["quantity"] == -linked["quantity_sale"]).all()
    assert (linked["unit_price"] == linked["unit_price_sale"]).all()
    assert (linked["line_amount"] == -linked["line_amount_sale"]).all()
    assert (linked["customer_id"] == linked["customer_id_sale"]).all()
    delay_days = (linked["order_date"] - linked["order_date_sale"]).dt.total_seconds() / SECONDS_PER_DAY
    assert delay_days.between(3, 40).all()
    assert (returns["quantity"] < 0).all()


def test_guest_orders_have_no_customer_email_or_phone(orders: pd.DataFrame) -> None:
    guests = orders[orders["customer_id"] == ""]
    assert len(guests) > 0
    assert (guests["email"] == "").all() and (guests["phone"] == "").all()
    known = orders[orders["customer_id"] != ""]
    assert (known["email"] != "").all()


# --- identities --------------------------------------------------------------------------------------------


def test_one_normalised_email_per_customer_and_vice_versa(orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    known = orders[orders["customer_id"] != ""]
    normalised = known["email"].str.strip().str.lower()
    pairs = pd.DataFrame({"customer_id": known["customer_id"], "email": normalised}).drop_duplicates()
    assert pairs["customer_id"].is_unique and pairs["email"].is_unique
    assert (known["email"] != normalised).mean() > 0.1  # messy case and spaces are common
    assert known["email"].str.startswith("  ").any() and known["email"].str.contains(r"[A-Z]").any()
    expected = truth.set_index("customer_id").loc[pairs["customer_id"], "email"]
    assert (expected.to_numpy() == pairs["email"].to_numpy()).all()


def test_phones_are_valid_and_one_e164_number_per_customer(orders: pd.DataFrame) -> None:
    code_of = {name: c.iso2 for c in COUNTRIES for name in (c.iso2, *c.names)}
    with_phone = orders[(orders["phone"] != "") & (orders["country"] != "Atlantis")].drop_duplicates(
        ["customer_id", "phone"])
    sample = with_phone.sample(n=min(1500, len(with_phone)), random_state=1)
    e164 = [phonenumbers.parse(phone, code_of[country]) for phone, country in zip(sample["phone"], sample["country"],
                                                                                 strict=True)]
    assert all(phonenumbers.is_valid_number(number) for number in e164)
    numbers = pd.DataFrame({"customer_id": sample["customer_id"], "e164": [
        phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in e164]}).drop_duplicates()
    assert numbers["customer_id"].is_unique and numbers["e164"].is_unique
    assert (~with_phone["phone"].str.startswith("+")).any()  # some national formats
    assert with_phone["phone"].str.contains(" ").any()  # some spaced international formats


def test_countries_are_written_as_codes_and_names_and_names_use_several_scripts(orders: pd.DataFrame) -> None:
    countries = set(orders["country"])
    assert {"DE", "Germany", "US", "United States"} <= countries
    assert countries <= {name for c in COUNTRIES for name in (c.iso2, *c.names)} | {"Atlantis"}
    names = "".join(orders["customer_name"].unique())
    for script in (r"[\u3040-\u30ff\u4e00-\u9fff]", r"[\u0e00-\u0e7f]", r"[\u0400-\u04ff]", r"[\uac00-\ud7af]"):
        assert re.search(script, names), script


def test_currency_follows_country(orders: pd.DataFrame) -> None:
    currency_of = {name: c.currency for c in COUNTRIES for name in (c.iso2, *c.names)}
    known = orders[orders["country"] != "Atlantis"]
    assert (known["country"].map(currency_of) == known["currency"]).all()


# --- ground truth ------------------------------------------------------------------------------------------


def test_truth_summary_matches_the_orders_file_exactly(orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    sales = _sales(orders)
    purchases = sales[sales["customer_id"] != ""].drop_duplicates("order_id")
    per_customer = purchases.groupby("customer_id")["order_date"].agg(["min", "max", "size"])
    merged = truth.set_index("customer_id").join(per_customer, how="left")
    assert merged["size"].notna().all()
    assert (merged["x"] == merged["size"] - 1).all()
    assert (merged["birth"].dt.tz_convert(None) == merged["min"]).all()
    t_x = (merged["max"] - merged["min"]).dt.total_seconds() / SECONDS_PER_DAY
    big_t = (WINDOW_END - merged["min"]).dt.total_seconds() / SECONDS_PER_DAY
    assert np.allclose(merged["t_x"], t_x, rtol=0, atol=1e-9)
    assert np.allclose(merged["T"], big_t, rtol=0, atol=1e-9)
    assert (merged["t_x"] <= merged["T"]).all()
    assert merged.loc[merged["x"] == 0, "mean_repeat_value"].isna().all()
    assert merged.loc[merged["x"] > 0, "mean_repeat_value"].gt(0).all()


def test_truth_markets_countries_and_currencies_are_consistent(truth: pd.DataFrame) -> None:
    by_code = {c.iso2: c for c in COUNTRIES}
    assert (truth["market"] == truth["country"].map(lambda code: by_code[code].market)).all()
    assert (truth["currency"] == truth["country"].map(lambda code: by_code[code].currency)).all()
    assert truth["customer_id"].str.fullmatch(r"S\d{7}").all()
    assert truth["alive_at_end"].dtype == bool
    assert truth["market"].nunique() >= 6


def test_population_matches_the_model_parameters(tmp_path: Path) -> None:
    """200,000 customers: means of the latent traits, of repeat spend and of x match the model."""
    params = SynthParams()
    generate(tmp_path / "big", customers=200_000, seed=2024, params=params)
    truth = pd.read_parquet(tmp_path / "big" / "customers_truth.parquet")
    assert truth["lambda"].mean() == pytest.approx(params.r / params.alpha, rel=0.03)
    assert truth["p"].mean() == pytest.approx(params.a / (params.a + params.b), rel=0.03)
    assert truth["mean_repeat_value"].mean() == pytest.approx(params.p * params.gamma / (params.q - 1), rel=0.03)
    assert truth["nu"].mean() == pytest.approx(params.q / params.gamma, rel=0.03)
    # BG/NBD expected repeat purchases in (0, T] (Fader, Hardie & Lee 2005, eq. 9), averaged over customers
    t = truth["T"].to_numpy()
    a, b, r, alpha = params.a, params.b, params.r, params.alpha
    expected = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert truth["x"].mean() == pytest.approx(expected.mean(), rel=0.03)
    birth_days = (truth["birth"] - pd.Timestamp("2023-01-01", tz="UTC")).dt.total_seconds() / SECONDS_PER_DAY
    assert birth_days.mean() == pytest.approx(1096 / 2, rel=0.02)


# --- feedback ----------------------------------------------------------------------------------------------


def test_feedback_refers_to_customer_orders_with_their_email(synth: Path, orders: pd.DataFrame) -> None:
    feedback = pd.read_csv(synth / "feedback.csv", dtype=str, keep_default_na=False)
    assert feedback["feedback_id"].is_unique and feedback["order_id"].is_unique
    sale_emails = _sales(orders).drop_duplicates("order_id").set_index("order_id")
    joined = feedback.join(sale_emails[["customer_id", "email", "order_date"]], on="order_id", rsuffix="_order")
    assert joined["customer_id_order"].notna().all()
    assert (joined["customer_id"] == joined["customer_id_order"]).all()
    assert (joined["email"] == joined["email_order"]).all()
    submitted = pd.to_datetime(joined["submitted_at"])
    delay_days = (submitted - joined["order_date"]).dt.total_seconds() / SECONDS_PER_DAY
    clipped = submitted == WINDOW_END - pd.Timedelta(seconds=1)
    assert (delay_days.between(1, 14) | clipped).all()
    assert submitted.is_monotonic_increasing


def test_feedback_scores_and_texts_are_consistent(synth: Path) -> None:
    feedback = pd.read_csv(synth / "feedback.csv", keep_default_na=False)
    assert feedback["nps"].between(0, 10).all()
    for column in ("csat", "rating"):
        scores = pd.to_numeric(feedback[column].replace("", np.nan))
        assert scores.dropna().between(1, 5).all() and scores.isna().any()
    assert set(feedback["language"]) >= {"en", "de", "fr", "es", "pt", "ja"}
    with_text = feedback[feedback["text"] != ""]
    for row in with_text.sample(n=300, random_state=3).itertuples():
        sentiment = "positive" if row.nps >= 9 else "neutral" if row.nps >= 7 else "negative"
        assert any(row.text.startswith(o) for o in OPENINGS[row.language][sentiment]), row
    detractor_share = (feedback["nps"] <= 6).mean()
    promoter_share = (feedback["nps"] >= 9).mean()
    assert 0.05 < detractor_share < promoter_share < 0.7


def test_feedback_is_worse_after_a_return(synth: Path, orders: pd.DataFrame) -> None:
    feedback = pd.read_csv(synth / "feedback.csv", keep_default_na=False)
    returned = set(_returns(orders)["refund_of"])
    had_return = feedback["order_id"].isin(returned)
    assert had_return.any()
    assert feedback.loc[had_return, "nps"].mean() < feedback.loc[~had_return, "nps"].mean() - 1


# --- small sizes and bad arguments -------------------------------------------------------------------------


def test_one_customer_and_a_hundred_customers(tmp_path: Path) -> None:
    one = generate(tmp_path / "one", customers=1, seed=0)
    assert one.counts["customers"] == 1 and sum(one.dirty_rows.values()) == 0
    hundred = generate(tmp_path / "hundred", customers=100, seed=0)
    assert all(count == 1 for count in hundred.dirty_rows.values())


def test_custom_window_is_respected(tmp_path: Path) -> None:
    result = generate(tmp_path / "w", customers=300, seed=1, start="2024-02-01", end="2024-03-31")
    dates = pd.to_datetime(pd.read_csv(result.orders_path)["order_date"])
    assert dates.min() >= pd.Timestamp("2024-02-01") and dates.max() < pd.Timestamp("2024-04-01")
    truth = pd.read_parquet(result.truth_path)
    assert truth["T"].max() <= 60 + 1e-9


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"customers": 0}, "customers"),
    ({"start": "2024-05-01", "end": "2024-04-30"}, "before start"),
    ({"start": "2024-13-01"}, "start"),
    ({"end": "2031-01-01"}, "FX table"),
    ({"fmt": "xlsx"}, "fmt"),
    ({"fmt": "parquet", "compress": True}, "compress"),
])
def test_generate_rejects_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    arguments = {"customers": 10, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_generate_rejects_an_out_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        generate(target, customers=10, seed=0)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="alpha"):
        SynthParams(alpha=0)
    with pytest.raises(ValueError, match="q"):
        SynthParams(q=1.0)
    with pytest.raises(ValueError, match="lines_per_order_probs"):
        SynthParams(lines_per_order_probs=(0.5, 0.4))
    with pytest.raises(ValueError, match="guest_order_fraction"):
        SynthParams(guest_order_fraction=1.5)


# --- CLI ---------------------------------------------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("synth")(synth_command)
    app.command("noop")(lambda: None)  # a second command, so that `synth` is a subcommand as in `fidelis`
    return app


def test_cli_json_is_exactly_one_document(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--customers", "150", "--seed", "5", "--out", str(tmp_path / "o"),
                                      "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["counts"]["customers"] == 150 and document["seed"] == 5
    assert Path(document["files"]["orders"]).exists()
    assert set(document["dirty_rows"]) == {"zero_unit_price", "negative_quantity", "duplicate_line",
                                           "unknown_country", "orphan_return"}


def test_cli_prints_a_summary_table(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--customers", "50", "--out", str(tmp_path / "o"),
                                      "--start", "2024-01-01", "--end", "2024-12-31"])
    assert result.exit_code == 0, result.output
    assert "customers" in result.stdout and "order rows" in result.stdout
    assert json.loads((tmp_path / "o" / "params.json").read_text())["window"]["start_date"] == "2024-01-01"


@pytest.mark.parametrize(("arguments", "option"), [
    (["--customers", "0"], "--customers"),
    (["--customers", "5", "--start", "2024-02-01", "--end", "2024-01-01"], "--end"),
    (["--customers", "5", "--start", "yesterday"], "--start"),
    (["--customers", "5", "--format", "xml"], "--format"),
    (["--customers", "5", "--format", "parquet", "--compress"], "--compress"),
    (["--customers", "5", "--end", "2031-12-31"], "--end"),
])
def test_cli_bad_arguments_name_the_option(app: typer.Typer, tmp_path: Path, arguments: list[str],
                                           option: str) -> None:
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "o"), *arguments])
    assert result.exit_code == 2
    assert option in result.output


def test_cli_out_must_not_be_a_file(app: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    result = CliRunner().invoke(app, ["synth", "--customers", "5", "--out", str(target)])
    assert result.exit_code == 2 and "--out" in result.output


def test_window_end_constant_matches_the_default(params: dict) -> None:
    assert params["window"]["end_exclusive"] == datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
