"""What every command shares: the warehouse option, error rendering, JSON output, progress."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from fidelis.config import get_settings
from fidelis.errors import FidelisError
from fidelis.jsontext import json_safe

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
            _print_error(str(exc))
            raise typer.Exit(code=2 if isinstance(exc, ValueError) else 1) from None
        except duckdb.Error as exc:  # a database failure Fidelis did not foresee: one line, not a traceback
            _print_error(f"database error: {str(exc).strip().splitlines()[0]}")
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _print_error(message: str) -> None:
    # Plain text: '[values.order_kind]' in a message must not be read as Rich markup.
    stderr.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout, machine-readable."""
    text = json.dumps(json_safe(document), indent=2, default=str, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(text + "\n")
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
