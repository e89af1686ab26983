"""What a release publishes: the request's `data` section read against the protocol's sharing rules.

The `data` section of ``requests/<ID>.yaml`` names ``periods`` (labels of consolidated periods:
``2026-01``, ``2026-Q1``, ``2026-H1``, ``2026``), ``indicators`` (codes, group codes, or
``all``) and ``geography`` (``national``, ``sites``, ``governorates``, or a list of site codes,
``national`` included when wanted). From it and protocol.yaml this module decides:

- which indicators are **withheld** (a tag in ``sharing.never_external_tags``: SGBV);
- which are **percentages only** (a tag in ``sharing.percent_only_tags``), with their
  denominator, which is then published as a count so the percentage can be read;
- which are published as **counts**.

A group that sums to a published total (the concern breakdown sums to new cases) would give away
its unpublished members by subtraction: total minus the published members. So the members that
are not published (withheld, percent-only, not requested) are counted in the group's residual
category, its ``*_other`` member, which is relabelled to say so. The published table stays
additive, and the disclosure audit sees it whole. Periods of a release never overlap: a month
and its quarter side by side would let anyone difference them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, TypeAlias

from isp.errors import IspError
from isp.protocol.models import Isp
from isp.protocol.periods import PERIOD_PATTERNS, Period, custom_period, month_str, period_of

NATIONAL = "ALL"  # the aggregates' site code for the national total
REST = "REST"  # every site not requested, when the national total is published too
TOTAL = "ALL"  # the margin of a dimension (sex, age group, nationality)

CUSTOM_RANGE = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2]))_(\d{4}-(?:0[1-9]|1[0-2]))$")
Requested: TypeAlias = str | Sequence[str] | None
"""``data.indicators`` or ``data.geography`` of a request: one code or keyword, several, or none."""

FIRST_MONTH = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "annual": 12}


@dataclass(frozen=True)
class Residual:
    """A group's residual category: ``code`` counts itself plus ``folded`` (not published apart)."""

    group: str
    code: str
    total: str
    folded: tuple[str, ...]


@dataclass(frozen=True)
class IndicatorPlan:
    counts: tuple[str, ...]
    percents: tuple[tuple[str, str], ...]  # (numerator, denominator)
    withheld: tuple[str, ...]
    residuals: tuple[Residual, ...] = ()

    def residual_of(self, code: str) -> Residual | None:
        return next((r for r in self.residuals if r.code == code), None)

    def sources(self, code: str) -> tuple[str, ...]:
        """The protocol indicators whose counts make up published indicator ``code``."""
        residual = self.residual_of(code)
        return (code, *residual.folded) if residual else (code,)


@dataclass(frozen=True)
class Geography:
    sites: tuple[str, ...]
    national: bool
    rest: bool = False

    @property
    def rows(self) -> tuple[str, ...]:
        """Published geography codes, national first, then sites, then the rest of the country."""
        return (*([NATIONAL] if self.national else []), *self.sites, *([REST] if self.rest else []))


@dataclass(frozen=True)
class ReleaseSpec:
    periods: tuple[Period, ...]
    indicators: IndicatorPlan
    geography: Geography
    source: str = field(default="", compare=False)


def parse_period(label: str, where: str) -> Period:
    """A standard period label, or a range ``YYYY-MM_YYYY-MM`` (the sectoral report's months)."""
    custom = CUSTOM_RANGE.match(str(label))
    if custom:
        if custom.group(2) < custom.group(1):
            raise IspError(f"{where}: data.periods: '{label}' ends before it starts")
        return custom_period(custom.group(1), custom.group(2))
    for kind, pattern in PERIOD_PATTERNS:
        match = pattern.match(str(label))
        if match:
            year = int(match.group(1))
            index = int(match.group(2)) if match.lastindex and match.lastindex > 1 else 1
            return period_of(month_str(year, index * FIRST_MONTH[kind] if kind != "monthly" else index), kind)
    raise IspError(
        f"{where}: data.periods: '{label}' is not a period label "
        "(write 2026-01, 2026-Q1, 2026-H1, 2026 or a range 2025-12_2026-05)"
    )


def parse_periods(labels: Iterable[str | int], where: str) -> tuple[Period, ...]:
    periods = sorted({parse_period(str(label), where) for label in labels}, key=lambda p: (p.first, p.last))
    if not periods:
        raise IspError(f"{where}: data.periods is empty: name at least one period")
    for before, after in pairwise(periods):
        if after.first <= before.last:
            raise IspError(
                f"{where}: data.periods: {before.label} and {after.label} overlap; a release publishes "
                "periods that do not overlap (one could be subtracted from the other)"
            )
    return tuple(periods)


