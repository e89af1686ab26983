"""`isp init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.output import ok
from isp.history import git
from isp.protocol.skeleton import init_repository


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new repository (new or empty).")],
    no_git: Annotated[bool, typer.Option("--no-git", help="Do not run `git init`.")] = False,
) -> None:
    """Create a new ISP repository: protocol files, top-level folders, workflows, the site.

    Then edit protocol/agencies.yaml, create keys with `isp keys new`, and run `isp protocol check`.

    Example: `isp init ../our-isp`
    """
    made = init_repository(directory)
    if not no_git and not (directory / ".git").exists():
        git.init(directory)
    ok(f"new ISP repository in {directory} ({len(made)} template entries)")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
