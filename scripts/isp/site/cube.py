"""Chart, report and pivot payloads: aggregates as dense integer cubes, compressed for the page.

A cube has the axes period x site x indicator x sex x age_group x nationality, in the orders of
protocol/*.yaml. Its cells are written as unsigned LEB128 varints (one byte for a count under
128, which most are), deflated (raw DEFLATE, level 6: level 9 is ten times slower for a few per
cent) and base64-encoded; the browser inflates them with ``DecompressionStream("deflate-raw")``.
Compression matters because the payload sits inside encrypted HTML, which no server can gzip:
a ten-year cube of a million cells travels as a few hundred kilobytes instead of several megabytes.

The payload goes into the page's encrypted content only (never a separate data file).
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np
import pandas as pd

from isp.protocol import models as protocol
from isp.site.data import NATIONAL

DEMOGRAPHICS = ("sex", "age_group", "nationality")


class Packed(TypedDict):
    """A cube as the page's JSON payload carries it."""

    axes: dict[str, list[str]]  # axis name -> its codes, in order
    shape: list[int]
    encoding: str
    cells: str  # see :func:`encode`


@dataclass(frozen=True)
class Axes:
    period: list[str]
    site: list[str]
    indicator: list[str]
    sex: list[str]
    age_group: list[str]
    nationality: list[str]

    @property
    def names(self) -> tuple[str, ...]:
        return ("period", "site", "indicator", *DEMOGRAPHICS)

    @property
    def lists(self) -> list[list[str]]:
        return [getattr(self, name) for name in self.names]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(values) for values in self.lists)

    def as_dict(self) -> dict[str, list[str]]:
        return dict(zip(self.names, self.lists, strict=True))


def axes(isp: protocol.Isp, periods: list[str], sites: list[str]) -> Axes:
    dims = isp.dimension_codes()
    return Axes(periods, sites, list(isp.indicators), dims["sex"], dims["age_group"], dims["nationality"])


def site_axis(isp: protocol.Isp, frame: pd.DataFrame, national: bool) -> list[str]:
    """The sites present in ``frame``, in sites.yaml order, the national total first if wanted."""
    present = {str(code) for code in frame["site"].unique()} if len(frame) else set()
    sites = [code for code in isp.sites if code in present]
    return [NATIONAL, *sites] if national else sites


def dense(frame: pd.DataFrame, ax: Axes) -> tuple[np.ndarray, int]:
    """The cube of ``frame`` over ``ax`` (zeros where no row), and how many rows fell outside it."""
    cube = np.zeros(ax.shape, dtype=np.int64)
    if not len(frame):
        return cube, 0
    codes = []
    inside = np.ones(len(frame), dtype=bool)
    for name, values in zip(ax.names, ax.lists, strict=True):
        column = positions(frame[name], values)
        inside &= column >= 0
        codes.append(column)
    index = tuple(column[inside] for column in codes)
    np.add.at(cube, index, frame["count"].to_numpy()[inside])
    return cube, int((~inside).sum())


def leb128(values: np.ndarray) -> bytes:
    """Unsigned LEB128: seven bits a byte, the high bit set on every byte but a value's last."""
    v = values.ravel().astype(np.uint64)
    if v.size and int(v.max()) >= 1 << 35:
        raise ValueError("a count is too large for the site's payload")
    sizes = np.ones(v.shape, dtype=np.int64)
    for k in range(1, 5):
        sizes += v >= np.uint64(1 << (7 * k))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    for k in range(5):
        mask = sizes > k
        more = np.where(sizes[mask] > k + 1, 0x80, 0).astype(np.uint64)
        out[starts[mask] + k] = ((v[mask] >> np.uint64(7 * k)) & np.uint64(0x7F)) | more
    return out.tobytes()


def positions(series: pd.Series, values: list[str]) -> np.ndarray:
    """Each row's position in ``values`` (-1 when absent); fast on categorical columns."""
    lookup = {code: i for i, code in enumerate(values)}
    if isinstance(series.dtype, pd.CategoricalDtype):
        per_category = np.array([lookup.get(str(c), -1) for c in series.cat.categories] + [-1], dtype=np.int64)
        found: np.ndarray = per_category[series.cat.codes.to_numpy()]  # code -1 (missing) picks the trailing -1
        return found
    column: np.ndarray = series.astype(str).map(lookup).fillna(-1).astype(np.int64).to_numpy()
    return column


def encode(cube: np.ndarray) -> str:
    """LEB128 varints, raw-deflated, base64."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(leb128(cube)) + packer.flush()).decode("ascii")


def pack(ax: Axes, cells: np.ndarray) -> Packed:
    """A JSON-ready cube: its axes (codes), shape and encoded cells."""
    return {"axes": ax.as_dict(), "shape": list(ax.shape), "encoding": "leb128+deflate-raw+base64",
            "cells": encode(cells)}  # fmt: skip


def without_national(ax: Axes, cells: np.ndarray) -> tuple[Axes, np.ndarray]:
    """The same cube without its national total (the first site), for sums over sites."""
    if not ax.site or ax.site[0] != NATIONAL:
        return ax, cells
    return replace(ax, site=ax.site[1:]), cells[:, 1:]


def totals(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """Counts summed over the demographic cells, indexed by ``by``."""
    if not len(frame):
        return pd.Series(dtype="int64")
    return frame.groupby(by, observed=True)["count"].sum()
