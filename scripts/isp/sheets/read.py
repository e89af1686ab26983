"""Read an uploaded sheet (CSV or .xlsx, held in memory) into plain rows of cells.

The file-level rules live here: empty, oversized, not UTF-8, macro-enabled, legacy or damaged
workbooks, zip bombs, extra worksheets. Nothing is written to disk, and nothing read from the
file is echoed into a problem message.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import TYPE_CHECKING

from isp import errors
from isp.errors import Problem

if TYPE_CHECKING:  # openpyxl is imported only when a workbook is read
    from openpyxl.cell.read_only import EmptyCell, ReadOnlyCell
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

MAX_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED = 60 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 400
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlsb", ".xlam")
LEGACY_SUFFIXES = (".xls", ".xlt", ".ods", ".numbers")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TEMPLATE_SHEETS = ("Data", "Instructions", "Codes")

Cell = str | int | float | bool | datetime | date | time | None


@dataclass
class RawTable:
    """The rows of one sheet as the user sees them: ``rows`` pairs a 1-based row number with cells."""

    sheet: str | None
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    formulas: set[tuple[int, int]] = field(default_factory=set)  # (row, column index) of formula cells
    kind: str = "csv"


def read(data: bytes, filename: str) -> tuple[RawTable | None, list[Problem]]:
    """Parse ``data`` into a :class:`RawTable`, or return the problems that stop us reading it."""
    name = PurePath(filename).name
    suffix = PurePath(filename).suffix.lower()
    problems = _file_problems(data, filename, suffix)
    if problems:
        return None, problems
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, name)
    if suffix in (".xlsx", ".xltx"):
        return None, [Problem.of(errors.UNREADABLE_FILE, name, why="not a valid .xlsx workbook")]
    return _read_csv(data, name)


def _file_problems(data: bytes, filename: str, suffix: str) -> list[Problem]:
    name = PurePath(filename).name
    if len(data) > MAX_BYTES:
        size = f"file ({len(data) / 1024 / 1024:.1f} MB)"
        return [Problem.of(errors.TOO_LARGE, name, what=size, limit=f"{MAX_BYTES // 1024 // 1024} MB")]
    if not data.strip():
        return [Problem.of(errors.EMPTY_FILE, name)]
    if suffix in MACRO_SUFFIXES:
        return [Problem.of(errors.MACRO_FILE, name, why=f"a {suffix} file is macro-enabled")]
    if data.startswith(OLE_MAGIC) or suffix in LEGACY_SUFFIXES:
        return [Problem.of(errors.UNSUPPORTED_FORMAT, name)]
    return []


# --- CSV -------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> tuple[str | None, list[Problem]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Problem.of(errors.NOT_UTF8, name, row=line)]


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count) if first else ","


def _read_csv(data: bytes, name: str) -> tuple[RawTable | None, list[Problem]]:
    text, problems = _decode(data, name)
    if text is None:
        return None, problems
    if "\x00" in text:
        return None, [Problem.of(errors.NOT_TEXT, name)]
    table = RawTable(sheet=None, kind="csv")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
        for row in reader:
            if reader.line_num > MAX_ROWS or len(row) > MAX_COLUMNS:
                return None, [_too_many(name)]
            table.rows.append((reader.line_num, list(row)))
    except csv.Error:
        return None, [Problem.of(errors.CSV_SYNTAX, name, row=len(table.rows) + 1)]
    return table, []


def _too_many(name: str) -> Problem:
    return Problem.of(errors.TOO_LARGE, name, what="table", limit=f"{MAX_ROWS} rows or {MAX_COLUMNS} columns")


# --- xlsx ------------------------------------------------------------------------------------


def _zip_problems(data: bytes, name: str) -> list[Problem]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return [Problem.of(errors.UNREADABLE_FILE, name, why="damaged: not a valid zip")]
    members = [info.filename.lower() for info in infos]
    if any(m.endswith("vbaproject.bin") or "macroenabled" in m for m in members):
        return [Problem.of(errors.MACRO_FILE, name, why="it contains vbaProject.bin")]
    if sum(info.file_size for info in infos) > MAX_UNZIPPED:
        limit = f"{MAX_UNZIPPED // 1024 // 1024} MB"
        return [Problem.of(errors.TOO_LARGE, name, what="unpacked workbook", limit=limit)]
    if any(m.startswith(("xl/comments", "xl/threadedcomments/", "xl/persons/")) for m in members):
        return [Problem.of(errors.FREE_TEXT, name, place="workbook (in cell comments or notes)")]
    if "[content_types].xml" not in members:
        return [Problem.of(errors.UNREADABLE_FILE, name, why="a zip archive, not a workbook")]
    return []


def _read_xlsx(data: bytes, name: str) -> tuple[RawTable | None, list[Problem]]:
    problems = _zip_problems(data, name)
    if problems:
        return None, problems
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception:  # openpyxl raises many types on damaged input; the file is simply unreadable
        return None, [Problem.of(errors.UNREADABLE_FILE, name, why="it cannot be opened")]
    try:
        return _sheet_rows(book, name)
    except Exception:
        return None, [Problem.of(errors.UNREADABLE_FILE, name, why="its cells cannot be read")]
    finally:
        book.close()


def _input_sheet(book: Workbook, name: str) -> tuple[ReadOnlyWorksheet | None, list[Problem]]:
    """The worksheet to read: ``Data`` in a template, else the only one; every other sheet is refused
    (an extra sheet may hold case details). Foreign sheet names are never quoted; the template's are."""
    names = list(book.sheetnames)
    if "Data" not in names and any(sheet in TEMPLATE_SHEETS for sheet in names):
        return None, [Problem.of(errors.MISSING_DATA_SHEET, name)]
    main = "Data" if "Data" in names else names[0]
    allowed = set(TEMPLATE_SHEETS) if main == "Data" else {main}
    problems = []
    for index, sheet in enumerate(names, start=1):
        if sheet not in allowed:
            problems.append(Problem.of(errors.EXTRA_SHEET, name, index=index, allowed=", ".join(sorted(allowed))))
    return book[main], problems


def _sheet_rows(book: Workbook, name: str) -> tuple[RawTable | None, list[Problem]]:
    sheet, problems = _input_sheet(book, name)
    if sheet is None:
        return None, problems
    table = RawTable(sheet=sheet.title, kind="xlsx")
    sheet.reset_dimensions()  # read every row, whatever the file claims its used range is
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number > MAX_ROWS or len(row) > MAX_COLUMNS:
            return None, [_too_many(name)]
        cells = list(_cells(row, number, table))
        while cells and cells[-1] in (None, ""):
            cells.pop()
        if cells:
            table.rows.append((number, cells))
    return table, problems


def _cells(row: tuple[ReadOnlyCell | EmptyCell, ...], number: int, table: RawTable) -> Iterator[Cell]:
    for index, cell in enumerate(row):
        value = getattr(cell, "value", None)
        if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
            table.formulas.add((number, index))
            value = str(value)
        elif value is not None and not isinstance(value, str | int | float | bool | datetime | date | time):
            value = str(value)
        yield value
