"""Small-count rounding (after Statistics Norway's SmallCountRounding, Langsrud and Heldal 2018).

The inner cells are the variables of :mod:`isp.disclosure.model` (the finest cells of all the
tables of a release, and the "rest" of an indicator group). Every inner cell of 1 to ``b - 1``
children (``b`` = ``profile.round_base``) is rounded to 0 or ``b``; the others keep their
value, zeros stay zeros. Every published cell is then the sum of its rounded inner cells
(``y = A r``), so each table is additive and each link between tables holds. Which small cells
go up is chosen by one integer program per independent block (scipy ``milp``): minimise the
total absolute change of the published cells. Each block gets a budget of work, not of time:
``NODE_LIMIT`` branch-and-bound nodes (HiGHS ``node_limit``; the root node by default), and a
block of more than ``LARGE_BLOCK`` candidates stops at its ``LARGE_BLOCK_SOLUTIONS``-th improving
solution; HiGHS runs serial with a fixed seed and no wall-clock limit, so the same
table rounds the same way on any machine and under any load, and an earlier release's rounding
rebuilt from its source commit gives back the published values. A block that exhausts its
budget keeps the best solution found within it; with none, a greedy choice (the largest small
cells go up, as many as keep the block's sum closest; ties by position). Any choice is
additive: the optimisation only decides how close the totals stay.

Why a small cell stays protected: an attacker who knows the rule and every published figure
cannot tell an inner cell published 0 from any true value 0..b-1, nor one published ``b`` from
1..b: each such value gives the same published tables (:func:`witness_ranges` checks it,
relations included). Cells of ``b`` or more are published exactly, as the profile allows.

``controlled`` rounds *every* inner cell to a neighbouring multiple of the base (for
percent-only numerators whose counts may not be worked back out of their percentages).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from isp.disclosure.model import Model, build
from isp.disclosure.tables import Labels, PublishedTable, Relation, Table
from isp.errors import IspError
from isp.protocol.models import DisclosureProfile

GAP = 0.02  # stop a block within 2 % of the best possible total change
# Branch-and-bound nodes per block: a limit of work, not of time (there is no time limit), so a
# block gives the same rounding on any machine and under any load: HiGHS is deterministic for
# given inputs and options, and only a wall-clock limit made it depend on the machine.
NODE_LIMIT = (
    1  # the root node (presolve, cuts, heuristics): measured, it finds what 500 nodes find, in a fifth of the time
)
# More of the deterministic budget, as HiGHS options (scipy's milp passes them on verbatim): the
# solver serial and its seed fixed; a block of more than LARGE_BLOCK candidates (every indicator
# by governorate ties hundreds of cells together) stops at its second improving solution, as
# its root node alone would take minutes.
HIGHS_OPTIONS: dict[str, int] = {"threads": 1, "random_seed": 0}
LARGE_BLOCK = 400
LARGE_BLOCK_SOLUTIONS = 2
MAX_ROUNDS = 4  # rounding, audit, round the cells that narrow a small one, again
ADJUST = 2  # a variable tied by a relation row may move by at most this many bases


@dataclass(frozen=True, eq=False)
class Rounded:
    """A rounded release: its tables, and per inner cell the true and the rounded value."""

    tables: tuple[PublishedTable, ...]
    model: Model
    inner: np.ndarray  # rounded value per variable
    rounded: np.ndarray  # per variable: a small cell that was rounded
    base: int
    seconds: float
    greedy_blocks: int
    adjusted: np.ndarray  # per variable: moved (by at most ADJUST bases) to keep two indicator groups' sums equal
    coarse: np.ndarray  # per variable: a larger count rounded to a multiple of the base (relation rows)
    # per variable: published as an earlier release to the same recipient implied it, which is
    # neither its rounding to 0 or the base nor its true value (the earlier release protects it)
    inherited: np.ndarray | None = None

    def table(self, name: str) -> PublishedTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise IspError(f"no table named {name}")

    @property
    def published(self) -> np.ndarray:
        """Rounded value of every model cell."""
        return np.asarray(self.model.A @ self.inner)


def _implied(model: Model) -> sp.csr_matrix:
    """For every relation row with one unpublished variable (the rest of a group): that rest as
    a combination of the others (``Q r``), which the rounded values must keep at least 0, or
    an attacker who knows the rest is at least 0 could narrow the small cells of the row."""
    if not model.R.shape[0]:
        return sp.csr_matrix((0, model.n_vars))
    unpublished = np.asarray(model.A.getnnz(axis=0)) == 0
    R = model.R.tocsr()
    out = []
    for i in range(R.shape[0]):
        row = R[i]
        hidden = [k for k in row.indices if unpublished[k]]
        if len(hidden) != 1:
            continue
        c = row[0, hidden[0]]
        q = (-row / c).tolil()
        q[0, hidden[0]] = 0
        out.append(q.tocsr())
    return sp.vstack(out).tocsr() if out else sp.csr_matrix((0, model.n_vars))


def _binding(model: Model) -> sp.csr_matrix:
    """The relation rows the rounding must keep: those with no unpublished variable to absorb them.

    A row with a variable no published cell contains (the unpublished rest of an indicator group,
    e.g. the concerns never released) holds in the truth and says nothing the published figures
    must match: that rest takes up the difference. Other rows must hold for the rounded values."""
    if not model.R.shape[0]:
        return model.R
    unpublished = np.asarray(model.A.getnnz(axis=0)) == 0
    R = model.R.tocsr()
    free = np.asarray(R[:, unpublished].getnnz(axis=1)) > 0
    return R[np.flatnonzero(~free)]


def _blocks(A: sp.csr_matrix, R: sp.csr_matrix, candidates: np.ndarray) -> tuple[int, np.ndarray]:
    """Candidates that share a published cell or a kept relation are in one block."""
    sub = sp.vstack([A[:, candidates], R[:, candidates]]).tocsc()
    link = (abs(sub).T @ abs(sub)).tocsr()
    blocks: tuple[int, np.ndarray] = connected_components(link, directed=False)
    return blocks


def _greedy(z: np.ndarray, base: int) -> np.ndarray:
    """Up-or-down choice keeping the block's sum closest: the largest values go up first."""
    ups = int(np.floor(z.sum() / base + 0.5))
    order = np.lexsort((np.arange(len(z)), -z))
    u = np.zeros(len(z))
    u[order[:ups]] = 1.0
    return u


