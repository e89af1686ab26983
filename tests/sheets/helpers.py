"""Sheets for the sheet, validation and submission tests: filled templates and system exports.

Every sheet is built from a tidy frame (synthetic by default), so a test can check that reading
it back gives exactly that frame.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from typing import Any

import openpyxl
import pandas as pd
import yaml

from isp.demo import synthetic
from isp.protocol import loading
from isp.protocol.models import Isp
from isp.sheets import template as sheet_template
from isp.sheets import tidy
from tests.helpers import REPO_ROOT

MONTH = "2026-01"


def load_isp() -> Isp:
    return loading.load(REPO_ROOT)


def sheet(isp: Isp, agency: str = "IRC", month: str = MONTH, seed: int = 7) -> pd.DataFrame:
    return synthetic.month_sheet(isp, agency, month, seed=seed)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return tidy.to_csv(frame)


def csv_lines(frame: pd.DataFrame) -> list[str]:
    return csv_bytes(frame).decode().splitlines()


def join(lines: Iterable[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def xlsx(rows: list[list[Any]], sheets: dict[str, list[list[Any]]] | None = None, title: str = "Data") -> bytes:
    """A plain workbook: ``rows`` on the first sheet, plus any extra sheets."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = title
    for row in rows:
        first.append(row)
    for name, extra in (sheets or {}).items():
        ws = book.create_sheet(name)
        for row in extra:
            ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def fill_template(template: bytes, frame: pd.DataFrame, edit: dict[tuple[int, int], Any] | None = None) -> bytes:
    """Type ``frame``'s counts into a template made with --agency (and ``edit`` cells (row, col))."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    data = book["Data"]
    codes = [c.value for c in data[1]]
    lookup = frame.set_index(tidy.KEY_COLUMNS)["count"].to_dict()
    for row in data.iter_rows(min_row=sheet_template.FIRST_DATA_ROW):
        month, site, sex, age, nationality = (c.value for c in row[:5])
        if not site:
            continue
        for cell, code in zip(row[5:], codes[5:], strict=True):
            cell.value = int(lookup[(month, site, code, sex, age, nationality)])
    for (r, c), value in (edit or {}).items():
        data.cell(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def filled_template(isp: Isp, frame: pd.DataFrame, agency: str = "IRC", month: str = MONTH, **kw: Any) -> bytes:
    return fill_template(sheet_template.workbook_bytes(isp, agency, month), frame, **kw)


def _mapping(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "protocol" / "imports" / f"{name}.yaml").read_text())


def _reverse(table: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for source, ours in table.items():
        out.setdefault(ours, source)
    return out


def rais_rows(frame: pd.DataFrame, agency: str, split_south: bool = True) -> list[dict[str, Any]]:
    """A RAIS-CPIMS export of ``frame``: RAIS codes; JO-SOUTH split over Karak and Aqaba,
    OTH split over Yemen and Sudan (the importer must add them up again)."""
    mapping = _mapping("rais_cpims")
    values = mapping["values"]
    indicator, sex, age = (_reverse(values[k]) for k in ("indicator", "sex", "age_group"))
    site = _reverse(values["site"])
    rows = []
    for r in frame.itertuples(index=False):
        places = ["Karak Governorate", "Aqaba Governorate"] if r.site == "JO-SOUTH" and split_south else [site[r.site]]
        origins = (
            ["Yemen", "SDN"]
            if r.nationality == "OTH"
            else [{"SYR": "Syrian Arab Rep."}.get(r.nationality, r.nationality)]
        )
        parts = [(p, o) for p in places for o in origins]
        shares = [int(r.count) // len(parts)] * len(parts)
        shares[0] += int(r.count) - sum(shares)
        for (place, origin), share in zip(parts, shares, strict=True):
            rows.append(
                {
                    "Reporting Period": pd.Timestamp(r.month + "-01").strftime("%b-%Y"),
                    "Partner": agency,
                    "Location": place,
                    "CP Indicator": indicator[r.indicator],
                    "Gender": sex[r.sex],
                    "Age Bracket": age[r.age_group],
                    "Country of Origin": origin,
                    "No. of Children": share,
                }
            )
    return rows


def rais_export(frame: pd.DataFrame, agency: str, kind: str = "csv") -> bytes:
    export = pd.DataFrame(rais_rows(frame, agency))
    if kind == "csv":
        return export.to_csv(index=False).encode()
    return xlsx([list(export.columns), *export.itertuples(index=False)], title="Report")


def cpims_export(frame: pd.DataFrame, kind: str = "xlsx", zeros_blank: bool = True) -> bytes:
    """A CPIMS stand-alone export of ``frame``: wide, title rows, zeros left blank."""
    mapping = _mapping("cpims_standalone")
    columns = _reverse(mapping["indicator_columns"])
    values = mapping["values"]
    site, sex, age, nat = (_reverse(values[k]) for k in ("site", "sex", "age_group", "nationality"))
    wide = frame.pivot_table(
        index=["month", "site", "sex", "age_group", "nationality"], columns="indicator", values="count", aggfunc="sum"
    ).reset_index()
    indicators = [c for c in wide.columns if c in columns]
    header = ["Period", "Area", "Child Sex", "Age Category", "Nationality", *(columns[c] for c in indicators)]
    rows: list[list[Any]] = [["CPIMS monthly aggregate report"], ["Generated by the CPIMS database"], header]
    for r in wide.itertuples(index=False):
        record = r._asdict()
        keys = [
            record["month"].replace("-", "/"),
            site.get(record["site"], record["site"]),
            sex[record["sex"]],
            age[record["age_group"]],
            nat[record["nationality"]],
        ]
        counts = [None if zeros_blank and int(record[c]) == 0 else int(record[c]) for c in indicators]
        rows.append(keys + counts)
    if kind == "xlsx":
        return xlsx(rows, title="Aggregate")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue().encode()


def with_member(workbook: bytes, name: str, data: bytes) -> bytes:
    """The same workbook with one more zip member (a macro project, say)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr(name, data)
    return buffer.getvalue()
