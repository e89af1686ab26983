"""Property-based tests: whatever bytes or sheet arrives, the importer answers with problems,
never a traceback; and every valid sheet reads back to exactly its figures."""

from __future__ import annotations

import csv
import io
import os
import string
from datetime import date
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isp.demo import synthetic
from isp.errors import Problem
from isp.protocol.models import Isp
from isp.sheets import tidy
from isp.sheets import validate as validation
from tests.sheets import helpers as sf

ISP = sf.load_isp()
# ISP_HYPOTHESIS_EXAMPLES=2000 for a deep run; the suite keeps it small to stay fast.
EXAMPLES = int(os.environ.get("ISP_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = [".csv", ".xlsx", ".xlsm", ".xls", ".txt", ""]
TEMPLATE = sf.filled_template(ISP, sf.sheet(ISP, "IRC"))


def answers(data: bytes, name: str, agency: str = "IRC", isp: Isp = ISP) -> list[Problem]:
    """validate_bytes must return (frame or None, problems) for anything, with one-line problems."""
    frame, problems = validation.validate_bytes(data, name, isp, agency, sf.MONTH)
    assert frame is None or list(frame.columns) == tidy.COLUMNS
    for problem in problems:
        assert isinstance(problem, Problem) and problem.rule and "\n" not in str(problem)
    return problems


@SETTINGS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data: bytes, suffix: str) -> None:
    answers(data, f"upload{suffix}")


@SETTINGS
@given(data=st.binary(min_size=1, max_size=2000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_behind_a_zip_header(data: bytes, suffix: str) -> None:
    answers(b"PK\x03\x04" + data, f"upload{suffix}")


@SETTINGS
@given(flips=st.lists(st.tuples(st.integers(0, len(TEMPLATE) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_workbook(flips: list[tuple[int, int]]) -> None:
    data = bytearray(TEMPLATE)
    for position, value in flips:
        data[position] = value
    answers(bytes(data), "damaged.xlsx")


@SETTINGS
@given(cut=st.integers(0, len(TEMPLATE) - 1))
def test_truncated_workbook(cut: int) -> None:
    answers(TEMPLATE[:cut], "truncated.xlsx")


# --- random sheets ---------------------------------------------------------------------------

CODES = [*ISP.sites, *ISP.indicators, "F", "M", "0-5", "6-11", "12-17", "SYR", "JOR", "OTH", sf.MONTH, "2025-12"]
HEADERS = [*tidy.COLUMNS, *ISP.indicators, "Child Name", "Phone", "Notes", "", "count", "Location", "Gender"]
PRINTABLE = st.text(alphabet=string.printable + "أنثىالشهر é", max_size=30)
CELLS = st.one_of(
    st.sampled_from(CODES),
    st.integers(-5, 10**9).map(str),
    st.sampled_from(["=1+2", "+1", "-1", "@A1", "2012-03-04", "0791234567", "Ahmad Ali", "1.5", "", " "]),
    PRINTABLE,
)
XLSX_CELLS = st.one_of(
    CELLS,
    st.integers(-5, 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1)),
    st.booleans(),
    st.none(),
)


def sheets(cells: st.SearchStrategy[Any]) -> st.SearchStrategy[list[list[Any]]]:
    header = st.lists(st.sampled_from(HEADERS), min_size=1, max_size=12)
    return header.flatmap(
        lambda h: st.lists(st.lists(cells, min_size=0, max_size=len(h) + 2), max_size=15).map(lambda rows: [h, *rows])
    )


@SETTINGS
@given(table=sheets(CELLS), delimiter=st.sampled_from([",", ";", "\t"]))
def test_random_csv_sheets(table: list[list[Any]], delimiter: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(table)
    answers(buffer.getvalue().encode(), "random.csv")


def _workbook(table: list[list[Any]]) -> bytes:
    from openpyxl.utils.exceptions import IllegalCharacterError

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data"
    for row in table:
        try:
            sheet.append(row)
        except (IllegalCharacterError, ValueError):
            sheet.append([None])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@SETTINGS
@given(table=sheets(XLSX_CELLS))
def test_random_workbooks(table: list[list[Any]]) -> None:
    answers(_workbook(table), "random.xlsx")


@SETTINGS
@given(rows=st.lists(st.lists(XLSX_CELLS, min_size=5, max_size=8), min_size=1, max_size=10))
def test_random_rows_in_the_template_layout(rows: list[list[Any]]) -> None:
    header = ["month", "site", "sex", "age_group", "nationality", "new_cases", "concern_neglect", "risk_low"]
    answers(_workbook([header, ["Month"], ["الشهر"], *rows]), "template.xlsx")


# --- valid sheets read back exactly ----------------------------------------------------------


@SETTINGS
@given(
    agency=st.sampled_from(["IRC", "IMC", "JRF"]),
    seed=st.integers(0, 10**6),
    scale=st.floats(0.1, 20),
    form=st.sampled_from(["csv", "xlsx", "rais", "cpims"]),
)
def test_valid_sheets_round_trip(agency: str, seed: int, scale: float, form: str) -> None:
    frame = synthetic.month_sheet(ISP, agency, sf.MONTH, seed=seed, scale=scale)
    data = {
        "csv": lambda: sf.csv_bytes(frame),
        "xlsx": lambda: sf.filled_template(ISP, frame, agency),
        "rais": lambda: sf.rais_export(frame, agency),
        "cpims": lambda: sf.cpims_export(frame),
    }[form]()
    out, problems = validation.validate_bytes(
        data, f"sheet.{'csv' if form != 'xlsx' else 'xlsx'}", ISP, agency, sf.MONTH
    )
    assert problems == [] and out is not None
    assert tidy.to_csv(out) == tidy.to_csv(frame)


@pytest.mark.parametrize("seed", [1, 2])
def test_cpims_site_names_map(seed: int) -> None:
    frame = synthetic.month_sheet(ISP, "IMC", sf.MONTH, seed=seed)
    out, problems = validation.validate_bytes(sf.cpims_export(frame, "csv"), "c.csv", ISP, "IMC", sf.MONTH)
    assert problems == [] and out is not None and set(out["site"]) == {"CAMP-AZRAQ"}


@settings(max_examples=min(EXAMPLES, 15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=2000), sheets(CELLS).map(lambda t: "\n".join(",".join(r) for r in t).encode())),
    suffix=st.sampled_from(SUFFIXES),
)
def test_random_files_through_the_command_line(data: bytes, suffix: str) -> None:
    """`isp validate FILE`: exit 0 or 1 with one line per problem, never a traceback."""
    import tempfile
    from pathlib import Path

    from tests.helpers import REPO_ROOT, isp

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sheet{suffix}"
        path.write_bytes(data)
        result = isp(
            "validate", path, "--agency", "IRC", "--month", sf.MONTH, "--repo", REPO_ROOT, env={"ISP_DEBUG": None}
        )
    assert result.code in (0, 1), result.output
    assert "Traceback" not in result.output


# --- the fast path agrees with the cell-by-cell checks ------------------------------------------

BASE_ROWS = list(csv.reader(io.StringIO(sf.csv_bytes(sf.sheet(ISP, "IRC")).decode())))


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(st.integers(1, len(BASE_ROWS) - 1), st.integers(0, 6), st.one_of(CELLS, st.integers(0, 9).map(str))),
        max_size=3,
    ),
    drop=st.lists(st.integers(1, len(BASE_ROWS) - 1), max_size=3),
)
def test_fast_path_agrees_with_the_cell_checks(edits: list[tuple[int, int, str]], drop: list[int]) -> None:
    """A sheet the fast path accepts is one the cell-by-cell checks accept, with the same frame."""
    import pandas as pd

    from isp.sheets import layouts as sheet_import
    from isp.sheets import read as sheet_read
    from isp.sheets import validate_fast as validation_fast

    rows = [list(r) for r in BASE_ROWS]
    for row, column, value in edits:
        rows[row][column] = value
    rows = [r for i, r in enumerate(rows) if i not in set(drop)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    table, _ = sheet_read.read(buffer.getvalue().encode(), "s.csv")
    assert table is not None
    header = sheet_import.detect(table, sheet_import.layouts(ISP))
    assert header is not None
    fast = validation_fast.clean_tidy(ISP, "IRC", sf.MONTH, table, header)
    check = validation.SheetCheck(ISP, "IRC", sf.MONTH, False, "s.csv", table, header)
    slow = check.run()
    if fast is not None:
        assert check.problems == [] and slow is not None
        pd.testing.assert_frame_equal(fast, slow)
