"""Layouts a tracking sheet may arrive in, and how each maps onto the tidy columns.

Built in: the tidy CSV (one row per cell) and the Excel template that ``isp template`` writes
(one row per site, sex, age group and nationality; one column per indicator). Exports of the
agencies' case-management systems are described by YAML files in ``protocol/imports/``: which
export column is which of our columns, which export codes mean which of ours, and how the export
writes a month. The layout is recognised from the header row; no one has to say which it is.

Codes may also be given by their English or Arabic names from protocol/*.yaml ("Female", "أنثى",
"Amman", "New cases"), whatever the layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from isp import errors, yamlfiles
from isp.errors import Problem, ValidationFailed
from isp.protocol.models import Isp
from isp.sheets.read import Cell, RawTable
from isp.sheets.tidy import COLUMNS, DIMENSIONS

IMPORTS_DIR = "protocol/imports"
KEYS = ("month", "site", "indicator", "sex", "age_group", "nationality")
TARGETS = (*KEYS, "count", "agency")
# The template's rows 2 and 3 repeat the headers in English and Arabic; their month cells say so.
MONTH_LABEL_EN = "Month"
MONTH_LABEL_AR = "الشهر"
TEMPLATE_LABELS = frozenset({MONTH_LABEL_EN.casefold(), MONTH_LABEL_AR})


def norm(text: object) -> str:
    """Header or code as compared: case-folded, spaces collapsed, a BOM or NBSP removed."""
    return " ".join(str(text).replace("\ufeff", "").replace("\xa0", " ").split()).casefold()


class MappingFile(BaseModel):
    """protocol/imports/<system>.yaml: how one system's export maps onto the tidy sheet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    system: str
    shape: Literal["long", "wide"]
    header_row: int = Field(default=1, ge=1, le=50)
    columns: dict[str, Literal["month", "site", "indicator", "sex", "age_group", "nationality", "count", "agency"]]
    indicator_columns: dict[str, str] = {}
    values: dict[
        Literal["month", "site", "indicator", "sex", "age_group", "nationality", "agency"], dict[str, str]
    ] = {}
    month_formats: list[str] = []
    empty_is_zero: bool = False
    sum_mapped: bool = False

    @field_validator("values", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {str(a): str(b) for a, b in (v or {}).items()} for k, v in value.items()}
        return value


@dataclass(frozen=True)
class Layout:
    """One accepted layout, with headers and source codes normalised (see :func:`norm`)."""

    name: str
    label: str
    shape: Literal["long", "wide"]
    columns: dict[str, str]
    indicator_columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    month_formats: tuple[str, ...] = ()
    header_row: int = 1
    empty_is_zero: bool = False
    sum_mapped: bool = False
    label_markers: frozenset[str] = frozenset()  # a data row whose month cell is one of these is a label row

    def expected(self) -> set[str]:
        return set(self.columns) | set(self.indicator_columns)


@dataclass
class Header:
    """The chosen layout and where its columns are in this file."""

    layout: Layout
    row: int
    keys: dict[str, int]  # target -> column index
    indicators: dict[int, str]  # column index -> indicator code (wide)
    names: list[str]  # the file's own header text per column (for messages)
    unknown: list[int]  # column indexes the layout does not know


def tidy_layout() -> Layout:
    return Layout("tidy", "the tidy CSV", "long", {c: c for c in COLUMNS})


def template_layout(isp: Isp) -> Layout:
    keys = {c: c for c in ("month", "site", *DIMENSIONS)}
    indicators = {c: c for c in isp.indicators}
    return Layout("template", "the Excel template", "wide", keys, indicators, label_markers=TEMPLATE_LABELS)


def _layout(mapping: MappingFile, stem: str) -> Layout:
    return Layout(
        name=stem,
        label=mapping.name,
        shape=mapping.shape,
        columns={norm(k): v for k, v in mapping.columns.items()},
        indicator_columns={norm(k): v for k, v in mapping.indicator_columns.items()},
        values={t: {norm(k): v for k, v in m.items()} for t, m in mapping.values.items()},
        month_formats=tuple(mapping.month_formats),
        header_row=mapping.header_row,
        empty_is_zero=mapping.empty_is_zero,
        sum_mapped=mapping.sum_mapped,
    )


def load_mapping(path: Path) -> MappingFile:
    rel = f"{IMPORTS_DIR}/{path.name}"
    return yamlfiles.parse_model(MappingFile, path.read_bytes(), rel, fix="see protocol/imports/README.md")


def mapping_problems(isp: Isp, root: Path) -> list[Problem]:
    """Cross-checks of every mapping file against protocol codes (used by `isp protocol check`)."""
    problems: list[Problem] = []
    codes = known_codes(isp)
    for path in sorted((root / IMPORTS_DIR).glob("*.yaml")):
        rel = f"{IMPORTS_DIR}/{path.name}"
        try:
            mapping = load_mapping(path)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
            continue
        for header, code in mapping.indicator_columns.items():
            if code not in isp.indicators:
                value = f"indicator_columns.{header}: '{code}'"
                problems.append(
                    Problem.of(
                        errors.UNKNOWN_CODE, rel, value=value, what="indicator", codes_file=codes_file("indicator")
                    )
                )
        for target, table in mapping.values.items():
            for source, code in table.items():
                if target in codes and code not in codes[target]:
                    value, what = f"values.{target}.{source}: '{code}'", target.replace("_", " ")
                    problems.append(
                        Problem.of(errors.UNKNOWN_CODE, rel, value=value, what=what, codes_file=codes_file(target))
                    )
    return problems


