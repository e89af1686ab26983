"""Helpers for the requests and governance tests: complete requests, signed decisions, a pure Isp.

Everything runs against real git repositories with real SSH-signed commits (``IspRepo.commit``).
"""

from __future__ import annotations

import copy
from datetime import date
from functools import cache
from typing import Any

from isp.governance import breaches, request_files, request_models
from isp.protocol import loading
from isp.protocol.models import Isp
from tests.helpers import REPO_ROOT, IspRepo

ISSUED = date(2026, 3, 2)  # a Monday
REQUIRED = ("IRC", "IMC", "JRF", "NHF", "UNHCR", "UNICEF")


@cache
def shipped_isp() -> Isp:
    """The protocol as shipped (no git needed): for the pure state-machine tests."""
    return loading.load(REPO_ROOT)


@cache
def with_expiry(days: int) -> Isp:
    """The shipped protocol with the opt-in request lapse set to ``days`` working days."""
    isp = copy.copy(shipped_isp())
    deadlines = isp.protocol.deadlines
    requests = deadlines.requests.model_copy(update={"expiry_working_days": days})
    isp.protocol = isp.protocol.model_copy(update={"deadlines": deadlines.model_copy(update={"requests": requests})})
    return isp


def email_of(signer: str | None) -> str | None:
    """The focal point's e-mail for "IRC:primary" (without reloading the protocol at each commit)."""
    if not signer or ":" not in signer:
        return None
    agency, role = signer.split(":")
    return str(getattr(shipped_isp().agencies[agency].focal_points, role).email)


def commit(repo: IspRepo, message: str, paths: list[str] | None = None, signer: str | None = None) -> str:
    return repo.commit(message, paths=paths, signer=signer, email=email_of(signer))


def fields(**overrides: Any) -> dict[str, Any]:
    """A complete external request; ``overrides`` replace top-level fields."""
    base: dict[str, Any] = {
        "id": "REQ-2026-001",
        "type": "external",
        "received": date(2026, 2, 26),
        "issued": ISSUED,
        "requester": {
            "organization": "A regional research institute",
            "name": "Rami Example",
            "position": "Senior researcher",
            "contact": "rami@example.org",
        },
        "purpose": "Plan case-management capacity for the coming year.",
        "use": "An internal planning note; not published.",
        "feedback": "The note is shared back with the group before use.",
        "guarantee": "A signed undertaking not to identify any child or agency, on file with the coordinators.",
        "data": {"report": "quarterly", "periods": ["2025-Q4"], "indicators": ["caseload"], "geography": "national"},
    }
    return base | overrides


def new(repo: IspRepo, signer: str | None = "UNHCR:primary", **overrides: Any) -> request_models.Request:
    """Write a complete request and commit it (signed by a coordinator by default)."""
    request = request_files.new_request(repo.root, fields(**overrides))
    commit(repo, f"Request {request.id}", [request.path], signer)
    return request


def decide(
    repo: IspRepo,
    request_id: str,
    agency: str,
    approve: bool = True,
    day: date = date(2026, 3, 3),
    reason: str | None = None,
    signer: str | None = "own",
) -> str:
    """Record ``agency``'s decision and commit it; ``signer`` "own" = that agency's primary focal point."""
    request_files.decide(repo.root, request_id, agency, approve, reason, day)
    who = f"{agency}:primary" if signer == "own" else signer
    return commit(repo, f"{request_id}: {agency} decides", [request_models.path_of(request_id)], who)


def approve_all(repo: IspRepo, request_id: str, day: date = date(2026, 3, 3), but: tuple[str, ...] = ()) -> None:
    for agency in REQUIRED:
        if agency not in but:
            decide(repo, request_id, agency, True, day)


def rules(problems: list[Any], severity: str = "error") -> set[str]:
    return {p.rule for p in problems if p.severity == severity}


def open_and_resolve_breach(repo: IspRepo, reported: date, agreed: date, but: tuple[str, ...] = ()) -> str:
    """A breach opened by a coordinator and agreed resolved by every agency (but ``but``), signed."""
    breach = breaches.open_breach(repo.root, reported, "A table was forwarded outside the group.")
    commit(repo, f"Breach {breach.id}", [breach.path], "IMC:primary")
    for agency in REQUIRED:
        if agency not in but:
            breaches.agree_resolution(repo.root, breach.id, agency, agreed)
            commit(repo, f"{breach.id}: {agency} agrees", [breach.path], f"{agency}:signatory")
    return breach.id
