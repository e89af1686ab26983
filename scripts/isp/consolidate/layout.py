"""The dense cell index: every (site, indicator, sex, age group, nationality) of the protocol as
one integer, so a month of one agency is a plain vector and periods are numpy sums.

Codes are sorted on every axis, so the index order is the canonical row order of a tidy sheet
(rows sorted by site, indicator, sex, age group, nationality). The national total ``ALL`` is
rendered in its sorted place among the sites.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from isp.protocol.models import Isp

NATIONAL = "ALL"
AXES = ("site", "indicator", "sex", "age_group", "nationality")
HEADER = "period,site,indicator,sex,age_group,nationality,count\n"
RECIPE_VERSION = 1  # bump when the way figures are computed changes: every output is then redone
_SMALL = [str(i) for i in range(100_000)]


@dataclass(frozen=True)
class Layout:
    """The protocol's codes on each axis, sorted, and whether each indicator is a flow."""

    axes: dict[str, tuple[str, ...]]
    flows: frozenset[str]
    rules_version: int
    index: dict[str, dict[str, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {a: {c: i for i, c in enumerate(v)} for a, v in self.axes.items()})

    @classmethod
    def of(cls, isp: Isp) -> Layout:
        dims = isp.dimension_codes()
        axes = {"site": tuple(sorted(isp.sites)), "indicator": tuple(sorted(isp.indicators))}
        axes |= {name: tuple(sorted(dims[name])) for name in ("sex", "age_group", "nationality")}
        flows = frozenset(code for code, ind in isp.indicators.items() if ind.aggregation == "flow")
        return cls(axes, flows, isp.protocol.rules_version)

    @property
    def n_sites(self) -> int:
        return len(self.axes["site"])

    @cached_property
    def n_rest(self) -> int:
        """Cells per site."""
        return int(np.prod([len(self.axes[a]) for a in AXES[1:]]))

    @property
    def n_cells(self) -> int:
        return self.n_sites * self.n_rest

    @cached_property
    def flow_mask(self) -> np.ndarray:
        """True for the cells of flow indicators (summed over months), False for stocks."""
        per_indicator = np.array([code in self.flows for code in self.axes["indicator"]])
        rest = np.repeat(per_indicator, self.n_rest // len(per_indicator))
        return np.tile(rest, self.n_sites)

    @cached_property
    def recipe(self) -> str:
        """A fingerprint of everything that shapes the figures; when it changes, all is redone."""
        text = json.dumps([RECIPE_VERSION, self.rules_version, self.axes, sorted(self.flows)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cell_ids(self, codes: dict[str, np.ndarray]) -> np.ndarray:
        """Cell ids from per-axis code positions (arrays of equal length, -1 never passed)."""
        ids = np.zeros(len(codes["site"]), dtype=np.int64)
        for axis in AXES:
            ids = ids * len(self.axes[axis]) + codes[axis]
        return ids

    @cached_property
    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The render order over site cells then ALL cells (numbered after the sites'), and each
        rendered row's text up to its count."""
        sites = sorted([*self.axes["site"], NATIONAL])
        rest = [
            f"{i},{s},{a},{n},"
            for i in self.axes["indicator"]
            for s in self.axes["sex"]
            for a in self.axes["age_group"]
            for n in self.axes["nationality"]
        ]
        position = {code: k for k, code in enumerate(self.axes["site"])} | {NATIONAL: self.n_sites}
        order = np.concatenate([np.arange(self.n_rest) + position[s] * self.n_rest for s in sites])
        text = np.array([f"{s},{r}" for s in sites for r in rest], dtype=object)
        return order, text

    def render(self, label: str, values: np.ndarray, present: np.ndarray) -> bytes:
        """Canonical CSV of one output: the present cells of every site, then their national total
        in its sorted place among the sites."""
        return (HEADER + self._rows_of(label, values, present)).encode("utf-8")

    def render_many(self, tables: Iterable[tuple[str, np.ndarray, np.ndarray]]) -> bytes:
        """Several periods' tables in one CSV (an agency's year file), one header, in the given order."""
        return (HEADER + "".join(self._rows_of(label, *vector) for label, *vector in tables)).encode("utf-8")

    def _rows_of(self, label: str, values: np.ndarray, present: np.ndarray) -> str:
        shape = (self.n_sites, self.n_rest)
        everything = np.concatenate([values, values.reshape(shape).sum(axis=0)])
        shown = np.concatenate([present, present.reshape(shape).any(axis=0)])
        order, text = self._rows
        keep = shown[order]
        counts = everything[order][keep]
        if not len(counts):
            return ""
        numbers = map(_SMALL.__getitem__, counts.tolist()) if counts.max() < len(_SMALL) else map(str, counts.tolist())
        lines = map("".join, zip(text[keep].tolist(), numbers, strict=True))
        return f"{label}," + f"\n{label},".join(lines) + "\n"
