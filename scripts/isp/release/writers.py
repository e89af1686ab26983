"""The files of a release package, each rendered from the one published table (bytes in memory).

- ``<ID>.csv``: the table, with names, under ``#`` comment lines giving the release ID, the
  recipient and every disclaimer (read it with ``pandas.read_csv(path, comment="#")``);
- ``<ID>-hxl.csv``: the same table in HXL, a format for humanitarian data exchange: a header row
  then a row of HXL hashtags (:data:`HXL_TAGS`); the release ID, the recipient and the attribution
  are columns of every row, so any extract keeps them;
- ``<ID>.xlsx``: an About sheet, then Counts and Percentages, each sheet opening with the
  release ID, the recipient and the disclaimers;
- ``README.txt`` and ``metadata.json`` (``caveats`` holds the attribution and disclaimers,
  ``files`` the sha256 of every other file).

A bilingual release (the request's ``languages: [en, ar]``) also states the method paragraph,
the attribution and the recipient's undertaking in Arabic in every file: after the English
lines of the CSV comments, the XLSX sheets' headers (right to left) and the README; in two more
HXL columns (``+i_ar``); under ``disclosure_method_note_ar`` and ``caveats_ar`` in metadata.json;
in a ``lang="ar" dir="rtl"`` section of the HTML report.
The HTML report is rendered by :mod:`isp.release.html`.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from isp.release.output import sha256
from isp.release.package import Package, format_value

COLUMNS = [
    ("period", "period"),
    ("period_start", "period_start"),
    ("period_end", "period_end"),
    ("site", "site"),
    ("site_name", "site_name"),
    ("indicator", "indicator"),
    ("indicator_name", "indicator_name"),
    ("sex", "sex"),
    ("age_group", "age_group"),
    ("nationality", "nationality"),
    ("measure", "measure"),
    ("value", "value"),
    ("note", "note"),
]

# HXL hashtags of the HXL file (https://hxlstandard.org/standard/dictionary/), following HDX HAPI
# where it has a convention (#gender, #age+range, #date+start/#date+end).
HXL_TAGS: dict[str, str] = {
    "release_id": "#meta+release+id",
    "recipient": "#meta+recipient",
    "period": "#date+period",
    "period_start": "#date+start",
    "period_end": "#date+end",
    "country_code": "#country+code",
    "adm1_code": "#adm1+code",
    "site": "#loc+code",
    "site_name": "#loc+name",
    "indicator": "#indicator+code",
    "indicator_name": "#indicator+name",
    "sex": "#gender",
    "age_group": "#age+range",
    "nationality": "#population+nationality+code",
    "count": "#indicator+num",
    "percent": "#indicator+pct",
    "note": "#meta+note",
    "method": "#meta+method",
    "attribution": "#meta+attribution",
    "method_ar": "#meta+method+i_ar",
    "attribution_ar": "#meta+attribution+i_ar",
}
ARABIC_COLUMNS = ("method_ar", "attribution_ar")  # the HXL file's columns of a bilingual release only
HXL_DESCRIPTIONS: dict[str, str] = {
    "release_id": "release identifier, to cite",
    "recipient": "the person and organisation the release was made for",
    "period": "reporting period label (2026-01, 2026-Q1, 2026-H1, 2026)",
    "period_start": "first day of the period",
    "period_end": "last day of the period",
    "country_code": "ISO 3166-1 alpha-3 code (JOR)",
    "adm1_code": "OCHA admin-1 P-code of the governorate (a camp's governorate; empty for totals and regions)",
    "site": "reporting site code: ALL national total, REST sites not shown separately",
    "site_name": "reporting site name",
    "indicator": "indicator code of the common tracking sheet",
    "indicator_name": "indicator name",
    "sex": "F female, M male, ALL both",
    "age_group": "0-5, 6-11, 12-17 years, ALL every age",
    "nationality": "SYR, JOR, IRQ, OTH, ALL every nationality",
    "count": "number of children (empty when suppressed)",
    "percent": "percentage of the indicator's denominator (empty when not shown)",
    "note": "why a value is empty",
    "method": "how the figures were protected (small-count rounding and its base, or cell suppression)",
    "attribution": "the attribution and conditions of use every external output carries",
    "method_ar": "the method paragraph in Arabic (bilingual releases)",
    "attribution_ar": "the attribution and the recipient's undertaking in Arabic (bilingual releases)",
}


def file_names(release_id: str) -> dict[str, str]:
    return {
        "csv": f"{release_id}.csv",
        "hxl": f"{release_id}-hxl.csv",
        "xlsx": f"{release_id}.xlsx",
        "html": f"{release_id}.html",
        "readme": "README.txt",
        "metadata": "metadata.json",
    }


def header_lines(package: Package) -> list[str]:
    """Release ID, recipient and disclaimers: the lines every human-readable file opens with."""
    meta = package.meta
    return [
        f"{meta.title}",
        f"Release {meta.release_id}, prepared for {meta.recipient}",
        f"Request {meta.request_id}; generated {meta.generated.isoformat()}; disclosure profile {meta.profile}",
        *([f"Method: {meta.method}"] if meta.method else []),
        *(f"Disclaimer: {text}" for text in meta.disclaimers),
        *meta.arabic,
    ]


def hxl_keys(package: Package) -> list[str]:
    """The HXL file's columns: the Arabic ones only in a bilingual release."""
    return [k for k in HXL_TAGS if package.meta.bilingual or k not in ARABIC_COLUMNS]


