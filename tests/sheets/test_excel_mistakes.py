"""The mistakes a data officer makes in Excel, each on a filled template built with openpyxl.

Each one is either read exactly as meant (every figure as typed) or refused with one line naming
the file, row, column, rule and fix. A number stored as text that reads one way only ("12",
" 12 ", "12.0", Arabic-Indic "١٢") is accepted without a warning: a CSV holds nothing but text, so
the same sheet saved as CSV would be read the same way. "1,200" is refused: in Arabic and French
locales the comma is the decimal separator, so it may mean 1.2.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable
from datetime import date
from typing import Any

import msoffcrypto.format.ooxml
import openpyxl
import pandas as pd
import pytest
from openpyxl.workbook.workbook import Workbook

from isp.errors import Problem
from isp.protocol.models import Isp
from isp.sheets import validate as validation
from isp.sheets.tidy import KEY_COLUMNS
from tests.sheets import helpers as sf

COUNT = (4, 7)  # first data row, column G (active_cases: in no total)


@pytest.fixture(scope="module")
def frame(isp_: Isp) -> pd.DataFrame:
    return sf.sheet(isp_, "IRC")


def validate(isp_: Isp, data: bytes, name: str = "irc.xlsx") -> tuple[pd.DataFrame | None, list[Problem]]:
    frame, problems = validation.validate_bytes(data, name, isp_, "IRC", sf.MONTH)
    for problem in problems:
        assert "\n" not in str(problem) and problem.file == name and problem.fix, str(problem)
    return frame, problems


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def counts(frame: pd.DataFrame) -> dict[tuple[str, ...], int]:
    return {tuple(k): int(v) for k, v in frame.set_index(KEY_COLUMNS)["count"].items()}


def first_cell(isp_: Isp, frame: pd.DataFrame) -> tuple[str, ...]:
    """The tidy key of the template's row 4, column G (as the template lays it out)."""
    book = openpyxl.load_workbook(io.BytesIO(sf.filled_template(isp_, frame)))
    data = book["Data"]
    month, site, sex, age, nationality = (c.value for c in data[4][:5])
    return (month, site, data.cell(1, 7).value, sex, age, nationality)


def edited(isp_: Isp, frame: pd.DataFrame, change: Callable[[Workbook], None]) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(sf.filled_template(isp_, frame)))
    change(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezipped(workbook: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item, change(content) if item.filename == member else content)
    return buffer.getvalue()


ACCEPTED = [("12", 12), (" 12 ", 12), ("12.0", 12), ("١٢", 12), (1e3, 1000), (0, 0)]


@pytest.mark.parametrize(("value", "meant"), ACCEPTED, ids=[repr(v) for v, _ in ACCEPTED])
def test_counts_read_as_meant(isp_: Isp, frame: pd.DataFrame, value: Any, meant: int) -> None:
    got, problems = validate(isp_, sf.filled_template(isp_, frame, edit={COUNT: value}))
    assert got is not None and problems == [], [str(p) for p in problems]
    want = counts(frame) | {first_cell(isp_, frame): meant}
    assert counts(got) == want  # that cell as meant, nothing else changed


REFUSED = [
    ("#N/A", "error-value"),
    ("#DIV/0!", "error-value"),
    ("1,200", "not-integer"),
    ("1e3", "not-integer"),
    (True, "not-integer"),
    (2.5, "not-integer"),
    (-3, "negative-count"),
    ("=2+3", "formula"),
    (date(2026, 3, 1), "identifiable-date"),
    (10**7, "identifiable-id"),
]


@pytest.mark.parametrize(("value", "rule"), REFUSED, ids=[repr(v) for v, _ in REFUSED])
def test_counts_refused_on_one_line(isp_: Isp, frame: pd.DataFrame, value: Any, rule: str) -> None:
    _, problems = validate(isp_, sf.filled_template(isp_, frame, edit={COUNT: value}))
    assert [(p.rule, p.row, p.column) for p in errors_of(problems)] == [(rule, 4, "active_cases")]


def test_a_real_error_cell_and_a_formula_with_its_cached_result(isp_: Isp, frame: pd.DataFrame) -> None:
    """Excel saves an error cell as t="e", and a formula with its last result: both are refused."""

    def error_cell(book: Workbook) -> None:
        cell = book["Data"].cell(*COUNT)
        cell.value, cell.data_type = "#N/A", "e"

    _, problems = validate(isp_, edited(isp_, frame, error_cell))
    assert [(p.rule, p.row) for p in problems] == [("error-value", 4)] and "#N/A" in problems[0].message
    formula = sf.filled_template(isp_, frame, edit={COUNT: "=2+3"})
    cached = rezipped(
        formula,
        "xl/worksheets/sheet1.xml",
        lambda x: re.sub(rb"<f>2\+3</f>(<v\s*/>|<v></v>)?", b"<f>2+3</f><v>5</v>", x),
    )
    assert b"<v>5</v>" in zipfile.ZipFile(io.BytesIO(cached)).read("xl/worksheets/sheet1.xml")
    _, problems = validate(isp_, cached)
    assert [(p.rule, p.row, p.column) for p in problems] == [("formula", 4, "active_cases")]


def _hide_row(book: Workbook) -> None:
    book["Data"].row_dimensions[5].hidden = True


def _hide_column(book: Workbook) -> None:
    book["Data"].column_dimensions["G"].hidden = True


def _move_data_last(book: Workbook) -> None:
    book.move_sheet("Data", offset=2)


def _site_spelt(text: Callable[[str], str]) -> Callable[[Workbook], None]:
    def change(book: Workbook) -> None:
        for row in range(4, book["Data"].max_row + 1):
            cell = book["Data"].cell(row, 2)
            if cell.value:
                cell.value = text(str(cell.value))

    return change


def _arabic(isp_: Isp) -> Callable[[str], str]:
    return lambda code: isp_.sites[code].name_ar


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        (_hide_row, ("hidden-cells", 5, None)),
        (_hide_column, ("hidden-cells", None, "G")),
        (_move_data_last, None),
        (_site_spelt(lambda s: s + " "), None),
        (_site_spelt(str.lower), None),
        ("arabic", None),
    ],
    ids=["hidden-row", "hidden-column", "data-sheet-moved", "site-trailing-space", "site-lower-case", "site-in-arabic"],
)
def test_workbook_edits_read_as_meant(isp_: Isp, frame: pd.DataFrame, change: Any, warning: Any) -> None:
    """Hidden rows and columns are read (a warning says their figures go in unseen)."""
    got, problems = validate(isp_, edited(isp_, frame, _site_spelt(_arabic(isp_)) if change == "arabic" else change))
    assert got is not None and counts(got) == counts(frame)
    assert [(p.rule, p.row, p.column) for p in problems] == ([warning] if warning else [])
    assert all(p.severity == "warning" for p in problems)


