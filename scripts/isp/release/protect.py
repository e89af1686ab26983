"""Disclosure control for a release: the tables, their protection, the percentages and the audit.

Per period, from the leaves of :mod:`isp.release.cube`, two linked count tables are published,
sharing their totals (the disclosure package links cells that have the same leaves):

- ``site x indicator`` by ``sex x age group`` (every nationality together), with the national,
  sex and age totals;
- ``site x indicator`` by ``nationality``, with the national and nationality totals.

A percent-only indicator gets the same two shapes (by ``site`` only) for itself, the numerator,
and for its denominator. The denominator's cells are the published count cells and share their
protection. The numerator's counts never leave, so they get no secondary suppression: only the
primary rules decide which of them may carry a percentage (:func:`numerator_published`), and
the percentages are computed from the protected counts (:func:`isp.disclosure.percentages`).

The audit (:func:`isp.disclosure.audit`: the public and every agency as an insider, against the
published counts, the percentages and the relations at once) must pass. A numerator it finds
exposed by the percentages loses the percentages on its lines, and the audit runs again; what is
still exposed without them refuses the release, with one line naming the cell and the rule,
never a figure.

Relations (an attacker knows them): a group that sums to a published total does so over its
published members, the residual included. That the residual contains the early-marriage count
is documented in the package but not modelled: the residual is a published count in its own
right, and it bounds its parts from above as any published total does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from isp import disclosure
from isp.disclosure import PercentTable, PublishedTable, Relation, Table, dominance_unsafe, rounding, threshold_unsafe
from isp.disclosure.tables import Labels
from isp.errors import IspError
from isp.protocol.models import DisclosureProfile, Isp
from isp.release import holdings
from isp.release.cube import LEAF, leaf_sites
from isp.release.package import NOTE_SMALL_DENOMINATOR, NOTE_SUPPRESSED, PUBLISHED_COLUMNS
from isp.release.sources import PeriodFigures
from isp.release.spec import TOTAL, ReleaseSpec

FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("by sex and age", ("sex", "age_group")),
    ("by nationality", ("nationality",)),
)


@dataclass(frozen=True)
class Protected:
    table: pd.DataFrame  # PUBLISHED_COLUMNS
    suppressed: int


@dataclass(frozen=True)
class PeriodTables:
    counts: list[Table]
    percents: list[tuple[str, Table, Table]]  # (numerator code, numerator table, denominator table)

    @property
    def protected(self) -> list[Table]:
        """The tables that go through suppression: counts and denominators (numerators never leave)."""
        return [*self.counts, *(den for _, _, den in self.percents)]


def _categories(isp: Isp, spec: ReleaseSpec, codes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    dims = isp.dimension_codes()
    return {"site": leaf_sites(spec.geography), "indicator": codes, **{k: tuple(v) for k, v in dims.items()}}


def _site_margin(spec: ReleaseSpec) -> tuple[str, ...]:
    return ("site",) if spec.geography.national and spec.geography.sites else ()


def _table(
    frame: pd.DataFrame,
    rows: tuple[str, ...],
    cols: tuple[str, ...],
    spec: ReleaseSpec,
    categories: dict[str, tuple[str, ...]],
    name: str,
    where: dict[str, str] | None = None,
) -> Table:
    margins = (*_site_margin(spec), *cols)
    return Table.from_frame(
        frame, rows, cols, where=where, margins=margins, categories=categories, name=name, total_label=TOTAL
    )


def tables(isp: Isp, spec: ReleaseSpec, figures: PeriodFigures) -> PeriodTables:
    plan, period = spec.indicators, figures.period.label
    frame = pd.concat([figures.counts, figures.numerators], ignore_index=True)
    counts_frame = frame[frame["indicator"].isin(list(plan.counts))]
    cats = _categories(isp, spec, plan.counts)
    counts = [
        _table(counts_frame, ("site", "indicator"), cols, spec, cats, f"{period} {title}") for title, cols in FAMILIES
    ]
    percents = []
    for numerator, denominator in plan.percents:
        for title, cols in FAMILIES:
            made = [
                _table(frame, ("site",), cols, spec, cats, f"{period} {code} {title}", {"indicator": code})
                for code in (numerator, denominator)
            ]
            percents.append((numerator, made[0], made[1]))
    return PeriodTables(counts, percents)


def _same_shape(table: Table, frame: pd.DataFrame) -> Table:
    return Table.from_frame(
        frame,
        table.rows,
        table.cols,
        where=dict(table.where),
        margins=table.margins,
        categories=dict(table.categories),
        total_label=table.total_label,
        name=table.name,
    )


def numerator_published(table: Table, contributions: pd.DataFrame, profile: DisclosureProfile) -> PublishedTable:
    """A percent-only numerator as if published, hiding only what the primary rules hide.

    Its counts never leave, so it needs no secondary suppression of its own; the audit still
    checks that no hidden numerator can be worked out from the percentages and the tables."""
    values = table.values()
    labels = list(values)
    shares = [_same_shape(table, own.drop(columns="agency")).values() for _, own in contributions.groupby("agency")]
    contrib = np.array([[share[lab] for share in shares] for lab in labels], dtype=float).reshape(len(labels), -1)
    site_level = np.array([lab[0] != TOTAL for lab in labels])
    counts = np.array([values[lab] for lab in labels], dtype=float)
    unsafe = threshold_unsafe(counts, site_level, profile) | dominance_unsafe(contrib, profile.dominance_p)
    return PublishedTable.of(table, [lab for lab, hide in zip(labels, unsafe, strict=True) if hide])


def relations(isp: Isp, spec: ReleaseSpec) -> list[Relation]:
    """What the sheet guarantees, in the published indicators' terms."""
    plan = spec.indicators
    out = []
    for group in isp.groups.values():
        members = [c for c, ind in isp.indicators.items() if ind.group == group.code]
        shown = [m for m in members if m in plan.counts]
        covered = {source for m in shown for source in plan.sources(m)}
        if group.sums_to in plan.counts and shown and covered == set(members):
            out.append(Relation("indicator", group.sums_to, tuple(shown)))
    return out


