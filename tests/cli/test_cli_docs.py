"""Docs as tested artefacts: every command teaches itself (`--help` with an example) and the
README's command table names every top-level command."""

from __future__ import annotations

import re

import pytest
import typer.main

from isp.cli.main import app
from tests.helpers import REPO_ROOT, isp


def _command_objects() -> dict[tuple[str, ...], object]:
    """Each leaf command (a click command, reached through typer only) by its path."""
    found: dict[tuple[str, ...], object] = {}

    def walk(command: object, path: tuple[str, ...]) -> None:
        subcommands: dict[str, object] = getattr(command, "commands", {})
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            found[path] = command

    walk(typer.main.get_command(app), ())
    return found


def _commands() -> list[tuple[str, ...]]:
    return sorted(_command_objects())


COMMANDS = _commands()
PLACEHOLDER = re.compile(r"<[A-Za-z_][\w-]*>")


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


def _help_sources(command: object) -> list[str]:
    params: list[object] = getattr(command, "params", [])
    return [getattr(item, "help", None) or "" for item in (command, *params)]


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_placeholders_survive_rendering(path: tuple[str, ...]) -> None:
    """Markdown help drops an unquoted `<WORD>` as an HTML tag: write it in backticks or as CAPS."""
    written = {p for text in _help_sources(_command_objects()[path]) for p in PLACEHOLDER.findall(text)}
    rendered = isp(*path, "--help").out
    lost = sorted(p for p in written if p not in rendered)
    assert not lost, f"`isp {' '.join(path)} --help` loses {lost}: quote them in backticks or write CAPS words"
