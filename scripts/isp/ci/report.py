"""What the gate reports: per-file checks, notices for reviewers, the whole pull request's verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from isp.errors import ErrorCode, Problem
from isp.history.provenance import CommitInfo
from isp.protocol import models as protocol

OwnChanges = Mapping[str, Sequence[tuple[str, str]]]  # commit -> (status, path) it changes itself


@dataclass(frozen=True)
class Notice:
    """A change that needs a reviewer's attention (not a failure)."""

    path: str
    message: str
    loud: bool = False

    def __str__(self) -> str:
        return f"{'REVIEW CAREFULLY' if self.loud else 'review'}: {self.path}: {self.message}"


@dataclass
class FileCheck:
    """One changed path: its class in the path policy and what was checked (None: not applicable)."""

    path: str
    change: str
    path_class: str = "unclassified"
    checks: dict[str, bool | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(result is not False for result in self.checks.values())

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "change": self.change, "class": self.path_class, "checks": self.checks}


@dataclass
class PrReport:
    base: str
    head: str
    commits: list[CommitInfo]
    files: list[FileCheck]
    problems: list[Problem]
    notices: list[Notice]
    decrypted: bool

    @property
    def violations(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "base": self.base,
            "head": self.head,
            "decrypted": self.decrypted,
            "commits": [c.as_dict() for c in self.commits],
            "files": [f.as_dict() for f in self.files],
            "violations": [p.as_dict() for p in self.violations],
            "warnings": [p.as_dict() for p in self.warnings],
            "notices": [{"path": n.path, "message": n.message, "loud": n.loud} for n in self.notices],
        }


@dataclass
class Context:
    """What every rule reads: the repository, the two ends, the base's protocol, today."""

    root: Path
    base: str
    head: str
    start: str  # where the head left the base (the merge base): what the diff is taken against
    isp: protocol.Isp
    today: date
    can_decrypt: bool
    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    head_isp: protocol.Isp | None = None  # the head's protocol, when its key change is generated and judged
    infos: dict[str, CommitInfo] = field(default_factory=dict)  # the pull request's commits, verified by the base
    own: OwnChanges = field(default_factory=dict)  # what each of those commits changes itself
    parents: dict[str, list[str]] = field(default_factory=dict)  # each of those commits' parents

    def by_coordinator(self, sha: str) -> bool:
        """Commit ``sha`` is verified as signed by a focal point of a coordinating agency (of the base)."""
        info = self.infos[sha]
        return info.verified and info.agency in self.isp.coordinators()

    def violation(self, path: str, error: ErrorCode, fix: str | None = None, **values: object) -> None:
        self.problems.append(Problem.filled(error, path, values, fix=fix))

    def warning(self, path: str, error: ErrorCode, fix: str | None = None, **values: object) -> None:
        self.problems.append(Problem.filled(error, path, values, fix=fix, severity="warning"))

    def notice(self, path: str, message: str, loud: bool = False) -> None:
        self.notices.append(Notice(path, message, loud))


def signer_label(info: CommitInfo) -> str:
    """Who signed a commit, in the words a report uses."""
    if info.status == "N":
        return "unsigned"
    if info.verified:
        return f"{info.principal} ({info.agency}:{info.role})"
    if info.status == "G":
        return f"{info.principal} (not a focal point)"
    return "signature not from a registered key" if info.status in ("U", "E") else f"bad signature ({info.status})"
