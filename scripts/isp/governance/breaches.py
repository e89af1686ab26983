"""Breaches of the protocol: ``protocol/breaches/<ID>.yaml``, their clocks, and when one is closed.

A breach is recorded by the coordinators (reported, description without figures, meeting,
escalated, resolved) and closed only when every signatory (every agency of agencies.yaml) has
agreed it is resolved, each agreement in ``agreements`` {AGENCY: date} committed in a commit
signed by a focal point of that agency (:func:`isp.history.attribution.signed_entries`, as for request
decisions). Until then it is open, and while any breach is open nothing is released
(:func:`isp.governance.membership.release_blockers`). A breach file written but not yet committed already
counts as open: blocking errs on the safe side. Clocks come from protocol.yaml: meeting within a
week, senior management within two, resolution within a month.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from isp import errors, yamlfiles
from isp.errors import IspError, Problem, UsageError, ValidationFailed
from isp.fsutil import write_text_atomic
from isp.governance.request_models import coordinators_at
from isp.governance.request_status import Interval
from isp.history import attribution, git, provenance
from isp.protocol import loading, workdays
from isp.protocol.models import Isp
from isp.protocol.periods import add_months, parse_month
from isp.yamlfiles import RecordModel

BREACHES_DIR = "protocol/breaches"
BREACH_ID = re.compile(r"^BR-(\d{4})-(\d{3,})$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
DIGITS = re.compile(r"\d")
WIDTH = 100  # how breach records are laid out when the tool writes them


class _Model(RecordModel, BaseModel):  # BaseModel named for linters: pydantic defaults are per instance
    model_config = ConfigDict(extra="forbid", frozen=True)


class Breach(_Model):
    id: str
    reported: date
    description: str
    agency: str | None = None  # the agency concerned, when one is
    meeting: date | None = None
    escalated: date | None = None  # to senior management
    resolved: date | None = None
    agreements: dict[str, date] = {}

    @property
    def path(self) -> str:
        return f"{BREACHES_DIR}/{self.id}.yaml"


def _parse_breach(data: bytes | str, rel: str) -> Breach:
    return yamlfiles.parse_model(Breach, data, rel, what="a valid breach record")


def breach_ids(root: Path) -> list[str]:
    folder = root / BREACHES_DIR
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_breach(root: Path, breach_id: str) -> Breach:
    rel = f"{BREACHES_DIR}/{breach_id}.yaml"
    if not ID_PATTERN.match(breach_id) or not (root / rel).is_file():
        raise IspError(f"{rel}: no such breach (list them with `isp breach list`)")
    return _parse_breach((root / rel).read_bytes(), rel)


def all_breaches(root: Path) -> list[Breach]:
    return [load_breach(root, b) for b in breach_ids(root)]


def _no_figures(text: str) -> str:
    if not text.strip():
        raise UsageError("describe the breach (what happened, in words)")
    if DIGITS.search(text):
        raise IspError(
            "the description must not contain figures (no digits at all): describe what happened in "
            "words; the records that leaked are named in the meeting, not in git"
        )
    return text.strip()


def next_breach_id(root: Path, day: date) -> str:
    numbers = [int(m.group(2)) for b in breach_ids(root) if (m := BREACH_ID.match(b)) and m.group(1) == str(day.year)]
    return f"BR-{day.year}-{max(numbers, default=0) + 1:03d}"


def open_breach(
    root: Path, reported: date, description: str, agency: str | None = None, breach_id: str | None = None
) -> Breach:
    """Record a new breach. From now on no release can be made until it is resolved."""
    isp = loading.load(root)
    if agency:
        isp.agency(agency)
    breach = Breach(
        id=breach_id or next_breach_id(root, reported),
        reported=reported,
        description=_no_figures(description),
        agency=agency,
    )
    if not ID_PATTERN.match(breach.id):
        raise UsageError(f"'{breach.id}' is not a usable breach id: letters, digits, '.', '_' or '-'")
    if (root / breach.path).exists():
        raise IspError(f"{breach.path} already exists: choose another --id")
    header = "# A breach of the protocol (isp breach open). No release while it is open.\n"
    write_text_atomic(
        root / breach.path, header + yamlfiles.dump(breach.model_dump(mode="python", exclude_none=True), width=WIDTH)
    )
    return breach


def update_breach(
    root: Path,
    breach_id: str,
    meeting: date | None = None,
    escalated: date | None = None,
    description: str | None = None,
) -> Breach:
    """Record the meeting, the escalation to senior management, or a better description."""
    breach = load_breach(root, breach_id)
    if meeting is None and escalated is None and description is None:
        raise UsageError("nothing to update: give --meeting, --escalated or --description")
    with yamlfiles.edit(root / breach.path, width=WIDTH) as doc:
        for name, value in (("meeting", meeting), ("escalated", escalated)):
            if value is not None:
                if value < breach.reported:
                    raise IspError(
                        f"{breach.path}: {name} {value} is before the breach was reported ({breach.reported})"
                    )
                doc[name] = value
        if description is not None:
            doc["description"] = _no_figures(description)
    return load_breach(root, breach_id)


def agree_resolution(root: Path, breach_id: str, agency: str, day: date) -> Breach:
    """Record ``agency``'s agreement that the breach is resolved. It counts once committed and
    signed by one of the agency's focal points. The breach closes on the day the last counted
    agreement is dated; that is computed, never written here, because the rest of the record
    belongs to the coordinators and an agency's commit may change only its own entry."""
    isp = loading.load(root)
    isp.agency(agency)
    breach = load_breach(root, breach_id)
    if day < breach.reported:
        raise IspError(f"{breach.path}: an agreement cannot be dated {day}, before the breach was reported")
    with yamlfiles.edit(root / breach.path, width=WIDTH) as doc:
        if doc.get("agreements") is None:
            doc["agreements"] = {}
        doc["agreements"][agency] = day
    return load_breach(root, breach_id)