def _long(published: PublishedTable, period: str, indicator: str | None = None) -> pd.DataFrame:
    frame = published.frame()
    if indicator is not None:
        frame = frame.assign(indicator=indicator)
    for dim in ("sex", "age_group", "nationality"):
        if dim not in frame.columns:
            frame[dim] = TOTAL
    return frame.assign(period=period)


def _count_rows(published: list[PublishedTable], period: str) -> pd.DataFrame:
    frame = pd.concat([_long(p, period) for p in published], ignore_index=True).drop_duplicates(LEAF)
    return frame.assign(
        measure="count",
        value=frame["count"].astype("object").where(frame["count"].notna(), None),
        note=frame["count"].isna().map({True: NOTE_SUPPRESSED, False: ""}),
    )[PUBLISHED_COLUMNS]


def _percent_rows(percents: list[tuple[str, PercentTable]], period: str) -> pd.DataFrame:
    if not percents:
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    parts = []
    for code, table in percents:
        frame = table.frame().assign(indicator=code, period=period)
        for dim in ("sex", "age_group", "nationality"):
            if dim not in frame.columns:
                frame[dim] = TOTAL
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True).drop_duplicates(LEAF)
    return frame.assign(
        measure="percent",
        value=frame["percent"].astype("object").where(frame["percent"].notna(), None),
        note=frame["percent"].isna().map({True: NOTE_SMALL_DENOMINATOR, False: ""}),
    )[PUBLISHED_COLUMNS]


def _order(frame: pd.DataFrame, isp: Isp, spec: ReleaseSpec) -> pd.DataFrame:
    """Published order: period, measure, geography, indicator, totals first, then protocol order."""
    plan = spec.indicators
    ranks = {
        "period": {p.label: i for i, p in enumerate(spec.periods)},
        "measure": {"count": 0, "percent": 1},
        "site": {code: i for i, code in enumerate(spec.geography.rows)},
        "indicator": {code: i for i, code in enumerate((*plan.counts, *(n for n, _ in plan.percents)))},
        **{name: {TOTAL: -1, **{c: i for i, c in enumerate(codes)}} for name, codes in isp.dimension_codes().items()},
    }
    keys = pd.DataFrame({name: frame[name].map(rank) for name, rank in ranks.items()})
    keys["_totals"] = -(frame[["sex", "age_group", "nationality"]] == TOTAL).sum(axis=1)
    order = keys.sort_values(["period", "measure", "site", "indicator", "_totals", "sex", "age_group", "nationality"])
    return frame.loc[order.index].reset_index(drop=True)


def _refuse(report: disclosure.AuditReport, period: str) -> IspError:
    first = report.violations[0]
    return IspError(
        f"release refused: the disclosure audit of {period} found {len(report.violations)} weakness(es), "
        f"first: {first} (nothing was written)"
    )


def _neighbours(labels: Labels, candidates: list[Labels]) -> list[Labels]:
    """Cells on a line with ``labels`` (differing in at most one dimension), itself included."""
    return [c for c in candidates if sum(a != b for a, b in zip(c, labels, strict=True)) <= 1]


Coordinates = tuple[str, str, str, str, str]  # indicator, site, sex, age_group, nationality


def _coordinates(indicator: str, named: dict[str, str]) -> Coordinates:
    site, sex, age, nationality = (named.get(d, TOTAL) for d in ("site", "sex", "age_group", "nationality"))
    return (indicator, site, sex, age, nationality)


