"""`isp protocol check`."""

from __future__ import annotations

from pathlib import Path

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok, warn
from isp.errors import ValidationFailed, errors_only
from isp.protocol import loading

group = typer.Typer(help="The protocol as data (protocol/*.yaml).", no_args_is_help=True)


@group.command("check")
def check(repo: RepoOption = Path("."), json_out: JsonOption = False) -> None:
    """Validate protocol/*.yaml, cross-references included.

    Example: `isp protocol check --repo my-isp`
    """
    from isp.sheets.layouts import mapping_problems  # the import mappings live in protocol/imports/

    isp = loading.load(repo)
    problems = loading.cross_check(isp) + mapping_problems(isp, repo)
    if errors_only(problems):
        raise ValidationFailed(problems, f"{len(errors_only(problems))} problem(s) in protocol/")
    if json_out:
        emit_json(
            {
                "ok": True,
                "problems": [p.as_dict() for p in problems],
                "agencies": list(isp.agencies),
                "sites": len(isp.sites),
                "indicators": len(isp.indicators),
            }
        )
        return
    for problem in problems:
        warn(str(problem))
    ok(f"protocol valid: {len(isp.agencies)} agencies, {len(isp.sites)} sites, {len(isp.indicators)} indicators")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="protocol")


__all__ = ["ValidationFailed", "register"]
