"""Bad input: one clear error line naming file, row and column; the warehouse exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from fidelis.cli.app import app

MAPPING = """
[source]
name = "shop"
date_format = "%Y-%m-%d %H:%M"
timezone = "Europe/Berlin"

[columns]
order_id = "order"
ordered_at = "date"
customer_id = "customer"
email = "email"
country = "country"
currency = "currency"
sku = "sku"
quantity = "qty"
unit_price = "price"
"""
HEADER = "order,date,customer,email,country,currency,sku,qty,price"
GOOD_ROWS = [
    "A1,2023-03-01 10:00,c1,anna@example.com,DE,EUR,S1,2,10.00",
    "A1,2023-03-01 10:00,c1,anna@example.com,DE,EUR,S2,1,5.50",
    "A2,2023-03-02 11:30,c2,bob@example.com,FR,EUR,S1,1,10.00",
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def orders_file(tmp_path: Path, rows: list[str], name: str = "orders.csv") -> Path:
    return write(tmp_path / name, "\n".join([HEADER, *rows]) + "\n")


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    return write(tmp_path / "shop.toml", MAPPING)


def fingerprint(warehouse: Path) -> dict[str, str]:
    """Every table's full content, so 'as it was' can be checked exactly."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
        return {t: con.execute(
            f"SELECT count(*) || ':' || coalesce(md5(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR))), '') "
            f"FROM (SELECT t AS x FROM {t} t)").fetchone()[0] for t in tables}


