"""`isp deadlines`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import JsonOption, MonthOption, RepoOption
from isp.cli.output import emit_json, ok, table
from isp.fsutil import write_atomic
from isp.protocol import loading, workdays
from isp.protocol.periods import add_months, month_of, parse_month


def deadlines(
    repo: RepoOption = Path("."),
    month: MonthOption = None,
    months: Annotated[int, typer.Option(help="How many months from --month to cover.")] = 1,
    ics: Annotated[Path | None, typer.Option(help="Also write the deadlines as an .ics calendar file.")] = None,
    json_out: JsonOption = False,
) -> None:
    """List what is due: submissions (the 7th), consolidation (the 10th), sectoral reports, review.

    Dates falling on a Friday, Saturday or Jordanian public holiday move to the next working day.

    Example: `isp deadlines --month 2026-02 --json`;
    `isp deadlines --month 2026-01 --months 12 --ics isp-2026.ics`
    """
    isp = loading.load(repo)
    first = month or add_months(month_of(workdays.today()), -1)
    parse_month(first)
    items = workdays.deadlines_between(isp, first, add_months(first, max(months, 1) - 1))
    if ics:
        write_atomic(ics, workdays.to_ics(items, isp.protocol.short_name))
    if json_out:
        emit_json({"month": first, "deadlines": [d.as_dict() for d in items]})
        return
    table(
        f"Deadlines from {first}",
        ["due", "day", "what", "for", "note"],
        [(d.due, f"{d.due:%a}", d.kind, d.subject, d.note) for d in items],
    )
    if ics:
        ok(f"wrote {ics}")


def register(app: typer.Typer) -> None:
    app.command("deadlines")(deadlines)
