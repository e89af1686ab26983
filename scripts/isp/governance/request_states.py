"""The request state machine, as two tables a reviewer can check against the protocol line by line.

A request's life is a fold of dated events through :data:`REQUEST_TABLE`, starting from
``pending`` on the day it was issued; each agency's answer is a fold through :data:`AGENCY_TABLE`,
starting from ``awaiting``. Both tables are complete: every (state, event) pair has a row, so there
is no implicit behaviour. ``isp.governance.request_files`` turns a request file, the breach register and the
protocol's validity into events; this module only says what each event does.

Expiry: every request (approved or not) lapses when the protocol stops being in force. The signed
protocol sets no other lapse; protocol.yaml may opt in to one (``expiry_working_days``, off by
default): a request not decided by every required agency within that many working days of being
issued then lapses too. A lapsed request is never revived: the coordinators issue a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

# Follow-up at 5 and escalation at 10 working days come from protocol.yaml. A lapse after a number
# of working days is not in the signed protocol: protocol.yaml may opt in (the tests use this value).
EXPIRY_WORKING_DAYS = 20


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    BLOCKED_PENDING = "blocked-pending"  # a breach is open; decisions still missing
    BLOCKED_APPROVED = "blocked-approved"  # a breach is open; every agency had approved

    @property
    def overall(self) -> str:
        """The state shown to people: pending | approved | denied | blocked | expired."""
        return "blocked" if self.value.startswith("blocked") else self.value


class Event(IntEnum):
    """Request events. The value orders events that fall on the same day: answers first, then
    breaches, then the clocks (an answer given on the last day still counts)."""

    APPROVAL = 1  # a required agency approves; others have still not answered
    LAST_APPROVAL = 2  # the last required agency approves: every one has now said yes
    DENIAL = 3  # a required agency refuses, with its reason
    BREACH_OPENED = 4  # the first open breach in the register
    BREACHES_RESOLVED = 5  # the last open breach is resolved with every signatory's agreement
    EXPIRY = 6  # expiry_working_days after issue, when protocol.yaml opts in
    PROTOCOL_LAPSED = 7  # the protocol is no longer in force

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True)
class Rule:
    """Where an event leads, and the protocol rule that says so."""

    to: State
    why: str


S, E = State, Event
_SILENCE = "An approval counts, but silence from the others is never consent: still pending."
_UNANIMOUS = "Every required data-gathering agency has approved in writing."
_ONE_NO = "One agency's refusal, with its reason, is enough to refuse the request."
_BREACH = "While a breach is open nothing is shared externally."
_RESOLVED = "Every signatory agreed the breach is resolved: sharing may resume."
_EXPIRY = "Not answered by every agency in time: the request lapses; the coordinators re-issue it."
_LAPSED = "The protocol is not in force: consents given under it no longer allow a release."
_FINAL_DENIED = "A refusal stands until the refusing agency itself changes its own decision."
_FINAL_EXPIRED = "A lapsed request stays lapsed: late answers or events do not revive it."
_NO_OP = "Cannot change this state (no breach is open, or the answer was already complete)."

REQUEST_TABLE: dict[tuple[State, Event], Rule] = {
    # pending: issued to the agencies, not every answer in
    (S.PENDING, E.APPROVAL): Rule(S.PENDING, _SILENCE),
    (S.PENDING, E.LAST_APPROVAL): Rule(S.APPROVED, _UNANIMOUS),
    (S.PENDING, E.DENIAL): Rule(S.DENIED, _ONE_NO),
    (S.PENDING, E.BREACH_OPENED): Rule(S.BLOCKED_PENDING, _BREACH),
    (S.PENDING, E.BREACHES_RESOLVED): Rule(S.PENDING, _NO_OP),
    (S.PENDING, E.EXPIRY): Rule(S.EXPIRED, _EXPIRY),
    (S.PENDING, E.PROTOCOL_LAPSED): Rule(S.EXPIRED, _LAPSED),
    # approved: every required agency said yes; a release may be made
    (S.APPROVED, E.APPROVAL): Rule(S.APPROVED, _NO_OP),
    (S.APPROVED, E.LAST_APPROVAL): Rule(S.APPROVED, _NO_OP),
    (S.APPROVED, E.DENIAL): Rule(S.DENIED, "An agency may withdraw its approval: " + _ONE_NO),
    (S.APPROVED, E.BREACH_OPENED): Rule(S.BLOCKED_APPROVED, _BREACH),
    (S.APPROVED, E.BREACHES_RESOLVED): Rule(S.APPROVED, _NO_OP),
    (S.APPROVED, E.EXPIRY): Rule(S.APPROVED, "Decided in time: the answer clock no longer matters."),
    (S.APPROVED, E.PROTOCOL_LAPSED): Rule(S.EXPIRED, _LAPSED),
    # denied: one agency refused
    (S.DENIED, E.APPROVAL): Rule(S.DENIED, _FINAL_DENIED),
    (S.DENIED, E.LAST_APPROVAL): Rule(S.DENIED, _FINAL_DENIED),
    (S.DENIED, E.DENIAL): Rule(S.DENIED, _ONE_NO),
    (S.DENIED, E.BREACH_OPENED): Rule(S.DENIED, _FINAL_DENIED),
    (S.DENIED, E.BREACHES_RESOLVED): Rule(S.DENIED, _FINAL_DENIED),
    (S.DENIED, E.EXPIRY): Rule(S.DENIED, _FINAL_DENIED),
    (S.DENIED, E.PROTOCOL_LAPSED): Rule(S.DENIED, _FINAL_DENIED),
    # expired: terminal
    (S.EXPIRED, E.APPROVAL): Rule(S.EXPIRED, _FINAL_EXPIRED),
    (S.EXPIRED, E.LAST_APPROVAL): Rule(S.EXPIRED, _FINAL_EXPIRED),
    (S.EXPIRED, E.DENIAL): Rule(S.EXPIRED, _FINAL_EXPIRED),
    (S.EXPIRED, E.BREACH_OPENED): Rule(S.EXPIRED, _FINAL_EXPIRED),
    (S.EXPIRED, E.BREACHES_RESOLVED): Rule(S.EXPIRED, _FINAL_EXPIRED),
    (S.EXPIRED, E.EXPIRY): Rule(S.EXPIRED, _FINAL_EXPIRED),
    (S.EXPIRED, E.PROTOCOL_LAPSED): Rule(S.EXPIRED, _FINAL_EXPIRED),
    # blocked while answers are still missing
    (S.BLOCKED_PENDING, E.APPROVAL): Rule(S.BLOCKED_PENDING, _SILENCE),
    (S.BLOCKED_PENDING, E.LAST_APPROVAL): Rule(S.BLOCKED_APPROVED, _UNANIMOUS + " " + _BREACH),
    (S.BLOCKED_PENDING, E.DENIAL): Rule(S.DENIED, _ONE_NO),
    (S.BLOCKED_PENDING, E.BREACH_OPENED): Rule(S.BLOCKED_PENDING, _BREACH),
    (S.BLOCKED_PENDING, E.BREACHES_RESOLVED): Rule(S.PENDING, _RESOLVED),
    (S.BLOCKED_PENDING, E.EXPIRY): Rule(S.EXPIRED, _EXPIRY),
    (S.BLOCKED_PENDING, E.PROTOCOL_LAPSED): Rule(S.EXPIRED, _LAPSED),
    # blocked after every agency approved
    (S.BLOCKED_APPROVED, E.APPROVAL): Rule(S.BLOCKED_APPROVED, _NO_OP),
    (S.BLOCKED_APPROVED, E.LAST_APPROVAL): Rule(S.BLOCKED_APPROVED, _NO_OP),
    (S.BLOCKED_APPROVED, E.DENIAL): Rule(S.DENIED, "An agency may withdraw its approval: " + _ONE_NO),
    (S.BLOCKED_APPROVED, E.BREACH_OPENED): Rule(S.BLOCKED_APPROVED, _BREACH),
    (S.BLOCKED_APPROVED, E.BREACHES_RESOLVED): Rule(S.APPROVED, _RESOLVED),
    (S.BLOCKED_APPROVED, E.EXPIRY): Rule(S.BLOCKED_APPROVED, "Decided in time: the answer clock no longer matters."),
    (S.BLOCKED_APPROVED, E.PROTOCOL_LAPSED): Rule(S.EXPIRED, _LAPSED),
}


class AgencyState(StrEnum):
    AWAITING = "awaiting"
    FOLLOW_UP_DUE = "follow-up-due"  # contact the agency's secondary focal point
    ESCALATION_DUE = "escalation-due"  # contact the agency's signatory
    APPROVED = "approved"
    DENIED = "denied"


class AgencyEvent(IntEnum):
    """One agency's events; same-day order as for :class:`Event` (the answer first)."""

    APPROVE = 1
    DENY = 2
    FOLLOW_UP_CLOCK = 3  # follow_up_working_days after issue (protocol.yaml)
    ESCALATION_CLOCK = 4  # escalation_working_days after issue (protocol.yaml)

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


