"""The tracking-sheet template: an Excel workbook (or the tidy CSV) ready to fill in.

The workbook has one input grid, ``Data``: a row per site, sex, age group and nationality and a
column per indicator, headed by the indicator codes (row 1) and their English (row 2) and Arabic
(row 3) names. Dropdowns offer the codes; count cells accept whole numbers of 0 or more. The
``Instructions`` sheet says how to fill it in (English and Arabic), and ``Codes`` explains every
code. The same layout is read back by ``sheet_import`` (layout "template").
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from isp.errors import IspError, UsageError
from isp.fsutil import write_atomic
from isp.protocol.models import Isp
from isp.protocol.periods import is_month
from isp.sheets import tidy
from isp.sheets.layouts import MONTH_LABEL_AR, MONTH_LABEL_EN

FIRST_DATA_ROW = 4
BLANK_ROWS = 2000  # rows given dropdowns in a template made without an agency
KEY_HEADERS = (
    ("month", MONTH_LABEL_EN, MONTH_LABEL_AR),
    ("site", "Site", "الموقع"),
    ("sex", "Sex", "الجنس"),
    ("age_group", "Age group", "الفئة العمرية"),
    ("nationality", "Nationality", "الجنسية"),
)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
RTL = Alignment(horizontal="right", readingOrder=2, wrap_text=True)
WRAP = Alignment(wrap_text=True, vertical="top")

INSTRUCTIONS = [
    (
        "Monthly child-protection tracking sheet",
        "جدول المتابعة الشهري لحماية الطفل",
    ),
    (
        "Fill in the Data sheet: one row per site, sex, age group and nationality, one column per indicator.",
        "املأ ورقة Data: صف واحد لكل موقع وجنس وفئة عمرية وجنسية، وعمود واحد لكل مؤشر.",
    ),
    (
        "Enter whole numbers of 0 or more. Enter 0 when there were no cases; do not leave cells empty.",
        "أدخل أعداداً صحيحة تساوي صفراً أو أكثر. أدخل 0 عند عدم وجود حالات، ولا تترك الخلايا فارغة.",
    ),
    (
        "Choose codes from the dropdowns; the Codes sheet explains every code.",
        "اختر الرموز من القوائم المنسدلة؛ تشرح ورقة Codes معنى كل رمز.",
    ),
    (
        "The breakdowns by main protection concern and by risk level must each add up to New cases.",
        "يجب أن يساوي مجموع الحالات حسب شاغل الحماية الرئيسي، وكذلك مجموعها حسب مستوى الخطورة، عدد الحالات الجديدة.",
    ),
    (
        "Never enter names, dates of birth, phone numbers, case or registration numbers, or comments: "
        "this sheet holds totals only.",
        "لا تُدخل أبداً أسماء أو تواريخ ميلاد أو أرقام هواتف أو أرقام حالات أو تسجيل أو ملاحظات: "
        "هذا الجدول يحتوي على مجاميع فقط.",
    ),
    (
        "Do not type formulas (cells starting with =, +, - or @), do not add sheets or columns, "
        "and do not change rows 1 to 3.",
        "لا تكتب صيغاً (خلايا تبدأ بـ = أو + أو - أو @)، ولا تُضف أوراقاً أو أعمدة، ولا تغيّر الصفوف من 1 إلى 3.",
    ),
    (
        "Save as .xlsx (never .xlsm), keep the file outside the repository, and submit it with: "
        "isp submit FILE --agency AGENCY --month YYYY-MM --commit",
        "احفظ الملف بصيغة xlsx (وليس xlsm)، واحتفظ به خارج المستودع، ثم أرسله بالأمر: "
        "isp submit FILE --agency AGENCY --month YYYY-MM --commit",
    ),
]


def zero_sheet(isp: Isp, agency: str, month: str) -> pd.DataFrame:
    """Every cell of ``agency``'s sites for ``month``, at zero (the tidy form)."""
    dims = isp.dimension_codes()
    grid = pd.MultiIndex.from_product(
        [[month], _sites(isp, agency), list(isp.indicators), dims["sex"], dims["age_group"], dims["nationality"]],
        names=tidy.KEY_COLUMNS,
    ).to_frame(index=False)
    return grid.assign(count=0)[tidy.COLUMNS]


