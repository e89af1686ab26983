"""`isp status`: who submitted the monthly sheet on time, late, not at all, or revised it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from isp.cli.options import JsonOption, MonthOption, RepoOption
from isp.cli.output import console, emit_json, table
from isp.protocol import workdays
from isp.sheets import status

LEGEND = "✓ on time   +n late by n working days   ✗ missing, overdue   · not yet due   S suspended   r revised"
STYLE = {"on-time": "green", "late": "yellow", "overdue": "red", "pending": "dim", "suspended": "blue"}


def _describe(item: status.AgencyStatus) -> str:
    if item.state == "late":
        return f"late by {item.late_days} working day(s)"
    if item.state == "suspended":
        return f"suspended: {item.suspension}"
    return {"on-time": "on time", "overdue": "missing, overdue", "pending": "missing, not yet due"}[item.state]


NOT_COUNTED = (
    "not counted: versions that carry no SSH signature of one of the agency's registered focal points; "
    "sign with SSH (`isp submit --commit` names the git settings) and register the key (`isp keys signer`)"
)


def _print_month(result: status.MonthStatus) -> None:
    rows = [
        (
            item.agency,
            Text(_describe(item), style=STYLE[item.state]),
            item.submitted or "",
            f"{item.versions} (revised)" if item.revised else item.versions,
            f"{item.unverified} unsigned" if item.unverified else "",
        )
        for item in result.agencies
    ]
    title = f"Sheets for {result.month}: due {result.due:%a %d %b %Y} (today {result.today})"
    table(title, ["agency", "status", "submitted", "versions", "not counted"], rows)
    if any(item.unverified for item in result.agencies):
        console.print(NOT_COUNTED, soft_wrap=True, markup=False)


def _print_overview(results: list[status.MonthStatus]) -> None:
    agencies = [item.agency for item in results[0].agencies]
    rows = [(month.month, *(Text(i.symbol, style=STYLE[i.state]) for i in month.agencies)) for month in results]
    table(f"The last {len(results)} months", ["month", *agencies], rows)
    console.print(LEGEND, soft_wrap=True)


def status_command(
    repo: RepoOption = Path("."),
    month: MonthOption = None,
    months: Annotated[int, typer.Option(help="Months in the overview (without --month).")] = 12,
    json_out: JsonOption = False,
) -> None:
    """Who submitted each month's tracking sheet: on time, late (in working days), missing, revised
    or suspended, from the signed git history.

    Without --month: the latest month whose deadline has passed, and an overview of the months before.
    A version counts only when signed by a registered focal point of the agency itself.

    Example: `isp status --month 2026-01 --json`
    """
    today = workdays.today()
    if month:
        result = status.month_status(repo, month, today)
        if json_out:
            emit_json(result.as_dict())
        else:
            _print_month(result)
        return
    latest = status.latest_due_month(repo, today)
    overview = status.history(repo, status.last_months(latest, max(months, 1), status.first_month(repo)), today)
    if json_out:
        emit_json({"latest": overview[-1].as_dict(), "months": [m.as_dict() for m in overview]})
        return
    _print_month(overview[-1])
    _print_overview(overview)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)
