"""Small tables and profiles for the disclosure tests (synthetic figures only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from isp.disclosure import PublishedTable, Table
from isp.protocol.models import DisclosureProfile


def profile(
    threshold: int = 5,
    site_threshold: int | None = None,
    p: float = 0.0,
    width: int = 1,
    min_denominator: int = 20,
    zeros_published: bool = True,
) -> DisclosureProfile:
    return DisclosureProfile(
        threshold=threshold,
        site_threshold=threshold if site_threshold is None else site_threshold,
        dominance_p=p,
        protection_width=width,
        min_denominator=min_denominator,
        zeros_published=zeros_published,
    )


def grid_frame(values: Sequence[Sequence[int]], rows: str = "row", cols: str = "col") -> pd.DataFrame:
    """A long frame ``row,col,count`` for a grid of interior values (rows r0.., columns c0..)."""
    return pd.DataFrame(
        [(f"r{i}", f"c{j}", int(v)) for i, line in enumerate(values) for j, v in enumerate(line)],
        columns=[rows, cols, "count"],
    )


def grid(values: Sequence[Sequence[int]], name: str = "t", margins: bool | Sequence[str] = True) -> Table:
    return Table.from_frame(grid_frame(values), ["row"], ["col"], name=name, margins=margins)


def hide(table: Table, cells: Iterable[tuple[str, str]]) -> PublishedTable:
    """Publish ``table`` with exactly ``cells`` suppressed (a hand-made pattern to audit)."""
    return PublishedTable.of(table, list(cells))


def agency_frame(shares: dict[str, Sequence[Sequence[int]]]) -> pd.DataFrame:
    """Contributions ``row,col,agency,count`` from one grid per agency."""
    frames = [grid_frame(values).assign(agency=agency) for agency, values in shares.items()]
    return pd.concat(frames, ignore_index=True)
