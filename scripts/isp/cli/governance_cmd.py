"""`isp breach open|update|resolve|list`, `isp suspend`, `isp resume`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from isp.cli.options import AgencyOption, JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table, warn
from isp.errors import UsageError
from isp.governance import breaches, membership
from isp.protocol import loading, workdays
from isp.protocol.periods import month_of

breach_group = typer.Typer(help="Breaches of the protocol: no release while one is open.", no_args_is_help=True)

DateOption = Annotated[str | None, typer.Option(help="A date, YYYY-MM-DD.", metavar="YYYY-MM-DD")]


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--{what} '{text}' is not a date: write YYYY-MM-DD") from None


def _clocks(st: breaches.BreachStatus) -> str:
    return "; ".join(f"{c.name} {c.state} ({c.done or c.due})" for c in st.clocks)


@breach_group.command("open")
def open_(
    description: Annotated[str, typer.Option(prompt="What happened (in words, no figures)", help="What happened.")],
    reported: DateOption = None,
    agency: Annotated[str | None, typer.Option(help="The agency concerned, if one is.")] = None,
    breach_id: Annotated[
        str | None, typer.Option("--id", help="Breach id (default BR-YYYY-NNN: this year, the next number).")
    ] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Record a breach of the protocol. Until every signatory agrees it is resolved, nothing is
    released. Clocks: meeting within a week, senior management within two, resolution within a month.

    Example: `isp breach open --description "A monthly table was e-mailed outside the group" --agency IRC`
    """
    day = _date(reported, "reported") or workdays.today()
    breach = breaches.open_breach(repo, day, description, agency, breach_id)
    ok(f"wrote {breach.path}: releases are refused until every signatory agrees it is resolved")


@breach_group.command("update")
def update(
    breach_id: Annotated[str, typer.Argument(help="The breach id.")],
    meeting: DateOption = None,
    escalated: DateOption = None,
    description: Annotated[str | None, typer.Option(help="A better description (no figures).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Record the coordinators' meeting with the agency concerned, or the escalation to senior
    management.

    Example: `isp breach update BR-2026-001 --meeting 2026-03-05`
    """
    breach = breaches.update_breach(
        repo, breach_id, _date(meeting, "meeting"), _date(escalated, "escalated"), description
    )
    ok(f"updated {breach.path}")


@breach_group.command("resolve")
def resolve(
    breach_id: Annotated[str, typer.Argument(help="The breach id.")],
    agency: AgencyOption,
    day: Annotated[str | None, typer.Option("--date", help="Date of the agreement (default: today).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Record your agency's agreement that the breach is resolved. The breach closes when every
    signatory's agreement is in a commit signed by one of its focal points.

    Example: `isp breach resolve BR-2026-001 --agency IRC && git commit -S protocol/breaches/BR-2026-001.yaml`
    """
    when = _date(day, "date") or workdays.today()
    breach = breaches.agree_resolution(repo, breach_id, agency, when)
    isp = loading.load(repo)
    missing = [a for a in isp.agencies if a not in breach.agreements]
    ok(f"{breach_id}: {agency} agrees it is resolved")
    if missing:
        warn(f"still needed: {', '.join(missing)}")
    warn(f"it counts once committed and signed by a focal point of {agency}: git commit -S {breach.path}")


@breach_group.command("list")
def list_(repo: RepoOption = Path("."), json_out: JsonOption = False) -> None:
    """Every breach, open or resolved, with its clocks and the agreements that count.

    Example: `isp breach list --json`
    """
    statuses = breaches.breach_statuses(repo, workdays.today())
    if json_out:
        emit_json({"breaches": [s.as_dict() for s in statuses]})
        return
    table(
        "Breaches",
        ["id", "reported", "open", "clocks", "agreed", "awaiting"],
        [(s.id, s.reported, "open" if s.open else f"resolved {s.closed_on}", _clocks(s), ", ".join(s.agreed),
          ", ".join(s.awaiting)) for s in statuses],
    )  # fmt: skip


def suspend(
    agency: Annotated[str, typer.Argument(help="Agency code.")],
    start: Annotated[str, typer.Option("--from", help="First suspended month, YYYY-MM.", metavar="YYYY-MM")],
    reason: Annotated[str, typer.Option(help="The written reason (required).")],
    end: Annotated[str | None, typer.Option("--to", help="Last suspended month (default: open).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Suspend an agency's sharing from a month, with its written reason. Consolidation leaves its
    suspended months out and states the coverage.

    Example: `isp suspend JRF --from 2026-04 --to 2026-05 --reason "Database migration"`
    """
    membership.suspend(repo, agency, start, end, reason, workdays.today())
    ok(f"{agency} suspended from {start} to {end or 'further notice'}; commit protocol/agencies.yaml")


def resume(
    agency: Annotated[str, typer.Argument(help="Agency code.")],
    start: Annotated[str | None, typer.Option("--from", help="First month shared again (default: this month).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """End an agency's suspension: it shares again from --from.

    Example: `isp resume JRF --from 2026-06`
    """
    month = start or month_of(workdays.today())
    last = membership.resume(repo, agency, month)
    ok(f"{agency} shares again from {month} (suspended up to {last}); commit protocol/agencies.yaml")


def register(app: typer.Typer) -> None:
    app.add_typer(breach_group, name="breach")
    app.command("suspend")(suspend)
    app.command("resume")(resume)
