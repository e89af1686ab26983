"""The attacker's optimisation on one reduced component (:mod:`isp.disclosure.reduce`).

The attacker knows every published cell (``E z = e``: cells and relations), published
percentages (``G z <= g``), that each suppressed cell is at least ``L`` (``S z >= L``), that
the leaves are whole numbers, and, for an insider, its own figures (``z >= lb``). For each
suppressed cell it wants the smallest and largest value consistent with all of that.

Exactly answering two integer programs per cell and attacker is slow, and rarely needed: a
cell is *safe* as soon as two whole-number tables that fit everything published differ enough
in that cell, and *unsafe* as soon as a bound the attacker can prove falls short. So, per
attacker:

1. **Witnesses** (:mod:`isp.disclosure.witness`): the true table, and tables built by moving
   units between interchangeable leaves, each verified against every constraint.
2. **LP screening** (HiGHS, :mod:`isp.disclosure.lp`, warm-started): if even the relaxation
   cannot reach, the cell is certainly unsafe, and the LP's dual values name the published cells
   that pin it (the candidates for secondary suppression, and the certificate that keeps the
   bound valid while they stay published). An integral LP optimum is itself a witness; a
   fractional one is nudged (a perturbed objective) towards a whole-number vertex.
3. **Integer programs** (``scipy.optimize.milp``, HiGHS) only to settle what is still open.

With ``exact=True`` (or without the true figures) every interval is solved to optimality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

from isp.disclosure import lp
from isp.disclosure.lp import LinearProgram, linprog_retry, milp_retry
from isp.disclosure.reduce import Component
from isp.disclosure.witness import Moves
from isp.errors import IspError

INF = float("inf")
TOL = 1e-6
MILP_SECONDS = 30.0
NUDGES = 3  # perturbed LP re-solves tried before an integer program


@dataclass
class Need:
    """Per target: a value >= ``up`` and a value <= ``down`` must stay possible, and ``width`` apart.

    ``floor`` (the true value minus the width, for primary cells) lets ``down`` rise to the
    cell's *structural* minimum: what the suppression pattern alone implies (a cell made of
    two suppressed parts, each known to be at least 1, is at least 2 whatever is published).
    """

    up: np.ndarray
    down: np.ndarray
    width: np.ndarray
    floor: np.ndarray


@dataclass
class Outcome:
    """One attacker's view of each target: an interval and what failed.

    ``lo``/``hi`` are exact where ``exact``; otherwise a side that passed shows a value a
    whole-number table reaches (the true interval is at least that wide), and a side that
    failed shows the bound the attacker can prove.
    """

    lo: np.ndarray
    hi: np.ndarray
    exact: np.ndarray
    failed: dict[int, list[str]] = field(default_factory=dict)  # target -> ["upper"|"lower"|"width"]
    blockers: dict[int, list[int]] = field(default_factory=dict)  # target -> published model cells


class Attacker:
    """One attacker (public, or an insider with lower bounds) on one reduced component.

    ``seen_*`` are extremes reached by verified whole-number tables; ``proven_*`` are bounds the
    attacker can prove (LP or integer optimum). A side is exact when the two meet.
    """

    def __init__(self, comp: Component, name: str) -> None:
        self.c = comp
        self.lb = lb = comp.lbs[name]
        self.g = comp.g[name]
        self.n = comp.S.shape[1]
        self.m = comp.S.shape[0]
        self.empty = np.diff(comp.S.indptr) == 0
        self.active = np.flatnonzero(~self.empty)
        self.S_live = comp.S[self.active]
        self.L_live = comp.L[self.active]
        self.seen_lo = np.where(self.empty, 0.0, INF)
        self.seen_hi = np.where(self.empty, 0.0, -INF)
        self.proven_lo = np.where(self.empty, 0.0, -INF)
        self.proven_hi = np.where(self.empty, 0.0, INF)
        self.blockers: dict[int, list[int]] = {}
        self._moves: Moves | None = None
        # the published rows (E over G), whether each has only non-negative coefficients, their
        # slack over the lower bounds and their cells
        self._rows: tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._lp: LinearProgram | None = None
        self._struct: dict[int, float] = {}
        self.struct_hint: dict[int, float] = {}
        self.proofs: dict[tuple[int, bool], tuple[float, frozenset[int]]] = {}
        self._overlap = (comp.S @ comp.S.T).tocsr()
        needed = _irredundant(self.S_live, self.L_live, lb)
        self._ub = sp.vstack([comp.G, -self.S_live[needed]]).tocsr()
        self._b_ub = np.concatenate([self.g, -self.L_live[needed]])
        self._bounds = np.column_stack([lb, np.full(self.n, np.inf)])
        self.y0 = comp.S @ comp.truth if comp.truth is not None else np.zeros(self.m)
        self.points: list[np.ndarray] = []
        if comp.truth is not None:
            self._add(comp.truth)

    # -- whole-number tables ---------------------------------------------------------------

    def _add(self, z: np.ndarray) -> None:
        y = self.c.S @ z
        self.seen_lo = np.minimum(self.seen_lo, y)
        self.seen_hi = np.maximum(self.seen_hi, y)
        self.points.append(z)

    def adopt(self, points: list[np.ndarray]) -> None:
        """Take the tables another attacker found, where they fit what this one knows."""
        if not points:
            return
        Z = np.column_stack(points)
        c = self.c
        ok = (self.lb[:, None] - TOL <= Z).all(axis=0)
        ok &= (np.abs(c.E @ Z - c.e[:, None]) < TOL).all(axis=0)
        ok &= (self.g[:, None] + TOL >= c.G @ Z).all(axis=0)
        ok &= (self.S_live @ Z >= self.L_live[:, None] - TOL).all(axis=0)
        if ok.any():
            Y = c.S @ Z[:, ok]
            self.seen_lo = np.minimum(self.seen_lo, Y.min(axis=1))
            self.seen_hi = np.maximum(self.seen_hi, Y.max(axis=1))
            self.points += [Z[:, j] for j in np.flatnonzero(ok)]

    def assume(self, t: int, up: bool, value: float, cells: frozenset[int]) -> None:
        """A bound proven earlier from published cells that are all still published: still proven."""
        self._prove(t, up, value)
        self.proofs[(t, up)] = (value, cells)
        self.blockers[t] = sorted(set(self.blockers.get(t, [])) | cells)

    def seed(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Values reached earlier (valid when the feasible set has only grown since)."""
        self.seen_lo = np.minimum(self.seen_lo, lo)
        self.seen_hi = np.maximum(self.seen_hi, hi)

    def _valid(self, z: np.ndarray) -> bool:
        c = self.c
        return bool(
            (z >= self.lb - TOL).all()
            and np.allclose(c.E @ z, c.e, atol=TOL)
            and (c.G @ z <= self.g + TOL).all()
            and (self.S_live @ z >= self.L_live - TOL).all()
        )

    def _witness(self, t: int, goal: float, up: bool) -> bool:
        """Try to build a table reaching ``goal`` in target ``t`` by moving units; keep it if valid."""
        if self.c.truth is None or self.empty[t]:
            return False
        if self._moves is None:
            self._moves = Moves(self.c, self.lb, self.g)
        z = self._moves.reach(t, goal, up)
        if z is None or not self._valid(z):
            return False
        self._add(z)
        return self._reached(t, goal, up)

    def _reached(self, t: int, goal: float, up: bool) -> bool:
        return bool(self.seen_hi[t] >= goal - TOL) if up else bool(self.seen_lo[t] <= goal + TOL)

    def _beyond(self, t: int, goal: float, up: bool) -> bool:
        """Whether the attacker can prove ``goal`` unreachable."""
        return bool(self.proven_hi[t] < goal - TOL) if up else bool(self.proven_lo[t] > goal + TOL)

    # -- optimisation ----------------------------------------------------------------------

    def _objective(self, t: int, up: bool) -> np.ndarray:
        row = np.zeros(self.n)
        cols, vals = self.c.row(t)
        row[cols] = vals
        return -row if up else row

    def _prove(self, t: int, up: bool, value: float) -> None:
        if up:
            self.proven_hi[t] = min(self.proven_hi[t], value)
        else:
            self.proven_lo[t] = max(self.proven_lo[t], value)

    def _solve(self, t: int, up: bool, goal: float | None) -> None:
        """LP first (a bound, and a table when integral), then an integer program if still open."""
        obj = self._objective(t, up)
        if self._lp is None:
            self._lp = LinearProgram(self.c.E, self.c.e, self._ub, self._b_ub, self.lb)
        res = self._lp.minimize(obj)
        if res.status == lp.UNBOUNDED:  # a whole-number ray exists, so any height is reachable
            if up and (self.c.truth is not None or np.isfinite(self.seen_hi[t])):
                self.seen_hi[t] = INF
                return
            return self._integer(t, up, obj, None)
        if res.status != lp.OPTIMAL or res.x is None:
            raise IspError("the published figures are inconsistent: no table fits them (check the totals)")
        value = -res.value if up else res.value
        bound = float(np.floor(value + TOL) if up else np.ceil(value - TOL))
        self._prove(t, up, bound)
        binding = self._binding(res)
        self.proofs[(t, up)] = (bound, frozenset(binding))
        if goal is not None and self._beyond(t, goal, up):
            self.blockers[t] = binding
        if np.allclose(res.x, np.round(res.x), atol=TOL):
            self._add(np.round(res.x))
            return
        if goal is None:
            self._integer(t, up, obj, None)
        elif not (self._beyond(t, goal, up) or self._reached(t, goal, up) or self._nudged(t, up, obj, goal)):
            self._integer(t, up, obj, goal)

    def _nudged(self, t: int, up: bool, obj: np.ndarray, goal: float) -> bool:
        """A fractional LP optimum often has a whole-number neighbour vertex: try once with the
        objective slightly perturbed before an integer program."""
        assert self._lp is not None
        rng = np.random.default_rng(t)
        for _ in range(NUDGES):
            res = self._lp.minimize(obj + 1e-4 * rng.random(self.n))
            if res.status == lp.OPTIMAL and res.x is not None and np.allclose(res.x, np.round(res.x), atol=TOL):
                z = np.round(res.x)
                if self._valid(z):
                    self._add(z)
            if self._reached(t, goal, up):
                return True
        return False

    def _row_bound(self, t: int) -> None:
        """Upper bounds from single published rows that contain the target (no LP needed).

        A published row ``r`` with non-negative coefficients, 1 on every leaf of the target, gives
        ``y_t <= rhs_r - sum of the lower bounds of its other leaves``.
        """
        if self._rows is None:
            M = sp.vstack([self.c.E, self.c.G]).tocsr()
            nonneg = np.array([(M.data[M.indptr[r] : M.indptr[r + 1]] >= 0).all() for r in range(M.shape[0])], bool)
            rhs = np.concatenate([self.c.e, self.g])
            self._rows = (M, nonneg, rhs - M @ self.lb, np.concatenate([self.c.e_cells, self.c.g_cells]))
        M, nonneg, slack, cells = self._rows
        cols, vals = self.c.row(t)
        sub = M[:, cols]
        counts = np.diff(sub.indptr)
        ones = np.asarray((sub == 1).sum(axis=1)).ravel()
        full = np.flatnonzero(nonneg & (counts == len(cols)) & (ones == len(cols)) & (vals == 1).all())
        if not len(full):
            return
        bounds = slack[full] + float(self.lb[cols].sum())
        best = int(np.argmin(bounds))
        value = float(np.floor(bounds[best] + TOL))
        if value < self.proven_hi[t]:
            self.proofs[(t, True)] = (value, frozenset({int(cells[full[best]])} - {-1}))
        self._prove(t, True, value)
        self.blockers[t] = [int(c) for c in cells[full[bounds <= bounds[best] + TOL]] if c >= 0]

    def _binding(self, res: lp.Result) -> list[int]:
        """Published cells whose constraint is binding at the LP optimum (non-zero dual value)."""
        n_g = self.c.G.shape[0]
        eq = np.flatnonzero(np.abs(res.eq_duals) > 1e-9)
        ub = np.flatnonzero(np.abs(res.ub_duals[:n_g]) > 1e-9)
        cells = np.concatenate([self.c.e_cells[eq], self.c.g_cells[ub]])
        return [int(c) for c in cells if c >= 0]

    def _integer(self, t: int, up: bool, obj: np.ndarray, goal: float | None) -> None:
        """Integer optimum: capped at ``goal`` first (stops early), uncapped when the cap is not met."""
        if goal is not None and self._milp(t, obj, up, goal) and self._reached(t, goal, up):
            return
        self._milp(t, obj, up, None)

    def _milp(self, t: int, obj: np.ndarray, up: bool, cap: float | None) -> bool:
        """Solve; True when solved to optimality (proven), False on a time limit or an empty cap."""
        row = int(np.searchsorted(self.active, t))
        lower, upper = self.L_live.astype(float), np.full(len(self.active), np.inf)
        if cap is not None:
            if up:
                upper[row] = cap
            else:
                lower[row] = max(lower[row], cap)
        cons = [LinearConstraint(self.S_live, lower, upper)]
        if self.c.E.shape[0]:
            cons.append(LinearConstraint(self.c.E, self.c.e, self.c.e))
        if self.c.G.shape[0]:
            cons.append(LinearConstraint(self.c.G, -np.inf, self.g))
        res = milp_retry(
            obj,
            integrality=np.ones(self.n),
            bounds=Bounds(self.lb, np.inf),
            constraints=cons,
            options={"time_limit": MILP_SECONDS},
        )
        if res.x is not None:
            self._add(np.round(res.x))
        if res.status == 0 and cap is None:
            value = -res.fun if up else res.fun
            self._prove(t, up, float(round(value)))
        if res.status == 3 and up:
            self.seen_hi[t] = INF
        if res.status == 2 and cap is None:
            raise IspError("the published figures are inconsistent: no table fits them (check the totals)")
        return bool(res.status == 0)

    def structural_min(self, t: int) -> float:
        """The least value the suppression pattern and the relations allow with nothing published."""
        if t in self._struct:
            return self._struct[t]
        structural = np.flatnonzero(self.c.g_struct)
        A_ub = sp.vstack([self.c.G[structural], -self.S_live]).tocsr()
        b_ub = np.concatenate([self.g[structural], -self.L_live])
        obj = self._objective(t, False)
        res = linprog_retry(obj, A_ub=A_ub, b_ub=b_ub, bounds=self._bounds)
        value = float(np.ceil(res.fun - TOL)) if res.status == 0 else 0.0
        if res.status == 0 and not np.allclose(res.x, np.round(res.x), atol=TOL):
            out = milp_retry(
                obj,
                integrality=np.ones(self.n),
                bounds=Bounds(self.lb, np.inf),
                constraints=[LinearConstraint(A_ub, -np.inf, b_ub)],
                options={"time_limit": MILP_SECONDS},
            )
            value = float(round(out.fun)) if out.status == 0 else value
        self._struct[t] = value
        return value

    # -- criteria --------------------------------------------------------------------------

    def ensure(self, t: int, goal: float, up: bool) -> bool:
        """Whether some whole-number table reaches ``goal`` (>= if up, <= if down) in target ``t``."""
        if self._reached(t, goal, up):
            return True
        if up and t not in self.blockers:
            self._row_bound(t)
        if self._beyond(t, goal, up) or self.empty[t]:
            return False
        if self._witness(t, goal, up):
            return True
        self._solve(t, up, goal)
        return self._reached(t, goal, up)

    def exact(self, t: int) -> None:
        """The exact interval of target ``t`` (the lower side first: it finds a table)."""
        for up in (False, True):
            seen, proven = (self.seen_hi, self.proven_hi) if up else (self.seen_lo, self.proven_lo)
            if self.empty[t] or seen[t] == proven[t]:
                continue
            self._solve(t, up, None)

    def run(self, need: Need, exact: bool, inherited: Outcome | None = None) -> Outcome:
        """Check every target against ``need`` (witnesses first unless ``exact``).

        ``inherited``: the public attacker's outcome, for an insider in the fast mode. An insider
        knows more than the public, so a bound the public already fails is failed too: it is
        marked without solving again (its interval is then the public's).
        """
        if exact or self.c.truth is None:
            for t in range(self.m):
                self.exact(t)
            inherited = None
        else:
            self._cheap_pass(need, inherited)
        failed: dict[int, list[str]] = {}
        for t in range(self.m):
            known = inherited.failed.get(t, []) if inherited else []
            sides = self._check(t, need, [s for s in known if s != "width"])
            if sides:
                failed[t] = sides
                if known and inherited is not None:  # known only comes from inherited
                    self.blockers[t] = self.blockers.get(t, []) + inherited.blockers.get(t, [])
        return self._outcome(failed, inherited)

    def _cheap_pass(self, need: Need, inherited: Outcome | None) -> None:
        """Moves for every open goal first: the tables they build often settle other cells too."""
        for t in range(self.m):
            if inherited is not None and t in inherited.failed:
                continue
            v = float(self.y0[t])
            up = need.up[t] if not np.isnan(need.up[t]) else (v + need.width[t] if need.width[t] > 0 else np.nan)
            if not np.isnan(up) and not self._reached(t, up, True):
                self._witness(t, up, True)
            down = need.down[t]
            if not np.isnan(down) and not self._reached(t, down, False):
                structural = self.packing(t) if not np.isnan(need.floor[t]) else down
                self._witness(t, max(down, structural), False)

    def _check(self, t: int, need: Need, known: list[str] | None = None) -> list[str]:
        failed = list(known or [])
        if "upper" not in failed and not np.isnan(need.up[t]) and not self.ensure(t, need.up[t], True):
            failed.append("upper")
        if "lower" not in failed and not np.isnan(need.down[t]) and not self._lower(t, need):
            failed.append("lower")
        if need.width[t] > 0 and not failed and not self._spread(t, need.width[t]):
            failed.append("width")
        return failed

    def _lower(self, t: int, need: Need) -> bool:
        if self.ensure(t, need.down[t], False):
            return True
        if np.isnan(need.floor[t]):
            return False
        goal = max(self.packing(t), self.struct_hint.get(t, 0.0), need.floor[t])
        if goal > need.down[t] and self.ensure(t, goal, False):
            return True
        exact = max(self.structural_min(t), need.floor[t])
        return exact > goal and self.ensure(t, exact, False)

    def packing(self, t: int) -> float:
        """A quick lower bound on the structural minimum: disjoint suppressed parts of the target,
        each at least its bound (or the attacker's own share), plus the own share of the rest."""
        size = np.diff(self.c.S.indptr)
        row = self._overlap
        cols = row.indices[row.indptr[t] : row.indptr[t + 1]]
        vals = row.data[row.indptr[t] : row.indptr[t + 1]]
        parts = sorted((c for c, v in zip(cols, vals, strict=True) if c != t and v == size[c]), key=lambda c: size[c])
        taken: set[int] = set()
        total = 0.0
        for c in parts:
            members = set(self.c.S.indices[self.c.S.indptr[c] : self.c.S.indptr[c + 1]].tolist())
            if members & taken:
                continue
            taken |= members
            total += max(self.c.L[c], float(self.lb[list(members)].sum()))
        rest = [j for j in self.c.S.indices[self.c.S.indptr[t] : self.c.S.indptr[t + 1]] if j not in taken]
        floor: float = self.c.L[t]
        return max(total + float(self.lb[rest].sum()), floor)

    def _spread(self, t: int, width: float) -> bool:
        """Whether the target can take two values at least ``width`` apart."""
        if self.seen_hi[t] - self.seen_lo[t] >= width - TOL:
            return True
        if self.proven_hi[t] - self.proven_lo[t] < width - TOL:
            return False
        if self.c.truth is None:
            self.exact(t)
            return bool(self.seen_hi[t] - self.seen_lo[t] >= width - TOL)
        value = float(self.y0[t])
        if self.ensure(t, value + width, True):
            return True
        if self.seen_hi[t] < self.proven_hi[t]:  # the highest value is not known exactly yet
            self._solve(t, True, None)
        return self.ensure(t, self.seen_hi[t] - width, False)

    def _outcome(self, failed: dict[int, list[str]], inherited: Outcome | None = None) -> Outcome:
        lo, hi = self.seen_lo.copy(), self.seen_hi.copy()
        for t, sides in failed.items():
            if "upper" in sides or "width" in sides:
                hi[t] = min(self.proven_hi[t], inherited.hi[t]) if inherited else self.proven_hi[t]
            if "lower" in sides or "width" in sides:
                lo[t] = max(self.proven_lo[t], inherited.lo[t]) if inherited else self.proven_lo[t]
        exact = (self.seen_lo == self.proven_lo) & (self.seen_hi == self.proven_hi)
        blockers = {t: self.blockers.get(t, []) for t in failed}
        return Outcome(lo, hi, exact, failed, blockers)


def _irredundant(S: sp.csr_matrix, L: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Rows of ``S z >= L`` not implied by another (a suppressed part already forces its total)."""
    size = np.diff(S.indptr)
    own = S @ lb
    overlap = (S @ S.T).tocsr()
    keep = np.ones(S.shape[0], bool)
    for t in range(S.shape[0]):
        if own[t] >= L[t]:
            keep[t] = False
            continue
        cols = overlap.indices[overlap.indptr[t] : overlap.indptr[t + 1]]
        vals = overlap.data[overlap.indptr[t] : overlap.indptr[t + 1]]
        inner = (cols != t) & (vals == size[cols]) & (L[cols] >= L[t]) & ((size[cols] < size[t]) | (cols < t))
        keep[t] = not inner.any()
    return np.flatnonzero(keep)
