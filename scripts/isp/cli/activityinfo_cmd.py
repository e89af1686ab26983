"""`isp activityinfo export AGENCY --half YYYY-Hn -o DIR [--push]`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok
from isp.errors import UsageError

group = typer.Typer(help="Each agency's sectoral data points for ActivityInfo.", no_args_is_help=True)


@group.command("export")
def export_command(
    agency: Annotated[str, typer.Argument(metavar="AGENCY", help="Agency code from protocol/agencies.yaml, e.g. IRC.")],
    half: Annotated[str, typer.Option("--half", metavar="YYYY-Hn", help="The half-year, e.g. 2026-H1.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="A new folder, outside the repository, for the import files.")
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Also send the records to ActivityInfo (token in ACTIVITYINFO_TOKEN).")
    ] = False,
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Write AGENCY's own sectoral data points for the half-year in the form ActivityInfo imports:
    a CSV headed by the form's field codes and the JSON body of ActivityInfo's record update,
    mapped through protocol/activityinfo.yaml. Only the agency's own figures are read, from its
    own encrypted aggregates, with its key (SOPS_AGE_KEY or SOPS_AGE_KEY_FILE). SGBV indicators
    never leave the group. --push sends the records through ActivityInfo's API; pushing again
    updates the same records.

    Example: `SOPS_AGE_KEY_FILE=irc.key isp activityinfo export IRC --half 2026-H1 -o ~/activityinfo/2026-H1`
    """
    if out is None and not push:
        raise UsageError("give -o DIR for the import files, --push to send them, or both")
    token = os.environ.get("ACTIVITYINFO_TOKEN", "") if push else ""
    if push and not token.strip():
        raise UsageError("set ACTIVITYINFO_TOKEN to a personal API token (ActivityInfo, Profile settings)")
    from isp.release import activityinfo  # lazily: pandas and the release stack load only here

    result = activityinfo.export(repo, agency, half, out)
    pushed = activityinfo.push(result.server, result.records, token) if push else None
    if json_out:
        emit_json(
            {
                "agency": result.agency,
                "half": result.half,
                "records": len(result.records),
                "files": [f.as_dict() for f in result.files],
                "out": str(result.out) if result.out else None,
                "pushed": pushed,
            }
        )
        return
    if result.out:
        ok(f"{len(result.records)} records for {result.agency} {result.half} written to {result.out}")
    if pushed is not None:
        ok(f"{pushed} records sent to ActivityInfo")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="activityinfo")
