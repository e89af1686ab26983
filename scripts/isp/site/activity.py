"""Who did what and when, from git history (contract B): submission timeliness and the audit timeline.

No figure is read here: only paths, signatures and dates. Timeliness compares the first version
of each submission, signed by a registered focal point, with its due date (the 7th of the next
month, moved to the next working day); later versions mark it revised.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import git

from isp import calendar, protocol, provenance
from isp.errors import IspError
from isp.periods import month_range

log = logging.getLogger("mkdocs.isp.site")
AMMAN = ZoneInfo("Asia/Amman")
TIMELINE_LIMIT = 400


@dataclass(frozen=True)
class Submission:
    agency: str
    month: str
    state: str  # on_time | late | missing | not_due | suspended
    due: date
    submitted: date | None = None
    versions: int = 0
    verified: bool = True
    signer: str | None = None

    @property
    def revised(self) -> bool:
        return self.versions > 1


@dataclass(frozen=True)
class AuditEntry:
    sha: str
    when: datetime
    signer: str | None  # "IRC:primary" when the signature is good and registered
    status: str  # git's %G? letter
    changes: list[str] = field(default_factory=list)


def _amman_day(moment: datetime) -> date:
    return moment.astimezone(AMMAN).date()


def _state(versions: list[provenance.CommitInfo], due: date, today: date, suspended: bool) -> str:
    if suspended and not versions:
        return "suspended"
    if not versions:
        return "missing" if today > due else "not_due"
    first = next((v for v in versions if v.verified), versions[0])
    return "on_time" if _amman_day(first.committed) <= due else "late"


def _one(
    agency: str, month: str, versions: list[provenance.CommitInfo], cal: calendar.WorkingCalendar, today: date, isp
) -> Submission:
    due = cal.submission_due(month)
    suspended = isp.agencies[agency].suspended_in(month) is not None
    first = next((v for v in versions if v.verified), versions[0] if versions else None)
    return Submission(
        agency,
        month,
        _state(versions, due, today, suspended),
        due,
        _amman_day(first.committed) if first else None,
        len(versions),
        all(v.verified for v in versions),
        f"{first.agency}:{first.role}" if first and first.verified else None,
    )


def timeliness(root: Path, isp: protocol.Isp, months: list[str], today: date) -> dict[str, list[Submission]]:
    """agency -> one record per month of ``months`` (submitting agencies only)."""
    if not months:
        return {}
    try:
        versions = provenance.submission_versions(root)
    except IspError as exc:
        log.info("no submission history: %s", exc)
        versions = {}
    cal = calendar.WorkingCalendar(isp)
    return {
        agency: [_one(agency, month, versions.get((agency, month), []), cal, today, isp) for month in months]
        for agency in isp.submitters()
    }


def history_months(first: str | None, today: date, limit: int = 24) -> list[str]:
    """The months whose submissions the site reports on: the last ``limit`` up to last month."""
    last = f"{today:%Y-%m}"
    months = month_range(first or last, last)[:-1]
    return months[-limit:]


# --- audit timeline -------------------------------------------------------------------------


def _summary(paths: list[tuple[str, str]]) -> list[str]:
    verbs = {"A": "added", "M": "changed", "D": "removed"}
    lines: list[str] = []
    bulk: Counter[str] = Counter()
    for status, path in paths:
        parts = path.split("/")
        verb = verbs.get(status, "changed")
        if parts[0] == "submissions" and len(parts) == 3 and path.endswith(".csv"):
            lines.append(f"submission {parts[1]} {parts[2].removesuffix('.csv')} {verb}")
        elif parts[0] == "requests" and path.endswith(".yaml"):
            lines.append(f"request {parts[-1].removesuffix('.yaml')} {verb}")
        elif path.startswith("protocol/breaches/") and path.endswith(".yaml"):
            lines.append(f"breach {parts[-1].removesuffix('.yaml')} {verb}")
        elif parts[0] == "protocol" and len(parts) == 2:
            lines.append(f"{path} {verb}")
        else:
            bulk[parts[0] if len(parts) > 1 else path] += 1
    lines += [f"{name} ({count} file{'s' if count > 1 else ''})" for name, count in sorted(bulk.items())]
    return lines


def _log(root: Path, limit: int) -> list[tuple[str, datetime, list[tuple[str, str]]]]:
    repo = git.Repo(root)
    try:
        out = repo.git.log(f"-n{limit}", "--no-renames", "--name-status", "--format=%x01%H%x00%cI")
    finally:
        repo.close()
    commits: list[tuple[str, datetime, list[tuple[str, str]]]] = []
    for line in out.splitlines():
        if line.startswith("\x01"):
            sha, when = line[1:].split("\x00")
            commits.append((sha, datetime.fromisoformat(when), []))
        elif "\t" in line and commits:
            status, path = line.split("\t", 1)
            commits[-1][2].append((status[:1], path))
    return commits


def timeline(root: Path, limit: int = TIMELINE_LIMIT) -> list[AuditEntry]:
    """The latest ``limit`` commits: when, whose signature, what changed (paths only), newest first."""
    try:
        commits = _log(root, limit)
        infos = provenance.verify(root, [sha for sha, _, _ in commits], provenance.allowed_signers_at(root, "HEAD"))
    except (git.GitError, IspError, ValueError) as exc:
        log.info("no audit timeline: %s", exc)
        return []
    entries = []
    for sha, when, paths in commits:
        info = infos.get(sha)
        signer = f"{info.agency}:{info.role}" if info and info.verified else None
        entries.append(AuditEntry(sha, when, signer, info.status if info else "N", _summary(paths)))
    return entries
