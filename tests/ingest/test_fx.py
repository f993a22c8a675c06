"""Currency conversion: bundled monthly ECB rates, user rates, and never a silent 1.0."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from fidelis.config import Settings
from fidelis.errors import InputError, MissingFxRateError
from fidelis.ingest.fx import import_fx_rates
from fidelis.ingest.service import ingest_file
from fidelis.ingest.sources import SourceOptions
from fidelis.warehouse import open_warehouse

MAPPING = """
[source]
name = "shop"
[columns]
order_id = "order"
ordered_at = "date"
currency = "currency"
quantity = "qty"
unit_price = "price"
"""


def orders(tmp_path: Path, rows: list[str], name: str = "orders.csv") -> tuple[Path, SourceOptions]:
    data = tmp_path / name
    data.write_text("order,date,currency,qty,price\n" + "\n".join(rows) + "\n")
    mapping = tmp_path / "shop.toml"
    mapping.write_text(MAPPING)
    return data, SourceOptions(mapping_path=mapping)


def test_amounts_convert_at_the_monthly_rate_of_the_order_date(tmp_path: Path) -> None:
    data, options = orders(tmp_path, ["O1,2011-03-15 12:00:00,EUR,2,10.00", "O2,2011-03-20 12:00:00,GBP,1,8.00",
                                      "O3,2011-04-02 08:00:00,usd,1,100"])
    warehouse = tmp_path / "wh.duckdb"
    ingest_file(data, warehouse_path=warehouse, options=options, settings=Settings(reporting_currency="GBP"))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT source_order_id, currency, amount, amount_reporting, fx_rate, fx_rate_date FROM orders").fetchall()}
        bundled = dict(con.execute(
            "SELECT currency || rate_date, rate_to_reporting FROM fx_rates WHERE rate_date IN ('2011-03-01', '2011-04-01')"
        ).fetchall())
    eur_rate = bundled["EUR2011-03-01"]
    assert rows["O1"][0] == "EUR" and rows["O1"][3] == eur_rate
    assert rows["O1"][2] == (Decimal("20.00") * eur_rate).quantize(Decimal("0.0001"))
    assert rows["O2"][1:4] == (Decimal("8.0000"), Decimal("8.0000"), Decimal("1"))  # reporting currency: exactly 1
    assert rows["O3"][0] == "USD" and str(rows["O3"][4]) == "2011-04-01"
    # The ECB monthly average: EUR was worth about 0.87 GBP in March 2011.
    assert Decimal("0.85") < eur_rate < Decimal("0.89")


def test_missing_rate_is_an_error_naming_currency_and_date(tmp_path: Path) -> None:
    data, options = orders(tmp_path, ["O1,1998-06-01 12:00:00,EUR,1,10.00"])
    with pytest.raises(MissingFxRateError, match="EUR to USD for 1998-06-01") as error:
        ingest_file(data, warehouse_path=tmp_path / "wh.duckdb", options=options, settings=Settings())
    assert "row 2" in str(error.value)


def test_stale_rate_is_not_used(tmp_path: Path) -> None:
    """A rate older than FIDELIS_FX_MAX_AGE_DAYS is as good as none."""
    data, options = orders(tmp_path, ["O1,2011-03-15 12:00:00,EUR,1,10.00"])
    warehouse = tmp_path / "wh.duckdb"
    with open_warehouse(warehouse, reporting_currency="USD") as wh:
        wh.con.execute("DELETE FROM fx_rates WHERE currency = 'EUR' AND rate_date >= '2011-02-01'")
    with pytest.raises(MissingFxRateError, match="EUR"):
        ingest_file(data, warehouse_path=warehouse, options=options, settings=Settings(fx_max_age_days=30))
    report = ingest_file(data, warehouse_path=warehouse, options=options, settings=Settings(fx_max_age_days=90))  # 2011-01-01 rate, 73 days old
    assert report.orders_loaded == 1


def test_user_rates_replace_bundled_ones_for_their_currencies(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2011-03-01,EUR,1.5\n2011-03-10,EUR,2.0\n")
    with open_warehouse(warehouse, reporting_currency="USD") as wh:
        result = import_fx_rates(wh, rates)
        eur = wh.con.execute("SELECT count(*), min(origin) FROM fx_rates WHERE currency = 'EUR'").fetchone()
        gbp = wh.con.execute("SELECT count(*) FROM fx_rates WHERE currency = 'GBP'").fetchone()[0]
    assert result["rates"] == 2 and result["currencies"] == ["EUR"]
    assert eur == (2, "user:rates.csv") and gbp > 100
    data, options = orders(tmp_path, ["O1,2011-03-05 12:00:00,EUR,1,10.00", "O2,2011-03-12 12:00:00,EUR,1,10.00"])
    ingest_file(data, warehouse_path=warehouse, options=options, settings=Settings())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        amounts = con.execute("SELECT amount_reporting FROM orders ORDER BY source_order_id").fetchall()
    assert amounts == [(Decimal("15.0000"),), (Decimal("20.0000"),)]


@pytest.mark.parametrize(("text", "fragment"), [
    ("date,currency\n2011-03-01,EUR\n", "missing column(s) rate"),
    ("date,currency,rate\n2011-03-01,EUX,1.5\n", "row 2, column 'currency'"),
    ("date,currency,rate\n2011-03-01,EUR,-1\n", "row 2, column 'rate'"),
    ("date,currency,rate\n01/03/2011,EUR,1\n", "row 2, column 'date'"),
    ("date,currency,rate\n2011-03-01,EUR,1\n2011-03-01,EUR,2\n", "row 3, column 'date'"),
    ("date,currency,rate\n2011-03-01,USD,1\n", "reporting currency"),
])
def test_bad_rate_files_change_nothing(tmp_path: Path, text: str, fragment: str) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text(text)
    with open_warehouse(tmp_path / "wh.duckdb", reporting_currency="USD") as wh:
        before = wh.con.execute("SELECT count(*), sum(rate_to_reporting) FROM fx_rates").fetchone()
        with pytest.raises(InputError) as error:
            import_fx_rates(wh, rates)
        assert wh.con.execute("SELECT count(*), sum(rate_to_reporting) FROM fx_rates").fetchone() == before
    assert fragment in str(error.value) and "rates.csv" in str(error.value)