def _sites(isp: Isp, agency: str | None) -> list[str]:
    if agency is None:
        return list(isp.sites)
    found = isp.agency(agency)
    if not found.submits_sheets:
        raise IspError(f"{agency} does not send the monthly tracking sheet: no template for it")
    return list(found.sites)


def write(isp: Isp, out: Path, agency: str | None = None, month: str | None = None, force: bool = False) -> str:
    """Write the template to ``out`` (.xlsx workbook, or .csv tidy sheet); return what was written."""
    if month is not None and not is_month(month):
        raise UsageError(f"'{month}' is not a month: write it as YYYY-MM")
    if out.exists() and not force:
        raise IspError(f"{out} already exists: choose another name, or add --force to replace it")
    suffix = out.suffix.lower()
    if suffix == ".csv":
        if agency is None or month is None:
            raise UsageError("a CSV template lists every cell of one agency's month: give --agency and --month")
        frame = zero_sheet(isp, agency, month)
        data = tidy.to_csv(frame)
        what = f"tidy CSV with {len(frame)} cells at zero"
    elif suffix == ".xlsx":
        data = workbook_bytes(isp, agency, month)
        what = "Excel template"
    else:
        raise UsageError(f"{out.name}: the template is written as .xlsx or .csv")
    write_atomic(out, data, mode=0o600)
    return what


def workbook_bytes(isp: Isp, agency: str | None, month: str | None) -> bytes:
    book = Workbook()
    data = book.active
    assert data is not None
    data.title = "Data"
    _data_sheet(isp, data, agency, month)
    _instructions(book.create_sheet("Instructions"), agency, month)
    _codes(isp, book.create_sheet("Codes"))
    book.properties.creator = "isp template"
    book.properties.title = "ISP tracking sheet"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _headers(isp: Isp) -> list[tuple[str, str, str]]:
    return [*KEY_HEADERS, *((c, i.name_en, i.name_ar) for c, i in isp.indicators.items())]


def _data_sheet(isp: Isp, sheet: Worksheet, agency: str | None, month: str | None) -> None:
    headers = _headers(isp)
    for col, (code, english, arabic) in enumerate(headers, start=1):
        sheet.cell(1, col, code).font = Font(bold=True, color="595959", size=9)
        sheet.cell(2, col, english).alignment = WRAP
        sheet.cell(3, col, arabic).alignment = RTL
        for row in (1, 2, 3):
            sheet.cell(row, col).fill = HEADER_FILL
        sheet.column_dimensions[get_column_letter(col)].width = 13 if col <= len(KEY_HEADERS) else 16
    sheet.row_dimensions[2].height = 45
    sheet.row_dimensions[3].height = 45
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, len(KEY_HEADERS) + 1)
    rows = _prefilled_rows(isp, agency, month) if agency else []
    for offset, keys in enumerate(rows):
        for col, value in enumerate(keys, start=1):
            sheet.cell(FIRST_DATA_ROW + offset, col, value)
        for col in range(len(KEY_HEADERS) + 1, len(headers) + 1):
            sheet.cell(FIRST_DATA_ROW + offset, col, 0)
    last = FIRST_DATA_ROW + max(len(rows), BLANK_ROWS) - 1
    for col in range(1, len(KEY_HEADERS) + 1):  # codes stay text: Excel would turn 6-11 into a date
        for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(rows)):
            sheet.cell(row, col).number_format = "@"
        sheet.column_dimensions[get_column_letter(col)].number_format = "@"
    _validations(isp, sheet, agency, month, last, len(headers))


