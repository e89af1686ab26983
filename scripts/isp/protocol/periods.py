"""Months and the reporting periods built from them (quarters, halves, years, custom ranges).

A month is the string ``YYYY-MM`` everywhere in files and on the command line; this module is
the one place that parses and steps it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from isp.errors import UsageError

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PeriodKind = Literal["monthly", "quarterly", "half-yearly", "annual", "custom"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("monthly", "quarterly", "half-yearly", "annual")


def parse_month(text: str) -> tuple[int, int]:
    match = MONTH_RE.match(text or "")
    if not match:
        raise UsageError(f"'{text}' is not a month: write it as YYYY-MM, for example 2026-02")
    return int(match.group(1)), int(match.group(2))


def is_month(text: str) -> bool:
    return bool(MONTH_RE.match(text or ""))


def month_str(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def add_months(month: str, n: int) -> str:
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + n
    return month_str(index // 12, index % 12 + 1)


def month_of(day: date) -> str:
    return month_str(day.year, day.month)


def first_day(month: str) -> date:
    year, mon = parse_month(month)
    return date(year, mon, 1)


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (empty when last < first)."""
    months, current = [], first
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: its kind, its label (``2026-Q1``, ``2026-H2``...) and its months."""

    kind: PeriodKind
    label: str
    first: str
    last: str

    @property
    def months(self) -> list[str]:
        return month_range(self.first, self.last)


def period_of(month: str, kind: PeriodKind) -> Period:
    """The period of ``kind`` that contains ``month``."""
    year, mon = parse_month(month)
    if kind == "monthly":
        return Period(kind, month, month, month)
    if kind == "quarterly":
        q = (mon - 1) // 3 + 1
        return Period(kind, f"{year}-Q{q}", month_str(year, 3 * q - 2), month_str(year, 3 * q))
    if kind == "half-yearly":
        h = 1 if mon <= 6 else 2
        return Period(kind, f"{year}-H{h}", month_str(year, 6 * h - 5), month_str(year, 6 * h))
    if kind == "annual":
        return Period(kind, str(year), month_str(year, 1), month_str(year, 12))
    raise UsageError(f"unknown period kind '{kind}'")


# A period's label by kind; the groups are the year and the month, quarter or half.
PERIOD_PATTERNS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    ("monthly", MONTH_RE),
    ("quarterly", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("half-yearly", re.compile(r"^(\d{4})-H([12])$")),
    ("annual", re.compile(r"^(\d{4})$")),
)


def kind_of_label(label: str) -> PeriodKind:
    """``2026-01`` monthly, ``2026-Q1`` quarterly, ``2026-H1`` half-yearly, ``2026`` annual."""
    for kind, pattern in PERIOD_PATTERNS:
        if pattern.match(label):
            return kind
    raise UsageError(f"'{label}' is not a period label (2026-01, 2026-Q1, 2026-H1 or 2026)")


def custom_period(first: str, last: str) -> Period:
    parse_month(first)
    parse_month(last)
    if last < first:
        raise UsageError(f"the range {first}..{last} ends before it starts")
    return Period("custom", f"{first}_{last}", first, last)


def periods_covering(months: list[str], kinds: tuple[PeriodKind, ...] = PERIOD_KINDS) -> list[Period]:
    """Every period of the given kinds that contains at least one of ``months``, sorted."""
    return sorted({period_of(m, kind) for m in months for kind in kinds})
