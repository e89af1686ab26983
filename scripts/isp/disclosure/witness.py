"""Witness tables: whole-number tables that fit everything published, built without a solver.

The true table is one. Others come from moving units between two *interchangeable* leaves, which
appear in exactly the same published cells and relations: nothing published changes, only
suppressed cells (which must stay at or above their lower bounds) and inequality rows (which must
stay satisfied). A cell is safe as soon as such tables differ enough in it; every table built
here is checked against every constraint before it counts (:meth:`Attacker._valid`).
"""

from __future__ import annotations

import numpy as np

from isp.disclosure.reduce import Component

TOL = 1e-6
MAX_PAIRS = 200  # moves tried per witness before an LP is asked instead


class MoveLayout:
    """The pairs of interchangeable leaves of one component, shared by all its attackers."""

    def __init__(self, comp: Component) -> None:
        G = comp.G.tocsc()
        pub = comp.E.tocsc()
        groups: dict[tuple[bytes, bytes], list[int]] = {}
        self.group_of: list[list[int]] = []
        for j in range(pub.shape[1]):
            s, t = pub.indptr[j], pub.indptr[j + 1]
            members = groups.setdefault((pub.indices[s:t].tobytes(), pub.data[s:t].tobytes()), [])
            members.append(j)
            self.group_of.append(members)
        S = comp.S.tocsr()
        cols = comp.S.tocsc()
        self.vars_of = [S.indices[S.indptr[i] : S.indptr[i + 1]].tolist() for i in range(S.shape[0])]
        self.cells_of = [set(cols.indices[cols.indptr[j] : cols.indptr[j + 1]].tolist()) for j in range(S.shape[1])]
        self.rows_of = [
            dict(
                zip(
                    G.indices[G.indptr[j] : G.indptr[j + 1]].tolist(),
                    G.data[G.indptr[j] : G.indptr[j + 1]].tolist(),
                    strict=True,
                )
            )
            for j in range(G.shape[1])
        ]
        self.pairs: dict[int, list[tuple[int, int]]] = {}
        self.effects: dict[tuple[int, int], tuple[list[int], list[int], list[tuple[int, float]]]] = {}

    def pairs_of(self, t: int) -> list[tuple[int, int]]:
        """(inside, outside) leaf pairs of target ``t`` that are interchangeable."""
        if t not in self.pairs:
            inside = set(self.vars_of[t])
            self.pairs[t] = [(v, w) for v in self.vars_of[t] for w in self.group_of[v] if w not in inside]
        return self.pairs[t]

    def effect(self, donor: int, taker: int) -> tuple[list[int], list[int], list[tuple[int, float]]]:
        """Suppressed cells that lose and gain, and inequality rows that change, per unit moved."""
        key = (donor, taker)
        if key not in self.effects:
            losing = sorted(self.cells_of[donor] - self.cells_of[taker])
            gaining = sorted(self.cells_of[taker] - self.cells_of[donor])
            change = dict(self.rows_of[taker])
            for r, coef in self.rows_of[donor].items():
                change[r] = change.get(r, 0.0) - coef
            self.effects[key] = (losing, gaining, [(r, d) for r, d in change.items() if d != 0])
        return self.effects[key]


class Moves:
    """Witness tables for one attacker: the true table, changed by moving units between pairs."""

    def __init__(self, comp: Component, lb: np.ndarray, g: np.ndarray) -> None:
        assert comp.truth is not None
        if "moves" not in comp.cache:
            comp.cache["moves"] = MoveLayout(comp)
        layout = comp.cache["moves"]
        assert isinstance(layout, MoveLayout)
        self.layout: MoveLayout = layout
        self.truth = comp.truth
        self.lb = lb
        self.y0 = comp.S @ comp.truth
        self.h0 = g - comp.G @ comp.truth  # slack of each inequality row
        self.lb_list = lb.tolist()
        self.L_list = comp.L.tolist()

    def reach(self, t: int, goal: float, up: bool) -> np.ndarray | None:
        """A table reaching ``goal`` in target ``t`` by moving units across its pairs, or None."""
        pairs = self.layout.pairs_of(t)
        if not pairs:
            return None
        z, y, h = self.truth.tolist(), self.y0.tolist(), self.h0.tolist()
        lb, low = self.lb_list, self.L_list
        need = (goal - y[t]) if up else (y[t] - goal)
        for v, w in pairs[:MAX_PAIRS]:
            donor, taker = (w, v) if up else (v, w)
            cap = z[donor] - lb[donor]
            if cap <= 0:
                continue
            losing, gaining, change = self.layout.effect(donor, taker)
            for c in losing:
                cap = min(cap, y[c] - low[c])
            for r, delta in change:
                if delta > 0:
                    cap = min(cap, float(np.floor(h[r] / delta + TOL)))
            step = min(cap, need)
            if step <= 0:
                continue
            z[donor] -= step
            z[taker] += step
            for c in losing:
                y[c] -= step
            for c in gaining:
                y[c] += step
            for r, delta in change:
                h[r] -= delta * step
            need -= step
            if need <= 0:
                return np.asarray(z)
        return None
