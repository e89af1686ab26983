"""Where a request stands: the state machine of :mod:`isp.governance.request_states` fed with dated events.

:func:`timeline` is pure: the request, the decisions that count (the caller has checked their
signatures), the periods during which a breach was open, and the day. It gives the overall state
(pending, approved, denied, blocked, expired), each agency's answer and whom to contact, the
clocks, and the steps taken, each with the rule that allowed it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from isp.governance.request_models import Decision, Release, Request
from isp.governance.request_states import (
    AgencyEvent,
    AgencyState,
    Event,
    State,
    Step,
    run_agency,
    run_request,
)
from isp.protocol import workdays
from isp.protocol.models import Isp


@dataclass(frozen=True)
class Contact:
    role: str
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.role})"


@dataclass(frozen=True)
class AgencyStatus:
    agency: str
    state: str  # awaiting | follow-up-due | escalation-due | approved | denied
    decision: str | None  # what the file records, counted or not
    date: date | None
    reason: str | None
    counted: bool
    contact: Contact | None  # whom to contact now: primary, then secondary, then the signatory
    note: str = ""
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "state": self.state,
            "decision": self.decision,
            "date": self.date.isoformat() if self.date else None,
            "reason": self.reason,
            "counted": self.counted,
            "contact": self.contact.__dict__ if self.contact else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class RequestStatus:
    id: str
    type: str
    organization: str
    state: str  # pending | approved | denied | blocked | expired
    detail: str  # the state machine's own state (blocked-pending, blocked-approved...)
    issued: date
    answer_due: date
    follow_up_on: date
    escalate_on: date
    expires_on: date | None  # None: no lapse (the protocol sets none; protocol.yaml may opt in)
    today: date
    agencies: list[AgencyStatus]
    steps: list[Step]
    releases: list[Release] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def agency(self, code: str) -> AgencyStatus:
        return next(a for a in self.agencies if a.agency == code)

    def waiting_for(self) -> list[str]:
        return [a.agency for a in self.agencies if a.state not in ("approved", "denied")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "organization": self.organization,
            "state": self.state,
            "detail": self.detail,
            "today": self.today.isoformat(),
            "issued": self.issued.isoformat(),
            "answer_due": self.answer_due.isoformat(),
            "follow_up_on": self.follow_up_on.isoformat(),
            "escalate_on": self.escalate_on.isoformat(),
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "waiting_for": self.waiting_for(),
            "agencies": [a.as_dict() for a in self.agencies],
            "history": [s.as_dict() for s in self.steps],
            "releases": [r.model_dump(mode="json") for r in self.releases],
            "notes": self.notes,
        }


@functools.lru_cache(maxsize=8)
def working_calendar(isp: Isp) -> workdays.WorkingCalendar:
    """One calendar per loaded protocol: its holiday table is built once, not per request."""
    return workdays.WorkingCalendar(isp)


Interval = tuple[date, date | None]  # a breach open from day one until (excluding) the second, None = still open


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals, key=lambda i: i[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            prev_start, prev_end = merged[-1]
            merged[-1] = (prev_start, None if end is None or prev_end is None else max(prev_end, end))
        else:
            merged.append((start, end))
    return merged


def first_lapse(isp: Isp, start: date, end: date) -> date | None:
    """The first day in ``start..end`` on which the protocol is not in force, if any."""
    day, periods = start, isp.protocol.validity.periods
    while day <= end:
        covering = [p.end for p in periods if p.start <= day <= p.end]
        if not covering:
            return day
        day = max(covering) + timedelta(days=1)
    return None


def expiry_date(isp: Isp, issued: date) -> date | None:
    """The last day to answer when protocol.yaml opts in to a lapse; None (the default) otherwise."""
    days = isp.protocol.deadlines.requests.expiry_working_days
    return None if days is None else working_calendar(isp).add_working_days(issued, days)


def _request_events(
    isp: Isp, request: Request, counted: Mapping[str, Decision], breaches: Iterable[Interval], today: date
) -> list[tuple[date, Event, str | None]]:
    required = isp.data_gathering()
    denials = [(d.date, Event.DENIAL, a) for a, d in counted.items() if d.decision == "deny"]
    approvals = sorted((d.date, a) for a, d in counted.items() if d.decision == "approve")
    unanimous = len(approvals) == len(required)
    events: list[tuple[date, Event, str | None]] = [*denials]
    for i, (day, agency) in enumerate(approvals):
        events.append((day, Event.LAST_APPROVAL if unanimous and i == len(approvals) - 1 else Event.APPROVAL, agency))
    for start, end in merge_intervals(breaches):
        if (end is not None and end <= request.issued) or start > today:
            continue
        events.append((max(start, request.issued), Event.BREACH_OPENED, None))
        if end is not None and end <= today:
            events.append((end, Event.BREACHES_RESOLVED, None))
    expires_on = expiry_date(isp, request.issued)
    if expires_on is not None and expires_on < today:
        events.append((expires_on, Event.EXPIRY, None))
    lapse = first_lapse(isp, request.issued, today)
    if lapse is not None:
        events.append((lapse, Event.PROTOCOL_LAPSED, None))
    return events


def _contact(isp: Isp, agency: str, state: AgencyState) -> Contact | None:
    role = {
        AgencyState.AWAITING: "primary",
        AgencyState.FOLLOW_UP_DUE: "secondary",
        AgencyState.ESCALATION_DUE: "signatory",
    }.get(state)
    if role is None:
        return None
    person = getattr(isp.agencies[agency].focal_points, role)
    return Contact(role, person.name, person.email)


def _closed_on(steps: list[Step]) -> date | None:
    """The day the request was denied or lapsed, if it was: from then on nobody is chased for an
    answer, so the follow-up and escalation clocks of agencies still silent stop there."""
    return next((s.day for s in steps if s.state in (State.DENIED, State.EXPIRED)), None)


def timeline(
    isp: Isp,
    request: Request,
    counted: Mapping[str, Decision],
    breaches: Iterable[Interval],
    today: date,
    notes: Mapping[str, str] | None = None,
) -> RequestStatus:
    """The request's status on ``today`` from the decisions that count (signed, dated between
    issue and today, by a required agency), the breach register and the protocol's validity."""
    cal = working_calendar(isp)
    clocks = isp.protocol.deadlines.requests
    required = isp.data_gathering()
    valid = {a: d for a, d in counted.items() if a in required and request.issued <= d.date <= today}
    state, steps = run_request(_request_events(isp, request, valid, breaches, today))
    follow_up_on = cal.add_working_days(request.issued, clocks.follow_up_working_days)
    escalate_on = cal.add_working_days(request.issued, clocks.escalation_working_days)
    closed_on = _closed_on(steps)
    agencies = []
    for agency in required:
        decision = valid.get(agency)
        events = [
            (day, ev)
            for day, ev in ((follow_up_on, AgencyEvent.FOLLOW_UP_CLOCK), (escalate_on, AgencyEvent.ESCALATION_CLOCK))
            if day <= today and (closed_on is None or day < closed_on)
        ]
        if decision:
            events.append((decision.date, AgencyEvent.APPROVE if decision.decision == "approve" else AgencyEvent.DENY))
        agency_state, agency_steps = run_agency(events)
        recorded = decision or request.decisions.get(agency)
        agencies.append(
            AgencyStatus(
                agency=agency,
                state=agency_state.value,
                decision=recorded.decision if recorded else None,
                date=recorded.date if recorded else None,
                reason=recorded.reason if recorded else None,
                counted=decision is not None,
                contact=None if closed_on else _contact(isp, agency, agency_state),
                note=(notes or {}).get(agency, ""),
                steps=agency_steps,
            )
        )
    return RequestStatus(
        id=request.id,
        type=request.type,
        organization=request.requester.organization,
        state=State(state).overall,
        detail=state.value,
        issued=request.issued,
        answer_due=cal.add_working_days(request.issued, clocks.answer_working_days),
        follow_up_on=follow_up_on,
        escalate_on=escalate_on,
        expires_on=expiry_date(isp, request.issued),
        today=today,
        agencies=agencies,
        steps=steps,
        releases=list(request.releases),
    )
