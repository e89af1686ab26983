"""The audit of everything one recipient holds: several releases over different breakdowns.

Two releases to one recipient may cut the same figures differently (the rest of the country in
one, every governorate in the other; an indicator group's residual with other members folded
in), or cover overlapping periods (the quarters and their year). Their cells then meet only in
the *ground cells*, the finest figures both were made from (period, or month where the periods
differ; site, protocol indicator, sex, age group, nationality), which are never published: a
flow's cell over a period is the sum of its months, a stock's is its last month
(:mod:`isp.release.holdings` builds the sums).

Each release tells an attacker, for some sums of ground cells, an interval (:class:`Fact`): a
small count rounded to 0 lies in 0..b-1, one rounded to b in 1..b, a count published as it is
is exact. The attacker also knows that every indicator group sums to its total at every
ground coordinate (``equal`` rows, ``= 0``). :func:`narrowed` then solves, for every protected
sum (:class:`Target`), its smallest and largest value consistent with all of it (scipy
``milp``, integer ground cells at least 0, over the connected part of the problem only) and
names the targets whose range is narrower than the profile allows.

A part of the problem that no earlier release touches is skipped: the release's own audit
(:func:`isp.disclosure.rounding.witness_ranges`) covers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from isp.errors import IspError

Combination = Mapping[int, float]
"""A sum of ground cells: ground index -> coefficient."""


@dataclass(frozen=True)
class Fact:
    """What one release tells about a sum of ground cells: ``lo <= sum <= hi``."""

    terms: Combination
    lo: float
    hi: float
    earlier: bool  # from an earlier release (not the one being audited)

    def key(self) -> tuple[tuple[tuple[int, float], ...], float, float]:
        return tuple(sorted(self.terms.items())), self.lo, self.hi


@dataclass(frozen=True)
class Target:
    """A protected sum and the range it must keep (``lo``..``hi`` at least), named by its labels."""

    name: str
    terms: Combination
    lo: float
    hi: float


def _matrix(rows: Sequence[Combination], n: int) -> sp.csr_matrix:
    r = np.repeat(np.arange(len(rows)), [len(row) for row in rows])
    c = np.fromiter((k for row in rows for k in row), int, count=int(r.size))
    v = np.fromiter((x for row in rows for x in row.values()), float, count=int(r.size))
    return sp.csr_matrix((v, (r, c)), shape=(len(rows), n))


def distinct(facts: Sequence[Fact]) -> list[Fact]:
    """Facts told twice (the same cell published alike in two releases) counted once, as the
    audited release's own: they add nothing to what it publishes."""
    seen: dict[tuple[tuple[tuple[int, float], ...], float, float], Fact] = {}
    for fact in facts:
        key = fact.key()
        kept = seen.get(key)
        if kept is None or (kept.earlier and not fact.earlier):
            seen[key] = fact
    return list(seen.values())


@dataclass(frozen=True)
class Narrowed:
    """The targets an attacker narrows (names), and the ground cells of the parts of the problem
    they are in (where rounding more of the audited release's cells may widen them)."""

    names: list[str]
    ground: set[int]


def narrowed(facts: Sequence[Fact], equal: Sequence[Combination], targets: Sequence[Target], n: int) -> Narrowed:
    """The targets an attacker holding every fact can narrow below their range."""
    facts = distinct(facts)
    if not any(f.earlier for f in facts) or not targets:
        return Narrowed([], set())
    rows = [f.terms for f in facts] + list(equal)
    lo = np.array([f.lo for f in facts] + [0.0] * len(equal))
    hi = np.array([f.hi for f in facts] + [0.0] * len(equal))
    K = _matrix(rows, n)
    link = sp.bmat([[None, K], [K.T, None]]).tocsr()
    _, comp = connected_components(link, directed=False)
    row_comp, var_comp = comp[: len(rows)], comp[len(rows) :]
    touched = {int(row_comp[i]) for i, f in enumerate(facts) if f.earlier}
    failures: list[str] = []
    ground: set[int] = set()
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for target in targets:
        parts = {int(var_comp[k]) for k in target.terms}
        if not parts & touched:
            continue
        if len(parts) != 1:
            raise IspError(f"{target.name}: a protected cell spans unlinked figures (an internal error)")
        (part,) = parts
        if part not in cache:
            cache[part] = (np.flatnonzero(row_comp == part), np.flatnonzero(var_comp == part))
        rows_in, cols = cache[part]
        low, high = _range(K[rows_in][:, cols], lo[rows_in], hi[rows_in], cols, target.terms)
        if low > target.lo + 1e-6 or high < target.hi - 1e-6:
            failures.append(target.name)
            ground.update(int(k) for k in cols)
    return Narrowed(failures, ground)


def _range(
    K: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray, cols: np.ndarray, terms: Combination
) -> tuple[float, float]:
    position = {int(k): i for i, k in enumerate(cols)}
    c = np.zeros(len(cols))
    for k, v in terms.items():
        c[position[k]] = v
    ends = []
    for sign in (1.0, -1.0):
        res = milp(
            sign * c,
            constraints=LinearConstraint(K, lo, hi),
            integrality=np.ones(len(cols)),
            bounds=Bounds(np.zeros(len(cols)), np.full(len(cols), np.inf)),
        )
        if res.status == 3:  # unbounded: no end on this side
            ends.append(-np.inf if sign > 0 else np.inf)
            continue
        if res.status != 0 or res.fun is None:
            raise IspError(f"the audit of what the recipient holds could not be solved ({res.message})")
        ends.append(sign * float(res.fun))
    return ends[0], ends[1]
