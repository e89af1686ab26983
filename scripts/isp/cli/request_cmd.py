"""`isp request new|decide|status|check`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from isp.cli.options import AgencyOption, JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table, warn
from isp.errors import UsageError, ValidationFailed
from isp.governance import breaches, membership, request_files, request_models, request_status
from isp.protocol import loading, workdays

group = typer.Typer(help="External data requests: unanimous, signed consent.", no_args_is_help=True)

DateOption = Annotated[str | None, typer.Option(help="A date, YYYY-MM-DD (default: today).", metavar="YYYY-MM-DD")]


def _date(text: str | None, what: str) -> date:
    if text is None:
        return workdays.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--{what} '{text}' is not a date: write YYYY-MM-DD") from None


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _prompted(label: str) -> Any:
    return typer.Option(prompt=label, help=f"{label}.")


@group.command("new")
def new(
    organization: Annotated[str, _prompted("Requesting organisation")],
    name: Annotated[str, _prompted("Name of the person asking")],
    position: Annotated[str, _prompted("Their position")],
    contact: Annotated[str, _prompted("How to reach them (e-mail or phone)")],
    purpose: Annotated[str, _prompted("What the data is for")],
    use: Annotated[str, _prompted("How the data will be used")],
    feedback: Annotated[str, _prompted("How the results come back to the group (or why they cannot)")],
    guarantee: Annotated[str, _prompted("The recipient's written guarantee")],
    report: Annotated[str, _prompted("Which report (monthly, quarterly, half-yearly, sectoral, annual, custom)")],
    periods: Annotated[str, _prompted("Which periods, comma-separated (2025-Q4, 2026-Q1)")],
    indicators: Annotated[str, _prompted("Which indicators or groups, comma-separated, or `all`")],
    geography: Annotated[str, _prompted("Which geography: national, sites, governorates or site codes")],
    request_type: Annotated[str, typer.Option("--type", help="external, media, government or onward.")] = "external",
    request_id: Annotated[
        str | None, typer.Option("--id", help="The request id (default REQ-YYYY-NNN: this year, the next number).")
    ] = None,
    received: DateOption = None,
    issued: DateOption = None,
    recipient: Annotated[str | None, typer.Option(help="Government requests: MOSD, NCFA or FPD.")] = None,
    original: Annotated[str | None, typer.Option("--original", help="Onward requests: the original request.")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Commit the new file, signed with your git.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Record a new external data request with its five required elements and the data asked for.
    Missing options are asked for. The clock starts on --issued (default: today).

    Example: `isp request new --organization "A university" --name "R. Example" --position Researcher
    --contact r@example.org --purpose "Plan services" --use "Internal note" --feedback "Shared back"
    --guarantee "Signed undertaking" --report quarterly --periods 2025-Q4 --indicators caseload
    --geography national`
    """
    if request_type not in request_models.REQUEST_TYPES:
        raise UsageError(f"--type '{request_type}' is not one of {', '.join(request_models.REQUEST_TYPES)}")
    fields: dict[str, Any] = {
        "type": request_type,
        "received": _date(received, "received"),
        "issued": _date(issued, "issued"),
        "requester": {"organization": organization, "name": name, "position": position, "contact": contact},
        "purpose": purpose,
        "use": use,
        "feedback": feedback,
        "guarantee": guarantee,
        "data": {"report": report, "periods": _items(periods), "indicators": _items(indicators),
                 "geography": _items(geography)},
    }  # fmt: skip
    if request_id:
        fields["id"] = request_id
    fields |= {k: v for k, v in (("recipient", recipient), ("original_request", original)) if v}
    request = request_files.new_request(repo, fields)
    ok(f"wrote {request.path}: every data-gathering agency now answers with `isp request decide {request.id}`")
    if commit:
        sha = request_files.commit_file(repo, request.path, f"Request {request.id} from {organization}")
        ok(f"committed {sha[:10]}")