def _expand(isp: Isp, requested: Requested, where: str) -> list[str]:
    if requested in (None, "all", ["all"]):
        return list(isp.indicators)
    items = [requested] if isinstance(requested, str) else list(requested)
    codes: list[str] = []
    for item in map(str, items):
        if item in isp.indicators:
            codes.append(item)
        elif item in isp.groups:
            codes.extend(code for code, ind in isp.indicators.items() if ind.group == item)
        else:
            raise IspError(f"{where}: data.indicators: '{item}' is neither an indicator nor a group of indicators.yaml")
    return list(dict.fromkeys(codes))


def _tagged(isp: Isp, tags: list[str]) -> set[str]:
    return {code for code, ind in isp.indicators.items() if set(ind.tags) & set(tags)}


def plan_indicators(isp: Isp, requested: Requested, where: str) -> IndicatorPlan:
    """Split the requested indicators into counts, percentages and withheld, and fold residuals."""
    sharing = isp.protocol.sharing
    wanted = _expand(isp, requested, where)
    never, percent_only = _tagged(isp, sharing.never_external_tags), _tagged(isp, sharing.percent_only_tags)
    withheld = [c for c in wanted if c in never]
    percents = [(c, str(isp.indicators[c].denominator)) for c in wanted if c in percent_only and c not in never]
    counts = [c for c in wanted if c not in never and c not in percent_only]
    counts += [d for _, d in percents if d not in counts and d not in never]
    residuals = [r for r in (_residual(isp, g, counts, never | percent_only, where) for g in isp.groups) if r]
    counts += [r.code for r in residuals if r.code not in counts]
    ordered = tuple(c for c in isp.indicators if c in counts)
    return IndicatorPlan(ordered, tuple(percents), tuple(withheld), tuple(residuals))


def _residual(isp: Isp, group: str, counts: list[str], hidden: set[str], where: str) -> Residual | None:
    total = isp.groups[group].sums_to
    members = [c for c, ind in isp.indicators.items() if ind.group == group]
    shown = [c for c in members if c in counts]
    if not total or total not in counts or not shown or len(shown) == len(members):
        return None
    other = next((c for c in members if c.endswith("_other") and c not in hidden), None)
    if other is None:
        raise IspError(
            f"{where}: data.indicators: group '{group}' has no *_other category to absorb the members that are "
            f"not published, so {total} minus the published members would reveal them; leave {total} out"
        )
    folded = tuple(c for c in members if c not in counts and c != other)
    return Residual(group, other, total, folded)


def plan_geography(isp: Isp, requested: Requested, where: str) -> Geography:
    every = list(isp.sites)
    if requested in (None, "national"):
        return Geography((), True)
    if requested in ("sites", "all"):
        return Geography(tuple(every), True)
    if requested == "governorates":
        chosen = [c for c, s in isp.sites.items() if s.kind in ("governorate", "region")]
        return Geography(tuple(chosen), True, rest=len(chosen) < len(every))
    items = [requested] if isinstance(requested, str) else [str(i) for i in requested]
    national = any(i in ("national", NATIONAL) for i in items)
    sites = [i for i in items if i not in ("national", NATIONAL)]
    unknown = [s for s in sites if s not in isp.sites]
    if unknown:
        raise IspError(f"{where}: data.geography: '{unknown[0]}' is not a site code of protocol/sites.yaml")
    ordered = tuple(c for c in every if c in sites)
    return Geography(ordered, national or not ordered, rest=national and 0 < len(ordered) < len(every))


def read_spec(isp: Isp, data: dict[str, Any], where: str) -> ReleaseSpec:
    """The release spec for a request's ``data`` mapping (``where`` names the file in errors)."""
    if not isinstance(data, dict):
        raise IspError(f"{where}: the request has no `data` section saying what is asked for")
    periods = data.get("periods")
    if periods is None:
        raise IspError(f"{where}: data.periods is missing: name the periods asked for (e.g. [2026-Q1])")
    labels = [periods] if isinstance(periods, str | int) else list(periods)
    return ReleaseSpec(
        parse_periods(labels, where),
        plan_indicators(isp, data.get("indicators"), where),
        plan_geography(isp, data.get("geography"), where),
        where,
    )