def _budget(n: int) -> dict[str, int]:
    """HiGHS options for a block of ``n`` candidates (a function of the block alone: deterministic)."""
    large = {"mip_max_improving_sols": LARGE_BLOCK_SOLUTIONS} if n > LARGE_BLOCK else {}
    return {**HIGHS_OPTIONS, **large}


def _solve_block(
    A: sp.csr_matrix,
    R: sp.csr_matrix,
    gap: np.ndarray,
    n: int,
    truth: np.ndarray,
    base: int,
    node_limit: int,
    Q: sp.csr_matrix | None = None,
    q0: np.ndarray | None = None,
    forced: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """Up-or-down choice ``u`` for the block's ``n`` candidates, and the adjustment ``s`` of its
    other variables (relation rows only), minimising the total absolute change of the published
    cells touched plus twice the adjustments, keeping ``R r = 0``.

    Columns of ``A`` and ``R``: the candidates, then the adjustable variables (true values
    ``truth``, at least 0 after adjustment, by at most ``ADJUST * base``). ``gap``: what rounding
    a candidate down removes. ``Q`` (columns as ``A``), ``q0``: rows whose value, ``q0`` before
    any change, must stay at least 0 (:func:`_implied`). ``forced``: per candidate, its choice
    (0 or 1) when an earlier release made it, NaN otherwise. Returns (``base * u - gap`` then ``s``: the change of every
    column, solved by the integer program)."""
    touched = np.unique(A.nonzero()[0])
    M = A[touched]
    k, m = A.shape[1] - n, len(touched)
    shift = np.asarray(M[:, :n] @ gap).ravel()
    # columns: u (n binaries), s+ and s- (k integers), t (m deviations); t >= +-(M [base u; s] - shift)
    Mu, Ms = base * M[:, :n], M[:, n:]
    I_m = sp.identity(m, format="csr")
    rows = [sp.hstack([-Mu, -Ms, Ms, I_m]), sp.hstack([Mu, Ms, -Ms, I_m])]
    lower, upper = [-shift, shift], [np.full(m, np.inf), np.full(m, np.inf)]
    if R.shape[0]:
        target = np.asarray(R[:, :n] @ gap).ravel()
        rows.append(sp.hstack([base * R[:, :n], R[:, n:], -R[:, n:], sp.csr_matrix((R.shape[0], m))]))
        lower.append(target)
        upper.append(target)
    if Q is not None and q0 is not None and Q.shape[0]:
        rows.append(sp.hstack([base * Q[:, :n], Q[:, n:], -Q[:, n:], sp.csr_matrix((Q.shape[0], m))]))
        lower.append(np.asarray(Q[:, :n] @ gap).ravel() - q0)
        upper.append(np.full(Q.shape[0], np.inf))
    constraints = LinearConstraint(sp.vstack(rows).tocsr(), np.concatenate(lower), np.concatenate(upper))
    c = np.concatenate([np.zeros(n), np.full(2 * k, 2.0), np.ones(m)])
    integrality = np.concatenate([np.ones(n + 2 * k), np.zeros(m)])
    down = np.minimum(truth - base, ADJUST * base)  # never below the base: it must not look small
    u_lo, u_hi = np.zeros(n), np.ones(n)
    if forced is not None:
        known = ~np.isnan(forced)
        u_lo[known] = u_hi[known] = forced[known]
    bounds = Bounds(
        np.concatenate([u_lo, np.zeros(2 * k + m)]),
        np.concatenate([u_hi, np.full(k, ADJUST * base), down, np.full(m, np.inf)]),
    )
    with warnings.catch_warnings():  # HiGHS options scipy passes on verbatim, with a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        res = milp(
            c,
            constraints=constraints,
            integrality=integrality,
            bounds=bounds,
            options={"mip_rel_gap": GAP, "node_limit": node_limit, **_budget(n)},
        )
    if res.x is None:
        if R.shape[0] or (Q is not None and Q.shape[0]):
            raise IspError("small-count rounding found no choice that keeps an indicator group's sums")
        u = _greedy(gap, base)
        if forced is not None:
            u = np.where(np.isnan(forced), u, forced)
        return base * u - gap, False
    x = np.round(res.x)
    return np.concatenate([base * x[:n] - gap, x[n : n + k] - x[n + k : n + 2 * k]]), True


