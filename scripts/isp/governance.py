"""Governance: breaches and their clocks, suspensions, the protocol's validity, membership changes,
and the one question a release asks: what, if anything, blocks it.

**Breaches** live in ``protocol/breaches/<ID>.yaml`` (reported, description without figures,
meeting, escalated, resolved, and ``agreements`` {AGENCY: date}). A breach is resolved only when
every signatory (every agency of agencies.yaml) has agreed, each agreement in a commit signed by
a focal point of that agency (verified like request decisions, :func:`isp.requests.signed_entries`).
Until then it is open, and while any breach is open no release is made. A breach file written
but not yet committed already counts as open: blocking errs on the safe side.

**Membership changes** are pull requests to agencies.yaml. Approvals are recorded in
``protocol/membership/<ID>.yaml``::

    id: MEM-2026-001
    change: add-agency          # or: system-switch
    agency: NEWORG
    system: cpims_standalone    # system-switch only: the system the agency moves to
    proposed: 2026-03-01
    approvals: {IRC: 2026-03-02, IMC: 2026-03-02, ...}

Each approval counts only in a commit signed by a focal point of the approving agency. A new
agency needs the approval of every agency that was a signatory at the pull request's base; a
system switch needs one coordinator's. :func:`membership_check` enforces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from isp import attribution, calendar, protocol, provenance, requests
from isp.errors import IspError, Problem, UsageError, ValidationFailed
from isp.fsutil import write_text_atomic
from isp.periods import add_months, parse_month
from isp.protocol import Isp

BREACHES_DIR = "protocol/breaches"
MEMBERSHIP_DIR = "protocol/membership"
AGENCIES_FILE = "protocol/agencies.yaml"
BREACH_ID = re.compile(r"^BR-(\d{4})-(\d{3,})$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
DIGITS = re.compile(r"\d")


class _Model(BaseModel):
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


class MembershipChange(_Model):
    id: str
    change: Literal["add-agency", "system-switch"]
    agency: str
    system: str | None = None
    proposed: date
    approvals: dict[str, date] = {}


# --- the protocol's validity ------------------------------------------------------------------


def protocol_in_force(isp: Isp, day: date) -> bool:
    return isp.protocol.validity.in_force(day)


def validity_problems(isp: Isp, day: date) -> list[Problem]:
    """A warning from the review date on; an error when the protocol is not in force on ``day``."""
    validity = isp.protocol.validity
    where = "protocol/protocol.yaml"
    if not validity.in_force(day):
        return [
            Problem(
                where,
                "protocol-not-in-force",
                f"the protocol is not in force on {day}: nothing may be shared until it is renewed",
                column="validity.periods",
                fix="the signatories renew it; add the renewal under validity.periods",
            )
        ]
    if day >= validity.review_date:
        end = validity.periods[-1].end
        return [
            Problem(
                where,
                "protocol-review",
                f"the protocol's review was due on {validity.review_date}; the current period ends on {end}",
                column="validity.review_date",
                severity="warning",
                fix="review it with the signatories and record the renewal",
            )
        ]
    return []


# --- breaches --------------------------------------------------------------------------------


def _yaml() -> YAML:
    handler = YAML()
    handler.preserve_quotes = True
    handler.width = 100
    return handler


def _dump(handler: YAML, doc: Any) -> str:
    buffer = StringIO()
    handler.dump(doc, buffer)
    return buffer.getvalue()


def _parse_breach(data: bytes | str, rel: str) -> Breach:
    try:
        raw = yaml.load(data, Loader=requests.YAML_LOADER) or {}
        return Breach.model_validate(raw)
    except yaml.YAMLError:
        raise ValidationFailed([Problem(rel, "yaml-syntax", "not valid YAML")]) from None
    except ValidationError as exc:
        problems = [Problem(rel, "schema", f"{'.'.join(map(str, e['loc']))}: {e['msg']}") for e in exc.errors()]
        raise ValidationFailed(problems, f"{rel}: not a valid breach record") from None


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
    isp = protocol.load(root)
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
    write_text_atomic(root / breach.path, header + _dump(_yaml(), breach.model_dump(mode="python", exclude_none=True)))
    return breach


def _edit_breach(root: Path, breach_id: str) -> tuple[YAML, Any, Breach]:
    breach = load_breach(root, breach_id)
    handler = _yaml()
    return handler, handler.load((root / breach.path).read_text(encoding="utf-8")), breach


def update_breach(
    root: Path,
    breach_id: str,
    meeting: date | None = None,
    escalated: date | None = None,
    description: str | None = None,
) -> Breach:
    """Record the meeting, the escalation to senior management, or a better description."""
    handler, doc, breach = _edit_breach(root, breach_id)
    if meeting is None and escalated is None and description is None:
        raise UsageError("nothing to update: give --meeting, --escalated or --description")
    for name, value in (("meeting", meeting), ("escalated", escalated)):
        if value is not None:
            if value < breach.reported:
                raise IspError(f"{breach.path}: {name} {value} is before the breach was reported ({breach.reported})")
            doc[name] = value
    if description is not None:
        doc["description"] = _no_figures(description)
    write_text_atomic(root / breach.path, _dump(handler, doc))
    return load_breach(root, breach_id)


def agree_resolution(root: Path, breach_id: str, agency: str, day: date) -> Breach:
    """Record ``agency``'s agreement that the breach is resolved; once every signatory has
    agreed, ``resolved`` is set to the last agreement's date. It counts once committed and signed."""
    isp = protocol.load(root)
    isp.agency(agency)
    handler, doc, breach = _edit_breach(root, breach_id)
    if day < breach.reported:
        raise IspError(f"{breach.path}: an agreement cannot be dated {day}, before the breach was reported")
    if doc.get("agreements") is None:
        doc["agreements"] = {}
    doc["agreements"][agency] = day
    agreed = {**breach.agreements, agency: day}
    if set(isp.agencies) <= set(agreed):
        doc["resolved"] = max(agreed.values())
    write_text_atomic(root / breach.path, _dump(handler, doc))
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
    if not attribution.is_repo(root):
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
    isp = isp or protocol.load(root)
    today = today or calendar.today()
    if attribution.is_repo(root):
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
    blobs = attribution.read_many(root, [f"{rev}:{p}" for p in paths])
    found = []
    for path in paths:
        try:
            found.append(_parse_breach(blobs[f"{rev}:{path}"] or b"", path))
        except ValidationFailed:
            continue
    return found


