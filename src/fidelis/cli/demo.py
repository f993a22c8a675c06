"""`fidelis demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fidelis.cli.common import JsonOption, handles_errors, print_json, progress_steps, stdout
from fidelis.cli.ingest import render_load_report, render_quality
from fidelis.demo import run_demo


@handles_errors
def demo_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo warehouse and data.")] = Path("demo-output"),
    customers: Annotated[int, typer.Option("--customers", min=1, help="Synthetic customers to generate.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data.")] = 7,
    json_output: JsonOption = False,
) -> None:
    """Load the bundled Online Retail sample and synthetic multi-currency data into a fresh warehouse."""
    with progress_steps("demo", enabled=not json_output) as step:
        result = run_demo(out, customers=customers, seed=seed, progress=step)
    if json_output:
        print_json({"warehouse": str(result.warehouse), "loads": [r.to_dict() for r in result.loads],
                    "quality": result.quality, "report": str(result.report) if result.report else None})
        return
    for report in result.loads:
        render_load_report(report)
    result.quality["warehouse"] = str(result.warehouse)
    render_quality(result.quality)
    stdout.print(f"\nDemo warehouse: [bold]{result.warehouse}[/] (synthetic inputs in {result.synth_dir})")
    if result.report:
        stdout.print(f"Report: [bold]{result.report}[/] (open it in a browser; tables in {result.report.parent / 'tables'})")
    stdout.print(f"Next: [bold]fidelis kpis --by market --period quarter --warehouse {result.warehouse}[/], "
                 f"or [bold]fidelis segments[/], [bold]fidelis targets[/], [bold]fidelis quality[/] with the same option.")
