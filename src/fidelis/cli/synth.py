"""`fidelis synth`: write a synthetic cross-border data set with a known ground truth.

Progress goes to stderr; stdout gets a summary table, or with --json exactly one JSON document,
so that scripts can read the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fidelis.cli.common import JsonOption, print_json, stderr, stdout
from fidelis.synth import DEFAULT_END, DEFAULT_START, SynthResult, generate
from fidelis.synth.generator import FORMATS, parse_day


def synth_command(
    customers: Annotated[int, typer.Option(
        "--customers", min=1, help="Number of customers to generate (1M gives ~11M order lines).")],
    out: Annotated[Path, typer.Option(
        "--out", help="Output directory (created if missing; existing files of the same names are replaced).")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed; the same seed gives identical files.")] = 0,
    start: Annotated[str, typer.Option("--start", help="First day of the window (YYYY-MM-DD, UTC).")] = str(
        DEFAULT_START),
    end: Annotated[str, typer.Option("--end", help="Last day of the window, inclusive (YYYY-MM-DD, UTC).")] = str(
        DEFAULT_END),
    fmt: Annotated[str, typer.Option("--format", help="File format of orders and feedback: csv or parquet.")] = "csv",
    compress: Annotated[bool, typer.Option(
        "--compress", help="Gzip the CSV files (orders.csv.gz, feedback.csv.gz).")] = False,
    json_output: JsonOption = False,
) -> None:
    """Generate customers, orders (with returns, guests and a few dirty rows) and feedback."""
    _check_arguments(out, start, end, fmt, compress)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task("starting", total=1.0)
        try:
            result = generate(out, customers=customers, seed=seed, start=start, end=end, fmt=fmt, compress=compress,
                              progress=lambda stage, done: bar.update(task, description=stage, completed=done))
        except ValueError as exc:  # arguments were checked above; what is left is the FX table's coverage
            raise typer.BadParameter(str(exc), param_hint="'--start' / '--end'") from None
    if json_output:
        print_json(_summary(result, seed))
    else:
        stdout.print(_table(result, seed))


def _check_arguments(out: Path, start: str, end: str, fmt: str, compress: bool) -> None:
    """Reject bad options before any work, naming the option."""
    try:
        first = parse_day(start, "--start")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--start'") from None
    try:
        last = parse_day(end, "--end")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--end'") from None
    if last < first:
        raise typer.BadParameter(f"{last} is before --start {first}", param_hint="'--end'")
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="'--format'")
    if compress and fmt != "csv":
        raise typer.BadParameter("applies to --format csv only (Parquet is always compressed)",
                                 param_hint="'--compress'")
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} exists and is not a directory", param_hint="'--out'")


def _summary(result: SynthResult, seed: int) -> dict:
    return {
        "out_dir": str(result.out_dir),
        "seed": seed,
        "files": {role: str(path) for role, path in result.files.items()},
        "counts": result.counts,
        "dirty_rows": result.dirty_rows,
        "elapsed_seconds": round(result.elapsed_seconds, 3),
    }


def _table(result: SynthResult, seed: int) -> Table:
    table = Table(title=f"Synthetic data in {result.out_dir} (seed {seed})")
    table.add_column("What")
    table.add_column("Count", justify="right")
    for name, value in result.counts.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    for name, value in result.dirty_rows.items():
        table.add_row(f"dirty: {name.replace('_', ' ')}", f"{value:,}")
    table.caption = (f"{result.elapsed_seconds:.1f} s; parameters and ground truth: {result.params_path.name}, "
                     f"{result.truth_path.name}")
    return table
