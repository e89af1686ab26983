"""`isp ci pr`: every pull-request rule at once (what the pr.yml workflow runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from isp.ci import gate as ci
from isp.ci import pull, rules_code
from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import console, emit_json, ok, warn
from isp.errors import ValidationFailed

ci_app = typer.Typer(help="Checks that CI runs.", no_args_is_help=True)

MARK = {True: "[green]✓[/green]", False: "[red]✗[/red]", None: "[dim]–[/dim]"}


def _commit_rows(report: ci.PrReport) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for info in report.commits:
        result = "[green]✓ verified[/green]" if info.verified else "[red]✗ not verified[/red]"
        rows.append((info.sha[:10], escape(ci.signer_label(info)), "signature", result))
    return rows


def _file_rows(report: ci.PrReport) -> list[tuple[str, ...]]:
    change = {"A": "added", "M": "changed", "D": "deleted"}
    review = {notice.path: notice for notice in report.notices}
    rows: list[tuple[str, ...]] = []
    for item in report.files:
        checks = " ".join([f"[cyan]{item.path_class}[/cyan]"] + [f"{MARK[r]}{name}" for name, r in item.checks.items()])
        if item.path in review:
            checks = (checks + " " if checks else "") + (
                "[bold red]⚠ review[/bold red]" if review[item.path].loud else "[yellow]⚠ review[/yellow]"
            )
        checks = checks or "–"
        result = "[green]✓ ok[/green]" if item.passed else "[red]✗ refused[/red]"
        rows.append((escape(item.path), change.get(item.change, item.change), checks, result))
    return rows


def _print(report: ci.PrReport) -> None:
    title = f"Pull request {report.base[:10]}..{report.head[:10]}"
    if not report.decrypted:
        title += " (no SOPS_AGE_KEY: content not decrypted)"
    grid = Table(title=title, title_justify="left")
    grid.add_column("commit or file", overflow="fold", ratio=3)
    grid.add_column("signed by / change", overflow="fold", ratio=2)
    grid.add_column("checks", ratio=3)
    grid.add_column("result", no_wrap=True)
    for row in [*_commit_rows(report), *_file_rows(report)]:
        grid.add_row(*row)
    console.print(grid)
    for notice in report.notices:
        style = "bold red" if notice.loud else "yellow"
        console.print(f"[{style}]{escape(str(notice))}[/{style}]", soft_wrap=True)
    for problem in report.warnings:
        warn(problem.message)


def pr(
    base: Annotated[
        str,
        typer.Option(
            "--base", help="The tip of the branch the pull request merges into (trusted: signers, protocol, keys)."
        ),
    ],
    head: Annotated[str, typer.Option("--head", help="The pull request's last commit.")] = "HEAD",
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Check a pull request, default deny: every changed path falls in one class of the path
    policy (submission, aggregate, request, breach, membership record, code approval, protocol
    data, keys and signers, site credentials, workflow, code, documentation) and that class's
    rules hold; a path in no class, a link, a submodule or an odd name is refused. Code and
    workflows need a coordinator's signed approval (`isp ci approve`); the signer list, .sops.yaml
    and CODEOWNERS must be what `isp keys sync` writes; no file may hold a tracking sheet. With
    SOPS_AGE_KEY, every changed envelope also decrypts (in memory) and every submission validates.

    The changes judged are the pull request's own: from the merge base of --base and --head, so
    what landed on the base after the branch point is not counted. Signatures, names, recipients
    and the protocol are judged by --base itself, the tip. Exit 1 on any violation.

    Example: `isp ci pr --base origin/main --head HEAD --json`
    """
    report = ci.check_pr(repo, base, head)
    if json_out:
        emit_json(report.as_dict())
        if not report.ok:
            raise typer.Exit(1)
        return
    _print(report)
    if not report.ok:
        raise ValidationFailed(report.violations, f"{len(report.violations)} violation(s): do not merge")
    ok(f"{len(report.commits)} commit(s), {len(report.files)} file(s): every pull-request rule holds")


def approve(
    base: Annotated[str, typer.Option("--base", help="The commit the pull request targets.")],
    head: Annotated[str, typer.Option("--head", help="The pull request's last commit.")] = "HEAD",
    repo: RepoOption = Path("."),
) -> None:
    """Write a coordinator's approval of a pull request's code change: the record binds the
    digest of every code path's new content, so it counts for exactly this change. Commit it
    alone, signed with a coordinator focal point's key.

    Example: `isp ci approve --base origin/main && git add protocol/approvals && git commit -S -m "Approve code"`
    """
    rel, digest = rules_code.write_approval(repo, base, head)
    ok(f"{rel}: approval of sha256:{digest[:16]}…; commit it alone, signed (git commit -S)")


def pull_request(
    head_sha: Annotated[str, typer.Option("--head-sha", help="The head commit the workflow run names.")],
    default_branch: Annotated[str, typer.Option("--default-branch", help="The repository's default branch.")],
    repository: Annotated[str, typer.Option("--repository", help="owner/name of this repository.")],
    event: Annotated[Path | None, typer.Option("--event", help="JSON: the event's workflow_run.pull_requests.")] = None,
    api: Annotated[
        Path | None, typer.Option("--api", help="JSON: GitHub's answer to GET /repos/R/commits/SHA/pulls.")
    ] = None,
) -> None:
    """Name the pull request a `workflow_run` judges, from GitHub's records only: its number, its
    base branch and the ref that holds its head (refs/pull/N/head, forks included), as lines for
    $GITHUB_OUTPUT. Refused (exit 1) when no open pull request has that head, or when it does not
    target the default branch: the base is never taken from anything the head controls.

    Example: `isp ci pull-request --head-sha $SHA --default-branch main --repository o/r --api pulls.json`
    """
    chosen = pull.choose(head_sha, default_branch, repository, pull.read_list(event), pull.read_list(api))
    typer.echo(chosen.outputs(), nl=False)


def register(app: typer.Typer) -> None:
    ci_app.command("pr")(pr)
    ci_app.command("pull-request")(pull_request)
    ci_app.command("approve")(approve)
    app.add_typer(ci_app, name="ci")
