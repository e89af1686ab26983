"""`isp template` and the importer: the template, the tidy CSV and the system exports all read
back to exactly the figures that were put in."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from isp.protocol.models import Isp
from isp.sheets import template as sheet_template
from isp.sheets import tidy
from isp.sheets import validate as validation
from tests.helpers import REPO_ROOT
from tests.helpers import isp as run
from tests.sheets import helpers as sf


def _read(isp_: Isp, data: bytes, name: str, agency: str = "IRC") -> bytes:
    frame, problems = validation.validate_bytes(data, name, isp_, agency, sf.MONTH)
    assert problems == [], [str(p) for p in problems]
    assert frame is not None
    return tidy.to_csv(frame)


def test_xlsx_template_layout(tmp_path: Path, isp_: Isp) -> None:
    out = tmp_path / "irc.xlsx"
    result = run("template", "-o", out, "--agency", "IRC", "--month", sf.MONTH, "--repo", REPO_ROOT)
    assert result.code == 0, result.err
    assert out.stat().st_mode & 0o777 == 0o600
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Data", "Instructions", "Codes"]
    data = book["Data"]
    codes = [c.value for c in data[1]]
    assert codes[:5] == ["month", "site", "sex", "age_group", "nationality"]
    assert codes[5:] == list(isp_.indicators)
    assert data.cell(2, 6).value == "New cases" and data.cell(3, 6).value == "حالات جديدة"
    assert data.cell(3, 1).value == "الشهر"
    rows = list(data.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 2 * 24  # IRC: two sites x 2 sexes x 3 age groups x 4 nationalities
    assert all(r[0] == sf.MONTH and all(v == 0 for v in r[5:]) for r in rows)
    kinds = {dv.type for dv in data.data_validations.dataValidation}
    assert {"list", "whole"} <= kinds
    site_list = next(dv for dv in data.data_validations.dataValidation if "B4" in str(dv.sqref))
    assert site_list.formula1 == '"JO22,JO21"'
    text = " ".join(str(c.value) for row in book["Instructions"].iter_rows() for c in row if c.value)
    assert "names, dates of birth" in text and "أسماء" in text
    assert _read(isp_, out.read_bytes(), "irc.xlsx") == tidy.to_csv(sheet_template.zero_sheet(isp_, "IRC", sf.MONTH))


def test_csv_template_lists_every_cell_at_zero(tmp_path: Path, isp_: Isp) -> None:
    out = tmp_path / "nhf.csv"
    result = run("template", "-o", out, "--agency", "NHF", "--month", sf.MONTH, "--repo", REPO_ROOT)
    assert result.code == 0, result.err
    frame = tidy.read_csv(out.read_bytes())
    assert len(frame) == len(isp_.agencies["NHF"].sites) * len(isp_.indicators) * 24
    assert (frame["count"] == 0).all() and set(frame["site"]) == set(isp_.agencies["NHF"].sites)
    assert _read(isp_, out.read_bytes(), "nhf.csv", "NHF") == out.read_bytes()


def test_template_refusals(tmp_path: Path) -> None:
    repo = ("--repo", REPO_ROOT)
    keep = tmp_path / "mine.xlsx"
    keep.write_bytes(b"my filled sheet")
    refused = run("template", "-o", keep, "--agency", "IRC", *repo)
    assert refused.code == 1 and "already exists" in refused.err and keep.read_bytes() == b"my filled sheet"
    assert run("template", "-o", keep, "--agency", "IRC", "--force", *repo).code == 0
    assert run("template", "-o", tmp_path / "x.csv", "--agency", "IRC", *repo).code == 2
    assert run("template", "-o", tmp_path / "x.ods", *repo).code == 2
    unicef = run("template", "-o", tmp_path / "u.xlsx", "--agency", "UNICEF", *repo)
    assert unicef.code == 1 and "does not send" in unicef.err
    assert run("template", "-o", tmp_path / "m.xlsx", "--month", "2026-13", *repo).code == 2


def test_blank_template_filled_by_hand(isp_: Isp) -> None:
    blank = sheet_template.workbook_bytes(isp_, None, None)
    book = openpyxl.load_workbook(io.BytesIO(blank))
    data = book["Data"]
    assert data.max_row == 3
    data.append([date(2026, 1, 1), "Mafraq", "Female", "0-5 years", "سوري", *([0] * len(isp_.indicators))])
    data.append([sf.MONTH, "JO22", "أنثى", "6-11", "JOR", *([0] * len(isp_.indicators))])
    buffer = io.BytesIO()
    book.save(buffer)
    _, problems = validation.validate_bytes(buffer.getvalue(), "blank.xlsx", isp_, "IRC", sf.MONTH)
    # the names and dates were read as codes; what is refused is only the rows not typed in
    assert {p.rule for p in problems} == {"missing-site", "missing-row"}
    assert "JO21" in next(p.message for p in problems if p.rule == "missing-site")


@pytest.mark.parametrize("agency", ["IRC", "JRF", "UNHCR"])
def test_filled_template_round_trip(isp_: Isp, agency: str) -> None:
    frame = sf.sheet(isp_, agency)
    assert _read(isp_, sf.filled_template(isp_, frame, agency), "filled.xlsx", agency) == tidy.to_csv(frame)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_rais_cpims_export(isp_: Isp, kind: str) -> None:
    """Long layout, RAIS codes, JO-SOUTH and OTH split over several export rows and added up again."""
    frame = sf.sheet(isp_, "JRF")
    assert _read(isp_, sf.rais_export(frame, "JRF", kind), f"rais.{kind}", "JRF") == tidy.to_csv(frame)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_cpims_standalone_export(isp_: Isp, kind: str) -> None:
    """Wide layout under a two-line title, empty cells meaning zero."""
    frame = sf.sheet(isp_, "IRC")
    assert _read(isp_, sf.cpims_export(frame, kind), f"cpims.{kind}") == tidy.to_csv(frame)


def test_export_for_another_agency_is_refused(isp_: Isp) -> None:
    frame = sf.sheet(isp_, "JRF")
    _, problems = validation.validate_bytes(sf.rais_export(frame, "NHF"), "rais.csv", isp_, "JRF", sf.MONTH)
    assert {p.rule for p in problems} == {"wrong-agency"} and problems[0].column == "Partner"


def test_sparse_tidy_sheet_is_refused_not_completed_with_zeros(isp_: Isp) -> None:
    """Zeros left out used to be filled in; a left-out row cannot be told from a deleted one."""
    frame = sf.sheet(isp_, "IRC")
    nonzero = frame[frame["count"] > 0]
    assert len(nonzero) < len(frame)
    _, problems = validation.validate_bytes(sf.csv_bytes(nonzero), "sparse.csv", isp_, "IRC", sf.MONTH)
    assert problems and {p.rule for p in problems} <= {"missing-row", "missing-cell", "missing-site"}


def test_csv_variants_excel_writes(isp_: Isp) -> None:
    """Excel's 'CSV UTF-8' adds a BOM and CRLF; some locales use semicolons; columns in any order."""
    lines = sf.csv_lines(sf.sheet(isp_, "IRC"))
    want = sf.join(lines)
    assert _read(isp_, "\ufeff".encode() + "\r\n".join(lines).encode(), "bom.csv") == want
    assert _read(isp_, sf.join(line.replace(",", ";") for line in lines), "semi.csv") == want
    swapped = [",".join(reversed(line.split(","))) for line in lines]
    assert _read(isp_, sf.join(swapped), "swapped.csv") == want


def test_mappings_pass_the_protocol_check(isp_: Isp) -> None:
    from isp.sheets import layouts as sheet_import

    assert sheet_import.mapping_problems(isp_, REPO_ROOT) == []
    names = [layout.name for layout in sheet_import.layouts(isp_)]
    assert names == ["tidy", "template", "cpims_standalone", "rais_cpims"]
