"""Read an uploaded sheet (CSV or .xlsx, held in memory) into plain rows of cells.

The file-level rules live here: empty, oversized, not UTF-8, macro-enabled, legacy or damaged
workbooks, zip bombs, extra worksheets. Nothing is written to disk, and nothing read from the
file is echoed into a problem message.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import TYPE_CHECKING

from isp import errors
from isp.errors import Problem

if TYPE_CHECKING:  # openpyxl is imported only when a workbook is read
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet._reader import WorkSheetParser

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
    if data.startswith(OLE_MAGIC) and _encrypted(data):
        return [Problem.of(errors.ENCRYPTED_FILE, name)]
    if data.startswith(OLE_MAGIC) or suffix in LEGACY_SUFFIXES:
        return [Problem.of(errors.UNSUPPORTED_FORMAT, name)]
    return []


def _encrypted(data: bytes) -> bool:
    """A password-protected .xlsx is an OLE container holding the encrypted package (msoffcrypto)."""
    import msoffcrypto

    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception:  # not an Office file it knows: an old or foreign format, said by the caller
        return False


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
    # One pass with openpyxl's own worksheet parser (what read-only iter_rows uses), which also
    # keeps the hidden rows and columns and the merged ranges that iter_rows throws away.
    from openpyxl.worksheet._reader import WorkSheetParser

    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=False,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, parsed in parser.parse():
            cells = _row_cells(parsed, number, table)
            if not cells:
                continue  # an empty (perhaps formatted) row: Excel writes up to 1,048,576 of them
            if len(table.rows) >= MAX_ROWS or len(cells) > MAX_COLUMNS:
                return None, [_too_many(name)]
            table.rows.append((number, cells))
    return table, problems + _layout_problems(parser, table, name)


def _row_cells(parsed: list[dict[str, object]], number: int, table: RawTable) -> list[Cell]:
    """The row's cells by column (gaps as None), trailing empty cells dropped."""
    cells: list[Cell] = []
    for item in parsed:
        value, index = item["value"], int(str(item["column"])) - 1
        if value is None or value == "":
            continue
        if index >= MAX_COLUMNS:
            return [None] * (MAX_COLUMNS + 1)
        cells.extend([None] * (index + 1 - len(cells)))
        cells[index] = _cell(value, item["data_type"], number, index, table)
    return cells


def _cell(value: object, data_type: object, number: int, index: int, table: RawTable) -> Cell:
    if data_type == "f" or (isinstance(value, str) and value.startswith("=")):
        table.formulas.add((number, index))
        return str(value)
    if isinstance(value, str | int | float | bool | datetime | date | time):
        return value
    return str(value)


def _filled(cells: list[Cell]) -> bool:
    return any(cell is not None for cell in cells)


def _hidden(attrs: dict[str, str]) -> bool:
    return attrs.get("hidden", "0").lower() in ("1", "true")


def _layout_problems(parser: WorkSheetParser, table: RawTable, name: str) -> list[Problem]:
    """Merged ranges over cells (refused: Excel shows one value, the file holds it once) and hidden
    rows or columns holding data (a warning: their figures are submitted unseen)."""
    from openpyxl.utils.cell import column_index_from_string, range_boundaries

    problems = []
    if parser.merged_cells is not None:
        for merged in parser.merged_cells.mergeCell:
            first = range_boundaries(str(merged.ref))[1]
            problems.append(Problem.of(errors.MERGED_CELLS, name, row=first, cells=merged.ref))
    filled = {number for number, _ in table.rows}
    for row, attrs in parser.row_dimensions.items():
        if _hidden(attrs) and int(row) in filled:
            problems.append(Problem.of(errors.HIDDEN_CELLS, name, row=int(row), what="the row is"))
    for letter, attrs in parser.column_dimensions.items():
        if not _hidden(attrs):
            continue
        first = column_index_from_string(letter) - 1
        last = int(attrs.get("max", first + 1)) - 1
        if any(_filled(cells[first : last + 1]) for _, cells in table.rows):
            problems.append(Problem.of(errors.HIDDEN_CELLS, name, column=letter, what="the column is"))
    return problems