A, AE = AgencyState, AgencyEvent
_ANSWERED = "Answered: the clocks no longer apply to this agency."
_FOLLOW_UP = "No answer within the answer time: follow up through the secondary focal point."
_ESCALATE = "Still no answer: escalate to the agency's signatory."

AGENCY_TABLE: dict[tuple[AgencyState, AgencyEvent], tuple[AgencyState, str]] = {
    (A.AWAITING, AE.APPROVE): (A.APPROVED, "The agency approves in a commit signed by its focal point."),
    (A.AWAITING, AE.DENY): (A.DENIED, "The agency refuses, with its reason, in a signed commit."),
    (A.AWAITING, AE.FOLLOW_UP_CLOCK): (A.FOLLOW_UP_DUE, _FOLLOW_UP),
    (A.AWAITING, AE.ESCALATION_CLOCK): (A.ESCALATION_DUE, _ESCALATE),
    (A.FOLLOW_UP_DUE, AE.APPROVE): (A.APPROVED, "Late, but a signed approval still counts."),
    (A.FOLLOW_UP_DUE, AE.DENY): (A.DENIED, "The agency refuses, with its reason, in a signed commit."),
    (A.FOLLOW_UP_DUE, AE.FOLLOW_UP_CLOCK): (A.FOLLOW_UP_DUE, _FOLLOW_UP),
    (A.FOLLOW_UP_DUE, AE.ESCALATION_CLOCK): (A.ESCALATION_DUE, _ESCALATE),
    (A.ESCALATION_DUE, AE.APPROVE): (A.APPROVED, "Late, but a signed approval still counts."),
    (A.ESCALATION_DUE, AE.DENY): (A.DENIED, "The agency refuses, with its reason, in a signed commit."),
    (A.ESCALATION_DUE, AE.FOLLOW_UP_CLOCK): (A.ESCALATION_DUE, _ESCALATE),
    (A.ESCALATION_DUE, AE.ESCALATION_CLOCK): (A.ESCALATION_DUE, _ESCALATE),
    (A.APPROVED, AE.APPROVE): (A.APPROVED, _ANSWERED),
    (A.APPROVED, AE.DENY): (A.DENIED, "The agency withdrew its approval."),
    (A.APPROVED, AE.FOLLOW_UP_CLOCK): (A.APPROVED, _ANSWERED),
    (A.APPROVED, AE.ESCALATION_CLOCK): (A.APPROVED, _ANSWERED),
    (A.DENIED, AE.APPROVE): (A.APPROVED, "The agency changed its own decision."),
    (A.DENIED, AE.DENY): (A.DENIED, _ANSWERED),
    (A.DENIED, AE.FOLLOW_UP_CLOCK): (A.DENIED, _ANSWERED),
    (A.DENIED, AE.ESCALATION_CLOCK): (A.DENIED, _ANSWERED),
}


