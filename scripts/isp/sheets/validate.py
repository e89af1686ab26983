"""Validate a tracking sheet held in memory and turn it into the canonical tidy frame (contract A).

``validate_bytes(data, filename, isp, agency, month, strict)`` accepts the tidy CSV, the Excel
template, and the exports described in protocol/imports/. It collects every problem, one
:class:`Problem` each (file, row, column, rule, how to fix), rather than stopping at the first:

- file: empty, too large, not UTF-8, macro-enabled, legacy format, damaged (``sheet_read``);
- schema: unknown or missing columns, unknown codes, a month other than the one submitted;
- counts: whole numbers of 0 or more;
- duplicates: a cell given twice;
- completeness: every cell of every site the agency declares in protocol/agencies.yaml (its annex
  sites) must be given, 0 when there were none; a missing row, cell or indicator column is refused
  by name, never read as zero;
- sites outside the agency's annex sites are refused (the annex changes by a signed change);
- anything identifiable: personal-looking columns or values, free text (``identifiable``);
- formulas: cells starting with ``=``, ``+``, ``-`` or ``@``;
- totals: breakdowns of a group with ``sums_to`` must add up to that indicator, per cell.

Messages never quote a count, and quote other cell text only when it has the shape of a code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

import pandas as pd

from isp import errors
from isp.errors import ErrorCode, Problem, Severity
from isp.protocol.models import Isp
from isp.protocol.periods import is_month
from isp.sheets import completeness, identifiable
from isp.sheets import layouts as sheet_import
from isp.sheets import read as sheet_read
from isp.sheets import validate_fast as validation_fast
from isp.sheets.layouts import Header, Layout
from isp.sheets.read import Cell, RawTable
from isp.sheets.tidy import COLUMNS, DIMENSIONS, KEY_COLUMNS

MAX_COUNT_DIGITS = 6  # a monthly count of a million or more is an identifier typed in the wrong place
MAX_LISTED_ROWS = 5
_CODE_SHAPE = re.compile(r"^(?:[A-Z0-9][A-Z0-9_-]{0,19}|[a-z][a-z0-9]*(?:_[a-z0-9]+)+|\d{1,2}-\d{1,2}|[A-Za-z]{1,3})$")

FORMULA_STARTS = frozenset("=+-@\t\r")
# Excel's error values (openpyxl.cell.cell.ERROR_CODES and the dynamic-array ones): a broken formula
# whose last result was saved, or a CSV written from one. Not imported: openpyxl loads only for workbooks.
EXCEL_ERRORS = frozenset(
    ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!")
)
MAX_TITLE_ROWS = 10  # rows a user may have inserted above the header (a title, a date, a blank line)
AGE_GROUP_DATE_FIX = (
    "type the age group code as text (Excel turns 6-11 into a date unless the column is formatted as Text); "
    "never enter a date of birth"
)
Key = tuple[str, str, str, str, str, str]  # month, site, indicator, sex, age_group, nationality


def validate_bytes(
    data: bytes, filename: str, isp: Isp, agency: str, month: str, strict: bool = False
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Parse and check a sheet; return the tidy frame (None when unreadable) and every problem."""
    problems = _context_problems(isp, agency, month, filename)
    if problems:
        return None, problems
    table, problems = sheet_read.read(data, filename)
    if table is None:
        return None, problems
    candidates = sheet_import.layouts(isp)
    header = sheet_import.detect(table, candidates)
    if header is None:
        return None, problems + _layout_problems(table, filename, candidates)
    clean = validation_fast.clean_tidy(isp, agency, month, table, header)
    if clean is not None:
        return clean, problems
    check = SheetCheck(isp, agency, month, strict, filename, table, header)
    frame = check.run()
    return frame, condense(problems + check.problems)


def _context_problems(isp: Isp, agency: str, month: str, filename: str) -> list[Problem]:
    if agency not in isp.agencies:
        return [Problem.of(errors.UNKNOWN_AGENCY, filename, agency=agency, known=", ".join(isp.submitters()))]
    if not isp.agencies[agency].submits_sheets:
        return [Problem.of(errors.NO_SHEET, filename, agency=agency)]
    if not is_month(month):
        return [Problem.of(errors.BAD_MONTH, filename, example="--month 2026-01")]
    return []


