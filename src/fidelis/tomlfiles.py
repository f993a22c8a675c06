"""Reading Fidelis' TOML files (markets, analytics, mappings): one way to read, one way to explain.

Each file is either bundled with the package or given by a path in a setting; both kinds fail
with one line that names the file, and validation errors name the key that is wrong.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from fidelis.errors import ConfigError


def read_config_toml(path: Path | None, *, bundled: str, kind: str) -> tuple[dict, str]:
    """The parsed file and how to name it in errors: `path`, else the bundled `data/<bundled>`.

    `kind` names the file in an unreadable-file error ("markets" -> "cannot read markets file ...").
    """
    if path is None:
        text = resources.files("fidelis").joinpath(f"data/{bundled}").read_text(encoding="utf-8")
        where = f"built-in {bundled}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {kind} file {path}: {exc.strerror}") from exc
        where = str(path)
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from exc


def describe_validation(exc: ValidationError) -> str:
    """'targets[1].lift: Input should be greater than -1' for each problem, joined by '; '."""
    problems = []
    for error in exc.errors():
        key = ""
        for part in error["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}" if key else message)
    return "; ".join(problems)
