"""`isp template`, `isp submit`, `isp validate`, `isp guard`: the tracking sheet's way in.

The library modules are imported inside the commands: `isp guard` runs on every commit and
should not pay for pandas and openpyxl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, MonthOption, RepoOption
from isp.cli.output import emit_json, err, ok
from isp.crypto import guard as guard_lib
from isp.errors import Problem, ValidationFailed, errors_only

StrictOption = Annotated[bool, typer.Option("--strict", help="Treat warnings (e.g. undeclared sites) as errors.")]
OptionalAgency = Annotated[str | None, typer.Option("--agency", help="Agency code, e.g. IRC.")]


def template(
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write it: FILE.xlsx or FILE.csv.")],
    agency: OptionalAgency = None,
    month: MonthOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Write the tracking-sheet template: an Excel workbook (dropdowns, English and Arabic headers,
    instructions) or, for a .csv name, the tidy sheet with every cell of the agency's sites at zero.
    Keep it outside the repository.

    Example: `isp template -o ~/irc-2026-01.xlsx --agency IRC --month 2026-01`
    """
    from isp.protocol import loading
    from isp.sheets import submit as submit_lib
    from isp.sheets import template as sheet_template

    root = repo.resolve()
    submit_lib.refuse_inside(root, out)
    what = sheet_template.write(loading.load(root), out, agency, month, force)
    ok(f"wrote {out}: {what}")


def submit(
    file: Annotated[Path, typer.Argument(help="The filled-in sheet (.xlsx, tidy .csv, or a system export).")],
    agency: Annotated[str, typer.Option("--agency", help="Agency code, e.g. IRC.")],
    month: Annotated[str, typer.Option("--month", help="The month the sheet reports, YYYY-MM.", metavar="YYYY-MM")],
    commit: Annotated[
        bool, typer.Option("--commit", help="Commit it on a new branch submission/AGENCY/MONTH.")
    ] = False,
    strict: StrictOption = False,
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Validate a sheet, normalise it to the tidy CSV and encrypt it (in memory) into
    submissions/AGENCY/MONTH.csv. Nothing is written when a problem is found.

    Example: `isp submit ~/irc-2026-01.xlsx --agency IRC --month 2026-01 --commit`
    """
    from isp.sheets import submit as submit_lib

    result = submit_lib.submit(repo, file, agency, month, commit=commit, strict=strict)
    if json_out:
        emit_json({**result.__dict__, "warnings": [w.as_dict() for w in result.warnings]})
        return
    _warnings(result.warnings)
    if result.unchanged:
        ok(f"{result.path} already holds exactly these figures: nothing to do")
        return
    ok(f"{'revised' if result.revised else 'wrote'} {result.path} ({result.cells} cells, encrypted)")
    if result.branch:
        ok(f"committed {result.commit} on branch {result.branch}: push it and open a pull request")


def validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Sheets to check; none: the whole repository.")] = None,
    agency: OptionalAgency = None,
    month: MonthOption = None,
    strict: StrictOption = False,
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Check the protocol and every submission (decrypted in memory with SOPS_AGE_KEY or
    SOPS_AGE_KEY_FILE), or only the sheets named. A plaintext sheet needs --agency and --month
    unless its path ends in AGENCY/YYYY-MM.csv.

    Example: `isp validate ~/irc-2026-01.xlsx --agency IRC --month 2026-01`
    """
    from isp.sheets import repository as repo_validate

    if paths:
        outcomes = repo_validate.validate_paths(repo, paths, agency, month, strict)
    else:
        outcomes = repo_validate.validate_repo(repo, strict)
    problems = [p for outcome in outcomes for p in outcome.problems]
    failing = errors_only(problems, strict)
    if json_out:
        emit_json({"ok": not failing, "outcomes": [o.as_dict() for o in outcomes]})
        raise typer.Exit(1 if failing else 0)
    if failing:
        raise ValidationFailed(problems)
    _warnings(problems)
    ok("valid: " + ", ".join(f"{o.name} ({o.checked} checked)" for o in outcomes))


def guard(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Files about to be committed; none: every tracked file.")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Refuse plaintext under submissions/ or aggregates/, age or SSH private keys, and
    encryptcontent.cache files (the pre-commit hook `isp-plaintext-guard` runs this).

    Example: `isp guard submissions/IRC/2026-01.csv`
    """
    root = repo.resolve()
    paths = files if files else guard_lib.tracked(root)
    problems = guard_lib.check(root, paths)
    if problems:
        raise ValidationFailed(problems, f"{len(problems)} problem(s): these files must not be committed")
    ok(f"{len(paths)} file(s) checked: no plaintext, no keys")


def _warnings(problems: list[Problem]) -> None:
    for problem in problems:
        err.print(str(problem), markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("template")(template)
    app.command("submit")(submit)
    app.command("validate")(validate)
    app.command("guard")(guard)
