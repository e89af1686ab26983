"""Who submitted their monthly sheet, when, and how late: read from the signed git history.

A submission counts from the committer date of its first *verified* version: a commit signed by
a registered focal point of the agency itself (``provenance.submission_versions``). Lateness is
counted in Jordanian working days after the due date; a sheet sent on a weekend or holiday after
the deadline counts from the next working day. Dates are taken in Amman's time zone.

States: ``on-time``, ``late``, ``overdue`` (missing after the due date), ``pending`` (missing,
not yet due), ``suspended`` (the agency suspended its sharing for that month and sent nothing).
``revised`` is set when more than one verified version exists.

Used by ``isp status`` and by the site (``month_status``, ``history``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from isp.history import provenance
from isp.history.provenance import CommitInfo
from isp.protocol import loading
from isp.protocol import models as protocol
from isp.protocol.periods import add_months, is_month, month_of, month_range, parse_month
from isp.protocol.workdays import WorkingCalendar

AMMAN = ZoneInfo("Asia/Amman")
STATES = ("on-time", "late", "overdue", "pending", "suspended")
SYMBOLS = {"on-time": "✓", "late": "+{late}", "overdue": "✗", "pending": "·", "suspended": "S"}


@dataclass(frozen=True)
class AgencyStatus:
    agency: str
    month: str
    state: str
    due: date
    submitted: date | None = None  # Amman date of the first verified version
    late_days: int = 0  # working days after the due date
    versions: int = 0  # verified versions
    unverified: int = 0  # versions that do not count (unsigned, unknown key, another agency)
    suspension: str | None = None  # the written reason, when suspended

    @property
    def revised(self) -> bool:
        return self.versions > 1

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.state].format(late=self.late_days) + ("r" if self.revised else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "agency": self.agency,
            "month": self.month,
            "state": self.state,
            "due": self.due.isoformat(),
            "submitted": self.submitted.isoformat() if self.submitted else None,
            "late_working_days": self.late_days,
            "versions": self.versions,
            "revised": self.revised,
            "unverified_versions": self.unverified,
            "suspension": self.suspension,
        }


@dataclass(frozen=True)
class MonthStatus:
    month: str
    due: date
    today: date
    agencies: list[AgencyStatus]

    def as_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "due": self.due.isoformat(),
            "today": self.today.isoformat(),
            "agencies": [a.as_dict() for a in self.agencies],
        }


def _versions(root: Path, months: set[str]) -> dict[tuple[str, str], list[CommitInfo]]:
    """provenance.submission_versions, restricted to ``months`` (fewer signatures to check)."""
    commits = {key: shas for key, shas in provenance.submission_commits(root).items() if key[1] in months}
    shas = sorted({sha for versions in commits.values() for sha in versions})
    infos = provenance.verify(root, shas, provenance.allowed_signers_at(root, "HEAD"))
    return {key: [infos[sha] for sha in versions] for key, versions in commits.items()}


def agency_status(
    isp: protocol.Isp, cal: WorkingCalendar, agency: str, month: str, versions: list[CommitInfo], today: date
) -> AgencyStatus:
    """One agency's standing for one month, from that submission's versions (oldest first)."""
    due = cal.submission_due(month)
    own = [v for v in versions if v.verified and v.agency == agency]
    base = AgencyStatus(agency, month, "pending", due, versions=len(own), unverified=len(versions) - len(own))
    if own:
        submitted = own[0].committed.astimezone(AMMAN).date()
        late = cal.working_days_between(due, cal.roll_forward(submitted)) if submitted > due else 0
        state = "late" if late else "on-time"
        return replace(base, state=state, submitted=submitted, late_days=late)
    suspension = isp.agencies[agency].suspended_in(month)
    if suspension:
        return replace(base, state="suspended", suspension=suspension.reason)
    return replace(base, state="overdue" if today > due else "pending")


def _statuses(root: Path, months: list[str], today: date) -> list[MonthStatus]:
    for month in months:
        parse_month(month)
    isp = loading.load(root)
    cal = WorkingCalendar(isp)
    versions = _versions(root, set(months))
    return [
        MonthStatus(
            month,
            cal.submission_due(month),
            today,
            [agency_status(isp, cal, a, month, versions.get((a, month), []), today) for a in isp.submitters()],
        )
        for month in months
    ]


def month_status(root: Path, month: str, today: date) -> MonthStatus:
    """Every sheet-submitting agency's standing for ``month`` as of ``today``."""
    return _statuses(root, [month], today)[0]


def history(root: Path, months: list[str], today: date | None = None) -> list[MonthStatus]:
    """``month_status`` for each of ``months`` in one pass over the history."""
    from isp.protocol.workdays import today as calendar_today

    return _statuses(root, months, today or calendar_today())


def latest_due_month(root: Path, today: date) -> str:
    """The latest month whose submission deadline has passed."""
    cal = WorkingCalendar(loading.load(root))
    month = add_months(month_of(today), -1)
    while cal.submission_due(month) >= today:
        month = add_months(month, -1)
    return month


def first_month(root: Path) -> str | None:
    """The first month any agency submitted: the group's reporting starts there."""
    months = [p.stem for p in (root / "submissions").glob("*/*.csv") if is_month(p.stem)]
    return min(months, default=None)


def last_months(last: str, count: int = 12, start: str | None = None) -> list[str]:
    """Up to ``count`` months ending with ``last``, none before ``start`` (keeps ``last`` itself)."""
    months = month_range(add_months(last, 1 - count), last)
    return [m for m in months if start is None or m >= start] or [last]
