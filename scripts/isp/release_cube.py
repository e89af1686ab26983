"""From consolidated tidy figures to the cells a release could publish, with their margins.

A period's figures (``site,indicator,sex,age_group,nationality,count``) become the release's
cube: the published geography (national total, requested sites, the rest of the country), the
published indicators (residual categories absorbing what is not published, see
:mod:`isp.release_spec`), and two families of breakdowns that share their totals:

- sex by age group (every nationality together), with the sex, age and overall totals;
- nationality (both sexes, every age), with its total.

The same function turns one agency's figures into its contributions, so the p% rule sees
exactly the cells that are published. Everything stays in memory.
"""

from __future__ import annotations

import pandas as pd

from isp.release_spec import NATIONAL, REST, TOTAL, Geography, IndicatorPlan

CELL = ["site", "indicator", "sex", "age_group", "nationality"]
Dims = dict[str, list[str]]
FAMILIES: tuple[tuple[str, ...], ...] = (("sex", "age_group"), ("nationality",))


def _indicators(frame: pd.DataFrame, plan: IndicatorPlan, codes: tuple[str, ...]) -> pd.DataFrame:
    """Rows of ``frame`` relabelled to the published indicators (a residual sums its sources)."""
    source_of = {source: code for code in codes for source in plan.sources(code)}
    picked = frame[frame["indicator"].isin(list(source_of))]
    return picked.assign(indicator=picked["indicator"].map(source_of))


def _geography(frame: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    sites = frame[frame["site"] != NATIONAL]
    parts = []
    if geography.national:
        parts.append(sites.assign(site=NATIONAL))
    parts.append(sites[sites["site"].isin(list(geography.sites))])
    if geography.rest:
        parts.append(sites[~sites["site"].isin(list(geography.sites))].assign(site=REST))
    return pd.concat(parts, ignore_index=True)


def _margins(frame: pd.DataFrame, family: tuple[str, ...]) -> pd.DataFrame:
    """Every combination of ``family`` dimensions and their totals, other dimensions summed."""
    base = frame.groupby(["site", "indicator", *family], as_index=False)["count"].sum()
    levels = [base]
    for keep in _subsets(family):
        grouped = base.groupby(["site", "indicator", *keep], as_index=False)["count"].sum()
        levels.append(grouped.assign(**{dim: TOTAL for dim in family if dim not in keep}))
    out = pd.concat(levels, ignore_index=True)
    return out.assign(**{dim: TOTAL for dim in ("sex", "age_group", "nationality") if dim not in family})


def _subsets(family: tuple[str, ...]) -> list[list[str]]:
    """Proper subsets of ``family`` (the margins), largest first."""
    from itertools import combinations

    return [list(c) for size in range(len(family) - 1, -1, -1) for c in combinations(family, size)]


def cube(
    frame: pd.DataFrame, plan: IndicatorPlan, geography: Geography, codes: tuple[str, ...], dims: Dims
) -> pd.DataFrame:
    """The release cells (``CELL`` + ``count``) for one period's tidy figures, for indicators ``codes``.

    ``dims`` gives each dimension's codes in protocol order (``Isp.dimension_codes()``)."""
    cells = grid(geography, codes, dims)
    placed = _geography(_indicators(frame[frame["count"] > 0], plan, codes), geography)
    if not placed.empty:
        parts = [_margins(placed, family) for family in FAMILIES]
        found = pd.concat(parts, ignore_index=True).drop_duplicates(CELL)
        cells = cells.drop(columns="count").merge(found, on=CELL, how="left")
    cells["count"] = cells["count"].fillna(0).astype("int64")
    return _ordered(cells[[*CELL, "count"]], plan, geography, dims)


def grid(geography: Geography, codes: tuple[str, ...], dims: Dims) -> pd.DataFrame:
    """Every cell of the release (zeros included), so a site or breakdown with no cases still shows."""
    options = {name: [TOTAL, *values] for name, values in dims.items()}
    rows = []
    for family in FAMILIES:
        product = pd.MultiIndex.from_product([options[d] if d in family else [TOTAL] for d in dims], names=list(dims))
        rows.append(product.to_frame(index=False))
    breakdowns = pd.concat(rows, ignore_index=True).drop_duplicates()
    heads = pd.MultiIndex.from_product([list(geography.rows), list(codes)], names=["site", "indicator"]).to_frame(
        index=False
    )
    return heads.merge(breakdowns, how="cross").assign(count=0)[[*CELL, "count"]]


def _ordered(frame: pd.DataFrame, plan: IndicatorPlan, geography: Geography, dims: Dims) -> pd.DataFrame:
    """Published order: geography, indicator, then totals before breakdowns in protocol order."""
    ranks = {
        "site": {code: i for i, code in enumerate(geography.rows)},
        "indicator": {code: i for i, code in enumerate(plan.counts + tuple(n for n, _ in plan.percents))},
        **{name: {TOTAL: -1, **{code: i for i, code in enumerate(codes)}} for name, codes in dims.items()},
    }
    totals = (frame[list(dims)] == TOTAL).sum(axis=1) * -1
    keys = frame.assign(_t=totals, **{f"_{name}": frame[name].map(rank) for name, rank in ranks.items()})
    by = ["_site", "_indicator", "_t", *(f"_{name}" for name in dims)]
    ordered = keys.sort_values(by, kind="mergesort")
    return ordered[frame.columns].reset_index(drop=True)


def contributions(
    frames: dict[str, pd.DataFrame], plan: IndicatorPlan, geography: Geography, codes: tuple[str, ...], dims: Dims
) -> pd.DataFrame:
    """Per-agency cubes stacked with an ``agency`` column (for the dominance rule only; never published)."""
    parts = [cube(f, plan, geography, codes, dims).assign(agency=agency) for agency, f in sorted(frames.items())]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*CELL, "count", "agency"])
