"""Secondary suppression: suppress, audit, repeat, until the attacker's audit passes.

1. Primary cells (threshold, dominance) are suppressed; cells an earlier release published or
   suppressed keep their state (``prior``).
2. Any margin or subtotal line with exactly one suppressed cell gets a second one at once (the
   cheapest), since subtraction would give it away.
3. The audit runs (see :mod:`isp.disclosure.audit`): the public attacker alone until it is
   satisfied, then the public and every agency as an insider. For each cell it finds too exposed,
   one more cell is suppressed, unless this round already added one on the same lines: a
   line-mate that the attacker's LP also found binding (non-zero dual value), else the cheapest
   line-mate, else the cheapest binding cell, else the nearest cells sharing leaves. Step 2 runs
   again, and the audit, until it passes. Each round only adds suppressions, so what a round
   proved reachable stays reachable; the audit reuses it.

Cost is the cell's value, doubled for each margin level (interior cells are preferred). A zero is
never chosen when zeros are published: every suppressed cell is then known to be at least 1, and
a hidden zero would break that (and protect nothing). Cells linked across tables are one cell,
so every table shows the same pattern.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from isp.disclosure import primary
from isp.disclosure.audit import PUBLIC, Auditor, AuditReport, Finding, published_state, report
from isp.disclosure.model import Model, build
from isp.disclosure.tables import PublishedTable, Relation, Table
from isp.errors import IspError
from isp.protocol.models import DisclosureProfile

log = logging.getLogger(__name__)  # progress of long protections (counts of cells, never a figure)

SECONDARY = "secondary"
PRIOR = "prior"
MAX_ROUNDS = 500


@dataclass(frozen=True)
class Protected:
    """The tables as they may be published, the suppression pattern, and the audit that passed."""

    tables: tuple[PublishedTable, ...]
    pattern: pd.DataFrame  # table, labels, cell, reason (threshold | dominance | secondary | prior)
    report: AuditReport
    rounds: int

    def table(self, name: str) -> PublishedTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise IspError(f"no table named '{name}'")

    @property
    def suppressed(self) -> int:
        """Distinct cells suppressed (a cell shared by linked tables counts once)."""
        return int(self.pattern["cell"].nunique()) if len(self.pattern) else 0


class _State:
    """Which cells are suppressed, why, and what may still be chosen."""

    def __init__(self, model: Model, reasons: np.ndarray, frozen: np.ndarray, zeros_published: bool) -> None:
        assert model.value is not None
        self.model = model
        self.value = model.value
        self.reason = reasons.astype(object)
        self.suppressed = reasons != ""
        self.frozen = frozen
        has_leaves = np.diff(model.A.indptr) > 0
        self.eligible = ~frozen & has_leaves & ((self.value > 0) if zeros_published else True)
        self.cost = self.value * np.power(2.0, model.level)
        self.lines_of: dict[int, list[int]] = {}
        for total, parts in model.lines:
            for member in (total, *parts):
                self.lines_of.setdefault(member, []).extend([total, *parts])
        A = (model.A != 0).astype(float)
        link = sp.identity(model.n_vars, format="csr") + ((model.R != 0).astype(float).T @ (model.R != 0)).tocsr()
        self.near = (A @ link @ A.T).tocsr()  # cells sharing a leaf, directly or through a relation

    def can(self, cell: int) -> bool:
        return bool(self.eligible[cell] and not self.suppressed[cell])

    def add(self, cell: int) -> None:
        self.suppressed[cell] = True
        self.reason[cell] = SECONDARY

    def cheapest(self, cells: Sequence[int]) -> int | None:
        options = sorted({c for c in cells if self.can(c)}, key=lambda c: (self.cost[c], c))
        return options[0] if options else None

    def neighbours(self, cell: int) -> list[int]:
        """The nearest cells that may still be suppressed, in rings of cells sharing leaves."""
        seen = {cell}
        ring = [cell]
        while ring:
            nxt = {int(c) for r in ring for c in self.near.indices[self.near.indptr[r] : self.near.indptr[r + 1]]}
            ring = sorted(nxt - seen)
            seen.update(ring)
            options = [c for c in ring if self.can(c)]
            if options:
                return options
        return []


def protect(
    tables: Sequence[Table],
    profile: DisclosureProfile,
    contributions: pd.DataFrame | None = None,
    *,
    relations: Sequence[Relation] = (),
    prior: Sequence[PublishedTable] = (),
    exact: bool = False,
) -> Protected:
    """Primary and secondary suppression of ``tables`` until the audit passes (see the module docstring)."""
    model = build([*tables, *(p.table for p in prior)], relations, contributions)
    if model.value is None:
        raise IspError("protection needs the true figures (a table built from a frame)")
    own = None if model.contrib is None else model.A @ model.contrib
    reasons = primary.reasons(model.value, model.site_level, own, profile)
    prior_shown, prior_hidden = np.full(model.n_cells, np.nan), np.zeros(model.n_cells, bool)
    if prior:
        prior_shown, prior_hidden = published_state(model, prior)
    is_primary = reasons != ""
    start = np.where(~np.isnan(prior_shown), "", reasons).astype(object)
    start[prior_hidden & (start == "")] = PRIOR
    state = _State(model, start, ~np.isnan(prior_shown) | prior_hidden, profile.zeros_published)
    _singletons(state)
    auditor = Auditor(model, profile, grows=True)
    rounds, findings = _rounds(state, auditor, is_primary, bool(prior))
    if exact:
        findings = auditor.run(_shown(state), state.suppressed, is_primary, True)
    unsafe = [(int(c), str(reasons[c])) for c in np.flatnonzero(is_primary & ~state.suppressed)]
    if unsafe:
        cells = ", ".join(model.names[c] for c, _ in unsafe[:3])
        raise IspError(
            f"cannot protect {cells}: an earlier release published it although the {unsafe[0][1]} rule hides it"
        )
    rep = report(model, findings, unsafe, auditor.width)
    return Protected(_published(model, tables, state), _pattern(model, tables, state), rep, rounds)


def _shown(state: _State) -> np.ndarray:
    return np.where(state.suppressed, np.nan, state.value)


def _singletons(state: _State) -> None:
    """A line (total and its parts) with one suppressed cell gets a second, cheapest first."""
    changed = True
    while changed:
        changed = False
        for total, parts in state.model.lines:
            members = [total, *parts]
            if sum(bool(state.suppressed[m]) for m in members) != 1:
                continue
            best = state.cheapest(members)
            if best is not None:
                state.add(best)
                changed = True


def _rounds(
    state: _State, auditor: Auditor, is_primary: np.ndarray, has_prior: bool = False
) -> tuple[int, list[Finding]]:
    """Public attacker only until it is satisfied (cheap), then every attacker until all are."""
    insiders = False
    for rounds in range(1, MAX_ROUNDS + 1):
        findings = auditor.run(_shown(state), state.suppressed, is_primary, False, insiders)
        failing = sorted((f for f in findings if f.failed), key=lambda f: (f.cell, f.attacker != PUBLIC, f.attacker))
        if not failing and not insiders and state.model.contrib is not None:
            insiders = True
            continue
        if not failing:
            return rounds, findings
        attackers = "every attacker" if insiders else "the public attacker"
        hidden = int(state.suppressed.sum())
        log.info("round %d: %d cells hidden, %d still exposed to %s", rounds, hidden, len(failing), attackers)
        if not _complements(state, failing):
            cells = ", ".join(sorted({state.model.names[f.cell] for f in failing})[:3])
            raise IspError(f"cannot protect {cells}: {_why_stuck(has_prior)}")
        _singletons(state)
    raise IspError(f"secondary suppression did not settle in {MAX_ROUNDS} rounds")


def _why_stuck(has_prior: bool) -> str:
    why = "every cell that could hide it is already suppressed, or is a published zero"
    if has_prior:
        return f"{why}; an earlier release may give it away"
    return f"{why}: the breakdown is too fine for this profile; ask for a coarser geography or fewer breakdowns"


def _complements(state: _State, failing: list[Finding]) -> bool:
    """One more suppressed cell per exposed cell, unless this round already added one next to it.

    The choice: a cell sharing a margin line with the exposed cell that the attacker's LP also
    found binding, else the cheapest such line-mate, else the cheapest binding cell, else the
    cheapest of the nearest cells sharing leaves with it (in widening rings).
    """
    added: set[int] = set()
    for finding in failing:
        near = set(state.lines_of.get(finding.cell, [])) | set(finding.blockers)
        if added & near:
            continue
        mates = [c for c in state.lines_of.get(finding.cell, []) if state.can(c)]
        binding = [c for c in finding.blockers if state.can(c)]
        both = [c for c in mates if c in set(binding)]
        best = state.cheapest(both or mates or binding or state.neighbours(finding.cell))
        if best is not None:
            state.add(best)
            added.add(best)
    return bool(added)


def _published(model: Model, tables: Sequence[Table], state: _State) -> tuple[PublishedTable, ...]:
    out = []
    for i, table in enumerate(tables):
        cells = model.cells_of[i]
        shown = {
            lab: (None if state.suppressed[c] else int(state.value[c]))
            for lab, c in zip(model.labels_of[i], cells, strict=True)
        }
        out.append(PublishedTable(table, shown))
    return tuple(out)


def _pattern(model: Model, tables: Sequence[Table], state: _State) -> pd.DataFrame:
    rows = [
        (table.name, lab, model.names[c], str(state.reason[c]))
        for i, table in enumerate(tables)
        for lab, c in zip(model.labels_of[i], model.cells_of[i], strict=True)
        if state.suppressed[c]
    ]
    return pd.DataFrame(rows, columns=["table", "labels", "cell", "reason"])
