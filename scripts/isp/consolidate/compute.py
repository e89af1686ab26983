"""The arithmetic of consolidation, vectorised with numpy over a block of months.

A :class:`Block` holds several agencies' months as dense arrays ``counts[agency, month, cell]``
with ``present`` (the cell was in the sheet, zero or not). Over a period:

- a **flow** indicator is the sum over the period's months;
- a **stock** indicator is taken, for each agency, from the last month it reported within the
  period (an agency that skipped the last month still counts with its latest figure);
- the consolidated figure sums those over agencies, leaving out the months of a suspended agency;
  the national total (``ALL``) sums over sites, which :meth:`Layout.render` adds.

Integer sums only, in a fixed order: the same inputs always give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from isp.consolidate.inputs import Cells, cells_of
from isp.consolidate.layout import Layout
from isp.protocol.models import Isp
from isp.protocol.periods import Period

Vector = tuple[np.ndarray, np.ndarray]  # (counts per cell, present per cell)


@dataclass
class Block:
    """Agencies x consecutive months x cells, with which months were submitted and which count."""

    layout: Layout
    agencies: list[str]
    months: list[str]
    counts: np.ndarray
    present: np.ndarray
    submitted: np.ndarray
    included: np.ndarray

    @classmethod
    def build(cls, layout: Layout, months: list[str], parts: dict[tuple[str, str], tuple[Cells, bool]]) -> Block:
        """``parts`` maps (agency, month) to its cells and whether a suspension leaves it out."""
        agencies = sorted({agency for agency, _ in parts})
        row = {a: i for i, a in enumerate(agencies)}
        col = {m: i for i, m in enumerate(months)}
        shape = (len(agencies), len(months))
        counts = np.zeros((*shape, layout.n_cells), dtype=np.int64)
        present = np.zeros((*shape, layout.n_cells), dtype=bool)
        submitted, included = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        for (agency, month), (cells, suspended) in parts.items():
            a, m = row[agency], col[month]
            counts[a, m, cells.ids] = cells.counts
            present[a, m, cells.ids] = True
            submitted[a, m], included[a, m] = True, not suspended
        return cls(layout, agencies, months, counts, present, submitted, included)

    def _span(self, period: Period) -> slice:
        return slice(self.months.index(period.first), self.months.index(period.last) + 1)

    def _reduce(self, rows: slice, span: slice, reported: np.ndarray) -> Vector:
        """Per agency in ``rows``: flows summed over the reported months of ``span``, stocks from
        each agency's last reported month. Returns arrays [agencies, cells]."""
        counts, present, rep = self.counts[rows, span], self.present[rows, span], reported[rows, span]
        if rep.all():
            flow, flow_present = counts.sum(axis=1), present.any(axis=1)
        else:
            flow = np.einsum("amc,am->ac", counts, rep.astype(np.int64))
            flow_present = (present & rep[:, :, None]).any(axis=1)
        last = rep.shape[1] - 1 - np.argmax(rep[:, ::-1], axis=1)
        agencies = np.arange(rep.shape[0])
        some = np.asarray(rep.any(axis=1))[:, None]
        stock, stock_present = counts[agencies, last] * some, present[agencies, last] & some
        flows = self.layout.flow_mask
        return np.where(flows, flow, stock), np.where(flows, flow_present, stock_present)

    def agency(self, agency: str, period: Period) -> Vector:
        """One agency's own figures for ``period`` (every month it submitted, suspended or not)."""
        a = self.agencies.index(agency)
        values, present = self._reduce(slice(a, a + 1), self._span(period), self.submitted)
        return values[0], present[0]

    def consolidated(self, period: Period) -> Vector:
        """Every agency's figures for ``period`` summed, without the months a suspension leaves out."""
        values, present = self._reduce(slice(None), self._span(period), self.included)
        return values.sum(axis=0), np.asarray(present.any(axis=0))


def combine(children: list[Vector], flow_mask: np.ndarray) -> Vector:
    """A period from its sub-periods, oldest first: flows summed, stocks from the last one (see
    :mod:`isp.consolidate.sources` for when this equals the direct computation)."""
    values = np.sum([v for v, _ in children], axis=0)
    present = np.any([p for _, p in children], axis=0)
    last_values, last_present = children[-1]
    return np.where(flow_mask, values, last_values), np.where(flow_mask, present, last_present)


def consolidate_range(frames: dict[str, pd.DataFrame], isp: Isp, period: Period) -> pd.DataFrame:
    """The consolidated table for any period (a custom range of months, say) from per-agency tidy
    frames such as :func:`isp.consolidate.load_submissions` returns; same rules and columns as
    the files in aggregates/ (``period`` holds the period's label)."""
    from isp.consolidate.outputs import read_table

    layout = Layout.of(isp)
    months = period.months
    parts: dict[tuple[str, str], tuple[Cells, bool]] = {}
    for agency, frame in frames.items():
        suspended = isp.agencies[agency].suspended_in
        for month, rows in frame[frame["month"].isin(months)].groupby("month", sort=True, observed=True):
            cells = cells_of(rows, layout, str(month), f"{agency} {month}")
            parts[(agency, str(month))] = (cells, suspended(str(month)) is not None)
    values, present = Block.build(layout, months, parts).consolidated(period)
    return read_table(layout.render(period.label, values, present))
