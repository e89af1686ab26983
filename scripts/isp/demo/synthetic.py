"""Plausible synthetic tracking sheets, for the demo, the benchmarks and the tests.

Figures are small (many zeros and ones, as in real case-management data), follow the sites
matrix, and keep the sheet's own arithmetic: the concern and risk breakdowns sum to new cases.
Deterministic for a given seed, agency and month. No real person's data is involved.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from isp.protocol.models import Isp
from isp.sheets.tidy import COLUMNS


def _rng(seed: int, agency: str, month: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{agency}|{month}".encode())])


def _split(rng: np.random.Generator, total: np.ndarray, parts: int) -> np.ndarray:
    """Split each total into ``parts`` non-negative integers that sum to it (multinomial)."""
    weights = rng.dirichlet(np.ones(parts) * 0.7)
    return np.stack([rng.multinomial(int(t), weights) for t in total]) if len(total) else np.zeros((0, parts), int)


def month_sheet(
    isp: Isp, agency: str, month: str, seed: int = 2015, scale: float = 1.0, sites: list[str] | None = None
) -> pd.DataFrame:
    """A complete tidy sheet (every cell, zeros included) for ``agency`` and ``month``."""
    rng = _rng(seed, agency, month)
    sites = sites if sites is not None else list(isp.agencies[agency].sites)
    dims = isp.dimension_codes()
    cells = pd.MultiIndex.from_product(
        [sites, dims["sex"], dims["age_group"], dims["nationality"]], names=["site", "sex", "age_group", "nationality"]
    ).to_frame(index=False)
    nat_weight = cells["nationality"].map({"SYR": 1.0, "JOR": 0.35, "IRQ": 0.12}).fillna(0.06).to_numpy()
    base = rng.gamma(0.8, 1.6 * scale, size=len(cells)) * nat_weight
    new = rng.poisson(base)
    values: dict[str, np.ndarray] = {"new_cases": new}
    for group, members in _groups(isp).items():
        if isp.groups[group].sums_to == "new_cases":
            split = _split(rng, new, len(members))
            values.update({code: split[:, i] for i, code in enumerate(members)})
    values["active_cases"] = new * 3 + rng.poisson(base * 4)
    values["closed_cases"] = rng.binomial(values["active_cases"], 0.2)
    values["bia_completed"] = rng.binomial(new, 0.7)
    values["bid_completed"] = rng.binomial(new, 0.1)
    for code in isp.indicators:
        if code not in values:
            values[code] = rng.binomial(new + values["active_cases"] // 3, 0.3)
    frames = [cells.assign(indicator=code, count=values[code]) for code in isp.indicators]
    sheet = pd.concat(frames, ignore_index=True).assign(month=month)
    return sheet[COLUMNS]


def _groups(isp: Isp) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for code, ind in isp.indicators.items():
        groups.setdefault(ind.group, []).append(code)
    return groups
