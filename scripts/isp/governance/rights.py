"""The rights the signed protocol gives each agency, as signed records in ``protocol/rights/``.

- **Leaving after an unresolved breach**: a signatory may end its inclusion in writing when a
  breach cannot be resolved. One record of its own, signed by its focal point, is enough: no other
  agency's consent is needed, unlike any other removal (:func:`withdrawal_problems`). The protocol
  is then marked for revision until the signatories amend it (:func:`revisions_due`).
- **Sharing another member's data**: an agency may authorise another member to share the
  agency's *own* data externally: a record signed by the owner, scoped by data and recipient
  (:func:`authorisation_problems`, :func:`authorised`).
- **Using an approved report**: members may use the statistics of an approved external report
  (the sectoral report included) for internal and donor reporting without a new request, SGBV
  excepted; any other use needs a discussion with the signatories, recorded here (:func:`may_use`).
- **Stopping after a breach** and **switching systems** are recorded elsewhere (agencies.yaml and
  protocol/membership/); their written texts come from :func:`stop_justification`.

Records (one YAML file each)::

    id: RIGHT-2026-001
    kind: withdrawal            # withdrawal | own-data-authorisation | other-use-discussion
    agency: JRF                 # the agency exercising the right
    date: 2026-05-02
    breach: BR-2026-001         # withdrawal: the breach that could not be resolved
    member: IRC                 # own-data-authorisation: who may share JRF's data
    recipient: A donor          # own-data-authorisation: to whom
    data: [new_cases]           # own-data-authorisation: which indicators ("all" for every one)
    report: REQ-2026-004        # other-use-discussion: the approved report
    use: A fundraising brochure # other-use-discussion: the use discussed
    minutes: TF-2026-04         # other-use-discussion: the meeting where it was discussed
    reason: In words, no figures.
    signed: {JRF: 2026-05-02}   # the agency's own entry, in a commit signed by its focal point
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from isp import errors, yamlfiles
from isp.errors import Problem, ValidationFailed
from isp.governance import breaches, meetings
from isp.history import attribution, git
from isp.protocol.models import Isp
from isp.yamlfiles import RecordModel

RIGHTS_DIR = "protocol/rights"
INTERNAL_USES = ("internal", "donor")
RECOMMENDATION = (
    "While the breach is being resolved, and unless the coordinators are involved in it, the protocol "
    "recommends that the agency keep sharing its data with the coordinators, to inform field-level "
    "programming and service-delivery gaps."
)


Day = date  # the field `date` below shadows the type inside the class body


class Right(RecordModel, BaseModel):  # BaseModel named for linters: pydantic defaults are per instance
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^RIGHT-\d{4}-\d{3,}$")
    kind: Literal["withdrawal", "own-data-authorisation", "other-use-discussion"]
    agency: str
    date: date
    breach: str | None = None
    member: str | None = None
    recipient: str | None = None
    data: list[str] | str = []
    report: str | None = None
    use: str | None = None
    minutes: str | None = None
    reason: str = Field(min_length=3)
    signed: dict[str, Day] = {}

    @property
    def path(self) -> str:
        return f"{RIGHTS_DIR}/{self.id}.yaml"


def all_rights(root: Path) -> list[Right]:
    """Every record in the working tree (a record that does not parse is reported by :func:`check`)."""
    folder = root / RIGHTS_DIR
    found = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            found.append(Right.model_validate(yamlfiles.load_file(path, root=root) or {}))
        except (yamlfiles.YamlError, ValidationError):
            continue
    return found


def record_problems(isp: Isp, right: Right, rel: str) -> list[Problem]:
    """The rules on one record's content (who signs is judged from git by :func:`signature_problems`)."""
    found = (
        []
        if right.agency in isp.agencies
        else [
            Problem.of(errors.UNKNOWN_AGENCY, rel, column="agency", agency=right.agency, known=", ".join(isp.agencies))
        ]
    )
    if set(right.signed) - {right.agency}:
        others = ", ".join(sorted(set(right.signed) - {right.agency}))
        found.append(
            Problem.of(
                errors.RIGHTS_SIGNED, rel, detail=f"signed: only {right.agency} signs its own right, not {others}"
            )
        )
    needed = {
        "withdrawal": ("breach",),
        "own-data-authorisation": ("member", "recipient", "data"),
        "other-use-discussion": ("report", "use", "minutes"),
    }[right.kind]
    found += [
        Problem.of(errors.RIGHTS_SCOPE, rel, column=name, detail=f"{name}: a {right.kind} record names it")
        for name in needed
        if not getattr(right, name)
    ]
    wrong_member = right.member is not None and (right.member == right.agency or right.member not in isp.agencies)
    if right.kind == "own-data-authorisation" and wrong_member:
        found.append(
            Problem.of(
                errors.RIGHTS_SCOPE,
                rel,
                column="member",
                detail="member: another agency of agencies.yaml, not the owner",
            )
        )
    return found


