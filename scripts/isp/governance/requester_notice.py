"""What the coordinators tell a requester: where the request stands and, at their discretion, the
reasons of a denial in a form that identifies no agency.

The protocol lets the coordinators share a denial's explanation with the requesting party without
saying who denied. :func:`anonymised_reasons` takes every agency's code, label, name and focal
points out of the reasons and lists them in alphabetical order (never in the order the agencies
answered); :func:`notice` writes the whole message. Nothing here reads a figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from isp.governance.request_status import RequestStatus
from isp.protocol import attribution
from isp.protocol.models import Isp

AN_AGENCY = "[a participating agency]"

STATE_TEXT = {
    "approved": "Every data-gathering agency has authorised the release. The coordinators will send the data.",
    "denied": "Not every data-gathering agency authorised the release, so the data will not be shared.",
    "pending": "The agencies are still considering the request.",
    "blocked": "The release is on hold while a matter between the agencies is resolved.",
    "expired": "The request has lapsed; the coordinators can issue a new one.",
}


def identities(isp: Isp) -> list[str]:
    """Every string that names an agency: codes, labels, names, focal points' names and e-mails
    (longest first, so that a name is removed before a code inside it)."""
    found = set()
    for code, agency in isp.agencies.items():
        found |= {code, agency.label, agency.name, *agency.label.split("/"), *agency.name.split(" / ")}
        for _, person in agency.people():
            found |= {person.name, person.email}
    return sorted((s.strip() for s in found if len(s.strip()) >= 2), key=len, reverse=True)


def scrub(isp: Isp, text: str) -> str:
    for name in identities(isp):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", AN_AGENCY, text, flags=re.IGNORECASE)
    return " ".join(text.split())


def anonymised_reasons(isp: Isp, status: RequestStatus) -> list[str]:
    reasons = (a.reason for a in status.agencies if a.counted and a.decision == "deny" and a.reason)
    return sorted({scrub(isp, reason) for reason in reasons})


def notice(isp: Isp, status: RequestStatus, with_reasons: bool = True) -> str:
    """The message for the requester; it names the request and the coordinators' contacts only."""
    lines = [f"Request {status.id} from {status.organization}: {status.state}.", STATE_TEXT[status.state]]
    if status.state == "denied":
        lines += _reasons_block(anonymised_reasons(isp, status) if with_reasons else None)
    if status.state == "approved":
        lines.append(attribution.RECIPIENT_UNDERTAKING.replace(attribution.CONTACTS, attribution.contacts(isp)))
    lines.append(f"Questions: the CPIMS focal points of the coordinating agencies ({attribution.contacts(isp)}).")
    return "\n".join(lines) + "\n"


def _reasons_block(reasons: Iterable[str] | None) -> list[str]:
    if reasons is None:
        return ["The coordinators may share the reasons given, without naming any agency."]
    listed = list(reasons)
    if not listed:
        return []
    return ["Reasons given (no agency is named):", *(f"- {reason}" for reason in listed)]