def _prefilled_rows(isp: Isp, agency: str, month: str | None) -> list[tuple[str, ...]]:
    dims = isp.dimension_codes()
    return [
        (month or "", site, sex, age, nationality)
        for site in _sites(isp, agency)
        for sex in dims["sex"]
        for age in dims["age_group"]
        for nationality in dims["nationality"]
    ]


def _list_validation(values: list[str], title: str) -> DataValidation:
    check = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=False)
    check.error = f"Choose a {title} code from the list. / اختر رمزاً من القائمة."
    check.errorTitle = "ISP"
    check.showErrorMessage = True
    return check


def _validations(isp: Isp, sheet: Worksheet, agency: str | None, month: str | None, last: int, width: int) -> None:
    dims = isp.dimension_codes()
    lists = [
        ([month] if month else None, "month"),
        (_sites(isp, agency), "site"),
        (dims["sex"], "sex"),
        (dims["age_group"], "age group"),
        (dims["nationality"], "nationality"),
    ]
    for col, (values, title) in enumerate(lists, start=1):
        if values is None:
            check = DataValidation(type="textLength", operator="equal", formula1="7")
            check.error = "Write the month as YYYY-MM. / اكتب الشهر بالشكل YYYY-MM."
            check.showErrorMessage = True
        else:
            check = _list_validation(values, title)
        letter = get_column_letter(col)
        check.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
        sheet.add_data_validation(check)
    counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=False)
    counts.error = "Enter a whole number of 0 or more. / أدخل عدداً صحيحاً يساوي صفراً أو أكثر."
    counts.errorTitle = "ISP"
    counts.showErrorMessage = True
    first, end = get_column_letter(len(KEY_HEADERS) + 1), get_column_letter(width)
    counts.add(f"{first}{FIRST_DATA_ROW}:{end}{last}")
    sheet.add_data_validation(counts)


def _instructions(sheet: Worksheet, agency: str | None, month: str | None) -> None:
    sheet.column_dimensions["A"].width = 90
    sheet.column_dimensions["B"].width = 90
    sheet.cell(1, 1, "English").font = Font(bold=True)
    sheet.cell(1, 2, "العربية").font = Font(bold=True)
    sheet.cell(1, 2).alignment = RTL
    lines = list(INSTRUCTIONS)
    if agency:
        lines.insert(
            1, (f"Agency: {agency}   Month: {month or '(fill in)'}", f"الجهة: {agency}   الشهر: {month or ''}")
        )
    for row, (english, arabic) in enumerate(lines, start=2):
        sheet.cell(row, 1, english).alignment = WRAP
        sheet.cell(row, 2, arabic).alignment = RTL
    sheet.cell(2, 1).font = Font(bold=True, size=13)
    sheet.cell(2, 2).font = Font(bold=True, size=13)


def _codes(isp: Isp, sheet: Worksheet) -> None:
    row = 1
    sections: list[tuple[str, list[tuple[str, str, str]]]] = [
        ("site / الموقع", [(s.code, s.name_en, s.name_ar) for s in isp.sites.values()]),
        *(
            (f"{name} / {arabic}", [(c.code, c.name_en, c.name_ar) for c in getattr(isp.dimensions, name)])
            for name, arabic in (("sex", "الجنس"), ("age_group", "الفئة العمرية"), ("nationality", "الجنسية"))
        ),
        ("indicator / المؤشر", [(c, i.name_en, i.name_ar) for c, i in isp.indicators.items()]),
    ]
    for title, items in sections:
        sheet.cell(row, 1, title).font = Font(bold=True)
        for offset, (code, english, arabic) in enumerate(items, start=1):
            sheet.cell(row + offset, 1, code).number_format = "@"
            sheet.cell(row + offset, 2, english)
            sheet.cell(row + offset, 3, arabic).alignment = RTL
        row += len(items) + 2
    for letter, width in (("A", 28), ("B", 44), ("C", 44)):
        sheet.column_dimensions[letter].width = width