def _exposed_numerators(report: disclosure.AuditReport) -> set[Coordinates]:
    """The numerator cells among the audit's violations (named ``<period> <code> <family>: dim=v, ...``;
    count cells carry ``indicator=`` and are not numerators)."""
    out = set()
    for violation in report.violations:
        table, _, labels = violation.cell.partition(": ")
        named = dict(part.split("=", 1) for part in labels.split(", ") if "=" in part)
        words = table.split()
        if "indicator" not in named and len(words) > 1:
            out.add(_coordinates(words[1], named))
    return out


def _where(code: str, table: PercentTable, labels: Labels) -> Coordinates:
    return _coordinates(code, dict(zip(table.numerator.shown_dims, labels, strict=True)))


Percents = list[tuple[str, PercentTable]]


def _withhold(percents: Percents, report: disclosure.AuditReport) -> Percents | None:
    """Percentages withheld on the lines of every numerator the audit found exposed (in every
    table that shows the same cell); all of them when the audit fails elsewhere. None: nothing
    left to withhold."""
    exposed = _exposed_numerators(report)
    shown = {(code, lab): table for code, table in percents for lab, p in table.percent.items() if p is not None}
    dropped: set[Coordinates] = set()
    for code, table in percents:
        hits = [lab for lab in table.percent if _where(code, table, lab) in exposed]
        mine = [lab for (c, lab), t in shown.items() if t is table and c == code]
        dropped |= {_where(code, table, n) for lab in hits for n in _neighbours(lab, mine)}
    if not dropped:
        dropped = {_where(code, table, lab) for (code, lab), table in shown.items()}
    if not dropped:
        return None
    return [(code, _without(table, code, dropped)) for code, table in percents]


def _without(table: PercentTable, code: str, dropped: set[Coordinates]) -> PercentTable:
    kept = {lab: None if _where(code, table, lab) in dropped else p for lab, p in table.percent.items()}
    return replace(table, percent=kept)


def audited_percentages(
    counts: list[PublishedTable],
    percents: Percents,
    profile: DisclosureProfile,
    contributions: pd.DataFrame,
    relations: list[Relation],
    period: str,
) -> Percents:
    """The percentages that may be published with ``counts``: the audit of everything together
    passes, withholding percentages around any numerator count they would expose."""
    while True:
        tables = [table for _, table in percents]
        report = disclosure.audit(counts, profile, contributions=contributions, percentages=tables, relations=relations)
        if report.ok:
            return percents
        fewer = _withhold(percents, report)
        if fewer is None:
            raise _refuse(report, period)
        percents = fewer


def protect_period(
    isp: Isp, spec: ReleaseSpec, figures: PeriodFigures, profile_name: str, prior: holdings.Holdings | None = None
) -> pd.DataFrame:
    """The published rows of one period, after protection, percentages and a passing audit."""
    profile = isp.protocol.disclosure.profiles[profile_name]
    if profile.method == "rounding":
        return rounded_period(isp, spec, figures, profile, prior)
    made = tables(isp, spec, figures)
    rels = relations(isp, spec)
    protected = disclosure.protect(made.protected, profile, figures.contributions, relations=rels)
    published = {p.name: p for p in protected.tables}
    counts = [published[t.name] for t in made.counts]
    percents = [
        (
            code,
            disclosure.percentages(
                numerator_published(num, figures.contributions, profile), published[den.name], profile
            ),
        )
        for code, num, den in made.percents
    ]
    label = figures.period.label
    final = audited_percentages(counts, percents, profile, figures.contributions, rels, label)
    return pd.concat([_count_rows(counts, label), _percent_rows(final, label)], ignore_index=True)


def _refuse_ranges(failures: list[rounding.RangeFailure], period: str) -> IspError:
    listed = "; ".join(str(f) for f in failures[:10])
    more = f" and {len(failures) - 10} more" if len(failures) > 10 else ""
    return IspError(
        f"release refused: the rounding audit of {period} found {len(failures)} cell(s) an attacker "
        f"could narrow: {listed}{more} (nothing was written)"
    )


