"""The requests board, breaches and suspensions (contract E) as plain records for the templates.

A register that cannot be read logs a warning, which fails a ``--strict`` build, rather than
silently showing an empty board.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from isp.errors import IspError
from isp.governance import breaches as breach_register
from isp.governance import request_files
from isp.governance.request_status import RequestStatus
from isp.protocol import models as protocol

log = logging.getLogger("mkdocs.isp.site")


@dataclass(frozen=True)
class RequestRow:
    id: str
    type: str
    organization: str
    state: str
    issued: date
    answer_due: date
    awaiting: list[str]
    denied: list[str]  # "IRC: reason"
    contacts: list[str]  # whom to chase now, when a follow-up or escalation is due


@dataclass(frozen=True)
class BreachRow:
    id: str
    reported: date
    open: bool
    closed_on: date | None
    awaiting: list[str]
    clocks: list[str]  # "meeting due 2026-03-09 (overdue)"


@dataclass(frozen=True)
class SuspensionRow:
    agency: str
    start: str
    end: str | None
    reason: str
    active: bool


def _request_row(st: RequestStatus) -> RequestRow:
    denied = [f"{a.agency}: {a.reason or ''}".rstrip(": ") for a in st.agencies if a.state == "denied"]
    contacts = [
        f"{a.agency}: {a.contact.name} <{a.contact.email}> ({a.contact.role})"
        for a in st.agencies
        if a.state in ("follow-up-due", "escalation-due") and a.contact
    ]
    return RequestRow(
        st.id, st.type, st.organization, st.state, st.issued, st.answer_due, st.waiting_for(), denied, contacts
    )


def requests_board(root: Path, today: date) -> list[RequestRow]:
    try:
        return [_request_row(st) for st in request_files.all_statuses(root, today)]
    except IspError as exc:
        log.warning("the requests board could not be read: %s", exc)
        return []


def breaches(root: Path, isp: protocol.Isp, today: date) -> list[BreachRow]:
    try:
        statuses = breach_register.breach_statuses(root, today, isp)
    except IspError as exc:
        log.warning("the breach register could not be read: %s", exc)
        return []
    return [
        BreachRow(
            b.id,
            b.reported,
            b.open,
            b.closed_on,
            list(b.awaiting) if b.open else [],
            [f"{c.name} {c.due:%Y-%m-%d} ({c.state})" for c in b.clocks],
        )
        for b in statuses
    ]


def suspensions(isp: protocol.Isp, month: str) -> list[SuspensionRow]:
    """Every suspension recorded in agencies.yaml; ``active`` when it covers ``month``."""
    return [
        SuspensionRow(code, s.start, s.end, s.reason, s.covers(month))
        for code, agency in isp.agencies.items()
        for s in agency.suspensions
    ]
