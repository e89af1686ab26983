"""Docs as tested artefacts: every command teaches itself (`--help` with an example) and the
README's command table names every top-level command."""

from __future__ import annotations

import pytest
import typer.main

from isp.cli.main import app
from tests.conftest import REPO_ROOT
from tests.helpers import isp


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return sorted(found)


COMMANDS = _commands()


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = isp(*path, "--help")
    assert result.code == 0, result.err
    assert "Example" in result.out, f"`isp {' '.join(path)} --help` needs an Example: line"


def test_readme_names_every_top_level_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = sorted({p[0] for p in COMMANDS if f"isp {p[0]}" not in readme})
    assert not missing, f"README.md does not mention: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = (REPO_ROOT / "README.md").read_text(encoding="utf-8")[:600]
    assert "make demo" in head and "make test" in head


def test_unknown_command_is_a_usage_error() -> None:
    assert isp("no-such-command").code == 2
