"""`isp request new|decide|status|check`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NotRequired, TypedDict

import click
import typer
from typer.models import OptionInfo

from isp.cli.options import AgencyOption, JsonOption, RepoOption
from isp.cli.output import emit_json, ok, table, warn
from isp.errors import UsageError, ValidationFailed
from isp.governance import (
    breaches,
    membership,
    request_files,
    request_models,
    request_rules,
    request_status,
    requester_notice,
)
from isp.protocol import loading, workdays
from isp.protocol.models import Isp

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


PROMPTS: dict[str, str] = {
    "organization": "Requesting organisation",
    "name": "Name of the person asking",
    "position": "Their position",
    "contact": "How to reach them (e-mail or phone)",
    "purpose": "What the data is for",
    "use": "How the data will be used",
    "feedback": "How the results come back to the group (or why they cannot)",
    "guarantee": "The recipient's written guarantee",
    "report": "Which report (monthly, quarterly, half-yearly, sectoral, annual, custom)",
    "periods": "Which periods, comma-separated (2025-Q4, 2026-Q1)",
    "indicators": "Which indicators or groups, comma-separated, or `all`",
    "geography": "Which geography: national, sites, governorates or site codes",
}


def _asked(label: str) -> OptionInfo:
    """Not marked [required]: a missing one is asked for (see :func:`_ask`)."""
    option: OptionInfo = typer.Option(help=f"{label}. Asked for when not given.", show_default=False)
    return option


def _ask(given: dict[str, str | None]) -> dict[str, str]:
    """Every field, prompting for the missing ones; a closed input names all that are still missing."""
    answers = {key: value for key, value in given.items() if value}
    for key in (k for k in given if k not in answers):
        try:
            answers[key] = typer.prompt(PROMPTS[key])
        except (typer.Abort, click.exceptions.Abort, EOFError, OSError):
            left = [f"--{k}" for k in given if k not in answers]
            raise UsageError(
                f"missing {', '.join(left)}: give them as options (the input closed before they could be asked)"
            ) from None
    return answers


@group.command("new")
def new(
    organization: Annotated[str | None, _asked(PROMPTS["organization"])] = None,
    name: Annotated[str | None, _asked(PROMPTS["name"])] = None,
    position: Annotated[str | None, _asked(PROMPTS["position"])] = None,
    contact: Annotated[str | None, _asked(PROMPTS["contact"])] = None,
    purpose: Annotated[str | None, _asked(PROMPTS["purpose"])] = None,
    use: Annotated[str | None, _asked(PROMPTS["use"])] = None,
    feedback: Annotated[str | None, _asked(PROMPTS["feedback"])] = None,
    guarantee: Annotated[str | None, _asked(PROMPTS["guarantee"])] = None,
    report: Annotated[str | None, _asked(PROMPTS["report"])] = None,
    periods: Annotated[str | None, _asked(PROMPTS["periods"])] = None,
    indicators: Annotated[str | None, _asked(PROMPTS["indicators"])] = None,
    geography: Annotated[str | None, _asked(PROMPTS["geography"])] = None,
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
    given = dict(zip(PROMPTS, (organization, name, position, contact, purpose, use, feedback, guarantee,
                               report, periods, indicators, geography), strict=True))  # fmt: skip
    _record(_ask(given), request_type, request_id, received, issued, recipient, original, commit, repo)


class Requester(TypedDict):
    organization: str
    name: str
    position: str
    contact: str


class DataAsked(TypedDict):
    report: str
    periods: list[str]
    indicators: list[str]
    geography: list[str]


class NewRequest(TypedDict):
    """What ``isp request new`` hands :func:`request_files.new_request` (which validates it)."""

    type: str
    received: date
    issued: date
    requester: Requester
    purpose: str
    use: str
    feedback: str
    guarantee: str
    data: DataAsked
    id: NotRequired[str]
    recipient: NotRequired[str]
    original_request: NotRequired[str]


def _record(
    asked: dict[str, str],
    request_type: str,
    request_id: str | None,
    received: str | None,
    issued: str | None,
    recipient: str | None,
    original: str | None,
    commit: bool,
    repo: Path,
) -> None:
    if request_type not in request_models.REQUEST_TYPES:
        raise UsageError(f"--type '{request_type}' is not one of {', '.join(request_models.REQUEST_TYPES)}")
    fields: NewRequest = {
        "type": request_type,
        "received": _date(received, "received"),
        "issued": _date(issued, "issued"),
        "requester": {
            "organization": asked["organization"],
            "name": asked["name"],
            "position": asked["position"],
            "contact": asked["contact"],
        },
        "purpose": asked["purpose"],
        "use": asked["use"],
        "feedback": asked["feedback"],
        "guarantee": asked["guarantee"],
        "data": {
            "report": asked["report"],
            "periods": _items(asked["periods"]),
            "indicators": _items(asked["indicators"]),
            "geography": _items(asked["geography"]),
        },
    }
    if request_id:
        fields["id"] = request_id
    if recipient:
        fields["recipient"] = recipient
    if original:
        fields["original_request"] = original
    isp = loading.load(repo)
    request = request_files.new_request(repo, fields, isp)
    ok(f"wrote {request.path}: every data-gathering agency now answers with `isp request decide {request.id}`")
    for problem in request_rules.withheld_warnings(isp, request):
        warn(str(problem).removeprefix("warning: "))
    if commit:
        sha = request_files.commit_file(repo, request.path, f"Request {request.id} from {asked['organization']}")
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
    profile: Annotated[
        str | None,
        typer.Option(help="Approve on condition that the release uses at least this disclosure profile (e.g. strict)."),
    ] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Commit it, signed with your git (SSH key).")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Record your agency's decision on a request. It counts only once committed in a commit
    signed by one of your agency's focal points.

    Example: `isp request decide REQ-2026-003 --agency IRC --approve --commit`;
    `isp request decide REQ-2026-003 --agency UNICEF --approve --profile strict` (the release then
    uses that profile or a stricter one);
    `isp request decide REQ-2026-003 --agency JRF --deny --reason "Camp-level cells too small"`
    """
    if approve == deny:
        raise UsageError("give exactly one of --approve or --deny")
    decision = request_files.decide(repo, request_id, agency, approve, reason, _date(day, "date"), profile=profile)
    condition = f", on condition of the {decision.profile} profile" if decision.profile else ""
    ok(f"{request_id}: {agency} {'approves' if approve else 'denies'} (dated {decision.date}){condition}")
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
        f"follow-up {st.follow_up_on}, escalation {st.escalate_on}"
        + (f", expires {st.expires_on}" if st.expires_on else ""),
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
    for_requester: Annotated[
        bool,
        typer.Option(
            "--for-requester",
            help="The message for the requester: the state and, for a denial, the reasons with no agency named.",
        ),
    ] = False,
    without_reasons: Annotated[
        bool, typer.Option("--without-reasons", help="With --for-requester: keep a denial's reasons back.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Where requests stand: per agency approved, denied (with the reason), awaiting, follow-up due
    (the secondary focal point, named) or escalation due (the signatory, named); overall pending,
    approved, denied, blocked by a breach, or expired. With --for-requester, the message the
    coordinators may send the requester: a denial's reasons without any agency's name, unless
    --without-reasons (sharing them is the coordinators' choice).

    Example: `isp request status REQ-2026-003`; `ISP_TODAY=2026-03-20 isp request status --json`;
    `isp request status REQ-2026-004 --for-requester`
    """
    isp = loading.load(repo)
    today = workdays.today()
    if for_requester:
        _requester_message(repo, isp, request_id, today, not without_reasons, json_out)
        return
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


def _requester_message(
    repo: Path, isp: Isp, request_id: str | None, today: date, with_reasons: bool, json_out: bool
) -> None:
    if not request_id:
        raise UsageError("--for-requester needs a request id: isp request status REQ-... --for-requester")
    st = request_files.status(repo, request_id, today, isp)
    text = requester_notice.notice(isp, st, with_reasons)
    if json_out:
        emit_json({"id": st.id, "state": st.state, "notice": text})
    else:
        typer.echo(text, nl=False)


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
