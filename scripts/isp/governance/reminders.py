"""Reminders: everything due or overdue, one item per thing someone has to do.

Each item has a stable ``key`` (so a scheduler keeps exactly one GitHub issue per item, see
``isp.governance.github_issues``), a title, a body in Markdown, a due date, and who is concerned (agencies
and the focal points to contact). Items cover: missing tracking sheets, consolidation, request
follow-ups and escalations (and requests about to lapse), breach clocks, and the protocol's review
and validity. Items due within ``horizon_days`` are listed ahead of time. Nothing here reads a
figure: only file names, git history, dates and the protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from isp.errors import IspError
from isp.governance import breaches, membership, request_files, request_status
from isp.governance.request_status import working_calendar
from isp.protocol import loading, workdays
from isp.protocol.models import Isp
from isp.protocol.periods import add_months, month_of, month_range

HORIZON_DAYS = 3  # list what falls due in the next few days, not only what is overdue
LOOKBACK_MONTHS = 3  # older missing sheets are a matter for the coordinators, not a daily nag


@dataclass(frozen=True)
class Item:
    key: str
    kind: str
    title: str
    body: str
    due: date
    overdue: bool
    concerned: tuple[str, ...]  # agency codes
    contacts: tuple[str, ...]  # "Name <email> (AGENCY role)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "due": self.due.isoformat(),
            "overdue": self.overdue,
            "concerned": list(self.concerned),
            "contacts": list(self.contacts),
        }


def _person(isp: Isp, agency: str, role: str) -> str:
    person = getattr(isp.agencies[agency].focal_points, role)
    return f"{person.name} <{person.email}> ({agency} {role})"


def _coordinators(isp: Isp) -> tuple[tuple[str, ...], tuple[str, ...]]:
    codes = tuple(isp.coordinators())
    return codes, tuple(_person(isp, code, "primary") for code in codes)


def _when(due: date, today: date) -> str:
    return f"overdue since {due}" if today > due else f"due {due}"


# --- submissions and consolidation -------------------------------------------------------------


def _months(isp: Isp, today: date, horizon: date) -> list[str]:
    cal = working_calendar(isp)
    last = add_months(month_of(today), -1)
    return [m for m in month_range(add_months(last, 1 - LOOKBACK_MONTHS), last) if cal.submission_due(m) <= horizon]


def _missing(root: Path, isp: Isp, months: list[str], today: date) -> Iterator[tuple[str, str]]:
    """(month, agency) for every sheet not (validly) submitted and not suspended."""
    try:
        from isp.sheets import status

        for month_status in status.history(root, months, today):
            for entry in month_status.agencies:
                if entry.state in ("overdue", "pending"):
                    yield month_status.month, entry.agency
    except (ImportError, IspError):  # no git history here: judge from the files present
        for month in months:
            for agency in isp.submitters():
                present = (root / "submissions" / agency / f"{month}.csv").exists()
                if not present and not isp.agencies[agency].suspended_in(month):
                    yield month, agency


def _submission_items(root: Path, isp: Isp, today: date, horizon: date) -> Iterator[Item]:
    cal = working_calendar(isp)
    for month, agency in _missing(root, isp, _months(isp, today, horizon), today):
        due = cal.submission_due(month)
        late = today > due
        contacts = [_person(isp, agency, "primary")] + ([_person(isp, agency, "secondary")] if late else [])
        yield Item(
            key=f"submission-{month}-{agency}",
            kind="submission",
            title=f"{agency}: tracking sheet for {month} {_when(due, today)}",
            body=(
                f"{agency}'s common tracking sheet for {month} is {_when(due, today)}.\n\n"
                f"Submit it with `isp submit FILE --agency {agency} --month {month} --commit` in a pull request "
                f"signed by a focal point of {agency}."
                + (" If sharing is suspended for this month, record it with `isp suspend`." if late else "")
            ),
            due=due,
            overdue=late,
            concerned=(agency,),
            contacts=tuple(contacts),
        )


def _consolidation_items(root: Path, isp: Isp, today: date, horizon: date) -> Iterator[Item]:
    cal = working_calendar(isp)
    codes, contacts = _coordinators(isp)
    for month in _months(isp, today, horizon):
        due = cal.consolidation_due(month)
        if due > horizon or (root / "aggregates" / "monthly" / f"{month}.csv").exists():
            continue
        yield Item(
            key=f"consolidation-{month}",
            kind="consolidation",
            title=f"Consolidated report for {month} {_when(due, today)}",
            body=(
                f"The consolidated report for {month} (agency identities removed) is {_when(due, today)}. "
                "CI consolidates on every merge to main; if it could not, a coordinator runs `isp consolidate`."
            ),
            due=due,
            overdue=today > due,
            concerned=codes,
            contacts=contacts,
        )


# --- requests ----------------------------------------------------------------------------------


def _request_items(root: Path, isp: Isp, today: date, horizon: date) -> Iterator[Item]:
    codes, coordinators = _coordinators(isp)
    for st in request_files.all_statuses(root, today, isp):
        if st.detail not in ("pending", "blocked-pending"):
            continue
        for agency in st.agencies:
            if agency.state in ("follow-up-due", "escalation-due") and agency.contact:
                yield _request_item(st, agency, today)
        if today <= st.expires_on <= horizon:
            yield Item(
                key=f"request-{st.id}-expiry",
                kind="request-expiry",
                title=f"{st.id}: lapses after {st.expires_on} unless every agency answers",
                body=f"Request {st.id} from {st.organization} is still waiting for {', '.join(st.waiting_for())}. "
                f"Without every answer by {st.expires_on} it lapses and must be issued again.",
                due=st.expires_on,
                overdue=False,
                concerned=codes,
                contacts=coordinators,
            )


def _request_item(st: request_status.RequestStatus, agency: request_status.AgencyStatus, today: date) -> Item:
    escalate = agency.state == "escalation-due"
    due = st.escalate_on if escalate else st.follow_up_on
    step = "escalation" if escalate else "follow-up"
    who = "the signatory" if escalate else "the secondary focal point"
    return Item(
        key=f"request-{st.id}-{agency.agency}-{step}",
        kind=f"request-{step}",
        title=f"{st.id}: {step} with {agency.agency} ({who}) {_when(due, today)}",
        body=(
            f"{agency.agency} has not answered request {st.id} from {st.organization}, issued {st.issued}. "
            f"Contact {who}: {agency.contact}. The agency records its answer with "
            f"`isp request decide {st.id} --agency {agency.agency} --approve|--deny --reason TEXT --commit`, "
            "signed by one of its focal points. Silence is never consent."
        ),
        due=due,
        overdue=today > due,
        concerned=(agency.agency,),
        contacts=(str(agency.contact),),
    )


# --- breaches and the protocol ---------------------------------------------------------------------


CLOCK_TEXT = {
    "meeting": "the coordinators meet the agency concerned (`isp breach update ID --meeting DATE`)",
    "senior-management": "unresolved breaches go to senior management (`isp breach update ID --escalated DATE`)",
    "resolution": "every signatory agrees it is resolved (`isp breach resolve ID --agency A`, signed)",
}


def _breach_items(root: Path, isp: Isp, today: date, horizon: date) -> Iterator[Item]:
    codes, coordinators = _coordinators(isp)
    for breach in breaches.breach_statuses(root, today, isp):
        if not breach.open:
            continue
        for clock in breach.clocks:
            if clock.state not in ("due", "overdue") or clock.due > horizon:
                continue
            waiting = f" Agreements still missing: {', '.join(breach.awaiting)}." if clock.name == "resolution" else ""
            yield Item(
                key=f"breach-{breach.id}-{clock.name}",
                kind=f"breach-{clock.name}",
                title=f"Breach {breach.id}: {clock.name.replace('-', ' ')} {_when(clock.due, today)}",
                body=f"Breach {breach.id}, reported {breach.reported}: {CLOCK_TEXT[clock.name]}.{waiting} "
                "No release is made while it is open.",
                due=clock.due,
                overdue=clock.state == "overdue",
                concerned=tuple(breach.awaiting) if clock.name == "resolution" else codes,
                contacts=coordinators,
            )


def _protocol_items(isp: Isp, today: date, horizon: date) -> Iterator[Item]:
    codes = tuple(isp.agencies)
    signatories = tuple(_person(isp, code, "signatory") for code in codes)
    validity = isp.protocol.validity
    if not validity.in_force(today):
        (problem,) = membership.validity_problems(isp, today)
        yield Item(
            "protocol-not-in-force",
            problem.rule,
            "The protocol is not in force: nothing may be shared",
            f"{problem.message}. Fix: {problem.fix}.",
            today,
            True,
            codes,
            signatories,
        )
    elif validity.review_date <= horizon:
        end = validity.periods[-1].end
        yield Item(
            f"protocol-review-{validity.review_date}",
            "protocol-review",
            f"Protocol review {_when(validity.review_date, today)}",
            f"The signatories review the protocol before its current period ends on {end}, and record the "
            "renewal under `validity.periods` in protocol/protocol.yaml.",
            validity.review_date,
            today > validity.review_date,
            codes,
            signatories,
        )


def reminders(root: Path, today: date | None = None, horizon_days: int = HORIZON_DAYS) -> list[Item]:
    """Everything due by ``today + horizon_days`` or overdue, by due date."""
    isp = loading.load(root)
    today = today or workdays.today()
    horizon = today + timedelta(days=max(horizon_days, 0))
    items: Iterable[Item] = [
        *_submission_items(root, isp, today, horizon),
        *_consolidation_items(root, isp, today, horizon),
        *_request_items(root, isp, today, horizon),
        *_breach_items(root, isp, today, horizon),
        *_protocol_items(isp, today, horizon),
    ]
    return sorted(items, key=lambda item: (item.due, item.key))
