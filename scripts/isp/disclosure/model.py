"""The linear model behind every table of a release: cells as sums of variables.

Variables are the leaves (the finest cells) of all the tables. A
:class:`~isp.disclosure.tables.Relation` (``total = sum of parts`` at every coordinate) is
substituted: the total's leaf is replaced by its parts' leaves, plus one "rest" variable where
some parts are in no table (their sum is all an attacker could use). A total with a second
relation keeps it as a row of ``R`` (``R z = 0``). ``A`` (cells x variables) says what makes up
each distinct cell. Cells with the same leaves are one cell, whatever table they come from:
that is how linked tables share one suppression pattern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from isp.disclosure.tables import NATIONAL, Labels, Relation, Table, leaf_frame
from isp.errors import IspError


@dataclass(frozen=True, eq=False)
class Model:
    tables: tuple[Table, ...]
    cells_of: tuple[np.ndarray, ...]  # per table: the model cell of each of its cells (incidence order)
    labels_of: tuple[list[Labels], ...]  # per table: the labels of each of its cells
    A: sp.csr_matrix  # cells x variables
    R: sp.csr_matrix  # relation rows x variables, R z = 0
    truth: np.ndarray | None  # per variable (None when the figures are unknown)
    contrib: np.ndarray | None  # variables x agencies
    agencies: tuple[str, ...]
    site_level: np.ndarray  # per cell: all its leaves are in one site
    level: np.ndarray  # per cell: fewest margins/subtotals among its labels in any table
    names: list[str]  # per cell: its name in the first table that shows it
    lines: list[tuple[int, list[int]]]  # (total cell, part cells)
    kept: np.ndarray | None = None  # per variable before the rests: its leaf (position in the universe)
    # per rest variable: (total leaf, present part leaves), positions in the universe; the rest is
    # the total minus those parts (what a recipient's earlier releases are compared with)
    rest_of: tuple[tuple[int, tuple[int, ...]], ...] = ()
    leaf_map: sp.csr_matrix | None = None  # leaves x variables: every leaf as a sum of variables

    @property
    def n_cells(self) -> int:
        return int(self.A.shape[0])

    @property
    def n_vars(self) -> int:
        return int(self.A.shape[1])

    @property
    def value(self) -> np.ndarray | None:
        """True value of every cell, when known."""
        return None if self.truth is None else np.asarray(self.A @ self.truth)

    @cached_property
    def _positions(self) -> list[dict[Labels, int]]:
        return [{lab: i for i, lab in enumerate(labels)} for labels in self.labels_of]

    def cell_of(self, table: int, labels: Labels) -> int:
        """The model cell of ``labels`` in the ``table``-th table."""
        position = self._positions[table].get(labels)
        if position is None:
            raise IspError(f"{self.tables[table].name} has no cell {', '.join(labels)}")
        return int(self.cells_of[table][position])


def build(
    tables: Sequence[Table], relations: Sequence[Relation] = (), contributions: pd.DataFrame | None = None
) -> Model:
    """The model of ``tables`` (one release, or several linked ones)."""
    if not tables:
        raise IspError("nothing to protect: no table given")
    dims = tables[0].dims
    if any(t.dims != dims for t in tables):
        raise IspError("every table must come from frames with the same key columns")
    universe, truth = _universe(tables, dims)
    (cells_of, labels_of, level, names, lines), A_leaves = _cells(tables, universe)
    sub = _Substitution(universe, relations, dims)
    agencies, leaf_contrib = _contributions(contributions, universe, dims)
    var_truth = None if truth is None else sub.values(truth)
    contrib = None if leaf_contrib is None else sub.values(leaf_contrib)
    if var_truth is not None and contrib is not None and not np.array_equal(contrib.sum(axis=1), var_truth):
        raise IspError("the agencies' contributions do not add up to the table figures")
    return Model(
        tuple(tables),
        cells_of,
        labels_of,
        (A_leaves @ sub.T).tocsr(),
        sub.R,
        var_truth,
        contrib,
        agencies,
        _site_level(A_leaves, universe, dims),
        level,
        names,
        lines,
        sub.kept,
        tuple((total, tuple(parts)) for total, parts in sub.rest_of),
        sub.T.tocsr(),
    )


def _universe(tables: Sequence[Table], dims: tuple[str, ...]) -> tuple[pd.MultiIndex, np.ndarray | None]:
    frames = pd.concat([t.leaves for t in tables], ignore_index=True)
    first = frames.drop_duplicates(list(dims))
    universe = pd.MultiIndex.from_frame(first[list(dims)])
    if not all(t.known for t in tables):
        return universe, None
    disagree = frames.groupby(list(dims), sort=False)["count"].nunique()
    if (disagree > 1).any():
        raise IspError("two tables give different figures for the same cell: build them from the same frame")
    return universe, first["count"].to_numpy(dtype=float)


class _Cells(NamedTuple):
    """The distinct cells of :func:`_cells`, as :class:`Model` keeps them."""

    cells_of: tuple[np.ndarray, ...]
    labels_of: tuple[list[Labels], ...]
    level: np.ndarray
    names: list[str]
    lines: list[tuple[int, list[int]]]


def _cells(tables: Sequence[Table], universe: pd.MultiIndex) -> tuple[_Cells, sp.csr_matrix]:
    """Distinct cells over all tables, keyed by their sets of leaves."""
    index: dict[tuple[int, ...], int] = {}
    rows: list[np.ndarray] = []
    level: list[int] = []
    names: list[str] = []
    cells_of, labels_of, lines = [], [], []
    for table in tables:
        inc = table.incidence()
        gid = universe.get_indexer(pd.MultiIndex.from_frame(table.leaves[list(table.dims)]))
        order = np.lexsort((gid[inc.leaf], inc.cell))
        cell_sorted, leaf_sorted = inc.cell[order], gid[inc.leaf][order]
        bounds = np.searchsorted(cell_sorted, np.arange(len(inc.labels) + 1))
        mine = np.empty(len(inc.labels), int)
        for local, labels in enumerate(inc.labels):
            leaves = leaf_sorted[bounds[local] : bounds[local + 1]]
            key = tuple(leaves.tolist())
            if key not in index:
                index[key] = len(rows)
                rows.append(leaves)
                level.append(int(inc.level[local]))
                names.append(table.describe(labels))
            cell = index[key]
            mine[local] = cell
            level[cell] = min(level[cell], int(inc.level[local]))
        cells_of.append(mine)
        labels_of.append(inc.labels)
        lines += [(int(mine[t]), [int(mine[p]) for p in parts]) for t, parts in inc.lines]
    r = np.repeat(np.arange(len(rows)), [len(x) for x in rows])
    c = np.concatenate(rows) if rows else np.zeros(0, int)
    A = sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), len(universe)))
    return _Cells(tuple(cells_of), tuple(labels_of), np.array(level, int), names, lines), A


def _rows(rows: list[tuple[list[int], list[float]]], n_vars: int) -> sp.csr_matrix:
    if not rows:
        return sp.csr_matrix((0, n_vars))
    r = np.repeat(np.arange(len(rows)), [len(c) for c, _ in rows])
    c = np.concatenate([np.asarray(c, int) for c, _ in rows])
    v = np.concatenate([np.asarray(k, float) for _, k in rows])
    return sp.csr_matrix((v, (r, c)), shape=(len(rows), n_vars))


class _Substitution:
    """Relations as a change of variables: ``leaves = T @ vars``, and ``R @ vars = 0`` for the rest.

    A relation whose parts all have leaves is substituted first (no rest variable needed).
    """

    def __init__(self, universe: pd.MultiIndex, relations: Sequence[Relation], dims: tuple[str, ...]) -> None:
        self.n = len(universe)
        frame = universe.to_frame(index=False)
        expr: dict[int, dict[int, float]] = {}  # eliminated leaf -> {variable: coefficient}
        used_as_part: set[int] = set()
        rows: list[dict[int, float]] = []
        self.rest_of: list[tuple[int, list[int]]] = []  # (total leaf, present part leaves)
        found = [(rel, _parts(frame, universe, rel)) for rel in relations if rel.dim in dims]
        found.sort(key=lambda item: bool((item[1][1] < 0).any()))
        for rel, (totals, parts) in found:
            for total, row in zip(totals, parts, strict=True):
                present = [int(p) for p in row if p >= 0]
                combo = _sum([expr.get(p, {p: 1.0}) for p in present])
                if len(present) < len(rel.parts):
                    combo[self.n + len(self.rest_of)] = 1.0
                    self.rest_of.append((int(total), present))
                if total in expr or total in used_as_part or any(p in expr for p in present):
                    rows.append(_sum([expr.get(int(total), {int(total): 1.0}), {k: -v for k, v in combo.items()}]))
                else:
                    expr[int(total)] = combo
                    used_as_part.update(present)
        self._finish(expr, rows)

    def _finish(self, expr: dict[int, dict[int, float]], rows: list[dict[int, float]]) -> None:
        kept = [leaf for leaf in range(self.n) if leaf not in expr]
        index = {old: new for new, old in enumerate(kept)}
        index.update({self.n + i: len(kept) + i for i in range(len(self.rest_of))})
        n_vars = len(kept) + len(self.rest_of)
        self.kept = np.array(kept, int)
        entries = [(leaf, index[leaf], 1.0) for leaf in kept]
        entries += [(leaf, index[k], v) for leaf, combo in expr.items() for k, v in combo.items()]
        r = np.array([e[0] for e in entries], int)
        c = np.array([e[1] for e in entries], int)
        v = np.array([e[2] for e in entries], float)
        self.T = sp.csr_matrix((v, (r, c)), shape=(self.n, n_vars))
        self.R = _rows([([index[k] for k in row], list(row.values())) for row in rows], n_vars)

    def values(self, leaf_values: np.ndarray) -> np.ndarray:
        """Per variable (kept leaves, then rests) from per-leaf values; checks every relation holds."""
        width = leaf_values.shape[1:]
        rest = np.array([leaf_values[t] - leaf_values[p].sum(axis=0) for t, p in self.rest_of]).reshape(-1, *width)
        out = np.concatenate([leaf_values[self.kept], rest])
        if (out < 0).any() or not np.allclose(self.T @ out, leaf_values) or np.abs(self.R @ out).sum() > 0:
            raise IspError("the figures break an indicator group's sum (a breakdown exceeds or misses its total)")
        return out


def _parts(frame: pd.DataFrame, universe: pd.MultiIndex, rel: Relation) -> tuple[np.ndarray, np.ndarray]:
    """Leaves of the relation's total, and for each the leaf of every part (-1 when absent)."""
    totals = np.flatnonzero(frame[rel.dim].to_numpy() == rel.total)
    cols = [
        universe.get_indexer(pd.MultiIndex.from_frame(frame.iloc[totals].assign(**{rel.dim: part})))
        for part in rel.parts
    ]
    return totals, (np.array(cols).T if cols else np.zeros((len(totals), 0), int))