def signature_problems(
    root: Path, right: Right, rel: str, head: str = "HEAD", base: str | None = None
) -> list[Problem]:
    """The agency's entry under ``signed`` counts only from a commit signed by its own focal point."""
    if not git.has_commits(root):
        return [
            Problem.of(errors.RIGHTS_SIGNED, rel, detail="not in a git repository: the signature cannot be verified")
        ]
    signed = attribution.signed_entries(root, rel, "signed", "signature", head, base)
    problems = list(signed.problems)
    if signed.entries.get(right.agency) is None:
        problems.append(
            Problem.of(
                errors.RIGHTS_SIGNED,
                rel,
                detail=f"not signed by a focal point of {right.agency}: the record does not count",
            )
        )
    return problems


def counted(root: Path) -> list[Right]:
    """The records whose own agency signed them."""
    return [r for r in all_rights(root) if not signature_problems(root, r, r.path)]


# --- leaving after an unresolved breach ----------------------------------------------------------


def withdrawal_problems(
    root: Path, isp: Isp, code: str, head: str = "HEAD", base: str | None = None
) -> list[Problem] | None:
    """None when ``code`` has no withdrawal record (its removal then needs every signatory);
    else what is wrong with its withdrawal: it must be signed by the agency itself and name a
    breach that was still open on the day it withdrew."""
    record = next((r for r in all_rights(root) if r.kind == "withdrawal" and r.agency == code), None)
    if record is None:
        return None
    content = [
        p for p in record_problems(isp, record, record.path) if p.rule != errors.UNKNOWN_AGENCY.code
    ]  # it has left
    problems = content + signature_problems(root, record, record.path, head, base)
    intervals = dict(zip(breaches.breach_ids(root), breaches.breach_intervals(root, isp), strict=False))
    interval = intervals.get(record.breach or "")
    if interval is None:
        problems.append(
            Problem.of(
                errors.WITHDRAWAL_BREACH, record.path, detail=f"breach: no breach {record.breach} in the register"
            )
        )
    elif not (interval[0] <= record.date and (interval[1] is None or record.date < interval[1])):
        problems.append(
            Problem.of(
                errors.WITHDRAWAL_BREACH,
                record.path,
                detail=f"{record.breach} was not open on {record.date}: leaving without every signatory's approval "
                "is the right of an agency whose breach could not be resolved",
            )
        )
    return problems


@dataclass(frozen=True)
class RevisionDue:
    withdrawal: str
    agency: str
    since: date


def revisions_due(root: Path, amendments: Iterable[date]) -> list[RevisionDue]:
    """Withdrawals not yet followed by an amendment of the protocol (``amendments``: the dates of
    the signatories' protocol-amendment records)."""
    later = sorted(amendments)
    return [
        RevisionDue(r.id, r.agency, r.date)
        for r in all_rights(root)
        if r.kind == "withdrawal" and not any(day >= r.date for day in later)
    ]


