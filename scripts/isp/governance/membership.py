"""Governance: breaches and their clocks, suspensions, the protocol's validity, membership changes,
and the one question a release asks: what, if anything, blocks it.

**Breaches** (``protocol/breaches/``) live in :mod:`isp.governance.breaches`: a
breach is open until every signatory's signed agreement counts, and while one is open no release
is made (:func:`release_blockers`).

**Suspensions** are edited in agencies.yaml (round trip, comments kept) by :func:`suspend` and
:func:`resume`; consolidation leaves suspended months out. Only a commit signed by the agency
or a coordinator may change them (:func:`own_fields_check`).

**Membership changes** are pull requests to agencies.yaml. Approvals are recorded in
``protocol/membership/<ID>.yaml``::

    id: MEM-2026-001
    change: add-agency          # or: remove-agency, role-change, system-switch
    agency: NEWORG
    system: cpims_standalone    # system-switch only: the system the agency moves to
    proposed: 2026-03-01
    approvals: {IRC: 2026-03-02, IMC: 2026-03-02, ...}

Each approval counts only in a commit signed by a focal point of the approving agency. A new
agency, an agency's departure and any change of an agency's roles need the approval of every
agency that was a signatory at the pull request's base (the departing agency included); a
system switch needs one coordinator's. :func:`membership_check` enforces it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from isp import errors, yamlfiles
from isp.errors import ErrorCode, IspError, Problem, UsageError
from isp.governance import request_files, rights
from isp.governance.breaches import BREACHES_DIR, breach_ids, breach_intervals, breach_statuses
from isp.governance.request_status import RequestStatus
from isp.history import attribution, git, provenance
from isp.protocol import loading, workdays
from isp.protocol.models import Isp
from isp.protocol.periods import add_months, parse_month
from isp.yamlfiles import RecordModel

MEMBERSHIP_DIR = "protocol/membership"
AGENCIES_FILE = "protocol/agencies.yaml"
PROTOCOL_FILE = "protocol/protocol.yaml"
INDICATORS_FILE = "protocol/indicators.yaml"
# What leaves the group and how it is protected: changing these is an amendment of the protocol.
# section -> (file, top-level key or None for the whole file, keys left free to edit anywhere in
# it: the disclaimers' wording, the indicators' names in English and Arabic).
AMENDED_SECTIONS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "sharing": (PROTOCOL_FILE, "sharing", ("disclaimers", "attribution")),
    "disclosure": (PROTOCOL_FILE, "disclosure", ()),
    "indicators": (INDICATORS_FILE, None, ("name_en", "name_ar")),
}


class _Model(RecordModel, BaseModel):  # BaseModel named for linters: pydantic defaults are per instance
    model_config = ConfigDict(extra="forbid", frozen=True)


class MembershipChange(_Model):
    id: str
    change: Literal["add-agency", "remove-agency", "role-change", "system-switch", "protocol-amendment"]
    agency: str | None = None  # every change but an amendment names its agency
    sections: list[str] = []  # protocol-amendment only: the sections of protocol.yaml it changes
    system: str | None = None
    proposed: date
    approvals: dict[str, date] = {}
    # system-switch only: the coordinators arranged the training and told the signatories.
    training: date | None = None
    signatories_notified: date | None = None


# --- the protocol's validity ------------------------------------------------------------------


def protocol_in_force(isp: Isp, day: date) -> bool:
    return isp.protocol.validity.in_force(day)


def validity_problems(isp: Isp, day: date) -> list[Problem]:
    """A warning from the review date on; an error when the protocol is not in force on ``day``."""
    validity = isp.protocol.validity
    where = "protocol/protocol.yaml"
    if not validity.in_force(day):
        return [
            Problem.of(
                errors.PROTOCOL_NOT_IN_FORCE,
                where,
                column="validity.periods",
                fix="the signatories renew it; add the renewal under validity.periods",
                day=day,
            )
        ]
    if day >= validity.review_date:
        end = validity.periods[-1].end
        return [
            Problem.of(
                errors.PROTOCOL_REVIEW,
                where,
                column="validity.review_date",
                severity="warning",
                fix="review it with the signatories and record the renewal",
                review=validity.review_date,
                end=end,
            )
        ]
    return []


# --- suspensions -----------------------------------------------------------------------------


def _edit_agencies(root: Path) -> AbstractContextManager[Any]:
    return yamlfiles.edit(root / AGENCIES_FILE, width=4096)


def suspend(
    root: Path, agency: str, start: str, end: str | None, reason: str, recorded: date, breach: str | None = None
) -> None:
    """Record that ``agency`` suspends its sharing from month ``start`` (to ``end``, inclusive), or,
    with ``breach``, that it stops sharing because of that breach."""
    isp = loading.load(root)
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
    entry: dict[str, Any] = {"from": yamlfiles.quoted(start)}
    if end is not None:
        entry["to"] = yamlfiles.quoted(end)
    if breach is not None:  # stopping because of a breach: its own kind of written justification
        if breach not in breach_ids(root):
            raise IspError(f"{breach}: no such breach in {BREACHES_DIR}/ (list them with `isp breach list`)")
        entry |= {"kind": "breach-stop", "breach": breach}
    entry |= {"reason": reason.strip(), "recorded": recorded}
    with _edit_agencies(root) as doc:
        node = doc["agencies"][agency]
        if node.get("suspensions") is None:
            node["suspensions"] = []
        node["suspensions"].append(entry)
    loading.load(root)


def resume(root: Path, agency: str, month: str) -> str:
    """End ``agency``'s open suspension so that it shares again from ``month``; returns the last
    suspended month."""
    isp = loading.load(root)
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
    with _edit_agencies(root) as doc:
        doc["agencies"][agency]["suspensions"][index]["to"] = yamlfiles.quoted(last)
    loading.load(root)
    return last


# --- releases --------------------------------------------------------------------------------


def decide_release(isp: Isp, status: RequestStatus, open_breach_ids: Iterable[str], today: date) -> list[str]:
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
    :func:`isp.governance.request_files.check`, every required agency's signed approval counts, no breach is
    open and the protocol is in force."""
    isp = loading.load(root)
    today = today or workdays.today()
    try:
        request = request_files.load(root, request_id)
    except IspError as exc:
        return [str(exc)]
    blockers = []
    if not git.has_commits(root):
        return [f"{root}: not a git repository; decisions cannot be verified"]
    committed = git.read_many(root, [f"HEAD:{request.path}"]).get(f"HEAD:{request.path}")
    if committed != (root / request.path).read_bytes():
        blockers.append(f"{request.path} has changes that are not committed: commit them (signed) first")
    head = provenance.resolve(root, "HEAD")
    others = {r.id: r for r in request_files.readable_requests(root)}
    intervals = breach_intervals(root, isp, head)
    blockers += [
        str(p)
        for p in request_files.check_file(root, isp, request.path, committed or b"", others, head, None, intervals)
        if p.severity == "error"
    ]
    status = request_files.status(root, request_id, today, isp)
    open_ids = [b.id for b in breach_statuses(root, today, isp) if b.open and b.reported <= today]
    return blockers + decide_release(isp, status, open_ids, today)