def codes_file(target: str) -> str:
    """The protocol file that lists the codes of ``target``."""
    return "protocol/" + {"site": "sites.yaml", "agency": "agencies.yaml"}.get(target, "indicators.yaml")


@lru_cache(maxsize=8)
def _cached_layouts(folder: str, stamp: tuple[tuple[str, float], ...]) -> tuple[Layout, ...]:
    return tuple(_layout(load_mapping(Path(folder) / name), Path(name).stem) for name, _ in stamp)


def layouts(isp: Isp) -> list[Layout]:
    """Tidy, template, then every mapping in protocol/imports/ (sorted by file name)."""
    folder = isp.root / IMPORTS_DIR
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    stamp = tuple((p.name, p.stat().st_mtime) for p in files)
    return [tidy_layout(), template_layout(isp), *_cached_layouts(str(folder), stamp)]


def known_codes(isp: Isp) -> dict[str, set[str]]:
    dims = isp.dimension_codes()
    return {
        "site": set(isp.sites),
        "indicator": set(isp.indicators),
        **{name: set(values) for name, values in dims.items()},
        "agency": set(isp.agencies),
    }


def aliases(isp: Isp) -> dict[str, dict[str, str]]:
    """Our own codes and their English and Arabic names, normalised, per target column."""
    table: dict[str, dict[str, str]] = {}
    named = {
        "site": isp.sites.values(),
        "indicator": isp.indicators.values(),
        **{name: getattr(isp.dimensions, name) for name in DIMENSIONS},
    }
    for target, items in named.items():
        table[target] = {}
        for item in items:
            for text in (item.code, item.name_en, item.name_ar):
                table[target].setdefault(norm(text), item.code)
    table["agency"] = {norm(code): code for code in isp.agencies}
    for code, agency in isp.agencies.items():
        table["agency"].setdefault(norm(agency.label), code)
        table["agency"].setdefault(norm(agency.name), code)
    return table


# --- recognising the layout ------------------------------------------------------------------


def _header_row(table: RawTable, number: int) -> list[Cell] | None:
    return next((cells for row, cells in table.rows if row == number), None)


def _score(layout: Layout, headers: list[str]) -> float:
    present = set(headers)
    keys = len(set(layout.columns) & present) / max(1, len(layout.columns))
    if layout.shape == "long":
        return keys
    found = len(set(layout.indicator_columns) & present)
    return 0.0 if not found else (keys * len(layout.columns) + found) / len(layout.expected())


def detect(table: RawTable, candidates: list[Layout]) -> Header | None:
    """The layout that best explains the file's header row, or None when none fits well enough."""
    best: tuple[float, Layout, list[Cell]] | None = None
    for layout in candidates:
        cells = _header_row(table, layout.header_row)
        if cells is None:
            continue
        score = _score(layout, [norm(c) if c is not None else "" for c in cells])
        if score >= 0.6 and (best is None or score > best[0]):
            best = (score, layout, cells)
    if best is None:
        return None
    _, layout, cells = best
    return _locate(layout, cells)


def _locate(layout: Layout, cells: list[Cell]) -> Header:
    header = Header(layout, layout.header_row, {}, {}, [str(c) if c is not None else "" for c in cells], [])
    for index, cell in enumerate(cells):
        key = norm(cell) if cell is not None else ""
        if key in layout.columns and layout.columns[key] not in header.keys:
            header.keys[layout.columns[key]] = index
        elif key in layout.indicator_columns and index not in header.indicators:
            header.indicators[index] = layout.indicator_columns[key]
        else:
            header.unknown.append(index)
    return header


# --- normalising values ----------------------------------------------------------------------


def code_of(layout: Layout, alias: dict[str, dict[str, str]], target: str, raw: str) -> str | None:
    """Our code for an export's value (its own code list first, then our codes and names)."""
    key = norm(raw)
    mapped = layout.values.get(target, {}).get(key)
    if mapped is not None:
        return mapped
    return alias.get(target, {}).get(key)


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_of(layout: Layout, raw: Cell) -> str | None:
    """YYYY-MM from a month cell: the text itself, a first-of-month date, or a declared format."""
    if isinstance(raw, datetime | date):
        return f"{raw:%Y-%m}" if raw.day == 1 else None
    text = " ".join(str(raw).split())
    mapped = layout.values.get("month", {}).get(norm(text))
    if mapped:
        return mapped
    if _MONTH.match(text):
        return text
    for fmt in layout.month_formats:
        try:
            return f"{datetime.strptime(text, fmt):%Y-%m}"  # noqa: DTZ007 (a calendar month, no time zone)
        except ValueError:
            continue
    return None
