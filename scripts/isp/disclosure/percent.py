"""Percent-only indicators: percentages computed from protected counts, and what they tell an attacker.

A percentage is shown only when its numerator count passed disclosure control (it is not
suppressed) and its denominator is published and at least ``profile.min_denominator``. It is a
whole percent, rounded half up: ``p = floor(100 * y / N + 1/2)``. A 0% or 100% is withheld when
``N < EXTREMES_BELOW``: below 200 a rounded 0% or 100% can only mean exactly none or exactly all
(group disclosure), while from 200 on it also covers one case more or less.

For the audit, a published ``p`` with numerator cell ``y`` and denominator cell ``N`` says
exactly ``(2p - 1) N <= 200 y <= (2p + 1) N - 1`` (the integer form of ``p - 1/2 <= 100 y / N <
p + 1/2``): linear in the leaves whether ``N`` is published or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from isp.disclosure.tables import Labels, PublishedTable, Table
from isp.errors import IspError
from isp.protocol.models import DisclosureProfile

if TYPE_CHECKING:
    from isp.disclosure.model import Model

EXTREMES_BELOW = 200


@dataclass(frozen=True, eq=False)
class PercentTable:
    """Percentages of ``numerator`` cells over the same cells of ``denominator`` (``None`` = not shown)."""

    numerator: Table
    denominator: Table
    percent: Mapping[Labels, int | None]
    numerator_suppressed: frozenset[Labels] = frozenset()

    def suppressed_numerators(self) -> list[Labels]:
        """Numerator cells hidden by disclosure control (the audit checks they stay hidden)."""
        return sorted(self.numerator_suppressed)

    def frame(self) -> pd.DataFrame:
        """Long form: one column per row/column dimension, then ``percent`` (``<NA>`` = not shown)."""
        dims = list(self.numerator.shown_dims)
        out = pd.DataFrame.from_records([(*k, v) for k, v in self.percent.items()], columns=[*dims, "percent"])
        out["percent"] = out["percent"].astype("Int64")
        return out


def whole_percent(numerator: int, denominator: int) -> int:
    """``floor(100 * numerator / denominator + 1/2)`` in integer arithmetic."""
    return (200 * numerator + denominator) // (2 * denominator)


def percentages(
    numerator: PublishedTable,
    denominator: PublishedTable,
    profile: DisclosureProfile,
    *,
    extremes_below: int = EXTREMES_BELOW,
) -> PercentTable:
    """Percentages from protected counts (both tables as published, with the same cells)."""
    if set(numerator.shown) != set(denominator.shown):
        raise IspError(f"{numerator.name} and {denominator.name} do not have the same cells")
    floor = max(profile.min_denominator, 1)
    out: dict[Labels, int | None] = {}
    for labels, y in numerator.shown.items():
        n = denominator.shown[labels]
        if y is None or n is None or n < floor:
            out[labels] = None
            continue
        p = whole_percent(y, n)
        out[labels] = None if p in (0, 100) and n < extremes_below else p
    return PercentTable(numerator.table, denominator.table, out, frozenset(numerator.suppressed))


def percent_rows(model: Model, tables: Sequence[PercentTable]) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """``G z <= g`` for every shown percentage, and which model cells have a percentage shown."""
    index = {id(t): i for i, t in enumerate(model.tables)}
    num: list[int] = []
    den: list[int] = []
    pct: list[int] = []
    for table in tables:
        for labels, value in table.percent.items():
            if value is not None:
                num.append(model.cell_of(index[id(table.numerator)], labels))
                den.append(model.cell_of(index[id(table.denominator)], labels))
                pct.append(value)
    shown = np.zeros(model.n_cells, bool)
    if not pct:
        return sp.csr_matrix((0, model.n_vars)), np.zeros(0), shown
    shown[num] = True
    p = np.asarray(pct, float)
    Y, N = model.A[num], model.A[den]
    upper = 200 * Y - sp.diags(2 * p + 1) @ N  # 200 y - (2p+1) N <= -1
    lower = sp.diags(2 * p - 1) @ N - 200 * Y  # (2p-1) N - 200 y <= 0
    return sp.vstack([upper, lower]).tocsr(), np.concatenate([-np.ones(len(p)), np.zeros(len(p))]), shown
