"""Count tables: cells over row and column dimensions, with margins and subtotals, built from long frames.

A :class:`Table` is defined by its row and column dimensions, which of them get a margin
(``Total``), optional subtotals (a hierarchy: a label standing for several categories), and a
``where`` filter that fixes the other dimensions (one value, or several summed). Its data are the
*leaves*: the finest cells of the long frame it was built from (every key column), zeros
included. Each published cell is the sum of a set of leaves, which is all the audit needs to know
how the cells of one or several tables relate: two cells with the same leaves are the same cell,
in whichever table they appear, and month, year-to-date and national figures link through the
leaves they share. Build every table of a release from the same leaf frame.

A :class:`Relation` is an identity the sheet itself guarantees (a group of indicators sums to a
total at every coordinate); an attacker knows it, so the audit uses it too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from isp.errors import IspError
from isp.protocol.models import Isp

TOTAL = "Total"
NATIONAL = "ALL"  # the aggregates' site code for the national total (recomputed from the sites)
NOT_KEYS = ("count", "agency")
Labels = tuple[str, ...]


@dataclass(frozen=True)
class Relation:
    """``total`` = sum of ``parts`` along dimension ``dim``, at every coordinate of the others."""

    dim: str
    total: str
    parts: tuple[str, ...]


def relations_from_protocol(isp: Isp) -> list[Relation]:
    """The indicator groups that sum to a total (e.g. the concern breakdown of new cases)."""
    out = []
    for group in isp.groups.values():
        if group.sums_to:
            members = tuple(code for code, ind in isp.indicators.items() if ind.group == group.code)
            out.append(Relation("indicator", group.sums_to, members))
    return out


def key_dims(frame: pd.DataFrame) -> tuple[str, ...]:
    """The key columns of a long frame: everything but ``count`` and ``agency``."""
    if "count" not in frame.columns:
        raise IspError("a table needs a long frame with a `count` column")
    return tuple(str(c) for c in frame.columns if c not in NOT_KEYS)


def leaf_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Leaves of a long frame: agencies summed, national ``ALL`` rows dropped when sites are present."""
    dims = list(key_dims(frame))
    data = frame
    if "site" in data.columns and (data["site"] != NATIONAL).any():
        data = data[data["site"] != NATIONAL]
    counts = pd.to_numeric(data["count"], errors="coerce")
    if counts.isna().any() or (counts < 0).any() or (counts != np.floor(counts)).any():
        raise IspError("counts must be non-negative whole numbers")
    data = data.assign(count=counts.astype("int64"))
    if data.duplicated(dims).any() and "agency" not in data.columns:
        raise IspError("the frame has two rows for the same cell")
    return data.groupby(dims, sort=False, as_index=False)["count"].sum()


