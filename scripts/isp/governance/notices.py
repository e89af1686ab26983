"""Which e-mails the protocol calls for on a given day, and to whom.

Built on what ``isp remind`` already computes (:mod:`isp.governance.reminders` for missing sheets
and the protocol's review, :mod:`isp.governance.request_files` for each request's clocks and
contacts, :mod:`isp.governance.breaches` for the breach clocks, the working-day calendar for the
report and meeting days): nothing here recomputes a deadline.

A :class:`Notice` is one message to one person. Its ``id`` (kind, subject, recipient, due date) is
stable from one run to the next, so the sent log (:mod:`isp.governance.mail`) sends each once.
Its ``facts`` name periods, requests, deadlines and people, never a figure: free text taken from
the repository (a denial's reason, a suspension's justification) is withheld when it holds a digit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from isp.governance import reminders, request_files, request_models
from isp.governance.breaches import BreachStatus, breach_statuses
from isp.governance.request_status import RequestStatus, working_calendar
from isp.protocol import loading
from isp.protocol.models import FocalPoint, Isp
from isp.protocol.periods import add_months, first_day, month_of, month_range

KINDS = (
    "sheet-due",
    "sheet-overdue",
    "report-ready",
    "request-new",
    "request-follow-up",
    "request-escalation",
    "decision-recorded",
    "request-outcome",
    "denial-reason",
    "breach-meeting",
    "breach-escalation",
    "suspension",
    "sectoral-due",
    "meeting-due",
    "protocol-review",
)
RECENT_DAYS = 31  # decisions, outcomes and suspensions older than this are not announced any more
LEAD_DAYS = 7  # a report or a meeting is announced this many days ahead
DIGITS = re.compile(r"\d")
WITHHELD = "(withheld from e-mail because it contains figures: read it in the repository)"
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    agency: str | None  # None: someone outside the group (a requester)
    role: str
    languages: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str  # what it is about: a month, a request, a breach...
    due: date
    recipient: Person
    facts: dict[str, str] = field(default_factory=dict)
    event: str | None = None  # a deadline or meeting on ``due``: the message carries an .ics

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.subject}/{self.recipient.email.lower()}/{self.due.isoformat()}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "due": self.due.isoformat(),
            "to": f"{self.recipient.name} <{self.recipient.email}>",
            "agency": self.recipient.agency,
            "role": self.recipient.role,
            "languages": list(self.recipient.languages),
            "event": self.event,
        }


@dataclass(frozen=True)
class Context:
    root: Path
    isp: Isp
    today: date
    site_url: str


# --- people ------------------------------------------------------------------------------------


def person(isp: Isp, agency: str, role: str) -> Person:
    point: FocalPoint = getattr(isp.agencies[agency].focal_points, role)
    return Person(point.name, point.email, agency, role, tuple(isp.agencies[agency].languages))


def _people(isp: Isp, agencies: Iterable[str], roles: Iterable[str]) -> list[Person]:
    return [person(isp, code, role) for code in agencies for role in roles]


def _focal_points(isp: Isp) -> list[Person]:
    return _people(isp, isp.agencies, ("primary", "secondary"))


def _signatories(isp: Isp) -> list[Person]:
    return _people(isp, isp.agencies, ("signatory",))


def _coordinators(isp: Isp) -> list[Person]:
    return _people(isp, isp.coordinators(), ("primary",))


def _to_all(kind: str, subject: str, due: date, people: Iterable[Person], **extra: Any) -> Iterator[Notice]:
    event = extra.pop("event", None)
    facts = {key: str(value) for key, value in extra.items()}
    for who in people:
        yield Notice(kind, subject, due, who, facts, event)


def clean(text: str | None) -> str:
    """Free text from the repository, or a note that it was withheld (it holds figures)."""
    text = (text or "").strip()
    return WITHHELD if DIGITS.search(text) else text


# --- sheets, reports, meetings, the protocol --------------------------------------------------------


def _reminder_notices(ctx: Context) -> Iterator[Notice]:
    for item in reminders.reminders(ctx.root, ctx.today):
        if item.kind == "submission":
            agency = item.concerned[0]
            month = item.key.removeprefix("submission-").removesuffix(f"-{agency}")
            kind = "sheet-overdue" if item.overdue else "sheet-due"
            people = _people(ctx.isp, [agency], ("primary", "secondary"))
            yield from _to_all(kind, f"{month}-{agency}", item.due, people, month=month, agency=agency, event=kind)
        elif item.kind == "protocol-review":
            end = ctx.isp.protocol.validity.periods[-1].end
            yield from _to_all("protocol-review", "protocol", item.due, _signatories(ctx.isp), end=end, event="review")


def _recent_months(today: date) -> list[str]:
    last = add_months(month_of(today), -1)
    return month_range(add_months(last, 1 - reminders.LOOKBACK_MONTHS), last)


def _report_notices(ctx: Context) -> Iterator[Notice]:
    cal = working_calendar(ctx.isp)
    for month in _recent_months(ctx.today):
        if (ctx.root / "aggregates" / "monthly" / f"{month}.csv").exists():
            due = cal.consolidation_due(month)
            yield from _to_all("report-ready", month, due, _focal_points(ctx.isp), month=month, link=ctx.site_url)


def _halves(today: date) -> list[tuple[int, int]]:
    """The half-years ending around ``today``: (year, last month)."""
    return [(today.year - 1, 12), (today.year, 6), (today.year, 12)]


def _ahead(ctx: Context, day: date) -> bool:
    return ctx.today <= day <= ctx.today + timedelta(days=LEAD_DAYS)


def _sectoral_notices(ctx: Context) -> Iterator[Notice]:
    cal = working_calendar(ctx.isp)
    for year, last in _halves(ctx.today):
        if last not in ctx.isp.protocol.deadlines.sectoral_report.half_ending:
            continue
        due = cal.sectoral_due(year, last)
        half = f"{year}-H{1 if last <= 6 else 2}"
        if _ahead(ctx, due):
            people = _people(ctx.isp, ctx.isp.data_gathering(), ("primary",))
            yield from _to_all("sectoral-due", half, due, people, half=half, link=ctx.site_url, event="sectoral")


def _meeting_notices(ctx: Context) -> Iterator[Notice]:
    cal = working_calendar(ctx.isp)
    meetings = ctx.isp.protocol.deadlines.meetings
    for month in _recent_months(ctx.today)[-2:]:
        day = cal.add_working_days(cal.consolidation_due(month), meetings.task_force_working_days)
        if _ahead(ctx, day):
            people = _people(ctx.isp, ctx.isp.agencies, ("primary",))
            yield from _to_all(
                "meeting-due", f"task-force-{month}", day, people, meeting="task-force", period=month, event="meeting"
            )
    for year, last in _halves(ctx.today):
        day = cal.add_working_days(cal.sectoral_due(year, last), meetings.signatories_working_days)
        half = f"{year}-H{1 if last <= 6 else 2}"
        if _ahead(ctx, day):
            yield from _to_all(
                "meeting-due", f"signatories-{half}", day, _signatories(ctx.isp), meeting="signatories", period=half,
                event="meeting",
            )  # fmt: skip


def _suspension_notices(ctx: Context) -> Iterator[Notice]:
    since = ctx.today - timedelta(days=RECENT_DAYS)
    for code, agency in ctx.isp.agencies.items():
        for suspension in agency.suspensions:
            day = suspension.recorded or first_day(suspension.start)
            if not since <= day <= ctx.today:
                continue
            period = suspension.start + (f" to {suspension.end}" if suspension.end else " until further notice")
            yield from _to_all(
                "suspension", f"{code}-{suspension.start}", day, _signatories(ctx.isp),
                agency=code, period=period, reason=clean(suspension.reason),
            )  # fmt: skip


# --- requests ----------------------------------------------------------------------------------


def _request_notices(ctx: Context) -> Iterator[Notice]:
    requests = {r.id: r for r in request_files.all_requests(ctx.root)}
    for st in request_files.all_statuses(ctx.root, ctx.today, ctx.isp):
        if st.issued > ctx.today:
            continue
        yield from _pending(ctx, st)
        yield from _decisions(ctx, st)
        yield from _outcome(ctx, st, requests[st.id])


def _request_facts(st: RequestStatus) -> dict[str, Any]:
    return {"request": st.id, "organization": clean(st.organization), "issued": st.issued}


def _pending(ctx: Context, st: RequestStatus) -> Iterator[Notice]:
    if st.detail not in ("pending", "blocked-pending"):
        return
    facts = _request_facts(st)
    for agency in st.agencies:
        if agency.state in ("approved", "denied"):
            continue
        yield from _to_all(
            "request-new", st.id, st.answer_due, [person(ctx.isp, agency.agency, "primary")],
            agency=agency.agency, event="answer", **facts,
        )  # fmt: skip
        if agency.state in ("follow-up-due", "escalation-due") and agency.contact:
            yield _step(ctx, st, agency.agency, agency.state, facts)


def _step(ctx: Context, st: RequestStatus, agency: str, state: str, facts: dict[str, Any]) -> Notice:
    """The follow-up goes to the secondary focal point, the escalation to the signatory."""
    escalate = state == "escalation-due"
    kind, role, due = ("request-escalation", "signatory", st.escalate_on) if escalate else (
        "request-follow-up", "secondary", st.follow_up_on)  # fmt: skip
    facts = {**facts, "agency": agency, "expires": st.expires_on}
    return next(_to_all(kind, f"{st.id}-{agency}", due, [person(ctx.isp, agency, role)], **facts))


def _decisions(ctx: Context, st: RequestStatus) -> Iterator[Notice]:
    since = ctx.today - timedelta(days=RECENT_DAYS)
    for agency in st.agencies:
        if agency.counted and agency.date and since <= agency.date <= ctx.today:
            yield from _to_all(
                "decision-recorded", f"{st.id}-{agency.agency}", agency.date, _coordinators(ctx.isp),
                agency=agency.agency, decision=agency.decision or "", **_request_facts(st),
            )  # fmt: skip


def _outcome_day(st: RequestStatus) -> date | None:
    if st.state == "expired":
        return st.expires_on
    if st.state in ("approved", "denied"):
        return max((a.date for a in st.agencies if a.counted and a.date), default=None)
    return None


def _outcome(ctx: Context, st: RequestStatus, request: request_models.Request) -> Iterator[Notice]:
    day = _outcome_day(st)
    if day is None or not ctx.today - timedelta(days=RECENT_DAYS) <= day <= ctx.today:
        return
    facts = _request_facts(st)
    yield from _to_all("request-outcome", st.id, day, _coordinators(ctx.isp), outcome=st.state, **facts)
    contact = EMAIL.search(request.requester.contact or "")
    if st.state == "denied" and request.share_denial_reasons and contact:
        reasons = sorted({clean(a.reason) for a in st.agencies if a.state == "denied" and a.counted and a.reason})
        requester = Person(clean(request.requester.name) or "Requester", contact.group(0), None, "requester")
        yield from _to_all("denial-reason", st.id, day, [requester], reasons="\n".join(reasons), **facts)


# --- breaches ----------------------------------------------------------------------------------


def _breach_notices(ctx: Context) -> Iterator[Notice]:
    for breach in breach_statuses(ctx.root, ctx.today, ctx.isp):
        if breach.open and breach.reported <= ctx.today:
            yield from _breach(ctx, breach)


def _breach(ctx: Context, breach: BreachStatus) -> Iterator[Notice]:
    clocks = {c.name: c for c in breach.clocks}
    facts = {"breach": breach.id, "reported": breach.reported}
    meeting = clocks["meeting"]
    if meeting.done is None or meeting.done >= ctx.today:
        day = meeting.done or meeting.due
        yield from _to_all("breach-meeting", breach.id, day, _focal_points(ctx.isp), event="meeting", **facts)
    senior = clocks["senior-management"]
    if senior.state in ("due", "overdue") and senior.due <= ctx.today + timedelta(days=reminders.HORIZON_DAYS):
        yield from _to_all(
            "breach-escalation", breach.id, senior.due, _signatories(ctx.isp), event="escalation", **facts
        )


# --- all of it ---------------------------------------------------------------------------------


def site_url(root: Path) -> str:
    """Where members read the reports: ``ISP_SITE_URL``, else mkdocs.yml's ``site_url``, else empty."""
    url = os.environ.get("ISP_SITE_URL", "").strip()
    if url:
        return url
    config = root / "mkdocs.yml"
    if config.is_file():
        found = re.search(r"^site_url:\s*['\"]?([^'\"\s]+)", config.read_text(encoding="utf-8"), re.MULTILINE)
        if found:
            return found.group(1)
    return ""


def notices(root: Path, today: date, isp: Isp | None = None) -> list[Notice]:
    """Every message the protocol calls for on ``today``, one per recipient, without duplicates."""
    ctx = Context(root, isp or loading.load(root), today, site_url(root))
    found: dict[str, Notice] = {}
    for source in (
        _reminder_notices, _report_notices, _request_notices, _breach_notices,
        _suspension_notices, _sectoral_notices, _meeting_notices,
    ):  # fmt: skip
        for notice in source(ctx):
            found.setdefault(notice.id, notice)
    return sorted(found.values(), key=lambda n: (n.due, KINDS.index(n.kind), n.subject, n.recipient.email))
