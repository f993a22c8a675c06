"""`fidelis fx import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fidelis.cli.common import JsonOption, WarehouseOption, handles_errors, print_json, stdout, warehouse_path
from fidelis.config import get_settings
from fidelis.ingest.fx import import_fx_rates
from fidelis.warehouse import warehouse_session


@handles_errors
def fx_import_command(
    path: Annotated[Path, typer.Argument(help="CSV with columns date,currency,rate (reporting units per 1 currency).")],
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import your own exchange rates; they replace the bundled ones for the currencies they cover."""
    with warehouse_session(warehouse_path(warehouse), get_settings()) as wh:
        result = import_fx_rates(wh, path)
    if json_output:
        print_json(result)
        return
    stdout.print(f"imported {result['rates']:,} rates for {', '.join(result['currencies'])} "
                 f"(to {result['reporting_currency']}) into {result['warehouse']}")