def _as_values(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Incidence:
    """Which leaves make up each cell of a table, and which cells add up to which."""

    labels: list[Labels]  # one per cell, over rows + cols
    cell: np.ndarray  # cell index of each (cell, leaf) pair
    leaf: np.ndarray  # leaf position (row of Table.leaves) of each pair
    level: np.ndarray  # per cell: how many of its labels are margins or subtotals
    lines: list[tuple[int, list[int]]]  # (total cell, its parts) for every margin and subtotal


@dataclass(frozen=True, eq=False)
class Table:
    """A count table over ``rows`` x ``cols`` with margins; ``leaves`` hold its finest cells.

    ``leaves`` has one column per key dimension plus ``count`` (``<NA>`` when the true figures
    are unknown, as for a table read back from its published form).
    """

    name: str
    dims: tuple[str, ...]
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    margins: tuple[str, ...]
    where: Mapping[str, tuple[str, ...]]
    categories: Mapping[str, tuple[str, ...]]
    leaves: pd.DataFrame
    subtotals: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    total_label: str = TOTAL

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        rows: Sequence[str],
        cols: Sequence[str] = (),
        *,
        where: Mapping[str, str | Iterable[str]] | None = None,
        margins: bool | Sequence[str] = True,
        name: str | None = None,
        categories: Mapping[str, Sequence[str]] | None = None,
        subtotals: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        total_label: str = TOTAL,
    ) -> Table:
        """Build a table from a long frame (``period,site,indicator,...,count``; ``agency`` summed).

        ``where`` fixes dimensions to one value or a set of values (summed: e.g. the months of a
        year to date); dimensions in neither ``rows``, ``cols`` nor ``where`` are summed over.
        ``margins`` is True (every row and column dimension gets a Total), False, or the
        dimensions that get one. ``categories`` fixes the order of a dimension's codes.
        """
        dims = key_dims(frame)
        rows, cols = tuple(rows), tuple(cols)
        shown = rows + cols
        where_ = {d: _as_values(v) for d, v in (where or {}).items()}
        _check_dims(dims, shown, where_)
        data = leaf_frame(frame)
        for dim, values in where_.items():
            data = data[data[dim].isin(values)]
        order = {d: tuple(categories[d]) if categories and d in categories else _unique(data[d]) for d in shown}
        margin_dims = shown if margins is True else () if margins is False else tuple(margins)
        leaves = _complete(data, dims, order, where_)
        subs = {d: {g: tuple(m) for g, m in groups.items()} for d, groups in (subtotals or {}).items()}
        label = name or " x ".join(shown) + "".join(f" [{d}={','.join(v)}]" for d, v in where_.items())
        return cls(label, dims, rows, cols, margin_dims, where_, order, leaves, subs, total_label)

    @property
    def shown_dims(self) -> tuple[str, ...]:
        return self.rows + self.cols

    @property
    def known(self) -> bool:
        """Whether the true figures are known (not a table read back from its published form)."""
        return not self.leaves["count"].isna().any()

    def incidence(self) -> Incidence:
        """Every cell (margins and subtotals included) as a set of leaves."""
        return self._incidence

    @cached_property
    def _incidence(self) -> Incidence:
        options = [self._options(d) for d in self.shown_dims]
        parts = []
        for combo in itertools.product(*options):
            mask = np.logical_and.reduce([m for _, m, _ in combo]) if combo else np.ones(len(self.leaves), bool)
            pos = np.flatnonzero(mask)
            cols = {f"l{i}": np.broadcast_to(np.asarray(lab), mask.shape)[pos] for i, (lab, _, _) in enumerate(combo)}
            parts.append(pd.DataFrame({**cols, "leaf": pos, "level": sum(lv for _, _, lv in combo)}))
        pairs = pd.concat(parts, ignore_index=True)
        keys = [f"l{i}" for i in range(len(self.shown_dims))]
        if keys:
            pairs["cell"] = pairs.groupby(keys, sort=False).ngroup()
        else:
            pairs["cell"] = 0
        first = pairs.drop_duplicates("cell").sort_values("cell")
        labels = [tuple(str(x) for x in row) for row in first[keys].itertuples(index=False, name=None)]
        return Incidence(
            labels,
            pairs["cell"].to_numpy(),
            pairs["leaf"].to_numpy(),
            first["level"].to_numpy(),
            self._lines(labels),
        )

    def _options(self, dim: str) -> list[tuple[object, np.ndarray, int]]:
        """(label, leaf mask, level) choices for one shown dimension: its code, Total, subtotals."""
        values = self.leaves[dim].to_numpy()
        out: list[tuple[object, np.ndarray, int]] = [(values, np.ones(len(values), bool), 0)]
        if dim in self.margins:
            out.append((self.total_label, np.ones(len(values), bool), 1))
        for group, members in self.subtotals.get(dim, {}).items():
            out.append((group, np.isin(values, members), 1))
        return out

    def _lines(self, labels: list[Labels]) -> list[tuple[int, list[int]]]:
        index = {lab: i for i, lab in enumerate(labels)}
        lines = []
        for i, lab in enumerate(labels):
            for axis, dim in enumerate(self.shown_dims):
                members = self._members(dim, lab[axis])
                if members is None:
                    continue
                parts = [index.get((*lab[:axis], m, *lab[axis + 1 :])) for m in members]
                lines.append((i, [p for p in parts if p is not None]))
        return lines

    def _members(self, dim: str, label: str) -> tuple[str, ...] | None:
        if dim in self.margins and label == self.total_label:
            return self.categories[dim]
        return self.subtotals.get(dim, {}).get(label)

    def values(self) -> dict[Labels, int]:
        """The true value of every cell (requires known leaves)."""
        inc = self.incidence()
        counts = self.leaves["count"].to_numpy(dtype=float)[inc.leaf]
        sums = np.bincount(inc.cell, weights=counts, minlength=len(inc.labels))
        return {lab: round(float(v)) for lab, v in zip(inc.labels, sums, strict=True)}

    def describe(self, labels: Labels) -> str:
        """A cell's name for people: ``table: site=JO11, sex=Total``."""
        inner = ", ".join(f"{d}={v}" for d, v in zip(self.shown_dims, labels, strict=True))
        return f"{self.name}: {inner}" if inner else self.name


