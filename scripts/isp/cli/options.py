"""Options shared by every command, so `--repo` and `--json` mean the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RepoOption = Annotated[
    Path,
    typer.Option(
        "--repo",
        help="The ISP repository to work on.",
        show_default="current directory",
        file_okay=False,
        resolve_path=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
MonthOption = Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM.", metavar="YYYY-MM")]
AgencyOption = Annotated[str, typer.Option("--agency", help="Agency code from protocol/agencies.yaml, e.g. IRC.")]
