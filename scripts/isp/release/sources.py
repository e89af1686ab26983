"""The figures a release is built from, decrypted in memory: consolidated aggregates and, for the
dominance rule only, each agency's own contribution to them.

The aggregates (contract C) are what is published. The contributions are recomputed from the
submissions of the requested months only, with the consolidation's own library function
(``consolidate_range``), one agency at a time, so they follow exactly the same rules (flows
summed, stocks from the last month, suspended months left out). Their sum must equal the
aggregate: if it does not, the aggregates are stale and the release is refused until
``isp consolidate`` has run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from isp.crypto import sops
from isp.errors import IspError
from isp.protocol.models import Isp
from isp.protocol.periods import Period
from isp.release.cube import LEAF, contributions, leaves
from isp.release.spec import ReleaseSpec
from isp.sheets import tidy


@dataclass(frozen=True)
class PeriodFigures:
    """One period's release cells: published counts, hidden numerators, per-agency contributions."""

    period: Period
    counts: pd.DataFrame  # LEAF + count, the indicators published as counts
    numerators: pd.DataFrame  # LEAF + count, percent-only indicators (never published as counts)
    contributions: pd.DataFrame  # LEAF + count + agency, for counts and numerators
    source: tuple[str, str] = ("", "")  # the aggregate's path and the sha256 of its ciphertext
    # the consolidated figures the leaves were made from (site, indicator, sex, age_group,
    # nationality, count; the national rows left out): the ground cells of the audit across
    # releases to one recipient (:mod:`isp.release.holdings`); in memory only
    ground: pd.DataFrame | None = None
    # the same per month of the period (month -> ground), when the recipient holds a period that
    # overlaps this one without being it (the audit then meets them in the months); None: not
    # needed, or a month's aggregate is missing
    monthly: Mapping[str, pd.DataFrame] | None = None


def aggregate_path(period: Period) -> str:
    return f"aggregates/{period.kind}/{period.label}.csv"


def read_aggregate(root: Path, period: Period) -> pd.DataFrame:
    from isp import consolidate

    rel = aggregate_path(period)
    if not (root / rel).exists():
        raise IspError(f"{rel} does not exist: run `isp consolidate` (or ask for a period that has been consolidated)")
    frame = consolidate.read_output(root, rel)
    return frame[frame["indicator"].notna()]


def submissions(root: Path, isp: Isp, months: list[str], jobs: int | None) -> dict[str, pd.DataFrame]:
    """Each agency's sheets for ``months`` only (decrypted in memory, in parallel)."""
    wanted = [
        (agency, root / "submissions" / agency / f"{month}.csv") for agency in isp.submitters() for month in months
    ]
    present = [(agency, path) for agency, path in wanted if path.exists()]
    frames: dict[str, list[pd.DataFrame]] = {}
    results = sops.decrypt_many([path for _, path in present], jobs)
    for (agency, path), (_, result) in zip(present, results, strict=True):
        if isinstance(result, sops.CryptoError):
            raise sops.CryptoError(path.relative_to(root).as_posix(), result.reason)
        frames.setdefault(agency, []).append(tidy.read_csv(result))
    return {agency: pd.concat(parts, ignore_index=True) for agency, parts in frames.items()}


def agency_figures(
    root: Path, isp: Isp, periods: tuple[Period, ...], jobs: int | None
) -> dict[Period, dict[str, pd.DataFrame]]:
    """Each agency's consolidated figures per period, from its submissions (decrypted in memory)."""
    from isp import consolidate

    sheets = submissions(root, isp, sorted({m for p in periods for m in p.months}), jobs)
    out: dict[Period, dict[str, pd.DataFrame]] = {}
    for period in periods:
        out[period] = {}
        for agency, frame in sheets.items():
            mine = frame[frame["month"].isin(period.months)]
            if not mine.empty:
                out[period][agency] = consolidate.consolidate_range({agency: mine}, isp, period)
    return out


def period_figures(root: Path, isp: Isp, spec: ReleaseSpec, jobs: int | None = None) -> list[PeriodFigures]:
    plan, geo = spec.indicators, spec.geography
    numerator_codes = tuple(n for n, _ in plan.percents)
    per_agency = agency_figures(root, isp, spec.periods, jobs)
    figures = []
    for period in spec.periods:
        aggregate, source = figures_of(root, isp, period, jobs)
        counts = leaves(aggregate, plan, geo, plan.counts)
        numerators = leaves(aggregate, plan, geo, numerator_codes)
        shares = contributions(per_agency[period], plan, geo, plan.counts + numerator_codes)
        _check_consistent(period, pd.concat([counts, numerators], ignore_index=True), shares)
        figures.append(PeriodFigures(period, counts, numerators, shares, source, ground_of(aggregate)))
    return figures