def _sum(terms: list[dict[int, float]]) -> dict[int, float]:
    out: dict[int, float] = {}
    for term in terms:
        for k, v in term.items():
            out[k] = out.get(k, 0.0) + v
    return {k: v for k, v in out.items() if v != 0}


def _site_level(A: sp.csr_matrix, universe: pd.MultiIndex, dims: tuple[str, ...]) -> np.ndarray:
    """Cells whose leaves all sit in one site (the site threshold applies to them)."""
    out = np.zeros(A.shape[0], bool)
    if "site" not in dims:
        return out
    codes, uniques = pd.factorize(universe.get_level_values("site").to_numpy())
    national = set(np.flatnonzero(uniques == NATIONAL).tolist())
    for i in range(A.shape[0]):
        found = np.unique(codes[A.indices[A.indptr[i] : A.indptr[i + 1]]])
        out[i] = len(found) == 1 and int(found[0]) not in national
    return out


def _contributions(
    contributions: pd.DataFrame | None, universe: pd.MultiIndex, dims: tuple[str, ...]
) -> tuple[tuple[str, ...], np.ndarray | None]:
    """Each agency's figure for every leaf (the agency knows its own figures)."""
    if contributions is None:
        return (), None
    if "agency" not in contributions.columns:
        raise IspError("contributions need an `agency` column")
    missing = [d for d in dims if d not in contributions.columns]
    if missing:
        raise IspError(f"contributions lack the column(s) {', '.join(missing)} of the tables")
    frames = {str(a): leaf_frame(f.drop(columns="agency")) for a, f in contributions.groupby("agency", sort=True)}
    agencies = tuple(frames)
    leaves = np.zeros((len(universe), len(agencies)))
    for j, agency in enumerate(agencies):
        own = frames[agency].astype({d: str for d in dims}).set_index(list(dims))["count"]
        leaves[:, j] = own.reindex(universe, fill_value=0).to_numpy(dtype=float)
    return agencies, leaves