def rows(package: Package) -> Iterable[list[str]]:
    labels = package.labels
    for rec in package.table.itertuples(index=False):
        named = {
            **rec._asdict(),
            "site_name": labels.site(rec.site),
            "indicator_name": labels.indicator(rec.indicator),
            "value": format_value(rec.value, rec.measure),
        }
        yield [str(named[key]) for key, _ in COLUMNS]


# A text cell opening with one of these is a formula to Excel and LibreOffice (OWASP "CSV injection"):
# a site name or title ``=HYPERLINK(...)`` would run in the recipient's spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_text(text: str) -> str:
    """``text`` as a spreadsheet reads it literally: a leading quote before a formula trigger (OWASP)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_bytes(lines: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> bytes:
    """The CSV text; every cell but the ``numeric`` columns (data rows' values) made inert."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([v if i in numeric else inert_text(v) for i, v in enumerate(line)] for line in lines)
    return buffer.getvalue().encode("utf-8")


def to_csv(package: Package) -> bytes:
    comments = "".join(f"# {line}\n" for line in header_lines(package))
    value = [key for key, _ in COLUMNS].index("value")
    return comments.encode("utf-8") + _csv_bytes([[title for _, title in COLUMNS], *rows(package)], [value])


def to_hxl(package: Package) -> bytes:
    meta, labels = package.meta, package.labels
    keys = hxl_keys(package)
    lines: list[list[str]] = [keys, [HXL_TAGS[k] for k in keys]]
    attribution = " ".join(meta.disclaimers)
    attribution_ar = " ".join((*meta.attribution_ar, meta.undertaking_ar)) if meta.bilingual else ""
    for rec in package.table.itertuples(index=False):
        value = format_value(rec.value, rec.measure)
        row = {
            "release_id": meta.release_id,
            "recipient": meta.recipient,
            "period": rec.period,
            "period_start": rec.period_start,
            "period_end": rec.period_end,
            "country_code": "JOR",
            "adm1_code": labels.hdx_adm1.get(rec.site, ""),
            "site": rec.site,
            "site_name": labels.site(rec.site),
            "indicator": rec.indicator,
            "indicator_name": labels.indicator(rec.indicator),
            "sex": rec.sex,
            "age_group": rec.age_group,
            "nationality": rec.nationality,
            "count": value if rec.measure == "count" else "",
            "percent": value if rec.measure == "percent" else "",
            "note": rec.note,
            "method": meta.method_short,
            "attribution": attribution,
            "method_ar": meta.method_ar,
            "attribution_ar": attribution_ar,
        }
        lines.append([str(row[k]) for k in keys])
    return _csv_bytes(lines, [i for i, k in enumerate(keys) if k in ("count", "percent")])


def _append(sheet: Worksheet, values: Sequence[object]) -> None:
    """``values`` as a new row, every text a text cell: openpyxl would store a text opening with
    ``=`` as a formula, which Excel runs (OWASP "CSV injection")."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def _sheet_header(sheet: Worksheet, package: Package) -> int:
    arabic = set(package.meta.arabic)
    for line in header_lines(package):
        _append(sheet, [line])
        if line in arabic:  # right to left, right-aligned
            sheet.cell(row=sheet.max_row, column=1).alignment = Alignment(horizontal="right", readingOrder=2)
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    return int(sheet.max_row)


def _table_sheet(book: Workbook, title: str, package: Package, measure: str) -> None:
    sheet = book.create_sheet(title)
    _sheet_header(sheet, package)
    _append(sheet, [title for _, title in COLUMNS])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    value_index = [key for key, _ in COLUMNS].index("value")
    for line in rows(package):
        if line[[key for key, _ in COLUMNS].index("measure")] != measure:
            continue
        text = line[value_index]
        line_values: list[object] = list(line)
        line_values[value_index] = (int(text) if text.isdigit() else float(text)) if text else None
        _append(sheet, line_values)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    for index, (key, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 36 if key.endswith("_name") else 12


def to_xlsx(package: Package) -> bytes:
    book = Workbook()
    about = book.active
    about.title = "About"
    _sheet_header(about, package)
    for note in package.meta.notes:
        _append(about, [f"Note: {note}"])
    about.column_dimensions["A"].width = 140
    arabic = set(package.meta.arabic)
    for row in about.iter_rows():
        for cell in row:
            rtl = cell.value in arabic
            cell.alignment = Alignment(
                wrap_text=True, vertical="top", horizontal="right" if rtl else None, readingOrder=2 if rtl else 0
            )
    _table_sheet(book, "Counts", package, "count")
    if not package.percents().empty:
        _table_sheet(book, "Percentages", package, "percent")
    created = package.meta.generated
    book.properties.creator = "isp release"
    book.properties.title = f"{package.meta.release_id}: {package.meta.title}"
    book.properties.subject = f"Prepared for {package.meta.recipient}"
    book.properties.created = book.properties.modified = _midnight(created)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001 - openpyxl stores naive times


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=96, subsequent_indent="  ")


def to_readme(package: Package, names: dict[str, str]) -> bytes:
    meta = package.meta
    lines = [*(_wrap(line) for line in header_lines(package)), ""]
    lines += [f"Periods: {', '.join(p.label for p in meta.periods)}", ""]
    lines += [_wrap(f"Note: {note}") for note in meta.notes]
    lines += ["", "Files:"]
    described = {
        "csv": "the tables (comment lines start with #)",
        "hxl": "the same tables with HXL hashtags (a format for humanitarian data exchange)",
        "xlsx": "the tables in Excel",
        "html": "a readable report",
        "metadata": "machine-readable metadata and the sha256 of every file",
    }
    lines += [f"  {names[key]}: {text}" for key, text in described.items()]
    lines += ["", "HXL hashtags:"]
    lines += [f"  {HXL_TAGS[key]:<30} {key}: {HXL_DESCRIPTIONS[key]}" for key in hxl_keys(package)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def to_metadata(package: Package, files: dict[str, bytes]) -> bytes:
    meta = package.meta
    data = {
        "release_id": meta.release_id,
        "request_id": meta.request_id,
        "kind": meta.kind,
        "title": meta.title,
        "recipient": meta.recipient,
        "generated": meta.generated.isoformat(),
        "disclosure_profile": meta.profile,
        "disclosure_method": meta.method_short,
        "disclosure_method_note": meta.method,
        "languages": ["en", "ar"] if meta.bilingual else ["en"],
        **(
            {
                "disclosure_method_note_ar": meta.method_ar,
                "caveats_ar": [*meta.attribution_ar, meta.undertaking_ar],
            }
            if meta.bilingual
            else {}
        ),
        "periods": [{"label": p.label, "first_month": p.first, "last_month": p.last} for p in meta.periods],
        "suppressed_cells": package.suppressed,
        "source_commit": meta.source_commit,
        "inputs": [{"path": path, "sha256": digest} for path, digest in meta.inputs],
        "caveats": list(meta.disclaimers),
        "notes": list(meta.notes),
        "hxl": {HXL_TAGS[key]: HXL_DESCRIPTIONS[key] for key in hxl_keys(package)},
        "files": [{"name": name, "sha256": sha256(data)} for name, data in sorted(files.items())],
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