def _check_dims(dims: tuple[str, ...], shown: tuple[str, ...], where: Mapping[str, tuple[str, ...]]) -> None:
    for dim in (*shown, *where):
        if dim not in dims:
            raise IspError(f"unknown dimension '{dim}': the frame has {', '.join(dims)}")
    if len(set(shown)) != len(shown) or set(shown) & set(where):
        raise IspError("a dimension can be a row, a column or fixed by `where`, only once")


def _unique(series: pd.Series) -> tuple[str, ...]:
    return tuple(str(v) for v in pd.unique(series))


def _complete(
    data: pd.DataFrame,
    dims: tuple[str, ...],
    order: Mapping[str, tuple[str, ...]],
    where: Mapping[str, tuple[str, ...]],
) -> pd.DataFrame:
    """Every combination of the table's codes, zeros included (an absent row is a zero)."""
    levels = []
    for dim in dims:
        if dim in order:
            levels.append(list(order[dim]))
        elif dim in where:
            levels.append(list(where[dim]))
        else:
            levels.append(list(_unique(data[dim])))
    full = pd.MultiIndex.from_product(levels, names=list(dims))
    counts = data.set_index(list(dims))["count"]
    extra = counts.index.difference(full)
    if len(extra):
        raise IspError(f"the frame has codes outside the table's categories (e.g. {extra[0]})")
    out = counts.reindex(full, fill_value=0).astype("Int64").reset_index()
    return out.astype({d: str for d in dims})


@dataclass(frozen=True, eq=False)
class PublishedTable:
    """A table as it leaves: each cell's published count, ``None`` where suppressed."""

    table: Table
    shown: Mapping[Labels, int | None]

    @classmethod
    def of(cls, table: Table, suppressed: Iterable[Labels] = ()) -> PublishedTable:
        hidden = set(suppressed)
        return cls(table, {lab: (None if lab in hidden else v) for lab, v in table.values().items()})

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def suppressed(self) -> list[Labels]:
        return [lab for lab, v in self.shown.items() if v is None]

    def frame(self) -> pd.DataFrame:
        """Long form: one column per row/column dimension, then ``count`` (``<NA>`` = suppressed)."""
        dims = list(self.table.shown_dims)
        records = [(*lab, v) for lab, v in self.shown.items()]
        out = pd.DataFrame.from_records(records, columns=[*dims, "count"])
        out["count"] = out["count"].astype("Int64")
        return out

    def crosstab(self) -> pd.DataFrame:
        """Rows by columns, in category order with the margins last (``<NA>`` = suppressed)."""
        t = self.table
        frame = self.frame()
        if not t.cols:
            out = frame.set_index(list(t.rows))[["count"]]
        else:
            out = frame.pivot(index=list(t.rows), columns=list(t.cols), values="count")
        out = out.reindex(index=_ordered_index(t, t.rows, out.index))
        if t.cols:
            out = out.reindex(columns=_ordered_index(t, t.cols, out.columns))
        return out


def _ordered_index(table: Table, dims: tuple[str, ...], index: pd.Index) -> pd.Index:
    def rank(dim: str, label: object) -> tuple[int, int]:
        cats = table.categories[dim]
        if label in cats:
            return (0, cats.index(str(label)))
        subs = list(table.subtotals.get(dim, {}))
        return (1, subs.index(str(label))) if label in subs else (2, 0)

    def key(item: object) -> tuple[tuple[int, int], ...]:
        values = item if isinstance(item, tuple) else (item,)
        return tuple(rank(d, v) for d, v in zip(dims, values, strict=True))

    return (
        pd.Index(sorted(index, key=key), name=index.name)
        if len(dims) == 1
        else pd.MultiIndex.from_tuples(sorted(index, key=key), names=index.names)
    )