@pytest.fixture
def populated(tmp_path: Path, mapping: Path, cli, monkeypatch) -> Path:
    monkeypatch.setenv("FIDELIS_REPORTING_CURRENCY", "EUR")
    from fidelis.config import get_settings

    get_settings.cache_clear()
    warehouse = tmp_path / "wh.duckdb"
    good = orders_file(tmp_path, GOOD_ROWS, "good.csv")
    result = cli.invoke(app, ["ingest", str(good), "--mapping", str(mapping), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    yield warehouse
    get_settings.cache_clear()


def run_failing(cli, warehouse: Path, args: list[str]) -> str:
    before = fingerprint(warehouse)
    result = cli.invoke(app, ["ingest", *args, "--warehouse", str(warehouse)])
    assert result.exit_code != 0
    assert fingerprint(warehouse) == before
    message = result.stderr.strip()
    assert message.startswith("error:")
    assert len([line for line in message.splitlines() if line.startswith("error:")]) == 1
    assert "Traceback" not in result.output
    return " ".join(message.split())


def test_missing_file(cli, populated: Path, tmp_path: Path) -> None:
    message = run_failing(cli, populated, [str(tmp_path / "nope.csv")])
    assert "nope.csv" in message and "file not found" in message


def test_unknown_layout(cli, populated: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "mystery.csv", "a,b,c\n1,2,3\n")
    message = run_failing(cli, populated, [str(path)])
    assert "mystery.csv" in message and "matches no known layout" in message and "--mapping" in message


def test_mapping_names_a_missing_column(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    path = write(tmp_path / "renamed.csv", HEADER.replace("qty", "quantity") + "\n" + GOOD_ROWS[0] + "\n")
    message = run_failing(cli, populated, [str(path), "--mapping", str(mapping)])
    assert "'qty'" in message and "renamed.csv" in message and "quantity" in message


def test_mapping_with_unknown_field(cli, populated: Path, tmp_path: Path) -> None:
    bad_mapping = write(tmp_path / "bad.toml", MAPPING.replace('sku = "sku"', 'colour = "sku"'))
    message = run_failing(cli, populated, [str(orders_file(tmp_path, GOOD_ROWS)), "--mapping", str(bad_mapping)])
    assert "bad.toml" in message and "colour" in message


def test_unparsable_date_names_row_and_column(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    rows = [*GOOD_ROWS, "A3,2023-02-30 09:00,c3,c@example.com,DE,EUR,S1,1,3.00"]
    message = run_failing(cli, populated, [str(orders_file(tmp_path, rows)), "--mapping", str(mapping)])
    assert "orders.csv, row 5, column 'date'" in message and "2023-02-30 09:00" in message


def test_unparsable_number_names_row_and_column(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    rows = [GOOD_ROWS[0], "A3,2023-03-05 09:00,c3,c@example.com,DE,EUR,S1,two,3.00"]
    message = run_failing(cli, populated, [str(orders_file(tmp_path, rows)), "--mapping", str(mapping)])
    assert "row 3, column 'qty'" in message and "'two'" in message


def test_unknown_currency(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    rows = [GOOD_ROWS[0], "A3,2023-03-05 09:00,c3,c@example.com,DE,EUX,S1,1,3.00"]
    message = run_failing(cli, populated, [str(orders_file(tmp_path, rows)), "--mapping", str(mapping)])
    assert "row 3, column 'currency'" in message and "'EUX'" in message and "ISO 4217" in message


def test_missing_exchange_rate_names_currency_and_date(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    rows = [GOOD_ROWS[0], "A3,1990-05-05 09:00,c3,c@example.com,US,USD,S1,1,3.00"]
    message = run_failing(cli, populated, [str(orders_file(tmp_path, rows)), "--mapping", str(mapping)])
    assert "USD" in message and "1990-05-05" in message and "row 3" in message


def test_empty_file(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    empty = write(tmp_path / "empty.csv", "")
    assert "empty.csv" in run_failing(cli, populated, [str(empty), "--mapping", str(mapping)])
    header_only = write(tmp_path / "header.csv", HEADER + "\n")
    message = run_failing(cli, populated, [str(header_only), "--mapping", str(mapping)])
    assert "header.csv" in message and "no data rows" in message


def test_failed_first_load_leaves_no_warehouse_behind(cli, tmp_path: Path, mapping: Path) -> None:
    warehouse = tmp_path / "new" / "wh.duckdb"
    rows = [GOOD_ROWS[0], "A3,not a date,c3,c@example.com,DE,EUR,S1,1,3.00"]
    result = cli.invoke(app, ["ingest", str(orders_file(tmp_path, rows)), "--mapping", str(mapping),
                              "--warehouse", str(warehouse)])
    assert result.exit_code != 0
    assert not warehouse.exists()


def test_lenient_quarantines_what_strict_refuses(cli, populated: Path, tmp_path: Path, mapping: Path) -> None:
    rows = [*GOOD_ROWS[:1], "A3,2023-02-30 09:00,c3,c@example.com,DE,EUR,S1,1,3.00",
            "A4,2023-03-05 09:00,c4,d@example.com,DE,EUX,S1,1,3.00", "A5,2023-03-05 09:00,c4,d@example.com,DE,EUR,S1,x,3"]
    path = orders_file(tmp_path, rows, "lenient.csv")
    result = cli.invoke(app, ["ingest", str(path), "--mapping", str(mapping), "--lenient", "--json",
                              "--warehouse", str(populated)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(populated), read_only=True) as con:
        reasons = dict(con.execute(
            "SELECT record->>'order', reason FROM quarantine").fetchall())
    assert reasons == {"A3": "unparsable_value", "A4": "unknown_currency", "A5": "unparsable_value"}


KIND_MAPPING = MAPPING + '''order_kind = "kind"
[values.order_kind]
sale = ["order"]
return = ["refund"]
'''


def test_unknown_order_kind_is_refused_and_a_missing_one_quarantined(cli, populated: Path, tmp_path: Path) -> None:
    mapping = write(tmp_path / "kinds.toml", KIND_MAPPING)
    header = HEADER + ",kind"
    unknown = write(tmp_path / "kinds.csv", "\n".join([header, GOOD_ROWS[0] + ",order",
                                                        "A7,2023-03-05 09:00,c3,c@example.com,DE,EUR,S1,1,3.00,swap"]))
    message = run_failing(cli, populated, [str(unknown), "--mapping", str(mapping)])
    assert "row 3, column 'kind'" in message and "'swap' is not a known order kind" in message
    missing = write(tmp_path / "missing.csv", "\n".join([header, "A8,2023-03-05 09:00,c3,c@example.com,DE,EUR,S1,1,3.00,",
                                                          "A9,2023-03-05 09:00,c3,c@example.com,DE,EUR,S1,1,3.00,refund"]))
    result = cli.invoke(app, ["ingest", str(missing), "--mapping", str(mapping), "--json", "--warehouse", str(populated)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["loads"][0]
    assert report["quarantine_by_reason"] == {"missing_order_kind": 1}
    assert report["lines_by_fate"]["return"] == 1


def test_large_amounts_in_small_currencies_and_negative_sale_amounts(cli, tmp_path: Path) -> None:
    mapping = write(tmp_path / "idr.toml", MAPPING.replace('unit_price = "price"', 'line_amount = "price"'))
    rows = ["I1,2023-03-01 10:00,c1,a@example.com,ID,IDR,S1,10,150000000",   # 150 million rupiah: fine
            "I2,2023-03-01 10:00,c1,a@example.com,ID,IDR,S2,1,-5000"]        # a negative sale line: quarantined
    path = orders_file(tmp_path, rows, "idr.csv")
    result = cli.invoke(app, ["ingest", str(path), "--mapping", str(mapping), "--json",
                              "--warehouse", str(tmp_path / "idr.duckdb")])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["loads"][0]
    assert report["lines_by_fate"]["sale"] == 1
    assert report["quarantine_by_reason"] == {"negative_amount_in_sale": 1}


def test_unreadable_date_format_in_a_mapping(cli, populated: Path, tmp_path: Path) -> None:
    mapping = write(tmp_path / "fmt.toml", MAPPING.replace("%Y-%m-%d %H:%M", "%Y-%Q"))
    message = run_failing(cli, populated, [str(orders_file(tmp_path, GOOD_ROWS)), "--mapping", str(mapping)])
    assert "fmt.toml" in message and "source.date_format" in message