def _moved_header(table: RawTable, filename: str, candidates: list[Layout]) -> Problem | None:
    """A header that a layout would recognise a few rows further down (title rows inserted above)."""
    for offset in range(1, MAX_TITLE_ROWS + 1):
        shifted = RawTable(table.sheet, [(n - offset, cells) for n, cells in table.rows if n > offset], kind=table.kind)
        header = sheet_import.detect(shifted, candidates)
        if header is not None:
            at, label = header.layout.header_row, header.layout.label
            return Problem.of(
                errors.HEADER_MOVED, filename, row=at + offset, layout=label, found=at + offset, expected=at
            )
    return None


def _layout_problems(table: RawTable, filename: str, candidates: list[Layout]) -> list[Problem]:
    moved = _moved_header(table, filename, candidates)
    if moved is not None:
        return [moved]
    first = table.rows[0] if table.rows else (1, [])
    problems = [
        _column_problem(filename, first[0], str(cell), identifiable.header_finding(str(cell)))
        for cell in first[1]
        if cell is not None and identifiable.header_finding(str(cell))
    ]
    return [*problems, Problem.of(errors.UNKNOWN_LAYOUT, filename, row=first[0])]


def _column_problem(filename: str, row: int, name: str, finding: identifiable.Finding | None) -> Problem:
    column = _shown_header(name)
    if finding is not None:
        return Problem.of(finding, filename, row=row, column=column, place="column")
    return Problem.of(errors.UNKNOWN_COLUMN, filename, row=row, column=column)


def _shown_header(name: str) -> str:
    text = " ".join(name.split())
    return text if len(text) <= 40 else text[:37] + "..."


def shown(value: Cell) -> str:
    """Quote a cell only when it has the shape of a code; anything else might be personal."""
    text = str(value).strip() if value is not None else ""
    return f"'{text}'" if _CODE_SHAPE.match(text) else "the value"


def condense(problems: list[Problem]) -> list[Problem]:
    """One line per distinct problem: the same rule, column and message on many rows is listed once."""
    groups: dict[tuple[object, ...], list[Problem]] = {}
    for problem in problems:
        key = (problem.file, problem.rule, problem.column, problem.message, problem.fix, problem.severity)
        groups.setdefault(key, []).append(problem)
    out = []
    for items in groups.values():
        first = items[0]
        if len(items) > 1:
            rows = [str(p.row) for p in items[1 : 1 + MAX_LISTED_ROWS] if p.row is not None]
            more = len(items) - 1 - len(rows)
            listed = ", ".join(rows) + (f" and {more} more" if more else "")
            first = replace(first, message=f"{first.message} (also row {listed})")
        out.append(first)
    return out


@dataclass
class Found:
    count: int
    row: int
    column: str