# --- membership changes ----------------------------------------------------------------------


def _section(root: Path, rev: str, path: str, key: str | None, free: tuple[str, ...]) -> Any:
    doc = attribution.yaml_at(root, rev, path)
    return _without(doc if key is None else doc.get(key), free)


def _without(node: Any, keys: tuple[str, ...]) -> Any:
    """``node`` with ``keys`` removed from every mapping in it, however deep."""
    if isinstance(node, dict):
        return {k: _without(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_without(v, keys) for v in node]
    return node


def _agencies_at(root: Path, rev: str) -> dict[str, Any]:
    agencies = attribution.yaml_at(root, rev, AGENCIES_FILE).get("agencies")
    return agencies if isinstance(agencies, dict) else {}


def _membership_files(root: Path, rev: str) -> list[tuple[str, MembershipChange]]:
    paths = attribution.list_tree(root, rev, MEMBERSHIP_DIR)
    blobs = git.read_many(root, [f"{rev}:{p}" for p in paths])
    found = []
    for path in paths:
        try:
            found.append((path, MembershipChange.model_validate(yamlfiles.load(blobs[f"{rev}:{path}"] or b"", path))))
        except (yamlfiles.YamlError, ValidationError):
            continue
    return found


def _approvals(root: Path, path: str, base: str, head: str) -> tuple[set[str], list[Problem]]:
    signed = attribution.signed_entries(root, path, "approvals", "approval", head, base)
    return {a for a, info in signed.entries.items() if info is not None}, signed.problems


def membership_check(root: Path, base: str, head: str = "HEAD", since: str | None = None) -> list[Problem]:
    """Agencies added to or removed from agencies.yaml, and any change of an agency's roles, need
    every base signatory's signed approval (they change whose consent a release needs, and who
    coordinates); a switch of system needs a coordinator's (recorded in protocol/membership/, see
    the module docstring). Without this, a pull request could drop an agency, or its
    data-gathering role, and with it the agency's say over every external release.

    ``since``: where the head left the base (the merge base; default ``base``). What the pull
    request changes is ``since`` against ``head``; who must approve (the signatories and
    coordinators) is read from ``base``, the tip the pull request merges into. Without the split,
    a branch started before a change landed on main would be judged as undoing it."""
    trusted, after = _agencies_at(root, base), _agencies_at(root, head)
    before = _agencies_at(root, since) if since else trusted
    on_base = set(attribution.list_tree(root, base, MEMBERSHIP_DIR))  # an approval counts in the PR that adds it
    files = [(path, record) for path, record in _membership_files(root, head) if path not in on_base]
    problems: list[Problem] = []
    coordinators = [code for code, a in trusted.items() if "coordinator" in (a.get("roles") or [])]
    signatories = sorted(trusted)
    for code in sorted(set(after) - set(before)):
        problems += _needs(root, files, base, head, code, "add-agency", None, signatories, all_of=True)
    for code in sorted(set(before) - set(after)):
        left = rights.withdrawal_problems(root, loading.load(root), code, head, base)
        if left is None:  # a removal by the others needs everyone; leaving after a breach needs no one
            problems += _needs(root, files, base, head, code, "remove-agency", None, signatories, all_of=True)
        else:
            problems += left
    for code in sorted(set(after) & set(before)):
        if sorted(before[code].get("roles") or []) != sorted(after[code].get("roles") or []):
            problems += _needs(root, files, base, head, code, "role-change", None, signatories, all_of=True)
        old, new = before[code].get("system"), after[code].get("system")
        if old != new:
            problems += _needs(root, files, base, head, code, "system-switch", new, coordinators, all_of=False)
            problems += _switch_record(files, code, new)
    problems += own_fields_check(root, base, head, trusted, coordinators)
    return problems + amendment_check(root, base, head, files, signatories, since=since)


def _switch_record(files: list[tuple[str, MembershipChange]], code: str, system: str | None) -> list[Problem]:
    """Ground rule 8: before a switch takes effect the coordinators arrange training and tell the
    signatories; the record says when."""
    for path, m in files:
        if m.change == "system-switch" and m.agency == code and m.system == system:
            return [
                Problem.of(errors.SYSTEM_SWITCH_RECORD, path, column=name, name=name, what=what)
                for name, what in (
                    ("training", "arranged the training"),
                    ("signatories_notified", "told the signatories"),
                )
                if getattr(m, name) is None
            ]
    return []


# Fields of an agency's entry that are its own to change (field -> rule code when someone else does).
OWN_FIELDS = {
    "suspensions": errors.SUSPENSION_SIGNATURE,
    "focal_points": errors.KEYS_SIGNATURE,
    "other_focal_points": errors.KEYS_SIGNATURE,
    "age_recipients": errors.KEYS_SIGNATURE,
}


# Fields of an agency's entry judged elsewhere: membership changes need every signatory's approval.
MEMBERSHIP_FIELDS = frozenset({"roles", "system"})


def _own_fields(rev: attribution.Revision, code: str) -> list[tuple[str, ErrorCode]]:
    """Every field of ``code``'s entry in the commit or a parent, but its membership fields, with
    the rule code for a change by someone else: deny by default, so a field no rule names (its
    sites, its data scope, its name) is the agency's own too, not anyone's."""
    names = {n for doc in (rev.after, *rev.parents) for n in _entry(doc, code)} - MEMBERSHIP_FIELDS
    return [(name, OWN_FIELDS.get(name, errors.AGENCY_FIELD_SIGNATURE)) for name in sorted(names | set(OWN_FIELDS))]


def _entry(doc: dict[str, Any], code: str) -> dict[str, Any]:
    agency = (doc.get("agencies") or {}).get(code)
    return agency if isinstance(agency, dict) else {}


def _field(doc: dict[str, Any], code: str, name: str) -> Any:
    agency = (doc.get("agencies") or {}).get(code)
    return agency.get(name) if isinstance(agency, dict) else None


def _has_signing_key(entry: Any) -> bool:
    points = entry.get("focal_points") if isinstance(entry, dict) else None
    return any(isinstance(p, dict) and p.get("ssh_keys") for p in (points or {}).values())


def own_fields_check(
    root: Path, base: str, head: str, before: dict[str, Any], coordinators: list[str]
) -> list[Problem]:
    """What belongs to one agency changes only in a commit signed by that agency's focal point:

    - its suspensions (which months consolidation leaves out), or a coordinator's signature:
      otherwise one agency could take another's figures out of the consolidated report;
    - its focal points, SSH signing keys and age recipients: otherwise someone could register a
      key to sign decisions in its name, or a recipient to read its sheets. A coordinator may
      register them only while the agency has no signing key at the base (setting up);
    - every other field but its roles and system (membership changes, judged above), on the same
      terms: its sites, data scope, name, label and languages. Its data scope and sites decide
      which of its sheets are accepted and counted.

    And CI's own recipient (``ci:``), which can read everything, changes only in a coordinator's
    signed commit.
    """
    problems = []
    for rev in attribution.revisions(root, AGENCIES_FILE, head, base):
        if not rev.in_review:
            continue
        if not any(p.get("ci") == rev.after.get("ci") for p in rev.parents) and not (
            rev.signer.verified and rev.signer.agency in coordinators
        ):
            problems.append(_own_field_problem(rev, "CI", "ci", errors.CI_KEY_SIGNATURE, coordinators))
        # an agency added or removed as a whole is a membership change, judged above
        codes = set(rev.after.get("agencies") or {}).intersection(*((p.get("agencies") or {}) for p in rev.parents))
        for code in sorted(codes):
            for name, error in _own_fields(rev, code):
                # a merge is judged on its own change only: what differs from every parent
                if any(_field(p, code, name) == _field(rev.after, code, name) for p in rev.parents):
                    continue
                setting_up = name != "suspensions" and not _has_signing_key(before.get(code))
                allowed = {code, *coordinators} if name == "suspensions" or setting_up else {code}
                if rev.signer.verified and rev.signer.agency in allowed:
                    continue
                problems.append(_own_field_problem(rev, code, name, error, sorted(allowed)))
    return problems


def _own_field_problem(
    rev: attribution.Revision, code: str, name: str, error: ErrorCode, allowed: list[str]
) -> Problem:
    return Problem.of(
        error,
        AGENCIES_FILE,
        column="ci" if name == "ci" else f"agencies.{code}.{name}",
        commit=rev.sha[:10],
        agency=code,
        field=name.replace("_", " "),
        signer=attribution.describe(rev.signer),
        allowed=" or ".join(allowed),
    )


def amendment_check(
    root: Path,
    base: str,
    head: str,
    files: list[tuple[str, MembershipChange]],
    signatories: list[str],
    since: str | None = None,
) -> list[Problem]:
    """A change to what may leave the group (protocol.yaml's ``sharing``: SGBV never, early
    marriage only as percentages, the government recipients), to how it is protected
    (``disclosure``: thresholds, dominance, protection width) or to the tracking sheet itself
    (indicators.yaml: codes, groups, tags such as ``sgbv``, denominators) amends the protocol:
    every signatory at the base approves it, in a ``protocol-amendment`` record naming those
    sections. Dropping the ``sgbv`` tag from an indicator would otherwise let it out."""
    changed = [
        name
        for name, (path, key, free) in AMENDED_SECTIONS.items()
        if _section(root, since or base, path, key, free) != _section(root, head, path, key, free)
    ]
    if not changed:
        return []
    covering = [(p, m) for p, m in files if m.change == "protocol-amendment" and set(changed) <= set(m.sections)]
    return _needs(
        root, covering, base, head, None, "protocol-amendment", None, signatories, all_of=True, sections=changed
    )


def _needs(
    root: Path,
    files: list[tuple[str, MembershipChange]],
    base: str,
    head: str,
    code: str | None,
    change: str,
    system: str | None,
    approvers: list[str],
    all_of: bool,
    sections: list[str] | None = None,
) -> list[Problem]:
    what = {
        "add-agency": f"adding {code}",
        "remove-agency": f"removing {code}",
        "role-change": f"changing {code}'s roles",
        "protocol-amendment": f"amending the protocol ({', '.join(sections or [])})",
    }.get(change, f"{code}'s switch to {system}")
    match = next(
        (
            (p, m)
            for p, m in files
            if m.change == change and m.agency == code and (system is None or m.system == system)
        ),
        None,
    )
    if match is None:
        subject = f"sections: [{', '.join(sections or [])}]" if code is None else f"agency: {code}"
        return [
            Problem.of(
                errors.MEMBERSHIP_APPROVAL,
                PROTOCOL_FILE if code is None else AGENCIES_FILE,
                fix=f"add {MEMBERSHIP_DIR}/<ID>.yaml (change: {change}, {subject}) and have "
                f"{'every signatory' if all_of else 'a coordinator'} approve it in a signed commit",
                what=what,
                detail="has no approval record",
            )
        ]
    path, _ = match
    approved, problems = _approvals(root, path, base, head)
    missing = [a for a in approvers if a not in approved]
    if (all_of and missing) or (not all_of and len(missing) == len(approvers)):
        who = ", ".join(missing) if all_of else f"a coordinator ({', '.join(approvers)})"
        problems.append(
            Problem.of(
                errors.MEMBERSHIP_APPROVAL,
                path,
                fix="each approves under `approvals:` in a commit signed by its focal point",
                what=what,
                detail=f"still needs the signed approval of {who}",
            )
        )
    return problems
