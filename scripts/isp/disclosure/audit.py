"""The attacker's audit: what can be derived about every suppressed cell from everything published.

For each suppressed cell the attacker solves for the smallest and largest value consistent with
all published cells of all linked tables (margins included), the published percentages, the
indicator relations, whole numbers, and the known lower bound (at least 1 when zeros are
published). Attackers are the public, and each agency as an insider that also knows (and
subtracts) its own figures. With protection width ``w = max(profile.protection_width, 1)``, the
true value ``v`` and the known lower bound ``L``:

- a cell the primary rules hide (threshold, dominance) needs ``hi >= v + w`` and
  ``lo <= max(L, v - w)``; for an insider, ``L`` includes its own share of the cell, so what it
  cannot see of the cell (the other agencies' part) is protected the same way. ``L`` is also
  allowed to be the cell's *structural* minimum, what the pattern implies with nothing
  published: a total made of two suppressed parts, each known to be at least 1, is at least 2
  whatever is published, and that says nothing about the figures;
- any other suppressed cell needs ``hi - lo >= w`` against the public (so no hidden cell is
  narrowed below the width), and ``hi - lo >= 1`` against an insider (no other agency's part
  pinned exactly);
- a cell the primary rules hide must not be published at all.

Without the true figures (a table read back from its published form) every suppressed cell
needs ``hi - lo >= w``: the intervals are exact and the only check that needs no true value.
Intervals are in the cell's own units (an insider's include its own share).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from isp.disclosure import engine, primary
from isp.disclosure.model import Model, build
from isp.disclosure.percent import PercentTable, percent_rows
from isp.disclosure.reduce import reduce
from isp.disclosure.tables import PublishedTable, Relation, Table
from isp.errors import IspError
from isp.protocol.models import DisclosureProfile

PUBLIC = "public"
POINTS_SHARED = 200  # whole-number tables one attacker passes on to the next (where they fit its knowledge)


@dataclass(frozen=True)
class Violation:
    """One weakness: a cell, the attacker, the rule broken, the interval found and what was needed."""

    cell: str
    attacker: str
    rule: str  # published | upper | lower | width
    lo: float | None
    hi: float | None
    needed: str

    def interval(self) -> str:
        if self.lo is None:
            return "published"
        hi = "inf" if self.hi is None or self.hi == float("inf") else f"{self.hi:g}"
        return f"[{self.lo:g}, {hi}]"

    def line(self, values: bool = True) -> str:
        """One line for people; ``values=False`` leaves the interval out (it may reveal figures)."""
        who = "" if self.attacker == PUBLIC else f" (insider {self.attacker})"
        found = f"; the attacker finds {self.interval()}" if values and self.lo is not None else ""
        return f"{self.cell}{who}: {self.rule}{found}; needed {self.needed}"

    def __str__(self) -> str:
        return self.line(values=False)


@dataclass(frozen=True)
class AuditReport:
    """Per suppressed cell and attacker, the interval found; and every violation."""

    intervals: pd.DataFrame  # cell, attacker, role, lo, hi, exact
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def lines(self, values: bool = True) -> list[str]:
        return [v.line(values) for v in self.violations]


@dataclass
class Finding:
    """One suppressed cell seen by one attacker."""

    cell: int
    attacker: str
    role: str
    lo: float
    hi: float
    exact: bool
    failed: list[str]
    blockers: list[int]


class Layout:
    """The model split into independent components (no variable, cell or relation in common)."""

    def __init__(self, model: Model, G: sp.csr_matrix) -> None:
        incidence = sp.vstack([model.A, model.R, G]).tocsr()
        incidence.data = np.ones_like(incidence.data)
        n, labels = connected_components(incidence.T @ incidence, directed=False)
        self.var_comp = labels
        self.cell_comp = _row_component(model.A, labels)
        self.r_comp = _row_component(model.R, labels)
        self.g_comp = _row_component(G, labels)
        self.n = n


def _row_component(M: sp.csr_matrix, labels: np.ndarray) -> np.ndarray:
    first = M.indices[np.minimum(M.indptr[:-1], max(len(M.indices) - 1, 0))] if len(M.indices) else np.zeros(0, int)
    out = np.where(np.diff(M.indptr) > 0, labels[first] if len(first) else -1, -1)
    return np.asarray(out, int)


class Auditor:
    """Runs the attackers over the components of one model; reused across suppression rounds."""

    def __init__(
        self,
        model: Model,
        profile: DisclosureProfile,
        G: sp.csr_matrix | None = None,
        g: np.ndarray | None = None,
        grows: bool = False,
    ) -> None:
        """``grows=True``: each run suppresses a superset of the previous run's cells (protect's
        rounds), so values reached before stay reachable and are reused."""
        self.model = model
        self.profile = profile
        self.width = max(profile.protection_width, 1)
        self.G = G if G is not None else sp.csr_matrix((0, model.n_vars))
        self.g = g if g is not None else np.zeros(0)
        self.layout = Layout(model, self.G)
        self.value = model.value
        self.own = None if model.contrib is None else model.A @ model.contrib
        self._cache: dict[tuple[int, bytes, bytes, bool, bool], list[Finding]] = {}
        self.grows = grows
        self._seen: dict[tuple[int, str], dict[int, tuple[float, float]]] = {}
        self._proofs: dict[tuple[int, str], dict[tuple[int, bool], tuple[float, frozenset[int]]]] = {}
        self._structs: dict[tuple[int, str], dict[int, float]] = {}

    def run(
        self, shown: np.ndarray, suppressed: np.ndarray, primary_: np.ndarray, exact: bool, insiders: bool = True
    ) -> list[Finding]:
        """Findings for every suppressed cell and attacker (components unchanged since last time reused).

        ``insiders=False`` runs the public attacker only (a cheaper first pass)."""
        out: list[Finding] = []
        for comp in range(self.layout.n):
            cells = np.flatnonzero(self.layout.cell_comp == comp)
            if not suppressed[cells].any():
                continue
            key = (comp, suppressed[cells].tobytes(), np.nan_to_num(shown[cells], nan=-1).tobytes(), exact, insiders)
            if key not in self._cache:
                self._cache[key] = self._component(comp, cells, shown, suppressed, primary_, exact, insiders)
            out += self._cache[key]
        return out

    def _component(
        self,
        comp: int,
        cells: np.ndarray,
        shown: np.ndarray,
        suppressed: np.ndarray,
        primary_: np.ndarray,
        exact: bool,
        insiders: bool = True,
    ) -> list[Finding]:
        m = self.model
        vars_ = np.flatnonzero(self.layout.var_comp == comp)
        lbs = {PUBLIC: np.zeros(len(vars_))}
        if m.contrib is not None and insiders:
            for j, agency in enumerate(m.agencies):
                own = m.contrib[vars_, j]
                if own.any():
                    lbs[agency] = own
        targets = np.flatnonzero(suppressed[cells])
        L = np.full(len(targets), 1.0 if self.profile.zeros_published else 0.0)
        G = self.G[np.flatnonzero(self.layout.g_comp == comp)][:, vars_]
        g = self.g[self.layout.g_comp == comp]
        R = m.R[np.flatnonzero(self.layout.r_comp == comp)][:, vars_]
        truth = None if m.truth is None else m.truth[vars_]
        reduced = reduce(m.A[cells][:, vars_], R, cells, shown[cells], targets, L, G, g, truth, lbs)
        out: list[Finding] = []
        shared: list[np.ndarray] = []
        public: engine.Outcome | None = None
        for attacker in reduced.lbs:
            run = engine.Attacker(reduced, attacker)
            run.adopt(shared)
            before = len(run.points)
            self._reuse(comp, attacker, reduced.targets, run, shown)
            result = run.run(self._need(reduced.targets, attacker, primary_), exact, public)
            shared = shared + run.points[before:][-POINTS_SHARED:]
            if attacker == PUBLIC:
                public = result
            if self.grows:
                self._remember(comp, attacker, reduced.targets, run)
            out += self._findings(reduced.targets, attacker, primary_, result)
        return out

    def _remember(self, comp: int, attacker: str, targets: np.ndarray, run: engine.Attacker) -> None:
        """What stays true in later rounds: values reached, and bounds proven from cells still published."""
        seen = self._seen.setdefault((comp, attacker), {})
        seen.update({int(c): (run.seen_lo[t], run.seen_hi[t]) for t, c in enumerate(targets)})
        proofs = self._proofs.setdefault((comp, attacker), {})
        proofs.update({(int(targets[t]), up): proof for (t, up), proof in run.proofs.items()})
        structs = self._structs.setdefault((comp, attacker), {})
        structs.update({int(targets[t]): value for t, value in run._struct.items()})

    def _reuse(self, comp: int, attacker: str, targets: np.ndarray, run: engine.Attacker, shown: np.ndarray) -> None:
        """Seed an attacker with what earlier rounds established (the feasible set only grew since:
        values reached stay reachable; a bound stays proven while its published cells stay published;
        structural minima only rise)."""
        if not self.grows:
            return
        seen = self._seen.get((comp, attacker), {})
        lo, hi = np.full(len(targets), np.inf), np.full(len(targets), -np.inf)
        for t, cell in enumerate(targets):
            if int(cell) in seen:
                lo[t], hi[t] = seen[int(cell)]
        run.seed(lo, hi)
        position = {int(c): t for t, c in enumerate(targets)}
        for (cell, up), (value, cells) in self._proofs.get((comp, attacker), {}).items():
            if cell in position and all(not np.isnan(shown[c]) for c in cells):
                run.assume(position[cell], up, value, cells)
        structs = self._structs.get((comp, attacker), {})
        run.struct_hint.update({position[c]: v for c, v in structs.items() if c in position})

    def _need(self, targets: np.ndarray, attacker: str, primary_: np.ndarray) -> engine.Need:
        w = float(self.width)
        nan = np.full(len(targets), np.nan)
        if self.value is None:
            return engine.Need(nan, nan.copy(), np.full(len(targets), w), nan.copy())
        v = self.value[targets]
        base = 1.0 if self.profile.zeros_published else 0.0
        known = np.full(len(targets), base)
        if attacker != PUBLIC and self.own is not None:
            known = np.maximum(known, self.own[targets, self.model.agencies.index(attacker)])
        is_primary = primary_[targets]
        up = np.where(is_primary, v + w, np.nan)
        down = np.where(is_primary, np.maximum(known, v - w), np.nan)
        width = np.where(is_primary, 0.0, w if attacker == PUBLIC else 1.0)
        return engine.Need(up, down, width, np.where(is_primary, v - w, np.nan))

    def _findings(
        self, targets: np.ndarray, attacker: str, primary_: np.ndarray, result: engine.Outcome
    ) -> list[Finding]:
        role_of = "suppressed" if self.value is None else None
        return [
            Finding(
                int(cell),
                attacker,
                role_of or ("primary" if primary_[cell] else "secondary"),
                float(result.lo[t]),
                float(result.hi[t]),
                bool(result.exact[t]),
                result.failed.get(t, []),
                result.blockers.get(t, []),
            )
            for t, cell in enumerate(targets)
        ]


def report(model: Model, findings: list[Finding], published_unsafe: list[tuple[int, str]], width: int) -> AuditReport:
    """Findings and published primary cells as an :class:`AuditReport`."""
    rows = [(model.names[f.cell], f.attacker, f.role, f.lo, f.hi, f.exact) for f in findings]
    intervals = pd.DataFrame(rows, columns=["cell", "attacker", "role", "lo", "hi", "exact"])
    violations = [
        Violation(model.names[cell], PUBLIC, "published", None, None, f"suppression ({reason} rule)")
        for cell, reason in published_unsafe
    ]
    for f in findings:
        for rule in f.failed:
            violations.append(Violation(model.names[f.cell], f.attacker, rule, f.lo, f.hi, _needed(rule, f, width)))
    return AuditReport(intervals, violations)


def _needed(rule: str, finding: Finding, width: int) -> str:
    if rule == "upper":
        return f"an upper bound at least {width} above the true value"
    if rule == "lower":
        return f"a lower bound at least {width} below the true value (or the known minimum)"
    spread = width if finding.attacker == PUBLIC or finding.role == "suppressed" else 1
    return f"hi - lo >= {spread}"


def audit(
    tables: Sequence[PublishedTable],
    profile: DisclosureProfile,
    *,
    contributions: pd.DataFrame | None = None,
    percentages: Sequence[PercentTable] = (),
    relations: Sequence[Relation] = (),
    exact: bool = False,
) -> AuditReport:
    """Audit what ``tables`` and ``percentages`` publish together (see the module docstring)."""
    model = build(_model_tables(tables, percentages), relations, contributions)
    shown, suppressed = published_state(model, tables, percentages)
    G, g, pct_shown = percent_rows(model, percentages)
    auditor = Auditor(model, profile, G, g)
    reasons = _reasons(model, profile, shown)
    primary_ = reasons != ""
    unsafe = [(int(c), str(reasons[c])) for c in np.flatnonzero(primary_ & (~np.isnan(shown) | pct_shown))]
    findings = auditor.run(shown, suppressed, primary_, exact)
    return report(model, findings, unsafe, auditor.width)


def _reasons(model: Model, profile: DisclosureProfile, shown: np.ndarray) -> np.ndarray:
    """Primary reasons from the true figures; without them, the threshold rule on published counts."""
    value = model.value
    if value is None:
        return primary.reasons(np.nan_to_num(shown, nan=-1.0), model.site_level, None, profile)
    contrib = None if model.contrib is None else model.A @ model.contrib
    return primary.reasons(value, model.site_level, contrib, profile)


def _model_tables(tables: Sequence[PublishedTable], percentages: Sequence[PercentTable]) -> list[Table]:
    out: list[Table] = []
    for table in [p.table for p in tables] + [t for p in percentages for t in (p.numerator, p.denominator)]:
        if all(table is not seen for seen in out):
            out.append(table)
    return out


def published_state(
    model: Model, tables: Sequence[PublishedTable], percentages: Sequence[PercentTable] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Per model cell: the published value (NaN if none) and whether some table suppresses it."""
    shown = np.full(model.n_cells, np.nan)
    hidden = np.zeros(model.n_cells, bool)
    index = {id(t): i for i, t in enumerate(model.tables)}
    value = model.value
    for pub in tables:
        i = index[id(pub.table)]
        for labels, v in pub.shown.items():
            cell = model.cell_of(i, labels)
            if v is None:
                hidden[cell] = True
            else:
                if value is not None and value[cell] != v:
                    raise IspError(f"{model.names[cell]}: the published figure differs from the data")
                shown[cell] = v
    for pct in percentages:
        i = index[id(pct.numerator)]
        for labels in pct.suppressed_numerators():
            hidden[model.cell_of(i, labels)] = True
    return shown, hidden & np.isnan(shown)
