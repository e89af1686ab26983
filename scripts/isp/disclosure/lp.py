"""One linear program solved for many objectives: the attacker's LP screening.

The feasible set (``E z = e``, ``A z <= b``, ``z >= lb``) stays the same while the objective
changes from cell to cell, so the model is handed to HiGHS once and every re-solve starts from the
previous optimal basis. That uses the HiGHS bindings scipy ships (``scipy.optimize._highspy``,
the same solver ``scipy.optimize.linprog(method="highs")`` runs); where they are not importable,
each solve falls back to ``linprog`` itself (cold, about three times slower, same answers).

``linprog_retry`` and ``milp_retry`` wrap the public scipy calls for one-off problems: when HiGHS'
presolve cannot tell an unbounded problem from an infeasible one, they ask again without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult, linprog, milp

try:  # scipy's own HiGHS bindings (scipy >= 1.15)
    from scipy.optimize._highspy import _core as highs
except ImportError:  # pragma: no cover - depends on the scipy build
    highs = None

OPTIMAL, UNBOUNDED, INFEASIBLE, OTHER = "optimal", "unbounded", "infeasible", "other"


@dataclass(frozen=True)
class Result:
    status: str
    value: float  # the minimum of the objective (when optimal)
    x: np.ndarray | None
    eq_duals: np.ndarray  # one per equality row (zero when not optimal)
    ub_duals: np.ndarray  # one per inequality row


class LinearProgram:
    """``min c z`` over ``E z = e, A z <= b, z >= lb`` for many ``c``."""

    def __init__(self, E: sp.csr_matrix, e: np.ndarray, A: sp.csr_matrix, b: np.ndarray, lb: np.ndarray) -> None:
        self.E, self.e, self.A, self.b, self.lb = E, e, A, b, lb
        self.n = int(lb.shape[0])
        self._highs: Any = self._load() if highs is not None and USE_BINDINGS else None

    def _load(self) -> Any:
        solver = highs._Highs()
        solver.setOptionValue("output_flag", False)
        solver.setOptionValue("presolve", "off")  # re-solves warm-start; presolve would discard the basis
        solver.setOptionValue("simplex_strategy", 4)  # primal: the last basis stays feasible for a new objective
        M = sp.vstack([self.E, self.A]).tocsc()
        model = highs.HighsLp()
        model.num_col_, model.num_row_ = self.n, int(M.shape[0])
        model.col_cost_ = np.zeros(self.n)
        model.col_lower_ = self.lb.astype(float)
        model.col_upper_ = np.full(self.n, np.inf)
        model.row_lower_ = np.concatenate([self.e, np.full(self.A.shape[0], -np.inf)]).astype(float)
        model.row_upper_ = np.concatenate([self.e, self.b]).astype(float)
        model.a_matrix_.format_ = highs.MatrixFormat.kColwise
        model.a_matrix_.start_ = M.indptr
        model.a_matrix_.index_ = M.indices
        model.a_matrix_.value_ = M.data.astype(float)
        solver.passModel(model)
        self._columns = np.arange(self.n, dtype=np.int32)
        return solver

    def minimize(self, c: np.ndarray) -> Result:
        if self._highs is None:
            return self._linprog(c)
        solver = self._highs
        solver.changeColsCost(self.n, self._columns, np.asarray(c, float))
        solver.run()
        result = self._read(solver)
        if result.status == OTHER:  # solve once more from scratch, then ask linprog
            solver.clearSolver()
            solver.run()
            result = self._read(solver)
        return self._linprog(c) if result.status == OTHER else result

    def _read(self, solver: Any) -> Result:
        status = solver.getModelStatus()
        if status == highs.HighsModelStatus.kOptimal:
            sol = solver.getSolution()
            duals = np.asarray(sol.row_dual)
            n_eq = self.E.shape[0]
            value = float(solver.getInfo().objective_function_value)
            return Result(OPTIMAL, value, np.asarray(sol.col_value), duals[:n_eq], duals[n_eq:])
        if status == highs.HighsModelStatus.kUnbounded:
            return self._empty(UNBOUNDED)
        if status == highs.HighsModelStatus.kInfeasible:
            return self._empty(INFEASIBLE)
        return self._empty(OTHER)

    def _empty(self, status: str) -> Result:
        return Result(status, np.nan, None, np.zeros(self.E.shape[0]), np.zeros(self.A.shape[0]))

    def _linprog(self, c: np.ndarray) -> Result:
        kwargs: dict[str, object] = {
            "A_ub": self.A if self.A.shape[0] else None,
            "b_ub": self.b if self.A.shape[0] else None,
            "A_eq": self.E if self.E.shape[0] else None,
            "b_eq": self.e if self.E.shape[0] else None,
            "bounds": np.column_stack([self.lb, np.full(self.n, np.inf)]),
            "method": "highs",
        }
        res = linprog(c, **kwargs)
        if res.status == 4:  # HiGHS' presolve cannot tell unbounded from infeasible: ask without it
            res = linprog(c, options={"presolve": False}, **kwargs)
        if res.status == 0:
            eq = getattr(getattr(res, "eqlin", None), "marginals", None)
            ub = getattr(getattr(res, "ineqlin", None), "marginals", None)
            return Result(
                OPTIMAL,
                float(res.fun),
                np.asarray(res.x),
                np.zeros(self.E.shape[0]) if eq is None else np.asarray(eq),
                np.zeros(self.A.shape[0]) if ub is None else np.asarray(ub),
            )
        return self._empty({2: INFEASIBLE, 3: UNBOUNDED}.get(res.status, OTHER))


def linprog_retry(*args: object, **kwargs: object) -> OptimizeResult:
    """``scipy.optimize.linprog`` (HiGHS), asked again without presolve when HiGHS cannot tell
    infeasible from unbounded."""
    res = linprog(*args, method="highs", **kwargs)
    if res.status == 4:
        res = linprog(*args, method="highs", options={"presolve": False}, **kwargs)
    return res


def milp_retry(*args: object, options: Mapping[str, object] | None = None, **kwargs: object) -> OptimizeResult:
    """``scipy.optimize.milp`` (HiGHS), asked again without presolve when HiGHS cannot tell
    infeasible from unbounded."""
    res = milp(*args, options=options, **kwargs)
    if res.status == 4:
        res = milp(*args, options={**(options or {}), "presolve": False}, **kwargs)
    return res


USE_BINDINGS = True  # tests switch this off to check the fallback gives the same answers
