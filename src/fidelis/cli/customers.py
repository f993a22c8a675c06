"""`fidelis customers explain`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fidelis.cli.common import JsonOption, WarehouseOption, handles_errors, print_json, stdout, warehouse_path
from fidelis.customers.service import explain_customer
from fidelis.warehouse import open_warehouse


@handles_errors
def explain_command(
    customer_id: Annotated[int, typer.Argument(help="Fidelis customer id.")],
    warehouse: WarehouseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show which keys (source ids, emails) make up a customer and which merges joined them."""
    with open_warehouse(warehouse_path(warehouse), create=False, read_only=True) as wh:
        explanation = explain_customer(wh.con, customer_id=customer_id)
    if json_output:
        print_json(explanation)
        return
    if explanation["merged_into"] is not None:
        stdout.print(f"customer {customer_id} was merged into customer {explanation['merged_into']}")
    profile = explanation["profile"]
    if profile:
        stdout.print(f"customer {profile['customer_id']}: market {profile['market']}, "
                     f"country {profile['country_code'] or 'unknown'}, first order {profile['first_order_at']}")
    keys = Table(title="keys")
    for column in ("type", "value", "first seen in", "row"):
        keys.add_column(column)
    for key in explanation["keys"]:
        keys.add_row(key["key_type"], key["key_value"], key["path"], str(key["first_source_row"]))
    stdout.print(keys)
    if explanation["links"]:
        links = Table(title="evidence: source ids seen with emails")
        for column in ("source id", "email", "file", "row"):
            links.add_column(column)
        for link in explanation["links"]:
            links.add_row(link["source_key"], link["email"], link["path"], str(link["first_source_row"]))
        stdout.print(links)
    for merge in explanation["merges"]:
        stdout.print(f"merged customer {merge['merged_customer_id']} into {merge['into_customer_id']} "
                     f"because {merge['via_key_type']} '{merge['via_key_value']}' linked them (file {merge['path']})")
