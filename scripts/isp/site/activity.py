"""Who did what and when, from git history (contract B): submission timeliness and the audit timeline.

No figure is read here: only paths, signatures and dates. Timeliness is the CI helper's
``isp.sheets.status.history`` (first verified version against the due date, in working days).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from isp.errors import IspError
from isp.history import git, provenance
from isp.protocol.periods import month_range
from isp.sheets import status

log = logging.getLogger("mkdocs.isp.site")
TIMELINE_LIMIT = 400


@dataclass(frozen=True)
class AuditEntry:
    sha: str
    when: datetime
    signer: str | None  # "IRC:primary" when the signature is good and registered
    status: str  # git's %G? letter
    changes: list[str] = field(default_factory=list)


def timeliness(root: Path, months: list[str], today: date) -> dict[str, list[status.AgencyStatus]]:
    """agency -> its standing for each of ``months`` (sheet-submitting agencies; ``isp.sheets.status``)."""
    if not months:
        return {}
    try:
        history = status.history(root, months, today)
    except IspError as exc:
        log.info("no submission history: %s", exc)
        return {}
    result: dict[str, list[status.AgencyStatus]] = {}
    for month in history:
        for row in month.agencies:
            result.setdefault(row.agency, []).append(row)
    return result


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
    for letter, path in paths:
        parts = path.split("/")
        verb = verbs.get(letter, "changed")
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
    commits: list[tuple[str, datetime, list[tuple[str, str]]]] = []
    for header, changes in git.log_changes(root, "%H %cI", f"-n{limit}"):
        sha, when = header.split()
        commits.append((sha, datetime.fromisoformat(when), [(c.status, c.path) for c in changes]))
    return commits


def timeline(root: Path, limit: int = TIMELINE_LIMIT) -> list[AuditEntry]:
    """The latest ``limit`` commits: when, whose signature, what changed (paths only), newest first."""
    try:
        commits = _log(root, limit)
        infos = provenance.verify(root, [sha for sha, _, _ in commits], provenance.allowed_signers_at(root, "HEAD"))
    except (IspError, ValueError) as exc:
        log.info("no audit timeline: %s", exc)
        return []
    entries = []
    for sha, when, paths in commits:
        info = infos.get(sha)
        signer = f"{info.agency}:{info.role}" if info and info.verified else None
        entries.append(AuditEntry(sha, when, signer, info.status if info else "N", _summary(paths)))
    return entries
