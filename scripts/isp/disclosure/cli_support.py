"""What `isp disclosure audit|protect` do with a cross-tab CSV file (the CLI only prints)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from isp import errors
from isp.disclosure.audit import AuditReport, Violation, audit
from isp.disclosure.crosstab import read_crosstab, to_crosstab
from isp.disclosure.secondary import protect
from isp.disclosure.tables import PublishedTable
from isp.errors import IspError, Problem, ValidationFailed
from isp.fsutil import write_atomic
from isp.protocol.models import DisclosureProfile


class CellJson(TypedDict):
    cell: str
    lo: float
    hi: float | None  # None: no upper bound
    exact: bool


class ViolationJson(TypedDict):
    cell: str
    rule: str
    lo: float | None
    hi: float | None
    needed: str


class AuditJson(TypedDict):
    """``isp disclosure audit --json``."""

    ok: bool
    cells: list[CellJson]
    violations: list[ViolationJson]


class ProtectJson(TypedDict):
    """``isp disclosure protect --json``."""

    out: str
    suppressed: int
    rounds: int


@dataclass(frozen=True)
class CellResult:
    cell: str
    lo: float
    hi: float
    exact: bool

    @property
    def interval(self) -> str:
        return f"[{self.lo:g}, {'inf' if np.isinf(self.hi) else f'{self.hi:g}'}]"


@dataclass(frozen=True)
class FileAudit:
    cells: list[CellResult]
    violations: list[Violation]

    def violation_lines(self) -> list[str]:
        return [v.line(values=True) for v in self.violations]

    def as_dict(self) -> AuditJson:
        return {
            "ok": not self.violations,
            "cells": [
                {"cell": c.cell, "lo": c.lo, "hi": None if np.isinf(c.hi) else c.hi, "exact": c.exact}
                for c in self.cells
            ],
            "violations": [
                {"cell": v.cell, "rule": v.rule, "lo": v.lo, "hi": v.hi, "needed": v.needed} for v in self.violations
            ],
        }


class AuditFailed(IspError):
    """One line per violation, then a summary."""

    def __init__(self, lines: list[str], summary: str) -> None:
        self._lines = lines
        super().__init__(summary)

    def lines(self) -> list[str]:
        return self._lines


def _read(path: Path) -> PublishedTable:
    if not path.is_file():
        raise IspError(f"{path}: no such file")
    return read_crosstab(path.read_bytes(), path.name)


def audit_file(path: Path, profile: DisclosureProfile) -> FileAudit:
    """Exact intervals of every suppressed cell of a published cross-tab, and its violations."""
    report: AuditReport = audit([_read(path)], profile, exact=True)
    public = report.intervals[report.intervals["attacker"] == "public"]
    cells = [CellResult(r.cell, r.lo, r.hi, bool(r.exact)) for r in public.itertuples()]
    return FileAudit(cells, report.violations)


def protect_file(path: Path, out: Path, profile: DisclosureProfile, force: bool) -> ProtectJson:
    """Protect a complete cross-tab and write it (suppressed cells as ``x``), atomically."""
    published = _read(path)
    if not published.table.known:
        raise IspError(f"{path.name}: every cell must be given to protect a table (none empty or `x`)")
    _check_margins(published)
    if out.exists() and not force:
        raise IspError(f"{out}: already exists (use --force to replace it)")
    result = protect([published.table], profile)
    if not result.report.ok:
        raise AuditFailed(result.report.lines(values=False), "the protected table still fails its audit")
    write_atomic(out, to_crosstab(result.tables[0]), 0o600)
    return {"out": str(out), "suppressed": result.suppressed, "rounds": result.rounds}


def _check_margins(published: PublishedTable) -> None:
    truth = published.table.values()
    wrong = [labels for labels, v in published.shown.items() if v != truth[labels]]
    if wrong:
        problems = [
            Problem.of(
                errors.CROSSTAB,
                published.name,
                column=labels[-1],
                fix="correct the figures or the total",
                detail="this total is not the sum of its row or column",
            )
            for labels in wrong
        ]
        raise ValidationFailed(problems, f"{len(wrong)} total(s) do not add up")
