"""Reduction of one linked component before the attacker's optimisation (all steps exact).

Published cells and relations become ``E z = e``, published percentages ``G z <= g``, the
suppressed cells to audit ``S z >= L``. Then:

- leaves inside a published zero are fixed at zero and removed (and so are the leaves a zero-sum
  relation of one sign forces to zero);
- a leaf that appears in one published row and in no suppressed cell is a *slack*: it can take up
  whatever the rest of the row leaves, as long as it stays at or above its lower bound, so the
  row becomes an inequality without it (integers included);
- leaves that appear in exactly the same rows are merged: their sum is all that matters, and any
  sum at or above the sum of their lower bounds splits back into whole numbers;
- single-leaf lower bounds the relations imply are folded into the attackers' lower bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from isp.errors import IspError

TOL = 1e-6


@dataclass(frozen=True, eq=False)
class Component:
    """One connected block of the model, reduced for one audit."""

    E: sp.csr_matrix  # published cells and relations, E z = e
    e: np.ndarray
    e_cells: np.ndarray  # model cell of each E row (-1 for a relation)
    G: sp.csr_matrix  # percentages and eliminated rows, G z <= g
    g: dict[str, np.ndarray]  # attacker -> right-hand side (it depends on what the attacker knows)
    g_cells: np.ndarray  # model cell of each G row (-1 for a percentage or relation)
    g_struct: np.ndarray  # G rows that hold whatever is published (from relations): part of the structure
    S: sp.csr_matrix  # suppressed cells (one row per target, empty when pinned at zero)
    L: np.ndarray
    targets: np.ndarray  # model cell of each S row
    truth: np.ndarray | None
    lbs: dict[str, np.ndarray]  # attacker -> lower bounds of the (merged) variables
    # "moves": the witnesses' layout (isp.disclosure.witness.MoveLayout), made once; typed loosely
    # here because witness imports this module
    cache: dict[str, object] = field(default_factory=dict)

    def row(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """The leaves of target ``t`` and their coefficients."""
        S = self.S
        return S.indices[S.indptr[t] : S.indptr[t + 1]], S.data[S.indptr[t] : S.indptr[t + 1]]


def reduce(
    A: sp.csr_matrix,
    R: sp.csr_matrix,
    cells: np.ndarray,
    shown: np.ndarray,
    targets: np.ndarray,
    L: np.ndarray,
    G: sp.csr_matrix,
    g: np.ndarray,
    truth: np.ndarray | None,
    lbs: dict[str, np.ndarray],
) -> Component:
    """Fix the leaves inside published zeros, drop slack leaves, merge interchangeable leaves.

    ``A`` has the component's cells as rows (model ids ``cells``), ``shown`` their published
    values (NaN when not published), ``targets`` the rows (indices into ``cells``) to audit.
    """
    published = np.flatnonzero(~np.isnan(shown))
    E = sp.vstack([A[published], R]).tocsr()
    e = np.concatenate([shown[published], np.zeros(R.shape[0])])
    e_cells = np.concatenate([cells[published], -np.ones(R.shape[0], int)])
    fixed = _zero_fixed(E, e)
    if truth is not None and (truth[fixed] != 0).any():
        raise IspError("a published zero covers cases: the published figures do not match the data")
    unfixed = np.flatnonzero(~fixed)
    rows = _Rows(E[:, unfixed], e, e_cells, G[:, unfixed], g, A[targets][:, unfixed])
    rows.eliminate_slack()
    keep = unfixed[rows.kept]
    merge = _merge_matrix(sp.vstack([rows.E, rows.G, rows.S]).tocsc())
    reps = _representatives(merge)

    def merged(x: np.ndarray) -> np.ndarray:
        return np.asarray(merge.T @ x[keep])

    G_m = rows.G[:, reps].tocsr()
    g_of = {name: rows.g_for(lb[unfixed]) for name, lb in lbs.items()}
    lb_of = {name: merged(lb) for name, lb in lbs.items()}
    rest = _fold_bounds(G_m, g_of, lb_of, rows.g_struct)
    return Component(
        rows.E[:, reps].tocsr(),
        rows.e,
        rows.e_cells,
        G_m[rest],
        {name: g[rest] for name, g in g_of.items()},
        rows.g_cells[rest],
        rows.g_struct[rest],
        rows.S[:, reps].tocsr(),
        L,
        cells[targets],
        None if truth is None else merged(truth),
        lb_of,
    )


def _fold_bounds(
    G: sp.csr_matrix, g_of: dict[str, np.ndarray], lb_of: dict[str, np.ndarray], structural: np.ndarray
) -> np.ndarray:
    """Structural rows ``c z_j <= g`` with ``c < 0`` are lower bounds: fold them into ``lb`` (in place).

    Returns the rows that remain.
    """
    if not G.nnz:
        return np.arange(G.shape[0])
    single = np.flatnonzero(structural & (np.diff(G.indptr) == 1) & (G.data[np.minimum(G.indptr[:-1], G.nnz - 1)] < 0))
    for r in single:
        j, c = G.indices[G.indptr[r]], G.data[G.indptr[r]]
        for name, lb in lb_of.items():
            lb[j] = max(lb[j], np.ceil(g_of[name][r] / c - TOL))
    return np.setdiff1d(np.arange(G.shape[0]), single)


class _Rows:
    """Constraint rows during reduction, with slack leaves eliminated.

    A leaf that appears in one published row and in no suppressed cell is a slack: whatever the
    rest of the row does, it can take up the difference, as long as it stays at or above its
    lower bound. So ``a z + s = e`` becomes ``a z <= e - lb(s)`` (and ``a z - s = e`` becomes
    ``-a z <= -e - lb(s)``); in an inequality ``a z + c s <= g`` it becomes ``a z <= g - c lb(s)``
    for ``c > 0``, and the row disappears for ``c < 0``. Exact, integers included.
    """

    def __init__(
        self,
        E: sp.csr_matrix,
        e: np.ndarray,
        e_cells: np.ndarray,
        G: sp.csr_matrix,
        g: np.ndarray,
        S: sp.csr_matrix,
    ) -> None:
        live = np.diff(E.tocsr().indptr) > 0
        if (e[~live] != 0).any():
            raise IspError("the published figures do not add up: no table fits them (check the totals)")
        self.E, self.e, self.e_cells = E.tocsr()[live], e[live], e_cells[live]
        self.G, self.g, self.g_cells = G.tocsr(), g.astype(float), -np.ones(G.shape[0], int)
        self.g_struct = np.zeros(G.shape[0], bool)
        self.shift: list[dict[int, float]] = [{} for _ in range(G.shape[0])]  # row -> {slack column: coefficient}
        self.S = S.tocsr()
        self.kept = np.arange(E.shape[1])

    def _slacks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(columns, rows, coefficients) of slacks: in exactly one E or G row, no S row; one per row."""
        n_e, n_g = self.E.shape[0], self.G.shape[0]
        M = sp.vstack([self.E, self.G, self.S]).tocsc()
        cols = np.flatnonzero(np.diff(M.indptr) == 1)
        rows, coef = M.indices[M.indptr[cols]], M.data[M.indptr[cols]]
        ok = (rows < n_e + n_g) & ((rows >= n_e) | (np.abs(coef) == 1))
        cols, rows, coef = cols[ok], rows[ok], coef[ok]
        _, first = np.unique(rows, return_index=True)
        return cols[first], rows[first], coef[first]

    def eliminate_slack(self) -> None:
        while True:
            cols, rows, coef = self._slacks()
            if not len(cols):
                return
            self._apply(cols, rows, coef)

    def _apply(self, cols: np.ndarray, rows: np.ndarray, coef: np.ndarray) -> None:
        n_e = self.E.shape[0]
        in_e = rows < n_e
        e_rows, sign = rows[in_e], np.where(coef[in_e] > 0, 1.0, -1.0)
        new_G = sp.diags(sign) @ self.E[e_rows]  # a z + s = e -> a z <= e - lb;  a z - s = e -> -a z <= -e - lb
        new_shift = [{int(self.kept[c]): 1.0} for c in cols[in_e]]
        g_rows, g_cols, g_coef = rows[~in_e] - n_e, cols[~in_e], coef[~in_e]
        for r, c, k in zip(g_rows[g_coef > 0], g_cols[g_coef > 0], g_coef[g_coef > 0], strict=True):
            self.shift[r][int(self.kept[c])] = float(k)
        keep_e = np.setdiff1d(np.arange(n_e), e_rows)
        keep_g = np.setdiff1d(np.arange(self.G.shape[0]), g_rows[g_coef < 0])
        self.G = sp.vstack([self.G[keep_g], new_G]).tocsr()
        self.g = np.concatenate([self.g[keep_g], sign * self.e[e_rows]])
        self.g_cells = np.concatenate([self.g_cells[keep_g], self.e_cells[e_rows]])
        self.g_struct = np.concatenate([self.g_struct[keep_g], self.e_cells[e_rows] < 0])
        self.shift = [self.shift[r] for r in keep_g] + new_shift
        self.E, self.e, self.e_cells = self.E[keep_e], self.e[keep_e], self.e_cells[keep_e]
        alive = np.setdiff1d(np.arange(self.E.shape[1]), cols)
        self.E, self.G, self.S = self.E[:, alive].tocsr(), self.G[:, alive].tocsr(), self.S[:, alive].tocsr()
        self.kept = self.kept[alive]

    def g_for(self, lb: np.ndarray) -> np.ndarray:
        """The right-hand side for an attacker with lower bounds ``lb`` (over the unfixed leaves)."""
        g: np.ndarray = self.g - np.array([sum(c * lb[j] for j, c in shift.items()) for shift in self.shift])
        return g