@group.command("decide")
def decide(
    request_id: Annotated[str, typer.Argument(help="The request id, e.g. REQ-2026-003.")],
    agency: AgencyOption,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the request.")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="Refuse it (give --reason).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required for a denial).")] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="Date of the decision, YYYY-MM-DD (default: today).")
    ] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Commit it, signed with your git (SSH key).")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Record your agency's decision on a request. It counts only once committed in a commit
    signed by one of your agency's focal points.

    Example: `isp request decide REQ-2026-003 --agency IRC --approve --commit`;
    `isp request decide REQ-2026-003 --agency JRF --deny --reason "Camp-level cells too small"`
    """
    if approve == deny:
        raise UsageError("give exactly one of --approve or --deny")
    decision = request_files.decide(repo, request_id, agency, approve, reason, _date(day, "date"))
    ok(f"{request_id}: {agency} {'approves' if approve else 'denies'} (dated {decision.date})")
    rel = request_models.path_of(request_id)
    if commit:
        sha = request_files.commit_file(repo, rel, f"{request_id}: {agency} {'approves' if approve else 'denies'}")
        ok(f"committed {sha[:10]}; it counts if your signing key is registered for {agency}")
    else:
        warn(f"it counts once committed and signed by a focal point of {agency}: git commit -S {rel}")


def _next_step(st: request_status.RequestStatus) -> str:
    due = [a for a in st.agencies if a.state in ("follow-up-due", "escalation-due")]
    if st.state not in ("pending", "blocked") or not due:
        return ""
    return "; ".join(f"{a.agency}: contact {a.contact}" for a in due if a.contact)


def _show_one(st: request_status.RequestStatus) -> None:
    rows = [
        (a.agency, a.state, a.date or "", a.reason or "", str(a.contact) if a.contact else "", a.note)
        for a in st.agencies
    ]
    table(
        f"{st.id} ({st.type}, {st.organization}): {st.state} as of {st.today}; issued {st.issued}, "
        f"follow-up {st.follow_up_on}, escalation {st.escalate_on}, expires {st.expires_on}",
        ["agency", "answer", "date", "reason", "contact now", "note"],
        rows,
    )
    for release in st.releases:
        ok(f"released {release.id} on {release.date} to {release.recipient}")
    for note in st.notes:
        warn(note)


@group.command("status")
def status(
    request_id: Annotated[str | None, typer.Argument(help="One request; all of them when left out.")] = None,
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Where requests stand: per agency approved, denied (with the reason), awaiting, follow-up due
    (the secondary focal point, named) or escalation due (the signatory, named); overall pending,
    approved, denied, blocked by a breach, or expired.

    Example: `isp request status REQ-2026-003`; `ISP_TODAY=2026-03-20 isp request status --json`
    """
    isp = loading.load(repo)
    today = workdays.today()
    if request_id:
        statuses = [request_files.status(repo, request_id, today, isp)]
    else:
        statuses = request_files.all_statuses(repo, today, isp)
    validity = membership.validity_problems(isp, today)
    if json_out:
        emit_json(
            {"today": today.isoformat(), "requests": [s.as_dict() for s in statuses],
             "protocol": [p.as_dict() for p in validity]}
        )  # fmt: skip
        return
    for problem in validity:
        warn(str(problem))
    if request_id:
        _show_one(statuses[0])
        return
    table(
        f"Requests on {today}",
        ["id", "type", "from", "state", "waiting for", "next step"],
        [(s.id, s.type, s.organization, s.state, ", ".join(s.waiting_for()), _next_step(s)) for s in statuses],
    )


@group.command("check")
def check(
    base: Annotated[str | None, typer.Option(help="The pull request's base: its changes are judged strictly.")] = None,
    head: Annotated[str, typer.Option(help="The revision to check.")] = "HEAD",
    repo: RepoOption = Path("."),
    json_out: JsonOption = False,
) -> None:
    """Every request rule, as CI runs it: complete requests; every decision in a commit signed by
    a focal point of its own agency (those the pull request adds included); none changed or removed
    by another; approval only when every data-gathering agency approved; a reason for each denial;
    media never pre-approved; onward requests never forwarded by the original recipient; requests
    and breach records written by the coordinators; breach agreements signed by their own agency.

    Example: `isp request check --base origin/main --head HEAD`
    """
    problems = request_files.check(repo, base, head) + breaches.breach_check(repo, base, head)
    errors = [p for p in problems if p.severity == "error"]
    if json_out:
        emit_json({"ok": not errors, "problems": [p.as_dict() for p in problems]})
        if errors:
            raise typer.Exit(1)
        return
    for problem in problems:
        if problem.severity == "warning":
            warn(str(problem))
    if errors:
        raise ValidationFailed(errors, f"{len(errors)} request problem(s)")
    ok("requests and breaches checked: every decision and agreement attributable")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="request")