def _round(
    model: Model,
    candidates: np.ndarray,
    floor: np.ndarray,
    base: int,
    fixed: Mapping[int, float],
    node_limit: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Rounded value per variable: ``floor`` or ``floor + base`` for candidates, the truth
    elsewhere, but for the adjusted variables of relation rows (returned as a mask)."""
    assert model.truth is not None
    z = model.truth
    r = z.copy()
    free = np.flatnonzero(candidates | np.isin(np.arange(len(z)), list(fixed)))
    choice = np.full(len(z), np.nan)  # an earlier release's choice, as u (0 down, 1 up)
    for j, value in fixed.items():
        choice[j] = (value - floor[j]) / base
    R = _binding(model)
    adjustable = np.zeros(model.n_vars, bool)
    if R.shape[0]:
        adjustable[np.unique(R.nonzero()[1])] = True
        adjustable &= z >= base
        adjustable[free] = False
    if len(free) == 0:
        return r, adjustable, 0
    both = np.concatenate([free, np.flatnonzero(adjustable)])
    Q = _implied(model)
    q0 = np.asarray(Q @ z).ravel()
    count, block = _blocks(model.A, sp.vstack([R, Q]).tocsr(), both)
    greedy = 0
    for b in range(count):
        members = both[block == b]
        cand = members[np.isin(members, free)]
        adj = members[~np.isin(members, free)]
        cols = np.concatenate([cand, adj])
        rows = np.unique(R[:, cols].nonzero()[0]) if R.shape[0] else np.zeros(0, int)
        qrows = np.unique(Q[:, cols].nonzero()[0]) if Q.shape[0] else np.zeros(0, int)
        change, solved = _solve_block(
            model.A[:, cols].tocsr(),
            R[rows][:, cols].tocsr(),
            z[cand] - floor[cand],
            len(cand),
            z[adj],
            base,
            node_limit,
            Q[qrows][:, cols].tocsr(),
            q0[qrows],
            choice[cand],
        )
        greedy += not solved
        r[cols] = z[cols] + change
    return r, adjustable, greedy


def small_count_round(
    tables: Sequence[Table],
    profile: DisclosureProfile,
    *,
    relations: Sequence[Relation] = (),
    prior: Mapping[tuple[str, ...], int] | None = None,
    node_limit: int = NODE_LIMIT,
    audit: Callable[[Rounded], np.ndarray] | None = None,
) -> Rounded:
    """Round the small inner cells of ``tables`` (one release) to 0 or the base, keeping them additive.

    ``prior``: rounded values of inner cells from an earlier release of the same cells
    (:func:`inner_values`), kept where the cell is still small, so that two releases never
    give two different roundings of one small count (SmallCountRounding's ``preRounded``).
    ``audit``: per variable, an exact cell to round to a multiple of the base next time because
    a small count near it is narrowed by what the recipient already holds
    (:func:`isp.release.holdings.audit`); the rounding runs again, at most ``MAX_ROUNDS`` times."""
    started = time.perf_counter()
    model = build(tables, relations)
    if model.truth is None:
        raise IspError("small-count rounding needs the true figures (tables built from frames)")
    base = profile.round_base
    z = model.truth
    published = np.asarray(model.A.getnnz(axis=0)) > 0
    small = (z >= 1) & (z < base) & published
    fixed = _fixed(model, published, prior or {})
    inherited = np.zeros(len(z), bool)
    for j, value in fixed.items():
        inherited[j] = not ((small[j] and value in (0, base)) or (not small[j] and value == z[j]))
    coarse = np.zeros(len(z), bool)
    for _ in range(MAX_ROUNDS):
        floor = np.where(coarse, np.floor(z / base) * base, 0.0)
        for j, value in fixed.items():
            floor[j] = value  # a kept value: the floor, never rounded up from it
        candidates = (small | (coarse & (z != floor))) & ~inherited
        r, adjusted, greedy = _round(model, candidates, floor, base, fixed, node_limit)
        elapsed = time.perf_counter() - started
        result = _finish(tables, model, r, small & ~inherited, adjusted, base, elapsed, greedy, coarse, inherited)
        more = _coarsen(result, small & ~inherited, coarse)
        if audit is not None and not more.any():
            more = _eligible(result, audit(result), small | inherited, coarse)
        if not more.any():
            return result
        coarse = coarse | more
    return result


def _coarsen(result: Rounded, small: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Exact cells to round to a multiple of the base next time: those in a relation row that
    narrows one of its small cells (SmallCountRounding's new cells, found by the audit)."""
    narrowed = [j for j, lo, hi in _tied_ranges(result, small) if not _wide(result, j, lo, hi)]
    more = np.zeros(len(coarse), bool)
    if not narrowed:
        return more
    R = result.model.R.tocsr()
    rows = np.unique(R[:, narrowed].nonzero()[0])
    cols = np.unique(R[rows].nonzero()[1])
    more[cols] = True
    return _eligible(result, more, small, coarse)


def _eligible(result: Rounded, more: np.ndarray, small: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Of ``more``: the published exact cells of at least the base not yet rounded."""
    published = np.asarray(result.model.A.getnnz(axis=0)) > 0
    assert result.model.truth is not None
    wanted: np.ndarray = more & ~small & ~coarse & published & (result.model.truth >= result.base)
    return wanted


def _wide(result: Rounded, j: int, lo: float, hi: float) -> bool:
    want_lo, want_hi = (0, result.base - 1) if result.inner[j] == 0 else (1, result.base)
    return lo <= want_lo + 1e-6 and hi >= want_hi - 1e-6


def controlled(
    tables: Sequence[Table], base: int, *, relations: Sequence[Relation] = (), node_limit: int = NODE_LIMIT
) -> Rounded:
    """Every inner cell to the multiple of ``base`` below or above it (multiples stay), additive."""
    started = time.perf_counter()
    model = build(tables, relations)
    if model.truth is None:
        raise IspError("rounding needs the true figures (tables built from frames)")
    z = model.truth
    floor = np.floor(z / base) * base
    r, adjusted, greedy = _round(model, z != floor, floor, base, {}, node_limit)
    return _finish(tables, model, r, z != floor, adjusted, base, time.perf_counter() - started, greedy)


def _fixed(model: Model, published: np.ndarray, prior: Mapping[tuple[str, ...], int]) -> dict[int, float]:
    """The published variables an earlier release already gave a value (kept as they were)."""
    if not prior:
        return {}
    keys = variable_keys(model)
    out: dict[int, float] = {}
    for j, key in enumerate(keys):
        value = None if key is None else prior.get(key)
        if value is not None and published[j] and value >= 0:
            out[j] = float(value)
    return out


def _finish(
    tables: Sequence[Table],
    model: Model,
    r: np.ndarray,
    rounded: np.ndarray,
    adjusted: np.ndarray,
    base: int,
    seconds: float,
    greedy: int,
    coarse: np.ndarray | None = None,
    inherited: np.ndarray | None = None,
) -> Rounded:
    y = np.asarray(model.A @ r)
    published = []
    for i, table in enumerate(tables):
        shown: dict[Labels, int | None] = {
            labels: int(np.rint(y[cell])) for labels, cell in zip(model.labels_of[i], model.cells_of[i], strict=True)
        }
        published.append(PublishedTable(table, shown))
    coarse = np.zeros(len(r), bool) if coarse is None else coarse
    return Rounded(tuple(published), model, r, rounded, base, seconds, greedy, adjusted, coarse, inherited)


def universe_keys(model: Model) -> list[tuple[str, ...]]:
    """The coordinates of every leaf of the model's tables, in the model's universe order."""
    dims = list(model.tables[0].dims)
    frame = pd.concat([t.leaves for t in model.tables], ignore_index=True)
    return [tuple(row) for row in frame.drop_duplicates(dims)[dims].astype(str).to_numpy()]


def variable_keys(model: Model) -> list[tuple[str, ...] | None]:
    """A stable key per variable: its leaf's coordinates (``None`` for a relation's rest)."""
    if model.kept is None:
        raise IspError("the model does not record its leaves")
    universe = universe_keys(model)
    keys: list[tuple[str, ...] | None] = [universe[int(leaf)] for leaf in model.kept]
    return keys + [None] * (model.n_vars - len(keys))


def small_of(result: Rounded) -> np.ndarray:
    """Per variable: a published count of 1 to b-1 children (rounded to 0 or b)."""
    model = result.model
    assert model.truth is not None
    published = np.asarray(model.A.getnnz(axis=0)) > 0
    small: np.ndarray = (model.truth >= 1) & (model.truth < result.base) & published
    if result.inherited is not None:
        small &= ~result.inherited
    return small


def leaf_values(result: Rounded) -> list[tuple[tuple[str, ...], int, int]]:
    """Every leaf of a rounded release: its key, the value its published cells give it (the sum
    of its rounded variables) and its true value (what the next release to the same recipient
    keeps, where the truth has not changed)."""
    model = result.model
    if model.leaf_map is None or model.truth is None:
        raise IspError("the model does not record its leaves")
    values = np.rint(model.leaf_map @ result.inner).astype(int)
    truth = np.rint(model.leaf_map @ model.truth).astype(int)
    return [(key, int(v), int(t)) for key, v, t in zip(universe_keys(model), values, truth, strict=True)]


def inner_values(result: Rounded) -> dict[tuple[str, ...], int]:
    """The rounded small inner cells of a release, by leaf (``prior`` of the next release)."""
    keys = variable_keys(result.model)
    return {key: int(result.inner[j]) for j, key in enumerate(keys) if key is not None and bool(result.rounded[j])}


@dataclass(frozen=True)
class RangeFailure:
    """A rounded inner cell whose range an attacker could narrow (named by labels, never a value)."""

    cell: str
    reason: str

    def __str__(self) -> str:
        return f"{self.cell}: {self.reason}"


def witness_ranges(result: Rounded) -> list[RangeFailure]:
    """Check that every rounded inner cell could be anything in 0..b-1 (published 0) or 1..b
    (published b) with every published figure unchanged.

    Changing one small inner cell within that range leaves its rounding valid and every published
    cell unchanged. A relation row (``R z = 0``) may tie it to other cells: then its range is
    solved against the boxes an attacker knows (:func:`attacker_box`) and every relation."""
    model, base = result.model, result.base
    failures: list[RangeFailure] = []
    if not np.allclose(model.A @ result.inner, result.published):
        failures.append(RangeFailure("release", "published cells are not the sums of their rounded parts"))
    names = inner_names(model)
    assert model.truth is not None
    small = small_of(result)
    for index in np.flatnonzero(small):
        if result.inner[index] not in (0, base):
            failures.append(RangeFailure(names[index], "a small count was published unrounded"))
    for j, lo, hi in _tied_ranges(result, small):
        if not _wide(result, j, lo, hi):
            failures.append(RangeFailure(names[j], "an indicator group's sum narrows this small count"))
    return failures


def attacker_box(result: Rounded, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the rule tells an attacker about each variable from its rounded value: a small one is
    in 0..b-1 (published 0) or 1..b (published b); an unpublished one is at least 0; one moved
    to keep two groups' sums equal is within ``ADJUST`` bases of its published value and at
    least the base; any other is exact (granted to the attacker even where only sums of it are
    published)."""
    base = result.base
    assert result.model.truth is not None
    lo = result.inner.astype(float).copy()
    hi = lo.copy()
    lo[small] = np.where(result.inner[small] == 0, 0, 1)
    hi[small] = np.where(result.inner[small] == 0, base - 1, base)
    unpublished = np.asarray(result.model.A.getnnz(axis=0)) == 0
    lo[unpublished], hi[unpublished] = 0, np.inf
    coarse = result.coarse
    lo[coarse] = np.maximum(base, result.inner[coarse] - base + 1)
    hi[coarse] = result.inner[coarse] + base - 1
    moved = result.adjusted
    lo[moved] = np.maximum(base, result.inner[moved] - ADJUST * base)
    hi[moved] = result.inner[moved] + ADJUST * base
    if result.inherited is not None:  # what the earlier release tells, not this one
        lo[result.inherited], hi[result.inherited] = 0, np.inf
    return lo, hi


def _tied_ranges(result: Rounded, small: np.ndarray) -> list[tuple[int, float, float]]:
    """For every small variable in a relation row: its smallest and largest value consistent with
    the boxes of :func:`attacker_box` and every relation (a linear programme per side, over the
    variables the relations connect to it)."""
    R = result.model.R.tocsr()
    if not R.shape[0]:
        return []
    lo, hi = attacker_box(result, small)
    tied = np.zeros(result.model.n_vars, bool)
    tied[np.unique(R.nonzero()[1])] = True
    _, comp = connected_components((abs(R).T @ abs(R)).tocsr(), directed=False)
    out = []
    for j in np.flatnonzero(small & tied):
        cols = np.flatnonzero(comp == comp[j])
        rows = np.unique(R[:, cols].nonzero()[0])
        sub = R[rows][:, cols]
        position = int(np.searchsorted(cols, j))
        if len(rows) == 1:
            out.append((int(j), *_one_row(sub.toarray().ravel(), lo[cols], hi[cols], position)))
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(cols))
            c[position] = sign
            res = linprog(c, A_eq=sub, b_eq=np.zeros(len(rows)), bounds=list(zip(lo[cols], hi[cols], strict=True)))
            ends.append(sign * res.fun if res.status == 0 else (-np.inf if sign > 0 else np.inf))
        out.append((int(j), float(np.ceil(ends[0] - 1e-9)), float(np.floor(ends[1] + 1e-9))))
    return out


def _one_row(c: np.ndarray, lo: np.ndarray, hi: np.ndarray, j: int) -> tuple[float, float]:
    """Range of ``z_j`` given ``c @ z = 0`` and the box (interval arithmetic is exact for one row)."""
    others = np.arange(len(c)) != j
    terms_lo = np.where(c[others] > 0, c[others] * lo[others], c[others] * hi[others])
    terms_hi = np.where(c[others] > 0, c[others] * hi[others], c[others] * lo[others])
    with np.errstate(invalid="ignore"):
        rest_lo, rest_hi = np.nansum(terms_lo), np.nansum(terms_hi)  # sum of c_k z_k over k != j
    a, b = sorted((-rest_hi / c[j], -rest_lo / c[j]))
    return float(max(lo[j], np.ceil(a - 1e-9))), float(min(hi[j], np.floor(b + 1e-9)))


def inner_names(model: Model) -> list[str]:
    """A readable name per variable: the first published cell made of it alone, else its key."""
    keys = variable_keys(model)
    names = [", ".join(k) if k else "the rest of an indicator group" for k in keys]
    sizes = np.diff(model.A.indptr)
    for cell in np.flatnonzero(sizes == 1):
        j = int(model.A.indices[model.A.indptr[cell]])
        names[j] = model.names[cell]
    return names


def numerator_ranges(
    rounded: Rounded, containers: Sequence[pd.DataFrame], dim: str = "indicator"
) -> dict[str, dict[Labels, float]]:
    """Per numerator table and cell, the width of the range an attacker is left with.

    The attacker is granted more than a percentage gives: every rounded numerator inner cell
    ``r`` (a multiple of the base ``b``, from the true count below or above it), so the true
    count is in ``[r - b + 1, r + b - 1]``, at least 0, and at most the true value of every
    published count that contains it at the same coordinates (``containers``: leaves of the
    denominator, of a residual category that folds it in; granted too). A published cell's range is the sum of
    its inner ranges."""
    model, base = rounded.model, rounded.base
    lo = np.maximum(rounded.inner - base + 1, 0)
    hi = rounded.inner + base - 1
    hi = np.minimum(hi, _caps(model, containers, dim))
    lo = np.minimum(lo, hi)
    width = np.asarray(model.A @ (hi - lo))
    out: dict[str, dict[Labels, float]] = {}
    for i, table in enumerate(model.tables):
        out[table.name] = {
            labels: float(width[cell]) for labels, cell in zip(model.labels_of[i], model.cells_of[i], strict=True)
        }
    return out


def _caps(model: Model, containers: Sequence[pd.DataFrame], dim: str) -> np.ndarray:
    """Smallest true value, over ``containers``, at each numerator inner cell's coordinates but
    ``dim``; inf where none has the cell."""
    dims = [d for d in model.tables[0].dims if d != dim]
    caps = np.full(model.n_vars, np.inf)
    if not containers:
        return caps
    frame = pd.concat(list(containers), ignore_index=True).astype({d: str for d in dims})
    values = frame.groupby(dims)["count"].min().to_dict()
    position = [model.tables[0].dims.index(d) for d in dims]
    for j, key in enumerate(variable_keys(model)):
        if key is not None:
            lookup = tuple(key[p] for p in position) if len(position) > 1 else key[position[0]]
            found = values.get(lookup)
            if found is not None:
                caps[j] = float(found)
    return caps