@dataclass
class SheetCheck:
    """The cell and sheet rules for one parsed sheet in one layout."""

    isp: Isp
    agency: str
    month: str
    strict: bool
    file: str
    table: RawTable
    header: Header
    problems: list[Problem] = field(default_factory=list)
    cells: dict[Key, Found] = field(default_factory=dict)
    broken: set[tuple[str, ...]] = field(default_factory=set)  # row keys with a bad cell: skip totals there

    def __post_init__(self) -> None:
        self.layout: Layout = self.header.layout
        self.alias = sheet_import.aliases(self.isp)
        self.codes = sheet_import.known_codes(self.isp)
        self.seen: dict[tuple[object, ...], int] = {}
        self.known: dict[tuple[str, str], str] = {}
        self.wanted = [t for t in self.header.keys if t != "count"]
        self.undeclared: dict[str, list[int]] = defaultdict(list)
        self.given: set[tuple[str, str, str, str, str]] = set()  # (site, indicator, sex, age, nationality)
        self.unresolved = False  # a row whose keys could not be read: its cell cannot be named
        self.absent_columns: set[str] = set()  # wide: indicators whose column is missing (named once)

    def add(
        self,
        error: ErrorCode,
        row: int | None,
        column: str | None,
        *,
        severity: Severity | None = None,
        fix: str | None = None,
        **values: object,
    ) -> None:
        """Record ``error`` at ``row``/``column``; ``values`` fill its message and fix templates."""
        problem = Problem.of(error, self.file, row=row, column=column, severity=severity, fix=fix, **values)
        self.problems.append(problem)

    def run(self) -> pd.DataFrame | None:
        if not self._header_ok():
            return None
        rows = [(n, cells) for n, cells in self.table.rows if n > self.header.row and any(_filled(c) for c in cells)]
        rows = [(n, cells) for n, cells in rows if not self._label_row(cells)]
        if not rows:
            self.add(errors.NO_ROWS, None, None)
            return None
        for number, cells in rows:
            self._row(number, cells)
        self._undeclared_sites()
        self._missing_indicator_columns()
        if not self.unresolved:
            completeness.report(self, self.isp.agencies[self.agency].sites, self.absent_columns)
        self._totals()
        return self._frame()

    # --- header ---------------------------------------------------------------------------

    def _header_ok(self) -> bool:
        names, row = self.header.names, self.header.row
        for index in self.header.unknown:
            name = names[index]
            if name.strip():
                self.problems.append(_column_problem(self.file, row, name, identifiable.header_finding(name)))
            elif self._column_has_data(index):
                self.add(errors.UNNAMED_COLUMN, row, f"#{index + 1}")
        missing = [t for t in dict.fromkeys(self.layout.columns.values()) if t not in self.header.keys]
        for target in missing:
            expected = next(k for k, v in self.layout.columns.items() if v == target)
            self.add(errors.MISSING_COLUMN, row, expected, expected=f"the column {expected}", layout=self.layout.label)
        if self.layout.shape == "wide" and not self.header.indicators:
            self.add(errors.MISSING_COLUMN, row, None, expected="every indicator column", layout=self.layout.label)
        return not missing and (self.layout.shape == "long" or bool(self.header.indicators))

    def _column_has_data(self, index: int) -> bool:
        return any(index < len(c) and _filled(c[index]) for n, c in self.table.rows if n > self.header.row)

    def _label_row(self, cells: list[Cell]) -> bool:
        index = self.header.keys.get("month")
        if not self.layout.label_markers or index is None or index >= len(cells):
            return False
        return sheet_import.norm(cells[index]) in self.layout.label_markers

    # --- one row --------------------------------------------------------------------------

    def _cell(self, cells: list[Cell], index: int) -> Cell:
        return cells[index] if index < len(cells) else None

    def _row(self, number: int, cells: list[Cell]) -> None:
        formulas = {i for i, c in enumerate(cells) if self._is_formula(number, i, c)}
        for index in sorted(formulas):
            self._finding(identifiable.FORMULA, number, index)
        keys: dict[str, str] = {}
        raw: dict[str, str] = {}
        for target, index in self.header.keys.items():
            if target == "count" or index in formulas:
                continue
            value = self._key(target, self._cell(cells, index), number, index)
            if value is not None:
                keys[target] = value
                if self.layout.sum_mapped:
                    raw[target] = sheet_import.norm(self._cell(cells, index))
        complete = all(t in keys for t in self.wanted)
        if self.layout.shape == "long":
            counts = [(self.header.keys["count"], keys.get("indicator"))]
        else:
            counts = list(self.header.indicators.items())
        row_key = (keys.get("month", self.month), *(keys.get(t, "") for t in ("site", *DIMENSIONS)))
        if not complete:
            self.broken.add(row_key)
            self.unresolved = True
        unit = self._unit(number, keys, raw, complete)
        for index, indicator in counts:
            if complete and indicator:  # given, even if its count is bad: that is reported on its own
                self.given.add((keys["site"], indicator, keys["sex"], keys["age_group"], keys["nationality"]))
            if index in formulas:
                self.broken.add(row_key)
                continue
            count = self._count(self._cell(cells, index), number, index)
            if count is None:
                self.broken.add(row_key)
            elif complete and unit and indicator:
                self._store(keys, indicator, count, number, index)

    def _is_formula(self, number: int, index: int, cell: Cell) -> bool:
        if self.table.formulas and (number, index) in self.table.formulas:
            return True
        if not isinstance(cell, str) or not cell or cell.lstrip(" ")[:1] not in FORMULA_STARTS:
            return False
        return identifiable.is_formula(cell) and identifiable.value_finding(cell) in (None, identifiable.FORMULA)

    def _column(self, index: int) -> str:
        names = self.header.names
        return _shown_header(names[index]) if index < len(names) and names[index].strip() else f"#{index + 1}"

    def _finding(self, finding: identifiable.Finding, row: int, index: int, fix: str | None = None) -> None:
        self.add(finding, row, self._column(index), place="cell", fix=fix)

    def _key(self, target: str, value: Cell, row: int, index: int) -> str | None:
        """Our code for a key cell, or None after reporting why it has none (cached per text)."""
        if isinstance(value, str) and (target, value) in self.known:
            return self.known[(target, value)]
        code = self._resolve(target, value, row, index)
        if code is not None and isinstance(value, str):
            self.known[(target, value)] = code
        return code

    def _resolve(self, target: str, value: Cell, row: int, index: int) -> str | None:
        column = self._column(index)
        if not _filled(value):
            self.add(errors.MISSING_VALUE, row, column, what=target.replace("_", " "))
            return None
        if target == "month":
            return self._month(value, row, index)
        code = sheet_import.code_of(self.layout, self.alias, target, str(value)) if not _is_date(value) else None
        if code is not None and code in self.codes.get(target, set()):
            if target == "agency" and code != self.agency:
                self.add(errors.WRONG_AGENCY, row, column, detail=f"the row belongs to {code}, not {self.agency}")
                return None
            return code
        finding = identifiable.value_finding(value)
        if finding is not None:
            age_as_date = finding is identifiable.DATE and target == "age_group"
            self._finding(finding, row, index, AGE_GROUP_DATE_FIX if age_as_date else None)
            return None
        what, codes_file = target.replace("_", " "), sheet_import.codes_file(target)
        self.add(errors.UNKNOWN_CODE, row, column, value=shown(value), what=what, codes_file=codes_file)
        return None

    def _month(self, value: Cell, row: int, index: int) -> str | None:
        column = self._column(index)
        month = sheet_import.month_of(self.layout, value)
        if month is None:
            finding = identifiable.value_finding(value)
            if finding is not None:
                self._finding(finding, row, index)
                return None
            self.add(errors.BAD_MONTH, row, column, example=self.month)
            return None
        if month != self.month:
            self.add(errors.WRONG_MONTH, row, column, month=month, expected=self.month)
            return None
        return month

    def _count(self, value: Cell, row: int, index: int) -> int | None:
        column = self._column(index)
        if not _filled(value):
            if self.layout.empty_is_zero:
                return 0
            self.add(errors.MISSING_COUNT, row, column)
            return None
        if isinstance(value, str) and value.strip() in EXCEL_ERRORS:
            self.add(errors.ERROR_VALUE, row, column, shown=value.strip())
            return None
        number = _as_int(value)
        if isinstance(number, identifiable.Finding):
            self._finding(number, row, index)
            return None
        if number is None:
            self.add(errors.NOT_INTEGER, row, column)
            return None
        if number < 0:
            self.add(errors.NEGATIVE_COUNT, row, column)
            return None
        return number

    # --- cells, duplicates, sites -----------------------------------------------------------

    def _unit(self, row: int, keys: dict[str, str], raw: dict[str, str], complete: bool) -> bool:
        """Record the row's cell (long) or cell group (wide); False when it repeats an earlier one."""
        if not complete:
            return False
        targets = KEY_COLUMNS if self.layout.shape == "long" else ["month", "site", *DIMENSIONS]
        source = raw if self.layout.sum_mapped else keys
        unit = tuple(source.get(t, "") for t in targets)
        first = self.seen.setdefault(unit, row)
        if first != row:
            where = ", ".join(keys.get(t, "") for t in targets if t != "month")
            self.add(errors.DUPLICATE, row, None, cell=where, first=first)
            return False
        if keys["site"] not in self.isp.agencies[self.agency].sites:
            self.undeclared[keys["site"]].append(row)
        return True

    def _store(self, keys: dict[str, str], indicator: str, count: int, row: int, index: int) -> None:
        key: Key = (keys["month"], keys["site"], indicator, keys["sex"], keys["age_group"], keys["nationality"])
        if key in self.cells:
            if self.layout.sum_mapped:  # two export codes that map to one of ours: add them up
                self.cells[key].count += count
                return
            self.add(errors.DUPLICATE, row, self._column(index), cell=", ".join(key[1:]), first=self.cells[key].row)
            return
        self.cells[key] = Found(count, row, self._column(index))

    def _undeclared_sites(self) -> None:
        """A site outside the agency's annex sites is refused: its figures would count nowhere."""
        declared = ", ".join(self.isp.agencies[self.agency].sites) or "none"
        for site, rows in self.undeclared.items():
            column = self._column(self.header.keys["site"])
            self.add(
                errors.UNDECLARED_SITE,
                rows[0],
                column,
                site=site,
                agency=self.agency,
                declared=declared,
            )

    def _missing_indicator_columns(self) -> None:
        """Wide layouts: an indicator without its column would be read as zero everywhere."""
        if self.layout.shape != "wide":
            return
        present = set(self.header.indicators.values())
        for code in self.isp.indicators:
            if code in present:
                continue
            self.absent_columns.add(code)
            header = next((k for k, v in self.layout.indicator_columns.items() if v == code), code)
            self.add(
                errors.MISSING_COLUMN,
                self.header.row,
                header,
                fix=f"restore the column from {self.layout.label} and fill it in (0 when there were none)",
                expected=f"the column {header} ({self.isp.indicators[code].name_en})",
                layout=self.layout.label,
            )

    # --- totals ---------------------------------------------------------------------------

    def _totals(self) -> None:
        members: dict[str, list[str]] = defaultdict(list)
        for code, indicator in self.isp.indicators.items():
            members[indicator.group].append(code)
        for group_code, group in self.isp.groups.items():
            if group.sums_to and members[group_code]:
                self._group_total(group.sums_to, members[group_code], group.name_en)

    def _group_total(self, total: str, parts: list[str], name: str) -> None:
        sums: dict[tuple[str, ...], int] = defaultdict(int)
        rows: dict[tuple[str, ...], Found] = {}
        for key, found in self.cells.items():
            cell: tuple[str, ...] = (key[0], key[1], *key[3:])
            if key[2] in parts:
                sums[cell] += found.count
                rows.setdefault(cell, found)
        for cell in sorted(set(sums) | {(k[0], k[1], *k[3:]) for k in self.cells if k[2] == total}):
            if cell in self.broken:
                continue
            month, site, sex, age, nationality = cell
            given = self.cells.get((month, site, total, sex, age, nationality))
            if sums.get(cell, 0) != (given.count if given else 0):
                where = given or rows[cell]
                label = self.isp.indicators[total].name_en.lower()
                self.add(
                    errors.TOTALS, where.row, where.column, parts=name.lower(), total=label, cell=", ".join(cell[1:])
                )

    # --- the tidy frame ---------------------------------------------------------------------

    def _frame(self) -> pd.DataFrame:
        """Every cell of the sites the sheet reports (the canonical form); only called complete."""
        sites = sorted({key[1] for key in self.cells})
        dims = self.isp.dimension_codes()
        grid = pd.MultiIndex.from_product(
            [[self.month], sites, list(self.isp.indicators), dims["sex"], dims["age_group"], dims["nationality"]],
            names=KEY_COLUMNS,
        )
        given = pd.Series({key: found.count for key, found in self.cells.items()}, dtype="int64")
        counts = given.reindex(grid, fill_value=0) if len(given) else pd.Series(0, index=grid, dtype="int64")
        frame = counts.rename("count").reset_index()
        for column in KEY_COLUMNS:
            frame[column] = frame[column].astype("string")
        return frame[COLUMNS]


def _filled(value: Cell) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _is_date(value: Cell) -> bool:
    return isinstance(value, datetime | date | time)


_INT_TEXT = re.compile(r"^-?\d+(?:\.0+)?$")


def _as_int(value: Cell) -> int | identifiable.Finding | None:
    """A count cell as an int; None when it is not a whole number; a Finding when it looks personal."""
    if isinstance(value, bool):
        return None
    if _is_date(value):
        return identifiable.DATE
    if isinstance(value, float):
        if value != value or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return identifiable.CASE_ID if abs(value) >= 10**MAX_COUNT_DIGITS else value
    text = " ".join(str(value).split())
    if _INT_TEXT.match(text):
        digits = text.lstrip("-").split(".")[0]
        if len(digits) > MAX_COUNT_DIGITS:
            return identifiable.count_finding(text)
        return int(digits) * (-1 if text.startswith("-") else 1)
    return identifiable.count_finding(str(value))