def ground_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The site rows of a period's consolidated figures, keys as strings."""
    from isp.release.spec import NATIONAL

    sites = frame[frame["site"].astype(str) != NATIONAL]
    out = sites.groupby(LEAF, as_index=False, observed=True)["count"].sum()
    return out.astype({column: str for column in LEAF}).astype({"count": "int64"})


def monthly_ground(root: Path, period: Period, commit: str | None = None) -> dict[str, pd.DataFrame] | None:
    """The ground figures (:func:`ground_of`) of every month of ``period`` from the monthly
    aggregates, in the working tree or at ``commit``, decrypted in memory; None if one is missing."""
    from isp.consolidate import codec
    from isp.consolidate.outputs import read_table
    from isp.history import provenance
    from isp.protocol.periods import period_of

    out = {}
    for month in period.months:
        rel = aggregate_path(period_of(month, "monthly"))
        if commit is None:
            if not (root / rel).exists():
                return None
            frame = read_aggregate(root, period_of(month, "monthly"))
        else:
            envelope = provenance.file_at(root, commit, rel)
            if envelope is None:
                return None
            frame = read_table(codec.unpack(sops.decrypt_bytes(envelope, rel), rel))
        out[month] = ground_of(frame[frame["indicator"].notna()])
    return out


def figures_at(
    root: Path, isp: Isp, spec: ReleaseSpec, commit: str, labels: set[str] | None = None
) -> list[PeriodFigures]:
    """The published counts and numerators of ``spec`` from the aggregates at ``commit`` (an
    earlier release's), decrypted in memory; no contributions (rounding does not use them).
    ``labels``: only these periods (default: every period of ``spec``)."""
    from isp.consolidate import codec
    from isp.consolidate.outputs import read_table
    from isp.history import provenance

    plan, geo = spec.indicators, spec.geography
    numerator_codes = tuple(n for n, _ in plan.percents)
    out = []
    for period in spec.periods:
        if labels is not None and period.label not in labels:
            continue
        rel = aggregate_path(period)
        envelope = provenance.file_at(root, commit, rel)
        if envelope is None:
            raise IspError(f"{rel} is not in commit {commit[:10]}, which an earlier release was made from")
        frame = read_table(codec.unpack(sops.decrypt_bytes(envelope, rel), rel))
        frame = frame[frame["indicator"].notna()]
        none = pd.DataFrame(columns=[*LEAF, "count", "agency"])
        out.append(
            PeriodFigures(
                period,
                leaves(frame, plan, geo, plan.counts),
                leaves(frame, plan, geo, numerator_codes),
                none,
                ground=ground_of(frame),
            )
        )
    return out


def figures_of(root: Path, isp: Isp, period: Period, jobs: int | None) -> tuple[pd.DataFrame, tuple[str, str]]:
    """The consolidated figures of ``period`` and (source, sha256) of what they come from: the
    aggregate file of a standard period; for a custom range (the sectoral report's six most recent
    consolidated months), the consolidation's own function over the range's submissions."""
    from isp import consolidate

    if period.kind != "custom":
        rel = aggregate_path(period)
        frame = read_aggregate(root, period)
        return frame, (rel, hashlib.sha256((root / rel).read_bytes()).hexdigest())
    sheets = submissions(root, isp, period.months, jobs)
    if not sheets:
        raise IspError(f"no submission for {period.first}..{period.last}: nothing to report")
    frame = consolidate.consolidate_range(sheets, isp, period)
    digest = hashlib.sha256()
    for agency in sorted(sheets):
        for month in period.months:
            path = root / "submissions" / agency / f"{month}.csv"
            if path.exists():
                digest.update(path.read_bytes())
    return frame[frame["indicator"].notna()], (f"submissions/*/{period.first}..{period.last}", digest.hexdigest())


def _check_consistent(period: Period, cells: pd.DataFrame, shares: pd.DataFrame) -> None:
    """The aggregate must be the sum of the agencies' contributions (else it is out of date)."""
    summed = shares.groupby(LEAF, as_index=False)["count"].sum()
    merged = cells.merge(summed, on=LEAF, how="outer", suffixes=("", "_agencies")).fillna(0)
    if not (merged["count"] == merged["count_agencies"]).all():
        raise IspError(
            f"{aggregate_path(period)} does not match the submissions it should be made from "
            "(stale or damaged): run `isp consolidate` and try again"
        )