def breach_intervals(root: Path, isp: Isp, rev: str | None = None) -> list[requests.Interval]:
    """(reported, closed_on or None) for every breach: from the working tree when ``rev`` is None
    (an uncommitted breach counts as open), else as committed at ``rev``."""
    far = date.max
    breaches = all_breaches(root) if rev is None else _breaches_at(root, rev)
    if any(b.agreements for b in breaches) and attribution.is_repo(root):
        attribution.prefetch(root, BREACHES_DIR, rev or "HEAD")
    result: list[requests.Interval] = []
    for breach in breaches:
        counted, _ = _agreements_counted(root, breach, rev or "HEAD") if breach.agreements else ({}, {})
        st = breach_status(isp, breach, counted, far)
        result.append((breach.reported, st.closed_on))
    return result


def _breach_rules(isp: Isp, path: str, breach: Breach) -> Iterable[Problem]:
    if Path(path).stem != breach.id:
        yield Problem(path, "id", f"id '{breach.id}' differs from the file name", column="id")
    if DIGITS.search(breach.description):
        yield Problem(
            path,
            "breach-figures",
            "description: no figures in a breach record (no digits at all)",
            column="description",
            fix="describe what happened in words",
        )
    for name in ("meeting", "escalated", "resolved"):
        value = getattr(breach, name)
        if value is not None and value < breach.reported:
            yield Problem(
                path, "dates", f"{name} {value} is before the breach was reported ({breach.reported})", column=name
            )
    for agency in breach.agreements:
        if agency not in isp.agencies:
            yield Problem(
                path,
                "not-a-signatory",
                f"agreements.{agency}: not an agency of agencies.yaml",
                column=f"agreements.{agency}",
            )
    missing = [a for a in isp.agencies if a not in breach.agreements]
    if breach.resolved is not None and missing:
        yield Problem(
            path,
            "resolved-without-agreement",
            f"resolved is set but {', '.join(missing)} have not agreed: the breach stays open",
            column="resolved",
            severity="warning",
        )


def breach_check(root: Path, base: str | None = None, head: str = "HEAD") -> list[Problem]:
    """Every rule for the breach register at ``head``: the records themselves, agreements only in
    commits signed by their own agency, and (with ``base``) the pull request's own commits:
    records kept by the coordinators, none deleted."""
    isp = protocol.load(root)
    head = provenance.resolve(root, head)
    problems: list[Problem] = []
    owners = requests.coordinators_at(root, base) if base else []
    attribution.prefetch(root, BREACHES_DIR, head, base)
    for path in attribution.list_tree(root, head, BREACHES_DIR):
        try:
            breach = _parse_breach(attribution.read_many(root, [f"{head}:{path}"])[f"{head}:{path}"] or b"", path)
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
                Problem(path, "breach-deleted", f"commit {sha[:10]} deletes a breach record; the register is kept")
                for change, path in provenance.changed_paths(root, sha)
                if change == "D" and path.startswith(f"{BREACHES_DIR}/") and path.endswith(".yaml")
            ]
    return problems