def _zero_fixed(E: sp.csr_matrix, e: np.ndarray) -> np.ndarray:
    """Variables forced to zero: inside a published zero, or by a zero-sum row of one sign."""
    fixed = np.zeros(E.shape[1], bool)
    rows = [
        (E.indices[E.indptr[r] : E.indptr[r + 1]], E.data[E.indptr[r] : E.indptr[r + 1]])
        for r in np.flatnonzero(e == 0)
    ]
    changed = True
    while changed:
        changed = False
        for cols, vals in rows:
            free = ~fixed[cols]
            if free.any() and ((vals[free] > 0).all() or (vals[free] < 0).all()):
                fixed[cols[free]] = True
                changed = True
    return fixed


def _merge_matrix(M: sp.csc_matrix) -> sp.csr_matrix:
    """Columns with identical entries merged: ``old x new`` 0/1 matrix."""
    groups: dict[tuple[bytes, bytes], int] = {}
    col_group = np.empty(M.shape[1], int)
    for j in range(M.shape[1]):
        s, t = M.indptr[j], M.indptr[j + 1]
        key = (M.indices[s:t].tobytes(), M.data[s:t].tobytes())
        col_group[j] = groups.setdefault(key, len(groups))
    return sp.csr_matrix((np.ones(M.shape[1]), (np.arange(M.shape[1]), col_group)), shape=(M.shape[1], len(groups)))


def _representatives(merge: sp.csr_matrix) -> np.ndarray:
    """One original column per merged column."""
    cols = merge.tocsc()
    return np.array([cols.indices[cols.indptr[j]] for j in range(cols.shape[1])], int)
