"""`isp release ID -o DIR` and `isp release sectoral --half YYYY-Hn -o DIR [--propose]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table, working
from isp.errors import UsageError

if TYPE_CHECKING:
    from isp.release.build import ReleaseResult

SECTORAL = "sectoral"
SLOW_NOTE = "a breakdown by site can take many minutes"


def release_command(
    request_id: Annotated[
        str, typer.Argument(metavar="ID", help="The request ID (`requests/<ID>.yaml`), or `sectoral` with --half.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="A new folder, outside the repository, for the package.")
    ] = None,
    half: Annotated[
        str | None,
        typer.Option(
            "--half",
            metavar="YYYY-Hn|YYYY-MM",
            help="With `sectoral`: the half-year (2026-H1), or the report's due month (2026-06: the months "
            "protocol.yaml gives it, by default December to May).",
        ),
    ] = None,
    propose: Annotated[
        bool,
        typer.Option("--propose", help="With `sectoral`: write the standing request the agencies then approve."),
    ] = False,
    briefing_note: Annotated[
        bool,
        typer.Option(
            "--briefing-note", help="A media request for the annual report: the CPSWG media briefing note's figures."
        ),
    ] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Parallel sops processes for decryption.")] = None,
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Make the release package of an approved request: CSV, HXL CSV, Excel and an HTML report, each
    with the release ID, the recipient and the disclaimers.

    Refused (exit 1, nothing written) unless every required agency approved in a signed commit,
    none refused, no breach is open and the protocol is in force. SGBV figures are left out,
    early marriage is given only as percentages, the external disclosure profile is applied and
    audited. Decrypts in memory with SOPS_AGE_KEY or SOPS_AGE_KEY_FILE (the CI key). The release
    is recorded in `requests/<ID>.yaml`: commit it, signed.

    The half-yearly sectoral report is the release of the standing request
    `requests/SECTORAL-<half>.yaml`: `--propose` writes it after the half-year ends; once every
    agency has approved it, run the same command with -o. Named by its due month (`--half 2026-06`)
    it covers the months the protocol's calendar gives it (the six most recent consolidated ones).

    `--briefing-note` makes, from an approved media request for the annual report, the figures of
    the briefing note the Child Protection Sub-Working Group gives the media.

    Example: `isp release REQ-2026-004 -o ~/releases/REQ-2026-004`;
    `isp release REQ-2027-002 --briefing-note -o ~/releases/briefing-2026`;
    `isp release sectoral --half 2026-H1 --propose`; `isp release sectoral --half 2026-H1 -o ~/releases/2026-H1`
    """
    if request_id == SECTORAL:
        _sectoral(repo, half, out, propose, jobs, json_out)
        return
    if half or propose:
        raise UsageError("--half and --propose go with `isp release sectoral`")
    if out is None:
        raise UsageError("say where the package goes: -o DIR (a new folder outside the repository)")
    from isp.release import briefing
    from isp.release import build as release  # lazily: openpyxl and jinja2 load only when a release is made

    with working(f"{request_id}: decrypting, protecting and auditing in memory ({SLOW_NOTE})"):
        if briefing_note:
            result = briefing.release_briefing(repo, request_id, out, jobs=jobs)
        else:
            result = release.release(repo, request_id, out, jobs=jobs)
    _report(result, json_out)


def _sectoral(repo: Path, half: str | None, out: Path | None, propose: bool, jobs: int | None, json_out: bool) -> None:
    if not half:
        raise UsageError("`isp release sectoral` needs --half YYYY-Hn, for example --half 2026-H1")
    from isp.release import sectoral as release_sectoral

    if propose:
        request = release_sectoral.propose(repo, half)
        if json_out:
            emit_json({"request_id": request.id, "path": request.path})
        else:
            ok(f"wrote {request.path}: commit it, then each agency approves it (`isp request decide`)")
        return
    if out is None:
        raise UsageError("say where the report goes: -o DIR (a new folder outside the repository), or --propose")
    with working(f"sectoral report {half}: decrypting, protecting and auditing in memory ({SLOW_NOTE})"):
        result = release_sectoral.release_sectoral(repo, half, out, jobs=jobs)
    _report(result, json_out)


def _report(result: ReleaseResult, json_out: bool) -> None:
    if json_out:
        emit_json(result.as_dict())
        return
    table(
        f"{result.release_id} for {result.recipient}",
        ["file", "sha256"],
        [(f.name, f.sha256) for f in result.files],
    )
    ok(f"wrote {result.out}; {result.suppressed} cell(s) suppressed")
    ok(f"recorded in {result.request_file}: commit it, signed")


def register(app: typer.Typer) -> None:
    app.command("release")(release_command)