def amendment_dates(root: Path) -> list[date]:
    """The dates of the protocol-amendment records in protocol/membership/ (the working tree)."""
    folder = root / "protocol" / "membership"
    days = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            data = yamlfiles.load_file(path, root=root) or {}
        except yamlfiles.YamlError:
            continue
        if (
            isinstance(data, dict)
            and data.get("change") == "protocol-amendment"
            and isinstance(data.get("proposed"), date)
        ):
            days.append(data["proposed"])
    return days


# --- another member shares an agency's own data --------------------------------------------------


def authorised(root: Path, owner: str, member: str, recipient: str, indicators: Iterable[str]) -> bool:
    """Whether ``owner`` has authorised ``member`` to give ``recipient`` these indicators of its own data."""
    wanted = set(indicators)
    for r in counted(root):
        if (r.kind, r.agency, r.member) != ("own-data-authorisation", owner, member):
            continue
        scope = {"all"} if r.data == "all" else set(r.data)
        if (r.recipient or "").strip().lower() == recipient.strip().lower() and ("all" in scope or wanted <= scope):
            return True
    return False


# --- using an approved report ---------------------------------------------------------------------


@dataclass(frozen=True)
class UseVerdict:
    allowed: bool
    why: str


def may_use(
    isp: Isp,
    report_approved: bool,
    indicators: Iterable[str],
    use: str,
    discussions: Iterable[Right] = (),
    report_id: str = "",
    agency: str = "",
) -> UseVerdict:
    """Whether a member may use the statistics of an approved external report for ``use``."""
    if not report_approved:
        return UseVerdict(False, "only the statistics of an approved external report may be used")
    sgbv = sorted(set(indicators) & {c for tag in isp.protocol.sharing.never_external_tags for c in isp.tagged(tag)})
    if sgbv:
        return UseVerdict(False, f"SGBV figures ({', '.join(sgbv)}) are excepted from this use")
    if use in INTERNAL_USES:
        return UseVerdict(True, "internal and donor reporting needs no new request")
    for d in discussions:
        if (d.kind, d.report, d.agency, d.use) == ("other-use-discussion", report_id, agency, use):
            return UseVerdict(True, f"discussed with the signatories ({d.id}, minutes {d.minutes})")
    return UseVerdict(False, "any other use needs a discussion with the signatories, recorded in protocol/rights/")


def discussion_problems(root: Path, isp: Isp, right: Right) -> list[Problem]:
    """An other-use discussion points at minutes that exist."""
    if right.kind != "other-use-discussion" or not right.minutes:
        return []
    held = {m.id for m in meetings.all_minutes(root, isp)}
    if right.minutes in held:
        return []
    return [Problem.of(errors.RIGHTS_MINUTES, right.path, minutes=right.minutes, meetings_dir=meetings.MEETINGS_DIR)]


# --- the written texts ----------------------------------------------------------------------------


def stop_justification(isp: Isp, agency: str, start: str, reason: str, breach: str | None) -> str:
    """The written justification sent to the other signatories when an agency suspends sharing,
    or stops it because of a breach (with the protocol's recommendation)."""
    name = isp.agencies[agency].name
    what = f"stops sharing its data because of breach {breach}" if breach else "suspends sharing its data"
    lines = [f"{name} ({agency}) {what} from {start}.", f"Reason: {reason}"]
    if breach:
        lines.append(RECOMMENDATION)
    return "\n".join(lines)


def check(
    root: Path, isp: Isp, head: str = "HEAD", base: str | None = None, *, committed: bool = False
) -> list[Problem]:
    """Every rule on protocol/rights/, signatures judged at ``head``; the records are read from the
    working tree, or with ``committed`` as ``head`` holds them (the gate: whatever is checked out)."""
    problems: list[Problem] = []
    for rel, data in attribution.records(root, RIGHTS_DIR, head if committed else None):
        try:
            right = yamlfiles.parse_model(Right, data, rel)
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        problems += record_problems(isp, right, rel) + signature_problems(root, right, rel, head, base)
        problems += discussion_problems(root, isp, right)
    return problems
