"""The request file format (``requests/<ID>.yaml``, contract E, DESIGN section 5) as pydantic models.

Shared by the rules of a request (:mod:`isp.governance.request_rules`), its status
(:mod:`isp.governance.request_status`) and the files themselves (:mod:`isp.governance.request_files`);
:func:`coordinators_at` names who may edit a record that is not an agency's own entry.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from isp.history.attribution import yaml_at
from isp.yamlfiles import RecordModel

REQUESTS_DIR = "requests"
RequestType = Literal["external", "media", "government", "onward"]
REQUEST_TYPES: tuple[str, ...] = ("external", "media", "government", "onward")
Language = Literal["en", "ar"]
EMAIL = re.compile(r"[^@\s<>(),;:]+@[^@\s<>(),;:]+\.[^@\s<>(),;:]+")


class _Model(RecordModel, BaseModel):  # BaseModel named for linters: pydantic defaults are per instance
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requester(_Model):
    organization: str = ""
    name: str = ""
    position: str = ""
    contact: str = ""


class DataAsked(_Model):
    report: str = ""
    periods: list[str] = []
    indicators: list[str] | str = []
    geography: list[str] | str = []


class Decision(_Model):
    decision: Literal["approve", "deny"]
    date: date
    reason: str | None = None
    profile: str | None = None  # an approval's condition: at least this disclosure profile (protocol.yaml)


class Release(_Model):
    id: str
    date: date
    recipient: str
    files: dict[str, str] = {}  # file name -> sha256
    profile: str | None = None  # the disclosure profile applied (protocol.yaml)
    suppressed_cells: int | None = None  # how many published cells disclosure control withheld
    source_commit: str | None = None  # the commit whose aggregates it was made from (its rounding is rebuilt from them)


class Request(_Model):
    id: str
    type: RequestType
    received: date
    issued: date
    requester: Requester = Requester()
    purpose: str = ""
    use: str = ""
    feedback: str = ""
    guarantee: str = ""
    data: DataAsked = DataAsked()
    recipient: str | None = None  # government requests: a code from protocol.yaml
    original_request: str | None = None  # onward requests
    decisions: dict[str, Decision] = {}
    releases: list[Release] = []
    # the coordinators' choice: send the requester the (non-identifiable) reasons of a denial
    share_denial_reasons: bool | None = None
    # the languages of the release's notes (method, attribution, undertaking); English always
    languages: list[Language] = ["en"]

    @property
    def bilingual(self) -> bool:
        return "ar" in self.languages

    @property
    def path(self) -> str:
        return path_of(self.id)


def organisation_key(name: str) -> str:
    """An organisation's name as compared: Unicode-normalised (NFKC), case-folded, punctuation
    dropped, whitespace collapsed (``"Amman Institute, for Social-Research"`` and ``"amman
    institute for social research"`` are one)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(ch if ch.isalnum() else " " for ch in folded)
    return " ".join(kept.split())


def emails(contact: str) -> set[str]:
    """Every e-mail address in a requester's contact field, case-folded."""
    return {m.casefold().strip(".") for m in EMAIL.findall(unicodedata.normalize("NFKC", contact))}


def same_recipient(a: Request, b: Request) -> bool:
    """Whether the figures released under ``a`` and ``b`` go to one recipient, who could combine
    them: the same organisation (:func:`organisation_key`, non-empty), or an e-mail address in
    common in ``requester.contact``, or (government requests) the same recipient code. One
    match is enough: a person who moves between organisations keeps what they received, and
    an organisation keeps what any of its staff received."""
    org_a, org_b = organisation_key(a.requester.organization), organisation_key(b.requester.organization)
    if org_a and org_a == org_b:
        return True
    if emails(a.requester.contact) & emails(b.requester.contact):
        return True
    return bool(a.recipient) and a.recipient == b.recipient


def path_of(request_id: str) -> str:
    return f"{REQUESTS_DIR}/{request_id}.yaml"


def coordinators_at(root: Path, rev: str) -> list[str]:
    """The coordinating agencies in agencies.yaml as committed at ``rev`` (a pull request's base)."""
    agencies = yaml_at(root, rev, "protocol/agencies.yaml").get("agencies") or {}
    return [code for code, a in agencies.items() if isinstance(a, dict) and "coordinator" in (a.get("roles") or [])]
