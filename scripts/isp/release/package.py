"""A release package as data: its metadata and its one published table, with labels for people.

The published table is long: one row per published cell,
``period,period_start,period_end,site,indicator,sex,age_group,nationality,measure,value,note``.
``measure`` is ``count`` or ``percent``; ``value`` is empty where a cell is suppressed (``note``
says why). ``ALL`` in ``site`` is the national total and in a dimension its total; ``REST`` is
every site not published separately. Every writer (CSV, HXL, XLSX, HTML) renders this one table,
so the files cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from isp.protocol.models import Isp
from isp.protocol.periods import Period
from isp.release.spec import NATIONAL, REST, TOTAL, IndicatorPlan

PUBLISHED_COLUMNS = ["period", "site", "indicator", "sex", "age_group", "nationality", "measure", "value", "note"]
DIMENSIONS = ["sex", "age_group", "nationality"]
NOTE_SUPPRESSED = "suppressed"
NOTE_SMALL_DENOMINATOR = "not shown: too few cases, or it would reveal a hidden count"
ARABIC_HEADINGS = ("طريقة حماية الأرقام", "تعهّد الجهة المستلِمة")  # method; the recipient's undertaking


@dataclass(frozen=True)
class ReleaseMeta:
    release_id: str
    request_id: str
    recipient: str
    title: str
    generated: date
    profile: str
    disclaimers: tuple[str, ...]
    periods: tuple[Period, ...]
    kind: str = "external"  # external | sectoral
    notes: tuple[str, ...] = ()
    audience: str = ""
    inputs: tuple[tuple[str, str], ...] = ()  # (aggregate path, sha256 of its ciphertext)
    source_commit: str = ""
    method: str = ""  # how the figures were protected, one plain paragraph (every file states it)
    method_short: str = ""  # e.g. "small-count rounding, base 5"
    # bilingual releases (the request's ``languages: [en, ar]``): the method paragraph, the
    # attribution and the undertaking in Arabic, on every file; empty for English-only releases
    method_ar: str = ""
    attribution_ar: tuple[str, ...] = ()
    undertaking_ar: str = ""

    @property
    def bilingual(self) -> bool:
        return bool(self.method_ar)

    @property
    def arabic(self) -> tuple[str, ...]:
        """The Arabic paragraphs, in the order every file prints them."""
        if not self.bilingual:
            return ()
        return (
            f"{ARABIC_HEADINGS[0]}: {self.method_ar}",
            *self.attribution_ar,
            f"{ARABIC_HEADINGS[1]}: {self.undertaking_ar}",
        )


@dataclass(frozen=True)
class Labels:
    """Names for the codes of the published table."""

    sites: dict[str, str]
    indicators: dict[str, str]
    dimensions: dict[str, dict[str, str]]
    hdx_adm1: dict[str, str] = field(default_factory=dict)

    def site(self, code: str) -> str:
        return self.sites.get(code, code)

    def indicator(self, code: str) -> str:
        return self.indicators.get(code, code)

    def dimension(self, name: str, code: str) -> str:
        return self.dimensions[name].get(code, code)


def labels_for(isp: Isp, plan: IndicatorPlan) -> Labels:
    sites = {NATIONAL: "Jordan (national total)", REST: "Other sites (not published separately)"}
    sites |= {code: site.name_en for code, site in isp.sites.items()}
    indicators = {code: ind.name_en for code, ind in isp.indicators.items() if code in plan.counts}
    for residual in plan.residuals:
        indicators[residual.code] = f"{isp.indicators[residual.code].name_en}, and concerns not shown separately"
    for numerator, denominator in plan.percents:
        indicators[numerator] = (
            f"{isp.indicators[numerator].name_en} (% of {isp.indicators[denominator].name_en.lower()})"
        )
    dims = {name: {TOTAL: "Total", **{c.code: c.name_en for c in getattr(isp.dimensions, name)}} for name in DIMENSIONS}
    adm1 = {code: (site.parent or code) for code, site in isp.sites.items() if site.kind != "region"}
    return Labels(sites, indicators, dims, adm1)


@dataclass(frozen=True)
class Package:
    meta: ReleaseMeta
    table: pd.DataFrame  # PUBLISHED_COLUMNS, plus period_start and period_end
    labels: Labels
    suppressed: int

    def counts(self) -> pd.DataFrame:
        return self.table[self.table["measure"] == "count"]

    def percents(self) -> pd.DataFrame:
        return self.table[self.table["measure"] == "percent"]


def format_value(value: object, measure: str) -> str:
    """How a value is printed in every file: integers for counts, whole or one-decimal percents."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    number = float(value)  # type: ignore[arg-type]
    if measure == "count" or number.is_integer():
        return str(int(number))
    return f"{number:.1f}"


def with_period_bounds(table: pd.DataFrame, periods: tuple[Period, ...]) -> pd.DataFrame:
    starts = {p.label: f"{p.first}-01" for p in periods}
    ends = {p.label: _last_day(p.last) for p in periods}
    out = table.assign(period_start=table["period"].map(starts), period_end=table["period"].map(ends))
    return out[["period", "period_start", "period_end", *PUBLISHED_COLUMNS[1:]]]


def _last_day(month: str) -> str:
    year, mon = (int(part) for part in month.split("-"))
    following = date(year + mon // 12, mon % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1).isoformat()
