"""A published table as a cross-tab CSV, the format ``isp disclosure audit`` and ``protect`` read.

::

    site \\ sex,F,M,Total
    JO11,12,x,20
    JO22,,,14
    Total,30,25,55

- The first header cell names the row dimension, optionally followed by `` \\ `` and the column
  dimension (``site \\ sex``); the other header cells are the column codes.
- The first cell of each row is the row code; a row or column named ``Total`` is a margin (the
  sum of the others). Margins are optional.
- A cell is a whole number, or empty or ``x`` when suppressed.

Problems are collected, one per cell, naming the row and column and never a figure.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from isp import errors
from isp.disclosure.tables import TOTAL, PublishedTable, Table
from isp.errors import Problem, ValidationFailed

SUPPRESSED = ("", "x", "X")


def read_crosstab(data: bytes, name: str) -> PublishedTable:
    """Parse a cross-tab CSV into a published table (its true figures known only when none is hidden)."""
    problems: list[Problem] = []
    rows = _rows(data, name, problems)
    if problems:
        raise ValidationFailed(problems)
    head, body = rows[0], rows[1:]
    row_dim, col_dim = _dims(head[0])
    cols = [c.strip() for c in head[1:]]
    labels = [r[0].strip() for r in body]
    _unique(cols, name, "column", 1, problems)
    _unique(labels, name, "row", None, problems)
    values: dict[tuple[str, ...], int | None] = {}
    for i, row in enumerate(body, start=2):
        if len(row) != len(head):
            problems.append(_problem(name, f"has {len(row)} fields, the header has {len(head)}", i, None))
            continue
        for col, text in zip(cols, row[1:], strict=True):
            values[(row[0].strip(), col)] = _value(text, name, i, col, problems)
    if problems:
        raise ValidationFailed(problems)
    return _published(name, row_dim, col_dim, labels, cols, values)


def _rows(data: bytes, name: str, problems: list[Problem]) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(_problem(name, "is not UTF-8 text", None, None, "save it as CSV (UTF-8)"))
        return []
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if len(rows) < 2 or len(rows[0]) < 2:
        problems.append(_problem(name, "needs a header row and at least one row and one column", 1, None))
    elif not rows[0][0].strip():
        problems.append(_problem(name, "the first header cell must name the row dimension", 1, None, "e.g. `site`"))
    return rows


def _dims(first: str) -> tuple[str, str]:
    row_dim, _, col_dim = (part.strip() for part in first.partition("\\"))
    return row_dim, (col_dim or "column")


def _unique(values: list[str], name: str, what: str, row: int | None, problems: list[Problem]) -> None:
    seen: set[str] = set()
    for value in values:
        if not value:
            problems.append(_problem(name, f"a {what} has no code", row, None))
        elif value in seen:
            problems.append(_problem(name, f"the {what} '{value}' appears twice", row, None))
        seen.add(value)


def _value(text: str, name: str, row: int, col: str, problems: list[Problem]) -> int | None:
    text = text.strip()
    if text in SUPPRESSED:
        return None
    if text.isdigit():
        return int(text)
    problems.append(
        _problem(name, "is not a whole number", row, col, "write a count (0, 1, 2, ...), or leave it empty or `x`")
    )
    return None


def _problem(name: str, message: str, row: int | None, column: str | None, fix: str | None = None) -> Problem:
    return Problem.of(errors.CROSSTAB, name, row=row, column=column, fix=fix, detail=message)


def _published(
    name: str, row_dim: str, col_dim: str, labels: list[str], cols: list[str], values: dict[tuple[str, ...], int | None]
) -> PublishedTable:
    row_codes = [r for r in labels if r != TOTAL]
    col_codes = [c for c in cols if c != TOTAL]
    margins = tuple(d for d, present in ((row_dim, TOTAL in labels), (col_dim, TOTAL in cols)) if present)
    inner = [values[(r, c)] for r in row_codes for c in col_codes]
    known = all(v is not None for v in values.values())
    leaves = pd.DataFrame(
        {
            row_dim: [r for r in row_codes for _ in col_codes],
            col_dim: [c for _ in row_codes for c in col_codes],
            "count": pd.array(inner if known else [None] * len(inner), dtype="Int64"),
        }
    )
    table = Table(
        name,
        (row_dim, col_dim),
        (row_dim,),
        (col_dim,),
        margins,
        {},
        {row_dim: tuple(row_codes), col_dim: tuple(col_codes)},
        leaves,
    )
    return PublishedTable(table, values)


def to_crosstab(table: PublishedTable) -> bytes:
    """The cross-tab CSV of a published table (suppressed cells as ``x``); several row or column
    dimensions are joined with `` | ``."""
    grid = table.crosstab()
    t = table.table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    corner = " | ".join(t.rows) + (f" \\ {' | '.join(t.cols)}" if t.cols else "")
    columns = [_label(c) for c in grid.columns] if t.cols else ["count"]
    writer.writerow([corner, *columns])
    for index, row in grid.iterrows():
        writer.writerow([_label(index), *("x" if pd.isna(v) else int(v) for v in row)])
    return out.getvalue().encode("utf-8")


def _label(value: object) -> str:
    return " | ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
