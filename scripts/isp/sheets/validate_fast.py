"""A vectorised fast path for the common case: a clean sheet in the canonical tidy layout.

Stored submissions are all canonical tidy CSVs, and CI and ``isp validate`` check many of them.
``clean_tidy`` answers "is this sheet valid as it stands?" with numpy in one pass: codes become
positions in the protocol's code lists, the counts fill a dense array (site x indicator x sex x
age group x nationality), and duplicates and totals are array operations. It returns the tidy
frame when every rule holds, or None as soon as anything is off; the caller then runs the
cell-by-cell checks that locate and explain each problem. It never reports a problem itself, so
the two paths cannot disagree about what is wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from isp.protocol.models import Isp
from isp.sheets.layouts import Header
from isp.sheets.read import RawTable
from isp.sheets.tidy import COLUMNS, DIMENSIONS, KEY_COLUMNS

MAX_DIGITS = 6


def clean_tidy(isp: Isp, agency: str, month: str, table: RawTable, header: Header) -> pd.DataFrame | None:
    """The sheet as a tidy frame when it is in the tidy layout and breaks no rule; else None."""
    if header.layout.name != "tidy" or header.unknown or table.formulas or table.kind != "csv":
        return None
    if set(header.keys) != set(COLUMNS):
        return None
    width = len(header.names)
    body = [cells for number, cells in table.rows if number > header.row]
    if not body or any(len(cells) != width for cells in body):
        return None
    grid = np.array(body, dtype=object)
    column = {target: grid[:, index] for target, index in header.keys.items()}
    if not (column["month"] == month).all() or not _counts_ok(column["count"]):
        return None
    lists = _code_lists(isp, agency)
    positions = [pd.Index(codes).get_indexer(column[target]) for target, codes in lists.items()]
    if any((p < 0).any() for p in positions):
        return None
    return _dense(isp, month, lists, positions, column["count"].astype(np.int64))


def _counts_ok(counts: np.ndarray) -> bool:
    return all(isinstance(c, str) and c.isascii() and c.isdigit() and len(c) <= MAX_DIGITS for c in counts)


def _code_lists(isp: Isp, agency: str) -> dict[str, list[str]]:
    dims = isp.dimension_codes()
    return {
        "site": list(isp.agencies[agency].sites),  # an undeclared site goes the slow way (refused)
        "indicator": list(isp.indicators),
        **{name: dims[name] for name in DIMENSIONS},
    }


def _dense(
    isp: Isp, month: str, lists: dict[str, list[str]], positions: list[np.ndarray], counts: np.ndarray
) -> pd.DataFrame | None:
    shape = tuple(len(codes) for codes in lists.values())
    flat = np.ravel_multi_index(tuple(positions), shape)
    if flat.size != int(np.prod(shape)) or np.unique(flat).size != flat.size:
        return None  # a cell missing or given twice: the cell-by-cell path names it
    dense = np.zeros(int(np.prod(shape)), dtype=np.int64)
    dense[flat] = counts
    cube = dense.reshape(shape)
    present = np.unique(positions[0])
    cube = cube[present]
    if not _totals_ok(isp, lists["indicator"], cube):
        return None
    sites = [lists["site"][i] for i in present]
    order = np.argsort(sites, kind="stable")  # sites sorted, as the cell-by-cell path orders them
    return _frame(month, [sites[i] for i in order], lists, cube[order])


def _totals_ok(isp: Isp, indicators: list[str], cube: np.ndarray) -> bool:
    at = {code: i for i, code in enumerate(indicators)}
    for group_code, group in isp.groups.items():
        parts = [at[c] for c, ind in isp.indicators.items() if ind.group == group_code]
        total = at.get(group.sums_to or "")
        if total is not None and parts and not (cube[:, parts].sum(axis=1) == cube[:, total]).all():
            return False
    return True


def _frame(month: str, sites: list[str], lists: dict[str, list[str]], cube: np.ndarray) -> pd.DataFrame:
    """Every cell of the sites present, in grid order (site, indicator, sex, age group, nationality)."""
    axes = [sites, *(lists[name] for name in ("indicator", *DIMENSIONS))]
    sizes = [len(axis) for axis in axes]
    total = int(np.prod(sizes))
    data: dict[str, object] = {"month": np.full(total, month, dtype=object)}
    for i, (name, axis) in enumerate(zip(KEY_COLUMNS[1:], axes, strict=True)):
        inner = int(np.prod(sizes[i + 1 :]))
        data[name] = np.tile(np.repeat(np.array(axis, dtype=object), inner), total // (inner * sizes[i]))
    frame = pd.DataFrame(data).astype("string")
    frame["count"] = cube.reshape(-1)
    return frame[COLUMNS]
