"""The site's pages, generated at build time from jinja2 templates (scripts/isp/templates/site/).

Each page is a :class:`SitePage`: markdown with front matter (its access ``level`` for
encryptcontent) and, for data pages, a JSON payload that the hooks place inside the page's
encrypted content. Pages live in memory only (MkDocs ``File.generated``).

Reports are one page per period kind, with a period selector, rather than one page per period:
a ten-year site then has a few dozen pages, each well under a megabyte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Required, TypeAlias, TypedDict

import jinja2
import numpy as np
import pandas as pd

from isp.consolidate.manifest import Count
from isp.governance import meetings
from isp.protocol import workdays
from isp.protocol.periods import PERIOD_KINDS, add_months, kind_of_label, month_of, period_of
from isp.sheets import status
from isp.site import activity, cube, labels, registers
from isp.site.credentials import COORDINATORS, MEMBERS, agency_level
from isp.site.data import NATIONAL, Outputs, SiteData

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "site"
PAYLOAD_SLOT = '<div class="isp-payload-slot"></div>'
ICS_URI = "assets/isp-deadlines.ics"
KEY_GROUP = "caseload"
# The deadlines the public calendar (page and .ics) may show: the protocol's standing ones, which
# anyone reading the protocol knows. Any other kind (a breach's meeting: that a breach is open) is
# for the members' pages only: deny by default.
PUBLIC_DEADLINE_KINDS = frozenset(
    {"submission", "consolidation", "task-force-meeting", "sectoral-report", "signatories-meeting", "protocol-review"}
)
TREND_MONTHS = 24

# MkDocs' nav: each entry maps a title to a page or to a section's entries.
NavEntry: TypeAlias = dict[str, "str | list[NavEntry]"]


class PeriodCoverage(TypedDict, total=False):
    """A period's coverage in a page's payload: the manifest's counts of agencies (a consolidated
    output) or of agency-months (an agency's own), with what the widgets flag."""

    reported: int
    expected: int
    agency_months: Count
    revised: bool
    suspended: Required[int]  # agency-months a suspension left out


class KeyFigure(TypedDict):
    """A key indicator's national count: the latest month, the month before, a year before."""

    code: str
    latest: np.int64 | None
    previous: np.int64 | None
    year_before: np.int64 | None


class Trend(TypedDict):
    months: list[str]
    series: dict[str, list[int]]  # indicator -> its national count each month


@dataclass(frozen=True)
class SitePage:
    src_uri: str
    title: str
    markdown: str
    level: str | None = None
    payload: str | None = None  # JSON, placed inside the encrypted content by the hooks


@dataclass
class Registers:
    """What the site shows besides figures, gathered once for both languages."""

    timeliness: dict[str, list[status.AgencyStatus]] = field(default_factory=dict)
    timeline: list[activity.AuditEntry] = field(default_factory=list)
    requests: list[registers.RequestRow] = field(default_factory=list)
    breaches: list[registers.BreachRow] = field(default_factory=list)
    suspensions: list[registers.SuspensionRow] = field(default_factory=list)
    deadlines: list[workdays.Deadline] = field(default_factory=list)
    minutes: list[meetings.MinutesRow] = field(default_factory=list)


def gather(data: SiteData) -> Registers:
    published = data.consolidated.periods("monthly")
    months = activity.history_months(published[0] if published else None, data.today)
    this_month = month_of(data.today)
    return Registers(
        timeliness=activity.timeliness(data.root, months, data.today),
        timeline=activity.timeline(data.root),
        requests=registers.requests_board(data.root, data.today),
        breaches=registers.breaches(data.root, data.isp, data.today),
        suspensions=registers.suspensions(data.isp, this_month),
        deadlines=sorted(
            [
                *workdays.deadlines_between(data.isp, add_months(this_month, -1), add_months(this_month, 12)),
                *meetings.breach_meetings(data.root, data.isp, data.today),
            ],
            key=lambda d: (d.due, d.kind),
        ),
        minutes=meetings.register(data.root, data.isp),
    )


def public_deadlines(items: list[workdays.Deadline]) -> list[workdays.Deadline]:
    return [item for item in items if item.kind in PUBLIC_DEADLINE_KINDS]


def ics(data: SiteData, regs: Registers) -> bytes:
    """The public calendar file (it cannot be encrypted): the standing deadlines only."""
    return workdays.to_ics(public_deadlines(regs.deadlines), data.isp.protocol.short_name)


def internal_ids(regs: Registers) -> list[str]:
    """Identifiers of internal records (breaches, requests) that no public page or file may show."""
    return [row.id for row in regs.breaches] + [row.id for row in regs.requests]


# HTML's special characters and Markdown's own syntax, as numeric references: a record's text must
# not make a tag, a link or image (``[x](javascript:...)``, ``![x](https://tracker/)``), attributes
# (attr_list's ``{: onclick=...}``), emphasis, code or a heading; the browser shows the same text.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'|[]{}()!*_`\\#~"})


def _cell(value: object) -> str:
    """Record text made inert inside Markdown (a table cell, a heading, a paragraph)."""
    return ("" if value is None else str(value)).translate(_INERT)


def _number(value: float | None) -> str:
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(cell=_cell, number=_number)
    return env


def with_national(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the national rows (sum over sites) when a file has none."""
    if not len(frame) or (frame["site"] == NATIONAL).any():
        return frame
    keys = ["period", "indicator", *cube.DEMOGRAPHICS]
    national = frame.groupby(keys, as_index=False, observed=True)["count"].sum().assign(site=NATIONAL)
    return pd.concat([frame, national[frame.columns]], ignore_index=True)


class Generator:
    """Pages for one build. Payloads are language-free and computed once; words differ per language."""

    def __init__(self, data: SiteData, regs: Registers) -> None:
        self.data = data
        self.isp = data.isp
        self.regs = regs
        self.env = _environment()
        self.outside: dict[str, int] = {}  # payload -> rows whose codes are not in protocol/*.yaml

    # --- payloads (language-free) -------------------------------------------------------------

    def _dense(self, key: str, frame: pd.DataFrame, periods: list[str]) -> tuple[cube.Axes, np.ndarray]:
        ax = cube.axes(self.isp, periods, cube.site_axis(self.isp, frame, national=True))
        cells, outside = cube.dense(frame, ax)
        if outside:
            self.outside[key] = outside
        return ax, cells

    def _report_dense(self, scope: str, outputs: Outputs, kind: str) -> tuple[cube.Axes, np.ndarray]:
        frame = with_national(outputs.frames.get(kind, pd.DataFrame(columns=["period", "site"])))
        return self._dense(f"{scope or 'consolidated'}/{kind}", frame, outputs.periods(kind))

    @cached_property
    def _monthly(self) -> tuple[cube.Axes, np.ndarray]:
        return self._report_dense("", self.data.consolidated, "monthly")

    @cached_property
    def report_cubes(self) -> dict[str, cube.Packed]:
        result: dict[str, cube.Packed] = {}
        for kind in PERIOD_KINDS:
            dense = self._monthly if kind == "monthly" else self._report_dense("", self.data.consolidated, kind)
            result[kind] = cube.pack(*dense)
        return result

    @cached_property
    def agency_cubes(self) -> dict[str, dict[str, cube.Packed]]:
        return {
            code: {kind: cube.pack(*self._report_dense(code, outputs, kind)) for kind in PERIOD_KINDS
                   if outputs.periods(kind)}
            for code, outputs in self.data.agencies.items()
        }  # fmt: skip

    @cached_property
    def explore_cube(self) -> cube.Packed:
        """The pivot's cube: the monthly one without its national total (sums over sites give it)."""
        return cube.pack(*cube.without_national(*self._monthly))

    def coverage(self, kind: str, periods: list[str]) -> dict[str, PeriodCoverage]:
        result: dict[str, PeriodCoverage] = {}
        for label in periods:
            entry = self.data.manifest_entry(kind, label)
            cov = entry.get("coverage")
            suspended = entry.get("suspended")
            flags: PeriodCoverage = {
                "revised": bool(entry.get("revised")),
                "suspended": suspended if isinstance(suspended, int) else 0,
            }
            result[label] = {**cov, **flags} if isinstance(cov, dict) else flags
        return result

    def agency_coverage(self, code: str, outputs: Outputs, kind: str) -> dict[str, PeriodCoverage]:
        """One agency's months received of the months of each period (its suspended months not expected)."""
        received = set(outputs.periods("monthly"))
        agency = self.isp.agencies[code]
        result: dict[str, PeriodCoverage] = {}
        for label in outputs.periods(kind):
            months = _months_of(label)
            suspended = sum(agency.suspended_in(m) is not None for m in months)
            reported = sum(m in received for m in months)
            result[label] = {"agency_months": {"reported": reported, "expected": len(months)}, "suspended": suspended}
        return result

    def completeness(self, kind: str, label: str) -> dict[str, int] | None:
        """Agency-months received and expected for one period (suspended months not expected)."""
        entry = self.coverage(kind, [label])[label]
        months = entry.get("agency_months")
        if not isinstance(months, dict) or "expected" not in months:
            return None
        expected = max(0, int(months["expected"]) - int(entry["suspended"]))
        return {"reported": int(months["reported"]), "expected": expected}

    # --- common page parts --------------------------------------------------------------------

    def _json(self, lang: str, widget: str, **extra: object) -> str:
        meta = [{"code": c, "group": i.group, "aggregation": i.aggregation} for c, i in self.isp.indicators.items()]
        doc = {
            "widget": widget,
            "lang": lang,
            "t": labels.texts(lang),
            "names": labels.code_names(self.isp, lang),
            "groups": {code: (g.name_ar if lang == "ar" else g.name_en) for code, g in self.isp.groups.items()},
            "indicators": meta,
            **extra,
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")

    def _render(self, template: str, lang: str, **context: object) -> str:
        tpl = self.env.get_template(template)
        names = labels.code_names(self.isp, lang)
        return tpl.render(lang=lang, t=labels.texts(lang), names=names, isp=self.isp, slot=PAYLOAD_SLOT, **context)

    def _page(self, uri: str, key: str, lang: str, level: str | None, template: str, **context: object) -> SitePage:
        title = labels.t(key, lang)
        body = self._render(template, lang, title=title, **context)
        front: dict[str, object] = {"title": title}
        if level:
            front |= {"level": level, "hide": ["toc"], "search": {"exclude": True}}
        markdown = "---\n" + json.dumps(front, ensure_ascii=False) + "\n---\n\n" + body
        payload = context.get("payload")
        return SitePage(uri, title, markdown, level, payload if isinstance(payload, str) else None)

    # --- pages --------------------------------------------------------------------------------

    def pages(self, lang: str) -> list[SitePage]:
        pages = [self.home(lang), self.explore(lang)]
        pages += [self.report(lang, kind) for kind in PERIOD_KINDS]
        for code in self.isp.agencies:
            pages += self.agency(lang, code)
        pages += [
            self._page(
                "compliance.md",
                "compliance",
                lang,
                COORDINATORS,
                "compliance.md.j2",
                regs=self.regs,
                months=self.recent_months(),
            ),
            self._page("requests.md", "requests", lang, MEMBERS, "requests.md.j2", rows=self.regs.requests),
            self._page("governance.md", "governance", lang, MEMBERS, "governance.md.j2", regs=self.regs),
            self._page("audit.md", "audit", lang, MEMBERS, "audit.md.j2", entries=self.regs.timeline),
            self._page(
                "calendar.md",
                "calendar",
                lang,
                None,
                "calendar.md.j2",
                items=public_deadlines(self.regs.deadlines),
                ics=ICS_URI,
                today=self.data.today,
            ),
            self._page("about/signatories.md", "signatories", lang, MEMBERS, "signatories.md.j2"),
            self._page("about/sites.md", "sites_matrix", lang, MEMBERS, "sites.md.j2"),
        ]
        return pages

    def recent_months(self, count: int = 12) -> list[str]:
        rows = next(iter(self.regs.timeliness.values()), [])
        return [s.month for s in rows[-count:]]

    def key_figures(self) -> list[KeyFigure]:
        latest = self.data.latest_month()
        frame = self.data.consolidated.frames.get("monthly")
        if latest is None or frame is None:
            return []
        national = cube.totals(with_national(frame).query("site == @NATIONAL"), ["indicator", "period"])
        rows: list[KeyFigure] = []
        for code, ind in self.isp.indicators.items():
            if ind.group != KEY_GROUP:
                continue
            rows.append(
                {
                    "code": code,
                    "latest": national.get((code, latest)),
                    "previous": national.get((code, add_months(latest, -1))),
                    "year_before": national.get((code, add_months(latest, -12))),
                }
            )
        return rows

    def trend(self) -> Trend:
        """National monthly series of the key indicators, last months only (small, for the home page)."""
        months = self.data.consolidated.periods("monthly")[-TREND_MONTHS:]
        frame = self.data.consolidated.frames.get("monthly")
        if not months or frame is None:
            return {"months": [], "series": {}}
        national = cube.totals(with_national(frame).query("site == @NATIONAL"), ["indicator", "period"])
        codes = [c for c, i in self.isp.indicators.items() if i.group == KEY_GROUP]
        series = {c: [int(national.get((c, m), 0)) for m in months] for c in codes}
        return {"months": months, "series": series}

    def home(self, lang: str) -> SitePage:
        latest = self.data.latest_month()
        upcoming = [d for d in self.regs.deadlines if d.due >= self.data.today][:6]
        payload = self._json(lang, "home", trend=self.trend())
        return self._page(
            "index.md",
            "home",
            lang,
            MEMBERS,
            "home.md.j2",
            latest=latest,
            figures=self.key_figures(),
            coverage=self.completeness("monthly", latest) if latest else None,
            revised=bool(self.data.manifest_entry("monthly", latest).get("revised")) if latest else False,
            upcoming=upcoming,
            payload=payload,
        )

    def report(self, lang: str, kind: str) -> SitePage:
        periods = self.data.consolidated.periods(kind)
        payload = self._json(
            lang,
            "report",
            cube=self.report_cubes[kind],
            coverage=self.coverage(kind, periods),
            kind=kind,
            filename=f"isp-{kind}",
            scope=f"{labels.t('reports_title', lang)} ({labels.t(kind, lang).lower()})",
        )
        return self._page(
            f"reports/{kind}.md",
            kind,
            lang,
            MEMBERS,
            "report.md.j2",
            kind=kind,
            periods=periods,
            scope=labels.t("reports_title", lang),
            payload=payload if periods else None,
        )

    def explore(self, lang: str) -> SitePage:
        months = self.data.consolidated.periods("monthly")
        coverage = self.coverage("monthly", months)
        payload = (
            self._json(lang, "explore", cube=self.explore_cube, coverage=coverage, filename="isp-pivot")
            if months
            else None
        )
        return self._page("explore.md", "explore", lang, MEMBERS, "explore.md.j2", months=months, payload=payload)

    def agency(self, lang: str, code: str) -> list[SitePage]:
        level = agency_level(code)
        outputs = self.data.agencies.get(code, Outputs())
        kinds = list(self.agency_cubes.get(code, {}))
        base = f"agencies/{code.lower()}"
        pages = [
            self._page(
                f"{base}/index.md",
                "agency_home",
                lang,
                level,
                "agency.md.j2",
                code=code,
                kinds=kinds,
                agency=self.isp.agencies[code],
                history=self.regs.timeliness.get(code),
                unreadable=bool(outputs.unreadable),
            )
        ]
        for kind in kinds:
            payload = self._json(
                lang,
                "report",
                cube=self.agency_cubes[code][kind],
                coverage=self.agency_coverage(code, outputs, kind),
                kind=kind,
                filename=f"isp-{code.lower()}-{kind}",
                scope=f"{code}: {labels.t('agency_data', lang)} ({labels.t(kind, lang).lower()})",
            )
            pages.append(
                self._page(
                    f"{base}/{kind}.md",
                    kind,
                    lang,
                    level,
                    "report.md.j2",
                    kind=kind,
                    periods=outputs.periods(kind),
                    scope=f"{code}: {labels.t('agency_data', lang)}",
                    payload=payload,
                )
            )
        return pages

    # --- navigation ---------------------------------------------------------------------------

    def nav(self, lang: str, pages: list[SitePage], protocol_page: str | None) -> list[NavEntry]:
        uris = {page.src_uri for page in pages}

        def t(key: str) -> str:
            return labels.t(key, lang)

        agencies: list[NavEntry] = []
        for code in self.isp.agencies:
            base = f"agencies/{code.lower()}"
            own: list[NavEntry] = [
                {t(kind): f"{base}/{kind}.md"} for kind in PERIOD_KINDS if f"{base}/{kind}.md" in uris
            ]
            agencies.append({code: [{t("agency_home"): f"{base}/index.md"}, *own]})
        about: list[NavEntry] = [{t("protocol_plain"): protocol_page}] if protocol_page else []
        reports: list[NavEntry] = [{t(kind): f"reports/{kind}.md"} for kind in PERIOD_KINDS]
        about += [
            {t("signatories"): "about/signatories.md"},
            {t("sites_matrix"): "about/sites.md"},
            {t("calendar"): "calendar.md"},
        ]
        return [
            {t("home"): "index.md"},
            {t("reports"): reports},
            {t("explore"): "explore.md"},
            {t("agencies"): agencies},
            {t("requests"): "requests.md"},
            {t("governance"): "governance.md"},
            {t("compliance"): "compliance.md"},
            {t("audit"): "audit.md"},
            {t("protocol"): about},
        ]


def _months_of(label: str) -> list[str]:
    """The months of a period label (``2026-Q1`` -> 2026-01..03)."""
    kind = kind_of_label(label)
    year = int(label[:4])
    found = next(p for m in range(1, 13) if (p := period_of(f"{year}-{m:02d}", kind)).label == label)
    return found.months
