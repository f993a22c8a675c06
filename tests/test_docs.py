"""The docs tell the truth about the interface: every command, option and setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from fidelis.cli.app import app
from fidelis.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CLI_DOC = ROOT / "docs" / "cli.md"
CONFIG_DOC = ROOT / "docs" / "configuration.md"


def _commands(group, prefix: str = "fidelis") -> list[tuple[str, object]]:
    """Every leaf command of the Typer app, with its full path ('fidelis customers explain')."""
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            found += _commands(command, path)
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _section(doc: str, command_path: str) -> str:
    """The part of docs/cli.md under the heading '## `fidelis x y`'."""
    match = re.search(rf"^##+ `{re.escape(command_path)}`\s*$(.*?)(?=^##+ `fidelis |\Z)", doc, re.M | re.S)
    assert match, f"docs/cli.md has no heading for `{command_path}`"
    return match.group(1)


def test_the_cli_has_the_commands_the_docs_promise() -> None:
    names = {path for path, _ in COMMANDS}
    assert {"fidelis ingest", "fidelis quality", "fidelis synth", "fidelis demo",
            "fidelis customers explain", "fidelis fx import"} <= names


@pytest.mark.parametrize(("command_path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_and_option_is_documented(command_path: str, command) -> None:
    section = _section(CLI_DOC.read_text(encoding="utf-8"), command_path)
    for parameter in command.params:
        if parameter.param_type_name == "option":
            longest = max(parameter.opts, key=len)
            if longest == "--help":
                continue
            assert f"`{longest}" in section, f"{command_path}: option {longest} is not documented"
        else:
            assert parameter.name.upper() in section, f"{command_path}: argument {parameter.name} is not documented"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    assert f"`FIDELIS_{field.upper()}`" in CONFIG_DOC.read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands[:2] == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
