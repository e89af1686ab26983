"""Every cell of the agency's annex sites must be in the sheet: a missing one is refused by name.

A row deleted from the template, or a cell an export left out, used to become zero in the tidy
frame; a month of 19 active cases silently became 0. Now the sheet must carry each site, sex,
age group and nationality of each of the agency's sites (protocol/agencies.yaml) for every
indicator, and what is missing is named: a whole site, a row (site, sex, age group,
nationality), or single cells. Counts are never quoted, only codes.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import product
from typing import Protocol

from isp import errors
from isp.errors import ErrorCode, Severity
from isp.protocol.models import Isp

MAX_NAMED = 5
Cell = tuple[str, str, str, str, str]  # site, indicator, sex, age group, nationality
Unit = tuple[str, str, str, str]  # site, sex, age group, nationality


class _Check(Protocol):
    isp: Isp
    agency: str
    file: str
    given: set[Cell]

    def add(
        self,
        error: ErrorCode,
        row: int | None,
        column: str | None,
        *,
        severity: Severity | None = None,
        fix: str | None = None,
        **values: object,
    ) -> None: ...


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    more = len(items) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def missing(isp: Isp, sites: list[str], given: set[Cell], skip: set[str]) -> dict[Unit, list[str]]:
    """(site, sex, age group, nationality) -> the indicators the sheet does not give there."""
    dims = isp.dimension_codes()
    out: dict[Unit, list[str]] = defaultdict(list)
    for site, sex, age, nationality in product(sites, dims["sex"], dims["age_group"], dims["nationality"]):
        for indicator in isp.indicators:
            if indicator not in skip and (site, indicator, sex, age, nationality) not in given:
                out[(site, sex, age, nationality)].append(indicator)
    return out


def report(check: _Check, sites: list[str], skip: set[str]) -> None:
    """Add one problem per kind of gap: whole sites, whole rows, single cells (``skip``: indicators
    whose whole column is missing, already reported as such)."""
    gaps = missing(check.isp, sites, check.given, skip)
    if not gaps:
        return
    every = len(check.isp.indicators) - len(skip)
    whole = {unit for unit, codes in gaps.items() if len(codes) == every}
    units_per_site = len(list(product(*check.isp.dimension_codes().values())))
    absent = [s for s in sites if sum(1 for u in whole if u[0] == s) == units_per_site]
    if absent:
        message = f"no rows for {_named(absent)}, one of {check.agency}'s annex sites"
        if len(absent) > 1:
            message = f"no rows for {_named(absent)}, {check.agency}'s annex sites"
        check.add(errors.MISSING_SITE, None, "site", detail=message)
    rows = sorted(" ".join(unit) for unit in whole if unit[0] not in absent)
    if rows:
        what = "row is" if len(rows) == 1 else f"{len(rows)} rows are"
        check.add(errors.MISSING_ROW, None, None, detail=f"{what} missing (site sex age nationality): {_named(rows)}")
    partial = sorted(f"{c} at {' '.join(unit)}" for unit, codes in gaps.items() if unit not in whole for c in codes)
    if partial:
        what = "cell is" if len(partial) == 1 else f"{len(partial)} cells are"
        check.add(errors.MISSING_CELL, None, None, detail=f"{what} missing: {_named(partial)}")