# --- suspensions -----------------------------------------------------------------------------


def _edit_agencies(root: Path) -> tuple[YAML, Any, Path]:
    handler = YAML()
    handler.preserve_quotes = True
    handler.width = 4096
    path = root / AGENCIES_FILE
    return handler, handler.load(path), path


def suspend(root: Path, agency: str, start: str, end: str | None, reason: str, recorded: date) -> None:
    """Record that ``agency`` suspends its sharing from month ``start`` (to ``end``, inclusive)."""
    isp = protocol.load(root)
    current = isp.agency(agency)
    parse_month(start)
    if end is not None:
        parse_month(end)
        if end < start:
            raise UsageError(f"--to {end} is before --from {start}")
    if len(reason.strip()) < 3:
        raise UsageError("a suspension needs its written reason: --reason TEXT")
    for existing in current.suspensions:
        if (existing.end is None or start <= existing.end) and (end is None or existing.start <= end):
            raise IspError(
                f"{agency} is already suspended from {existing.start} to {existing.end or 'further notice'}:"
                " resume it first, or choose months that do not overlap"
            )
    handler, doc, path = _edit_agencies(root)
    entry: dict[str, Any] = {"from": DoubleQuotedScalarString(start)}
    if end is not None:
        entry["to"] = DoubleQuotedScalarString(end)
    entry |= {"reason": reason.strip(), "recorded": recorded}
    node = doc["agencies"][agency]
    if node.get("suspensions") is None:
        node["suspensions"] = []
    node["suspensions"].append(entry)
    write_text_atomic(path, _dump(handler, doc))
    protocol.load(root)


def resume(root: Path, agency: str, month: str) -> str:
    """End ``agency``'s open suspension so that it shares again from ``month``; returns the last
    suspended month."""
    isp = protocol.load(root)
    current = isp.agency(agency)
    parse_month(month)
    index = next((i for i, s in enumerate(current.suspensions) if s.end is None or s.end >= month), None)
    if index is None:
        raise IspError(f"{agency} has no suspension running in or after {month}")
    suspension = current.suspensions[index]
    if month <= suspension.start:
        raise IspError(
            f"{agency}'s suspension starts in {suspension.start}: resuming from {month} would leave no "
            "suspended month; correct agencies.yaml in a reviewed pull request instead"
        )
    last = add_months(month, -1)
    handler, doc, path = _edit_agencies(root)
    doc["agencies"][agency]["suspensions"][index]["to"] = DoubleQuotedScalarString(last)
    write_text_atomic(path, _dump(handler, doc))
    protocol.load(root)
    return last


# --- releases --------------------------------------------------------------------------------


def decide_release(isp: Isp, status: requests.RequestStatus, open_breach_ids: Iterable[str], today: date) -> list[str]:
    """Pure: why the request's data may not leave today (empty: it may)."""
    blockers = []
    if status.state == "pending":
        waiting = ", ".join(status.waiting_for())
        blockers.append(f"{status.id}: still waiting for {waiting}; silence is never consent")
    elif status.state == "denied":
        for agency in status.agencies:
            if agency.state == "denied" and agency.counted:
                blockers.append(f"{status.id}: denied by {agency.agency}: {agency.reason}")
    elif status.state == "expired":
        blockers.append(
            f"{status.id}: expired (not decided by every agency within the time, or the protocol "
            "lapsed): issue a new request"
        )
    elif status.state == "blocked" and status.waiting_for():
        blockers.append(f"{status.id}: still waiting for {', '.join(status.waiting_for())}")
    for breach_id in open_breach_ids:
        blockers.append(
            f"breach {breach_id} is open: nothing leaves the group until every signatory agrees it is resolved"
        )
    if not protocol_in_force(isp, today):
        blockers.append(f"the protocol is not in force on {today}")
    return blockers


