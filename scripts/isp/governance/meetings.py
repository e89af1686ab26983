"""The protocol's meetings and their minutes: ``protocol/meetings/<ID>.yaml``.

Three meetings are in the protocol's calendar (:mod:`isp.protocol.workdays`): the Task Force's
monthly meeting on each consolidated report, the signatories' twice-yearly meeting on the
sectoral report (whose findings go to the working groups), and, after a breach, a meeting of the
CPIMS focal points of every agency within a week. Each can hold a short minutes record::

    id: TF-2026-05              # TF-<month>, SIG-<due month of the sectoral report>, BRM-<breach id>
    kind: task-force            # task-force | signatories | breach
    subject: 2026-05            # the month, the sectoral report's due month, or the breach id
    date: 2026-06-16
    attended: [focal.irc@example.org, second.imc@example.org]   # focal points of agencies.yaml
    decisions:
      - Trends in new cases discussed; analysis to be updated by the coordinators.

Minutes hold no figures: digits are refused except in dates (2026-06-16) and months (2026-05).
A meeting counts as held once its minutes are in the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from isp import errors, yamlfiles
from isp.errors import Problem, ValidationFailed
from isp.governance import breaches
from isp.history import attribution
from isp.protocol.models import Isp
from isp.protocol.workdays import Deadline
from isp.yamlfiles import RecordModel

MEETINGS_DIR = "protocol/meetings"
PREFIX = {"task-force": "TF", "signatories": "SIG", "breach": "BRM"}
TITLES = {
    "task-force": "Task Force meeting",
    "signatories": "Signatories' meeting",
    "breach": "Breach meeting of every agency's focal points",
}
DATES = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b")
DIGIT = re.compile(r"\d")


class Minutes(RecordModel, BaseModel):  # BaseModel named for linters: pydantic defaults are per instance
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z]{2,3}-[A-Za-z0-9-]{4,40}$")
    kind: Literal["task-force", "signatories", "breach"]
    subject: str = Field(min_length=4)
    date: date
    attended: list[str] = Field(min_length=1)
    decisions: list[str] = []

    @property
    def path(self) -> str:
        return f"{MEETINGS_DIR}/{self.id}.yaml"


def minutes_id(kind: str, subject: str) -> str:
    return f"{PREFIX[kind]}-{subject}"


def _parse(data: bytes, rel: str) -> Minutes:
    return yamlfiles.parse_model(Minutes, data, rel, what="valid minutes")


def attendance(isp: Isp, minutes: Minutes) -> dict[str, list[str]]:
    """Agency code -> the e-mails of its focal points who attended."""
    present: dict[str, list[str]] = {}
    for email in minutes.attended:
        agency = isp.agency_of_email(email)
        if agency:
            present.setdefault(agency, []).append(email)
    return present


def problems(isp: Isp, minutes: Minutes, rel: str) -> list[Problem]:
    """The rules on one minutes record."""
    found = []
    if Path(rel).stem != minutes.id or minutes.id != minutes_id(minutes.kind, minutes.subject):
        found.append(
            Problem.of(
                errors.ID,
                rel,
                id=minutes.id,
                fix=f"set id to {minutes_id(minutes.kind, minutes.subject)} and name the file after it",
            )
        )
    for email in minutes.attended:
        if isp.agency_of_email(email) is None:
            found.append(Problem.of(errors.ATTENDED, rel, column="attended", email=email))
    for text in minutes.decisions:
        if DIGIT.search(DATES.sub("", text)):
            found.append(
                Problem.of(
                    errors.MINUTES_FIGURES,
                    rel,
                    column="decisions",
                    fix="say what was decided in words; the figures stay in the encrypted reports",
                )
            )
    missing = [a for a in isp.agencies if a not in attendance(isp, minutes)]
    if minutes.kind == "breach" and missing:
        found.append(
            Problem.of(
                errors.BREACH_MEETING_ATTENDANCE, rel, column="attended", severity="warning", join=", ".join(missing)
            )
        )
    return found


def all_minutes(root: Path, isp: Isp, rev: str | None = None) -> list[Minutes]:
    """Every minutes record (the working tree's, or as committed at ``rev``), checked;
    :class:`ValidationFailed` lists every problem at once."""
    records, found = [], []
    for rel, data in attribution.records(root, MEETINGS_DIR, rev):
        try:
            record = _parse(data, rel)
        except ValidationFailed as exc:
            found += exc.problems
            continue
        found += problems(isp, record, rel)
        records.append(record)
    if [p for p in found if p.severity == "error"]:
        raise ValidationFailed(found, f"{len(found)} problem(s) in {MEETINGS_DIR}/")
    return records


def held(records: list[Minutes]) -> dict[tuple[str, str], Minutes]:
    """(kind, subject) -> the minutes of a meeting that was held."""
    return {(m.kind, m.subject): m for m in records}


@dataclass(frozen=True)
class MinutesRow:
    """One line of the site's meetings register."""

    id: str
    kind: str  # task-force, signatories or breach: the site words it in the page's language
    title: str
    subject: str
    date: date
    agencies: str
    decisions: tuple[str, ...]


def register(root: Path, isp: Isp) -> list[MinutesRow]:
    return [
        MinutesRow(
            m.id, m.kind, TITLES[m.kind], m.subject, m.date, ", ".join(sorted(attendance(isp, m))), tuple(m.decisions)
        )
        for m in sorted(all_minutes(root, isp), key=lambda m: m.date, reverse=True)
    ]


def breach_meetings(root: Path, isp: Isp, today: date) -> list[Deadline]:
    """For every open breach whose meeting has not been held: the meeting of every agency's focal
    points, within the protocol's days of the report (for `isp deadlines` and the calendar)."""
    days = isp.protocol.deadlines.breach.meeting_days
    return [
        Deadline(
            "breach-meeting",
            b.id,
            b.reported + timedelta(days=days),
            "the CPIMS focal points of every agency meet on the breach",
        )
        for b in breaches.breach_statuses(root, today, isp)
        if b.open and not next((c.done for c in b.clocks if c.name == "meeting"), None)
    ]
