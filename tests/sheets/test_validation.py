"""Validation (contract A): every rule is broken once, and each is reported with its file, row,
column, rule and fix, without quoting a count, and with no file written anywhere."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from isp.errors import Problem
from isp.protocol.models import Isp
from isp.sheets import read as sheet_read
from isp.sheets import validate as validation
from tests.sheets import helpers as sf

CANARY = "7919"


@pytest.fixture(scope="module")
def rows(isp_: Isp) -> list[list[str]]:
    """IRC's sheet as CSV fields; rows[0] is the header (sheet row 1), rows[i] is sheet row i + 1."""
    return list(csv.reader(io.StringIO(sf.csv_bytes(sf.sheet(isp_, "IRC")).decode())))


def encode(table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(table)
    return buffer.getvalue().encode()


def changed(rows: list[list[str]], row: int, column: str, value: str) -> bytes:
    """The sheet with one cell (sheet row ``row``, column name) replaced."""
    table = [list(r) for r in rows]
    table[row - 1][table[0].index(column)] = value
    return encode(table)


def check(isp_: Isp, data: bytes, name: str = "irc.csv", agency: str = "IRC", strict: bool = False) -> list[Problem]:
    _, problems = validation.validate_bytes(data, name, isp_, agency, sf.MONTH, strict)
    for problem in problems:
        text = str(problem)
        assert "\n" not in text and problem.file == name and problem.fix, text
        assert CANARY not in text, text
    return problems


def only(problems: list[Problem], severity: str = "error") -> Problem:
    failing = [p for p in problems if p.severity == severity]
    assert len(failing) == 1, [str(p) for p in problems]
    return failing[0]


def row_of(rows: list[list[str]], indicator: str, site: str = "JO22") -> int:
    return next(i + 1 for i, r in enumerate(rows) if r[1] == site and r[2] == indicator)


CELL_CASES = [
    # (column, value, rule)
    ("count", "2.5", "not-integer"),
    ("count", f"{CANARY}.5", "not-integer"),
    ("count", f"-{CANARY}", "negative-count"),
    ("count", "", "missing-count"),
    ("count", "three", "not-integer"),
    ("count", "=1+2", "formula"),
    ("count", "+cmd|' /C calc'!A0", "formula"),
    ("count", "@SUM(A1:A9)", "formula"),
    ("count", "-2+3", "formula"),
    ("site", '=HYPERLINK("http://example.org","x")', "formula"),
    ("month", "2026-02", "wrong-month"),
    ("month", "January", "bad-month"),
    ("month", "", "missing-value"),
    ("site", "JO99", "unknown-code"),
    ("indicator", "new_casez", "unknown-code"),
    ("sex", "X", "unknown-code"),
    ("sex", "Ahmad Ali", "identifiable-name"),
    ("site", "محمد علي", "identifiable-name"),
    ("age_group", "2012-03-04", "identifiable-date"),
    ("nationality", "04/03/2012", "identifiable-date"),
    ("count", "12 March 2012", "identifiable-date"),
    ("count", "0791234567", "identifiable-phone"),
    ("count", "+962 79 123 4567", "identifiable-phone"),
    ("nationality", "IRC-AMM-00123", "identifiable-id"),
    ("count", "123-12C12345", "identifiable-id"),
    ("count", "98765432", "identifiable-id"),
    ("site", "referred to the clinic after the home visit", "free-text"),
]


@pytest.mark.parametrize(("column", "value", "rule"), CELL_CASES)
def test_cell_rules(isp_: Isp, rows: list[list[str]], column: str, value: str, rule: str) -> None:
    row = row_of(rows, "active_cases")  # not part of a total, so one problem only
    problem = only(check(isp_, changed(rows, row, column, value)))
    assert (problem.rule, problem.row, problem.column) == (rule, row, column)
    if rule.startswith("identifiable") or rule == "free-text":
        assert value not in str(problem) and "Ahmad" not in str(problem)


def test_unknown_code_is_quoted_only_when_it_looks_like_a_code(isp_: Isp, rows: list[list[str]]) -> None:
    row = row_of(rows, "active_cases")
    assert "'JO99'" in only(check(isp_, changed(rows, row, "site", "JO99"))).message
    assert "the value is not" in only(check(isp_, changed(rows, row, "site", "Somewhere"))).message


HEADER_CASES = [
    ("Child Name", "identifiable-name"),
    ("Date of Birth", "identifiable-date"),
    ("DOB", "identifiable-date"),
    ("Phone", "identifiable-phone"),
    ("Case ID", "identifiable-id"),
    ("UNHCR registration no", "identifiable-id"),
    ("Comments", "free-text"),
    ("الاسم", "identifiable-name"),
    ("رقم الهاتف", "identifiable-phone"),
    ("Extra", "unknown-column"),
]


@pytest.mark.parametrize(("header", "rule"), HEADER_CASES)
def test_column_rules(isp_: Isp, rows: list[list[str]], header: str, rule: str) -> None:
    table = [[*rows[0], header]] + [[*r, ""] for r in rows[1:]]
    problem = only(check(isp_, encode(table)))
    assert (problem.rule, problem.row, problem.column) == (rule, 1, header)


def test_missing_column_and_unnamed_column(isp_: Isp, rows: list[list[str]]) -> None:
    problem = only(check(isp_, encode([r[:5] + r[6:] for r in rows])))
    assert (problem.rule, problem.column) == ("missing-column", "nationality")
    table = [[*rows[0], ""]] + [[*r, "x"] for r in rows[1:]]
    assert only(check(isp_, encode(table))).rule == "unnamed-column"


def test_unknown_layout_names_personal_columns(isp_: Isp) -> None:
    data = encode([["Full name", "Phone", "Notes"], ["Someone", "0791234567", "a note"]])
    rules = [p.rule for p in check(isp_, data)]
    assert rules == ["identifiable-name", "identifiable-phone", "free-text", "unknown-layout"]


def test_duplicate_cell(isp_: Isp, rows: list[list[str]]) -> None:
    row = row_of(rows, "active_cases")
    problem = only(check(isp_, encode([*rows, rows[row - 1]])))
    assert (problem.rule, problem.row) == ("duplicate", len(rows) + 1)
    assert f"first on row {row}" in problem.message


def test_a_site_outside_the_annex_is_refused_without_strict(isp_: Isp) -> None:
    """It used to be a warning: the sheet was written with JO11 padded with zeros, JO21 lost."""
    frame = sf.sheet(isp_, "IRC")
    frame = frame.assign(site=frame["site"].replace({"JO21": "JO11"}))
    problems = check(isp_, sf.csv_bytes(frame))
    assert all(p.severity == "error" for p in problems)
    foreign = next(p for p in problems if p.rule == "undeclared-site")
    assert "JO11" in foreign.message and "annex sites (JO22, JO21)" in foreign.message and foreign.column == "site"
    assert "signed change" in (foreign.fix or "")
    gone = next(p for p in problems if p.rule == "missing-site")
    assert "JO21" in gone.message


def test_a_deleted_row_is_refused_not_read_as_zero(isp_: Isp, rows: list[list[str]]) -> None:
    """Every indicator of one site/sex/age/nationality removed: the row is named, nothing is zero."""
    first = rows[row_of(rows, "new_cases") - 1]
    key = (first[1], first[3], first[4], first[5])
    table = [r for r in rows if (r[1], r[3], r[4], r[5]) != key]
    problem = only(check(isp_, encode(table)))
    assert problem.rule == "missing-row" and " ".join(key) in problem.message


def test_a_missing_cell_and_a_missing_site_are_named(isp_: Isp, rows: list[list[str]]) -> None:
    active = row_of(rows, "active_cases")
    cell = only(check(isp_, encode([r for i, r in enumerate(rows, start=1) if i != active])))
    r = rows[active - 1]
    assert cell.rule == "missing-cell" and f"active_cases at {r[1]} {r[3]} {r[4]} {r[5]}" in cell.message
    site = only(check(isp_, encode([r for r in rows if r[1] != "JO21"])))
    assert site.rule == "missing-site" and "JO21" in site.message and "annex" in site.message


def test_a_template_row_deleted_in_excel_is_refused(isp_: Isp) -> None:
    """The reported case: an .xlsx template with one data row deleted (2, 19 and 1 cases lost)."""
    book = openpyxl.load_workbook(io.BytesIO(sf.filled_template(isp_, sf.sheet(isp_, "IRC"))))
    book["Data"].delete_rows(6)
    buffer = io.BytesIO()
    book.save(buffer)
    problem = only(check(isp_, buffer.getvalue(), "irc.xlsx"))
    assert problem.rule == "missing-row" and "row is missing" in problem.message


def test_a_deleted_indicator_column_is_refused(isp_: Isp) -> None:
    book = openpyxl.load_workbook(io.BytesIO(sf.filled_template(isp_, sf.sheet(isp_, "IRC"))))
    column = [c.value for c in book["Data"][1]].index("active_cases") + 1
    book["Data"].delete_cols(column)
    buffer = io.BytesIO()
    book.save(buffer)
    problem = only(check(isp_, buffer.getvalue(), "irc.xlsx"))
    assert problem.rule == "missing-column" and problem.column == "active_cases"


@pytest.mark.parametrize("indicator", ["concern_child_labour", "risk_high"])
def test_breakdown_must_add_up_to_new_cases(isp_: Isp, rows: list[list[str]], indicator: str) -> None:
    row = row_of(rows, indicator)
    problem = only(check(isp_, changed(rows, row, "count", str(int(rows[row - 1][6]) + 1))))
    assert problem.rule == "totals" and "new cases" in problem.message
    assert problem.row == row_of(rows, "new_cases")


def test_totals_never_quote_the_figures(isp_: Isp, rows: list[list[str]]) -> None:
    row = row_of(rows, "new_cases")
    problems = check(isp_, changed(rows, row, "count", CANARY))
    assert {p.rule for p in problems} == {"totals"} and len(problems) == 2


def test_no_data_rows(isp_: Isp, rows: list[list[str]]) -> None:
    assert only(check(isp_, encode(rows[:1]))).rule == "no-rows"


def test_many_rows_with_the_same_problem_are_one_line(isp_: Isp, rows: list[list[str]]) -> None:
    table = [rows[0]] + [[*r[:0], "2025-12", *r[1:]] for r in rows[1:]]
    problem = only(check(isp_, encode(table)))
    assert problem.rule == "wrong-month" and problem.row == 2
    assert f"also row 3, 4, 5, 6, 7 and {len(rows) - 7} more" in problem.message


FILE_CASES = [
    ("empty", b"", "s.csv", "empty-file"),
    ("blank", b"  \n\n", "s.csv", "empty-file"),
    ("latin-1", "month,site\n2026-01,Zarqa é\n".encode("latin-1"), "s.csv", "not-utf8"),
    ("nul", b"month,site\x00\n", "s.csv", "not-text"),
    ("quotes", b'month,site\n"2026-01,JO22\n', "s.csv", "csv-syntax"),
    ("xls", sheet_read.OLE_MAGIC + b"\x00" * 600, "s.xls", "unsupported-format"),
    ("ods", b"PK\x03\x04whatever", "s.ods", "unsupported-format"),
    ("damaged", b"PK\x03\x04" + b"\x00" * 300, "s.xlsx", "unreadable-file"),
    ("not-zip", b"this is text", "s.xlsx", "unreadable-file"),
]


@pytest.mark.parametrize(("data", "name", "rule"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_file_rules(isp_: Isp, data: bytes, name: str, rule: str) -> None:
    frame, problems = validation.validate_bytes(data, name, isp_, "IRC", sf.MONTH)
    assert frame is None and [p.rule for p in problems] == [rule], [str(p) for p in problems]


def test_latin1_names_the_line(isp_: Isp) -> None:
    data = "month,site\n2026-01,JO22\n2026-01,Zarqa é\n".encode("latin-1")
    assert only(check(isp_, data)).row == 3


def test_oversized_file(isp_: Isp) -> None:
    problem = only(check(isp_, b"x" * (sheet_read.MAX_BYTES + 1)))
    assert problem.rule == "too-large" and "10 MB" in problem.message


def test_zip_bomb_is_not_unpacked(isp_: Isp) -> None:
    bomb = sf.with_member(sf.xlsx([["month"]]), "xl/media/big.bin", b"\0" * (sheet_read.MAX_UNZIPPED + 1))
    assert len(bomb) < sheet_read.MAX_BYTES
    assert only(check(isp_, bomb, "bomb.xlsx")).rule == "too-large"


def test_macros_are_refused(isp_: Isp) -> None:
    frame = sf.sheet(isp_, "IRC")
    good = sf.filled_template(isp_, frame)
    assert only(check(isp_, good, "sheet.xlsm")).rule == "macro-file"
    with_vba = sf.with_member(good, "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    assert only(check(isp_, with_vba, "sheet.xlsx")).rule == "macro-file"


def test_workbook_cells(isp_: Isp) -> None:
    """Real formulas, dates and extra worksheets inside a workbook."""
    frame = sf.sheet(isp_, "IRC")
    first_count = (4, 7)  # row 4 (first data row), column G (active_cases)
    formula = sf.filled_template(isp_, frame, edit={first_count: "=SUM(F4:F5)"})
    assert (only(check(isp_, formula, "f.xlsx")).rule, only(check(isp_, formula, "f.xlsx")).row) == ("formula", 4)
    dated = sf.filled_template(isp_, frame, edit={first_count: date(2012, 3, 4)})
    assert only(check(isp_, dated, "d.xlsx")).rule == "identifiable-date"
    as_float = sf.filled_template(isp_, frame, edit={first_count: 2.5})
    assert only(check(isp_, as_float, "n.xlsx")).rule == "not-integer"
    big = sf.filled_template(isp_, frame, edit={first_count: 7919123})
    assert only(check(isp_, big, "b.xlsx")).rule == "identifiable-id"
    rows = [[c for c in r] for r in [sf.csv_lines(frame)[0].split(",")]]
    extra = sf.xlsx(rows + [line.split(",") for line in sf.csv_lines(frame)[1:]], sheets={"Children": [["x"]]})
    problem = only(check(isp_, extra, "e.xlsx"))
    assert problem.rule == "extra-sheet" and "Children" not in problem.message


def test_a_renamed_data_sheet_is_named_as_missing(isp_: Isp) -> None:
    """It used to say "worksheet 2 and 3 are not part of the sheet" (the template's own sheets)."""
    book = openpyxl.load_workbook(io.BytesIO(sf.filled_template(isp_, sf.sheet(isp_, "IRC"))))
    book["Data"].title = "January"
    buffer = io.BytesIO()
    book.save(buffer)
    problem = only(check(isp_, buffer.getvalue(), "r.xlsx"))
    assert problem.rule == "missing-data-sheet" and "Data worksheet is missing" in problem.message
    assert "worksheet 2" not in str(problem) and "January" not in str(problem)


def test_cell_comments_are_refused(isp_: Isp) -> None:
    from openpyxl.comments import Comment

    book = openpyxl.load_workbook(io.BytesIO(sf.filled_template(isp_, sf.sheet(isp_, "IRC"))))
    book["Data"]["G4"].comment = Comment("the girl from the home visit", "officer")
    buffer = io.BytesIO()
    book.save(buffer)
    problem = only(check(isp_, buffer.getvalue(), "c.xlsx"))
    assert problem.rule == "free-text" and "home visit" not in str(problem)


def test_age_group_turned_into_a_date_by_excel(isp_: Isp) -> None:
    frame = sf.sheet(isp_, "IRC")
    problem = only(check(isp_, sf.filled_template(isp_, frame, edit={(4, 4): date(2026, 6, 11)}), "a.xlsx"))
    assert (problem.rule, problem.column) == ("identifiable-date", "age_group") and "formatted as Text" in problem.fix


def test_context_rules(isp_: Isp, rows: list[list[str]]) -> None:
    data = encode(rows)
    assert only(check(isp_, data, agency="XYZ")).rule == "unknown-agency"
    assert only(check(isp_, data, agency="UNICEF")).rule == "no-sheet"
    _, problems = validation.validate_bytes(data, "irc.csv", isp_, "IRC", "2026-1")
    assert [p.rule for p in problems] == ["bad-month"]


def test_everything_at_once(isp_: Isp, rows: list[list[str]]) -> None:
    """Validation collects every problem; it does not stop at the first."""
    table = [[*rows[0], "Child Name"]] + [[*r, ""] for r in rows[1:]]
    table[1][6] = "=1"
    table[2][3] = "Q"
    table[3][0] = "2026-02"
    rules = {p.rule for p in check(isp_, encode(table))}
    assert {"identifiable-name", "formula", "unknown-code", "wrong-month"} <= rules


def test_nothing_is_written(isp_: Isp, rows: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    check(isp_, changed(rows, 2, "count", "=1"))
    check(isp_, sf.filled_template(isp_, sf.sheet(isp_, "IRC")), "x.xlsx")
    assert list(tmp_path.iterdir()) == []