def release_blockers(root: Path, request_id: str, today: date | None = None) -> list[str]:
    """Why request ``request_id`` may not be released on ``today``; an empty list means it may.

    Refused unless the request file is committed as it is, passes every rule of
    :func:`isp.requests.check`, every required agency's signed approval counts, no breach is
    open and the protocol is in force."""
    isp = protocol.load(root)
    today = today or calendar.today()
    try:
        request = requests.load(root, request_id)
    except IspError as exc:
        return [str(exc)]
    blockers = []
    if not attribution.is_repo(root):
        return [f"{root}: not a git repository; decisions cannot be verified"]
    committed = attribution.read_many(root, [f"HEAD:{request.path}"]).get(f"HEAD:{request.path}")
    if committed != (root / request.path).read_bytes():
        blockers.append(f"{request.path} has changes that are not committed: commit them (signed) first")
    head = provenance.resolve(root, "HEAD")
    others = {r.id: r for r in requests.readable_requests(root)}
    intervals = breach_intervals(root, isp, head)
    blockers += [
        str(p)
        for p in requests.check_file(root, isp, request.path, committed or b"", others, head, None, intervals)
        if p.severity == "error"
    ]
    status = requests.status(root, request_id, today, isp)
    open_ids = [b.id for b in breach_statuses(root, today, isp) if b.open and b.reported <= today]
    return blockers + decide_release(isp, status, open_ids, today)


# --- membership changes ----------------------------------------------------------------------


def _agencies_at(root: Path, rev: str) -> dict[str, Any]:
    data = attribution.read_many(root, [f"{rev}:{AGENCIES_FILE}"]).get(f"{rev}:{AGENCIES_FILE}")
    loaded = yaml.safe_load(data or b"") or {}
    agencies = loaded.get("agencies") if isinstance(loaded, dict) else None
    return agencies if isinstance(agencies, dict) else {}


def _membership_files(root: Path, rev: str) -> list[tuple[str, MembershipChange]]:
    paths = attribution.list_tree(root, rev, MEMBERSHIP_DIR)
    blobs = attribution.read_many(root, [f"{rev}:{p}" for p in paths])
    found = []
    for path in paths:
        try:
            found.append((path, MembershipChange.model_validate(yaml.safe_load(blobs[f"{rev}:{path}"] or b""))))
        except (yaml.YAMLError, ValidationError):
            continue
    return found


def _approvals(root: Path, path: str, base: str, head: str) -> tuple[set[str], list[Problem]]:
    signed = attribution.signed_entries(root, path, "approvals", "approval", head, base)
    return {a for a, info in signed.entries.items() if info is not None}, signed.problems


def membership_check(root: Path, base: str, head: str = "HEAD") -> list[Problem]:
    """Agencies added to agencies.yaml need every base signatory's signed approval; a switch of
    system needs a coordinator's (recorded in protocol/membership/, see the module docstring)."""
    before, after = _agencies_at(root, base), _agencies_at(root, head)
    files = _membership_files(root, head)
    problems: list[Problem] = []
    coordinators = [code for code, a in before.items() if "coordinator" in (a.get("roles") or [])]
    for code in sorted(set(after) - set(before)):
        problems += _needs(root, files, base, head, code, "add-agency", None, sorted(before), all_of=True)
    for code in sorted(set(after) & set(before)):
        old, new = before[code].get("system"), after[code].get("system")
        if old != new:
            problems += _needs(root, files, base, head, code, "system-switch", new, coordinators, all_of=False)
    return problems


def _needs(
    root: Path,
    files: list[tuple[str, MembershipChange]],
    base: str,
    head: str,
    code: str,
    change: str,
    system: str | None,
    approvers: list[str],
    all_of: bool,
) -> list[Problem]:
    what = f"adding {code}" if change == "add-agency" else f"{code}'s switch to {system}"
    match = next(
        (
            (p, m)
            for p, m in files
            if m.change == change and m.agency == code and (system is None or m.system == system)
        ),
        None,
    )
    if match is None:
        return [
            Problem(
                AGENCIES_FILE,
                "membership-approval",
                f"{what} has no approval record",
                fix=f"add {MEMBERSHIP_DIR}/<ID>.yaml (change: {change}, agency: {code}) and have "
                f"{'every signatory' if all_of else 'a coordinator'} approve it in a signed commit",
            )
        ]
    path, _ = match
    approved, problems = _approvals(root, path, base, head)
    missing = [a for a in approvers if a not in approved]
    if (all_of and missing) or (not all_of and len(missing) == len(approvers)):
        who = ", ".join(missing) if all_of else f"a coordinator ({', '.join(approvers)})"
        problems.append(
            Problem(
                path,
                "membership-approval",
                f"{what} still needs the signed approval of {who}",
                fix="each approves under `approvals:` in a commit signed by its focal point",
            )
        )
    return problems
