"""What every command shares: the warehouse option, error rendering, JSON output, progress."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from fidelis.config import get_settings
from fidelis.errors import FidelisError

stdout = Console()
stderr = Console(stderr=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: FIDELIS_WAREHOUSE or fidelis-data/warehouse.duckdb)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]

F = TypeVar("F", bound=Callable[..., Any])


def warehouse_path(option: Path | None) -> Path:
    return option or get_settings().warehouse


def handles_errors(command: F) -> F:
    """Turn Fidelis errors into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FidelisError as exc:
            # The message is plain text: '[values.order_kind]' must not be read as Rich markup.
            stderr.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
            raise typer.Exit(code=2 if isinstance(exc, ValueError) else 1) from None

    return wrapper  # type: ignore[return-value]


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout, machine-readable."""
    sys.stdout.write(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def progress_steps(description: str, *, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A Rich spinner on stderr whose text follows the steps of a long job."""
    if not enabled:
        yield lambda _message: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=stderr, transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda message: progress.update(task, description=f"{description}: {message}")