def test_merged_key_cells_are_refused_by_range(isp_: Isp, frame: pd.DataFrame) -> None:
    """Excel shows the merged site on every row; the file holds it in the first cell only."""
    _, problems = validate(isp_, edited(isp_, frame, lambda book: book["Data"].merge_cells("B4:B6")))
    merged = [p for p in problems if p.rule == "merged-cells"]
    assert len(merged) == 1 and merged[0].row == 4 and "B4:B6" in merged[0].message


def test_a_title_row_above_the_header_is_named(isp_: Isp, frame: pd.DataFrame) -> None:
    """It used to say only that the columns match no layout."""

    def title(book: Workbook) -> None:
        book["Data"].insert_rows(1)
        book["Data"].cell(1, 1, "IRC monthly report")

    _, problems = validate(isp_, edited(isp_, frame, title))
    assert [(p.rule, p.row) for p in problems] == [("header-moved", 2)]
    assert "row 2, not row 1" in problems[0].message and "IRC monthly" not in str(problems[0])


def test_a_million_formatted_empty_rows_are_read_not_refused(isp_: Isp, frame: pd.DataFrame) -> None:
    """Formatting whole rows writes up to row 1,048,576; they used to count as rows (too-large)."""
    rows = b"".join(b'<row r="%d" s="1" customFormat="1"/>' % r for r in range(200, 1_048_577))
    styled = rezipped(
        sf.filled_template(isp_, frame),
        "xl/worksheets/sheet1.xml",
        lambda x: x.replace(b"</sheetData>", rows + b"</sheetData>"),
    )
    start = time.monotonic()
    got, problems = validate(isp_, styled)
    assert got is not None and problems == [] and counts(got) == counts(frame)
    assert time.monotonic() - start < 60


def test_a_password_protected_workbook_is_named(isp_: Isp, frame: pd.DataFrame) -> None:
    """It used to be called an old or foreign format (it is an OLE container, like .xls)."""
    locked = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(sf.filled_template(isp_, frame))).encrypt("secret", locked)
    _, problems = validate(isp_, locked.getvalue())
    assert [p.rule for p in problems] == ["encrypted-file"]


def test_a_utf16_csv_is_refused_with_the_way_to_save_it(isp_: Isp, frame: pd.DataFrame) -> None:
    _, problems = validate(isp_, sf.csv_bytes(frame).decode().encode("utf-16"), "irc.csv")
    assert [(p.rule, p.row) for p in problems] == [("not-utf8", 1)] and "CSV UTF-8" in str(problems[0])


def test_a_template_for_another_month_is_one_line(isp_: Isp) -> None:
    february = sf.filled_template(isp_, sf.sheet(isp_, "IRC", month="2026-02"), month="2026-02")
    _, problems = validate(isp_, february)
    assert [(p.rule, p.row, p.column) for p in problems] == [("wrong-month", 4, "month")]
    assert "2026-02, not 2026-01" in problems[0].message