@dataclass(frozen=True)
class Clock:
    name: str  # meeting | senior-management | resolution
    due: date
    done: date | None
    state: str  # done | due | overdue | late (done after its due date)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "due": self.due.isoformat(),
            "done": self.done.isoformat() if self.done else None,
            "state": self.state,
        }


@dataclass(frozen=True)
class BreachStatus:
    id: str
    reported: date
    description: str
    open: bool
    closed_on: date | None  # the day every signatory's counted agreement was in
    clocks: list[Clock]
    agreed: list[str]  # agencies whose agreement counts
    awaiting: list[str]  # agencies whose agreement is missing or does not count
    notes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reported": self.reported.isoformat(),
            "description": self.description,
            "open": self.open,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "clocks": [c.as_dict() for c in self.clocks],
            "agreed": self.agreed,
            "awaiting": self.awaiting,
            "notes": self.notes,
        }


def _clock_date(reported: date, months: int) -> date:
    year, month = parse_month(add_months(f"{reported:%Y-%m}", months))
    for day in (reported.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def breach_clocks(isp: Isp, breach: Breach, closed_on: date | None, today: date) -> list[Clock]:
    """Meeting within a week, senior management within two, resolution within a month."""
    clocks = isp.protocol.deadlines.breach
    plan = (
        ("meeting", breach.reported + timedelta(days=clocks.meeting_days), breach.meeting),
        ("senior-management", breach.reported + timedelta(days=clocks.senior_management_days), breach.escalated),
        ("resolution", _clock_date(breach.reported, clocks.resolution_months), closed_on),
    )
    result = []
    for name, due, done in plan:
        if name == "senior-management" and done is None and closed_on is not None:
            state = "done"  # resolved before it had to go to senior management
        elif done is not None:
            state = "done" if done <= due else "late"
        else:
            state = "overdue" if today > due else "due"
        result.append(Clock(name, due, done, state))
    return result


def _agreements_counted(root: Path, breach: Breach, rev: str) -> tuple[dict[str, date], dict[str, str]]:
    if not git.has_commits(root):
        return {}, {a: "not in a git repository: the agreement cannot be verified" for a in breach.agreements}
    signed = attribution.signed_entries(root, breach.path, "agreements", "agreement", rev)
    committed = attribution.entries_of(attribution.yaml_at(root, rev, breach.path), "agreements")
    counted, notes = {}, {}
    for agency, day in breach.agreements.items():
        if committed.get(agency) != day:
            notes[agency] = "recorded but not committed yet"
        elif signed.entries.get(agency) is None:
            notes[agency] = f"not in a commit signed by a focal point of {agency}: it does not count"
        else:
            counted[agency] = day
    return counted, notes


def breach_status(
    isp: Isp, breach: Breach, counted: Mapping[str, date], today: date, notes: Mapping[str, str] | None = None
) -> BreachStatus:
    """Pure: open until every signatory's agreement counts; the clocks on ``today``."""
    agreed = [a for a in isp.agencies if a in counted]
    awaiting = [a for a in isp.agencies if a not in counted]
    closed_on = max([*counted.values(), breach.resolved or breach.reported]) if not awaiting else None
    if closed_on is not None and closed_on > today:
        closed_on = None
    return BreachStatus(
        id=breach.id,
        reported=breach.reported,
        description=breach.description,
        open=closed_on is None,
        closed_on=closed_on,
        clocks=breach_clocks(isp, breach, closed_on, today),
        agreed=agreed,
        awaiting=awaiting,
        notes=dict(notes or {}),
    )


def breach_statuses(root: Path, today: date | None = None, isp: Isp | None = None) -> list[BreachStatus]:
    """Every breach in the working tree, judged with the agreements committed and signed at HEAD."""
    isp = isp or loading.load(root)
    today = today or workdays.today()
    if git.has_commits(root):
        attribution.prefetch(root, BREACHES_DIR)
    result = []
    for breach in all_breaches(root):
        counted, notes = _agreements_counted(root, breach, "HEAD")
        result.append(breach_status(isp, breach, counted, today, notes))
    return result


def open_breaches(root: Path, today: date | None = None) -> list[BreachStatus]:
    return [b for b in breach_statuses(root, today) if b.open]


def _breaches_at(root: Path, rev: str) -> list[Breach]:
    paths = attribution.list_tree(root, rev, BREACHES_DIR)
    blobs = git.read_many(root, [f"{rev}:{p}" for p in paths])
    found = []
    for path in paths:
        try:
            found.append(_parse_breach(blobs[f"{rev}:{path}"] or b"", path))
        except ValidationFailed:
            continue
    return found


def breach_intervals(root: Path, isp: Isp, rev: str | None = None) -> list[Interval]:
    """(reported, closed_on or None) for every breach: from the working tree when ``rev`` is None
    (an uncommitted breach counts as open), else as committed at ``rev``."""
    far = date.max
    breaches = all_breaches(root) if rev is None else _breaches_at(root, rev)
    if any(b.agreements for b in breaches) and git.has_commits(root):
        attribution.prefetch(root, BREACHES_DIR, rev or "HEAD")
    result: list[Interval] = []
    for breach in breaches:
        counted, _ = _agreements_counted(root, breach, rev or "HEAD") if breach.agreements else ({}, {})
        st = breach_status(isp, breach, counted, far)
        result.append((breach.reported, st.closed_on))
    return result


def _breach_rules(isp: Isp, path: str, breach: Breach) -> Iterable[Problem]:
    if Path(path).stem != breach.id:
        yield Problem.of(errors.ID, path, column="id", id=breach.id)
    if DIGITS.search(breach.description):
        yield Problem.of(errors.BREACH_FIGURES, path, column="description", fix="describe what happened in words")
    for name in ("meeting", "escalated", "resolved"):
        value = getattr(breach, name)
        if value is not None and value < breach.reported:
            yield Problem.of(
                errors.DATES,
                path,
                column=name,
                detail=f"{name} {value} is before the breach was reported ({breach.reported})",
            )
    for agency in breach.agreements:
        if agency not in isp.agencies:
            yield Problem.of(errors.NOT_A_SIGNATORY, path, column=f"agreements.{agency}", agency=agency)
    missing = [a for a in isp.agencies if a not in breach.agreements]
    if breach.resolved is not None and missing:
        yield Problem.of(
            errors.RESOLVED_WITHOUT_AGREEMENT, path, column="resolved", severity="warning", missing=", ".join(missing)
        )


def breach_check(root: Path, base: str | None = None, head: str = "HEAD", isp: Isp | None = None) -> list[Problem]:
    """Every rule for the breach register at ``head``: the records themselves, agreements only in
    commits signed by their own agency, and (with ``base``) the pull request's own commits:
    records kept by the coordinators, none deleted. ``isp``: the protocol to judge by (CI passes
    the base's; default: the working tree's)."""
    isp = isp or loading.load(root)
    head = provenance.resolve(root, head)
    problems: list[Problem] = []
    owners = coordinators_at(root, base) if base else []
    attribution.prefetch(root, BREACHES_DIR, head, base)
    for path in attribution.list_tree(root, head, BREACHES_DIR):
        try:
            breach = _parse_breach(git.read_many(root, [f"{head}:{path}"])[f"{head}:{path}"] or b"", path)
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        problems += _breach_rules(isp, path, breach)
        problems += attribution.signed_entries(root, path, "agreements", "agreement", head, base).problems
        if base:
            revs = attribution.revisions(root, path, head, base)
            problems += attribution.unowned_edits(path, revs, "agreements", owners, "breach record")
    if base:
        for sha in provenance.commits_between(root, base, head):
            problems += [
                Problem.of(errors.BREACH_DELETED, path, commit=sha[:10])
                for change, path in provenance.changed_paths(root, sha)
                if change == "D" and path.startswith(f"{BREACHES_DIR}/") and path.endswith(".yaml")
            ]
    return problems