def _refuse_combined(names: list[str], period: str) -> IspError:
    listed = "; ".join(names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return IspError(
        f"release refused: with the earlier releases to the same recipient, {len(names)} small count(s) "
        f"of {period} could be narrowed: {listed}{more} (nothing was written)"
    )


def round_period(
    isp: Isp,
    spec: ReleaseSpec,
    figures: PeriodFigures,
    profile: DisclosureProfile,
    prior: holdings.Holdings | None = None,
) -> rounding.Rounded:
    """The counts of one period rounded together, keeping the rounding of the cells the recipient
    already holds (``prior``: :func:`isp.release.build.earlier_holdings`) where they are still small."""
    made = tables(isp, spec, figures)
    leaves = pd.concat([t.leaves for t in made.protected], ignore_index=True).drop_duplicates(LEAF)
    now = {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in leaves[[*LEAF, "count"]].to_numpy()}
    label = figures.period.label
    kept = prior.leaf_prior(spec, label, now) if prior else None
    held = prior.related(figures.period) if prior else []

    def audit(result: rounding.Rounded) -> np.ndarray:
        return holdings.audit(isp, spec, figures, result, held)[1]

    return rounding.small_count_round(
        made.protected, profile, relations=relations(isp, spec), prior=kept, audit=audit if held else None
    )


def rounded_period(
    isp: Isp,
    spec: ReleaseSpec,
    figures: PeriodFigures,
    profile: DisclosureProfile,
    prior: holdings.Holdings | None = None,
) -> pd.DataFrame:
    """One period under small-count rounding: the counts rounded together (additive across
    tables), the audit of every small cell's range, within the release and against everything
    the recipient holds (``prior``), and percentages from rounded counts."""
    made = tables(isp, spec, figures)
    result = round_period(isp, spec, figures, profile, prior)
    label = figures.period.label
    failures = rounding.witness_ranges(result)
    if failures:
        raise _refuse_ranges(failures, label)
    narrowed = holdings.check(isp, spec, figures, result, prior.related(figures.period) if prior else [])
    if narrowed:
        raise _refuse_combined(narrowed, label)
    if prior is not None:  # held from now on by the next periods' audit (they may be linked through it)
        prior.add(holdings.Held(holdings.THIS, spec, result, figures.ground, figures.period, figures.monthly))
    counts = [result.table(t.name) for t in made.counts]
    percents = [
        (code, rounded_percentages(nums, [result.table(d.name) for d in dens], profile, _containers(spec, made, code)))
        for code, nums, dens in _by_code(made)
    ]
    rows = [_count_rows(counts, label)]
    rows += [_percent_rows([(code, p) for p in tables_], label) for code, tables_ in percents]
    return pd.concat(rows, ignore_index=True)


def _by_code(made: PeriodTables) -> list[tuple[str, list[Table], list[Table]]]:
    """Per percent-only numerator: its tables and their denominators (one family each)."""
    out: dict[str, tuple[list[Table], list[Table]]] = {}
    for code, num, den in made.percents:
        nums, dens = out.setdefault(code, ([], []))
        nums.append(num)
        dens.append(den)
    return [(code, nums, dens) for code, (nums, dens) in out.items()]


def _containers(spec: ReleaseSpec, made: PeriodTables, code: str) -> list[pd.DataFrame]:
    """Leaves of the published counts that contain percent-only ``code`` besides its denominator:
    a residual category that folds it in."""
    leaves = made.counts[0].leaves if made.counts else pd.DataFrame()
    return [
        leaves[leaves["indicator"] == residual.code]
        for residual in spec.indicators.residuals
        if code in residual.folded and not leaves.empty
    ]


def rounded_percentages(
    numerators: list[Table],
    denominators: list[PublishedTable],
    profile: DisclosureProfile,
    containers: list[pd.DataFrame] | None = None,
) -> list[PercentTable]:
    """Percent-only figures under rounding: every numerator cell rounded to a multiple of the base
    (controlled, additive), the percentage of the rounded denominator, then the audit: a percentage
    stays only where the numerator's range (what the rounded count, the percentage and the true
    denominator, and any residual category that contains it, allow) spans at least the
    protection width."""
    base = profile.round_base
    rounded = rounding.controlled(numerators, base)
    ranges = rounding.numerator_ranges(rounded, [d.table.leaves for d in denominators] + list(containers or []))
    out = []
    for num, den in zip(rounded.tables, denominators, strict=True):
        capped = {lab: min(int(v or 0), int(den.shown[lab] or 0)) for lab, v in num.shown.items()}
        table = disclosure.percentages(PublishedTable(num.table, capped), den, profile)
        width = ranges[num.name]
        kept = {lab: (p if width[lab] >= profile.protection_width else None) for lab, p in table.percent.items()}
        out.append(replace(table, percent=kept))
    return out


def protect(
    isp: Isp,
    spec: ReleaseSpec,
    figures: list[PeriodFigures],
    profile_name: str,
    prior: holdings.Holdings | None = None,
) -> Protected:
    """Every period protected and audited; the release's published table and its suppressed cells.
    ``prior``: what the recipient holds (:func:`isp.release.build.earlier_holdings`): its rounding is
    kept where still small, and the audit covers it."""
    if not figures:
        raise IspError(f"{spec.source}: no period to release")
    frame = pd.concat([protect_period(isp, spec, f, profile_name, prior) for f in figures], ignore_index=True)
    frame = _order(frame, isp, spec)
    suppressed = int(((frame["measure"] == "count") & (frame["note"] == NOTE_SUPPRESSED)).sum())
    return Protected(frame, suppressed)
