"""From consolidated tidy figures to the finest cells (leaves) a release is built from.

A period's figures (``site,indicator,sex,age_group,nationality,count``) become the release's
leaves: the published indicators (a residual category sums its own figures and those of the
members it absorbs, see :mod:`isp.release.spec`, and percent-only numerators stay as they are,
never to be published as counts) at the published geography (each requested site; the rest of
the country as ``REST`` when the national total is published too; one national ``ALL`` when only
the national total is asked for). Margins (totals by sex, age, nationality, the national total)
are the disclosure tables' business (:mod:`isp.release.protect`).

The same function turns one agency's figures into its contributions, so the p% rule sees
exactly the cells that are published. Everything stays in memory.
"""

from __future__ import annotations

import pandas as pd

from isp.release.spec import NATIONAL, REST, Geography, IndicatorPlan

LEAF = ["site", "indicator", "sex", "age_group", "nationality"]


def _indicators(frame: pd.DataFrame, plan: IndicatorPlan, codes: tuple[str, ...]) -> pd.DataFrame:
    """Rows of ``frame`` relabelled to the published indicators (a residual sums its sources; a
    source may feed several codes: early marriage is its own numerator and part of a residual)."""
    pairs = pd.DataFrame(
        [(source, code) for code in codes for source in plan.sources(code)], columns=["indicator", "_code"]
    )
    picked = frame.merge(pairs.astype({"indicator": frame["indicator"].dtype}), on="indicator", how="inner")
    return picked.assign(indicator=picked.pop("_code"))


def _geography(frame: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    sites = frame[frame["site"] != NATIONAL]
    if not geography.sites:
        return sites.assign(site=NATIONAL)
    if geography.rest:
        return sites.assign(site=sites["site"].where(sites["site"].isin(list(geography.sites)), REST))
    return sites[sites["site"].isin(list(geography.sites))]


def leaf_sites(geography: Geography) -> tuple[str, ...]:
    """The site codes of the leaves (the national total, when published, is their margin)."""
    return geography.rows if not geography.sites else tuple(s for s in geography.rows if s != NATIONAL)


def leaves(frame: pd.DataFrame, plan: IndicatorPlan, geography: Geography, codes: tuple[str, ...]) -> pd.DataFrame:
    """The release's finest cells (``LEAF`` + ``count``) for one period's tidy figures and ``codes``."""
    placed = _geography(_indicators(frame, plan, codes), geography)
    out = placed.groupby(LEAF, as_index=False, observed=True)["count"].sum()
    out = out.astype({column: "string" for column in LEAF})
    out["count"] = out["count"].astype("int64")
    return out


def contributions(
    frames: dict[str, pd.DataFrame], plan: IndicatorPlan, geography: Geography, codes: tuple[str, ...]
) -> pd.DataFrame:
    """Per-agency leaves stacked with an ``agency`` column (for the dominance rule only; never published)."""
    parts = [leaves(f, plan, geography, codes).assign(agency=agency) for agency, f in sorted(frames.items())]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in [*LEAF, "agency"]}).assign(count=0)
    return pd.concat(parts, ignore_index=True)
