"""`isp remind`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table
from isp.governance import reminders as remind
from isp.protocol import workdays


def remind_command(
    repo: RepoOption = Path("."),
    days: Annotated[int, typer.Option("--days", help="Also list what falls due within this many days.")] = (
        remind.HORIZON_DAYS
    ),
    github: Annotated[
        bool, typer.Option("--github", help="Open, update or close one GitHub issue per item (gh).")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """List everything due or overdue: missing tracking sheets, consolidation, request follow-ups and
    escalations, breach clocks (the meeting of every agency's focal points among them), the
    sectoral report (flagged late), the Task Force and signatories' meetings without minutes,
    suspensions' written justifications, a revision after an agency left, the protocol's review.
    With --github, keep one GitHub issue per item (needs `gh` and GH_TOKEN; what CI's scheduled
    reminder runs).

    Example: `isp remind --json`; `GH_TOKEN=... isp remind --github`
    """
    today = workdays.today()
    items = remind.reminders(repo, today, days)
    report = None
    if github:
        from isp.governance import github_issues

        report = github_issues.sync(items)
    if json_out:
        emit_json(
            {
                "today": today.isoformat(),
                "items": [i.as_dict() for i in items],
                "github": report.as_dict() if report else None,
            }
        )
        return
    table(
        f"Due or overdue on {today}",
        ["due", "", "what", "contact"],
        [(i.due, "overdue" if i.overdue else "", i.title, "\n".join(i.contacts or i.concerned)) for i in items],
    )
    if report:
        ok(
            f"GitHub issues: {len(report.created)} opened, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.closed)} closed"
        )


def register(app: typer.Typer) -> None:
    app.command("remind")(remind_command)