@dataclass(frozen=True)
class Step:
    """One event applied: when, what, for which agency (if any), and the state it led to."""

    day: date
    event: str
    agency: str | None
    state: str
    why: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "date": self.day.isoformat(),
            "event": self.event,
            "agency": self.agency,
            "state": self.state,
            "why": self.why,
        }


def run_request(events: Iterable[tuple[date, Event, str | None]]) -> tuple[State, list[Step]]:
    """Fold ``(day, event, agency)`` through :data:`REQUEST_TABLE`, from ``pending``."""
    state, steps = State.PENDING, []
    for day, event, agency in sorted(events, key=lambda e: (e[0], e[1], e[2] or "")):
        rule = REQUEST_TABLE[(state, event)]
        state = rule.to
        steps.append(Step(day, event.label, agency, state.value, rule.why))
    return state, steps


def run_agency(events: Iterable[tuple[date, AgencyEvent]]) -> tuple[AgencyState, list[Step]]:
    """Fold one agency's ``(day, event)`` through :data:`AGENCY_TABLE`, from ``awaiting``."""
    state, steps = AgencyState.AWAITING, []
    for day, event in sorted(events):
        state, why = AGENCY_TABLE[(state, event)]
        steps.append(Step(day, event.label, None, state.value, why))
    return state, steps
