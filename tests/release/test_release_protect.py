"""Disclosure control of a release on hand-made figures (no crypto): percentages that would give
away a hidden early-marriage count are withheld until the audit passes."""

from __future__ import annotations

import pandas as pd
import pytest

from isp import disclosure
from isp.protocol import loading
from isp.protocol.periods import period_of
from isp.release.protect import protect_period, relations, tables
from isp.release.sources import PeriodFigures
from isp.release.spec import read_spec
from tests.helpers import REPO_ROOT

AGENCIES = ("A1", "A2", "A3")


def _leaves(values: dict[tuple[str, str], int]) -> pd.DataFrame:
    """One agency's leaves: every cell zero but (indicator, sex) at ages 6-11, Syrian."""
    isp_ = loading.load(REPO_ROOT)
    dims = isp_.dimension_codes()
    rows = [
        ("ALL", ind, sex, age, nat, values.get((ind, sex), 0) if (age, nat) == ("6-11", "SYR") else 0)
        for ind in ("new_cases", "concern_early_marriage")
        for sex in dims["sex"]
        for age in dims["age_group"]
        for nat in dims["nationality"]
    ]
    return pd.DataFrame(rows, columns=["site", "indicator", "sex", "age_group", "nationality", "count"])


@pytest.fixture(scope="module")
def case():
    """Three agencies alike: 100 new cases each per sex; early marriage 1 (girls) and 10 (boys)
    each. Girls' early marriage (3) is below the threshold: hidden. Its percentage would be
    withheld anyway, but the total's and the boys' percentages together would give it away."""
    isp_ = loading.load(REPO_ROOT)
    spec = read_spec(isp_, {"periods": ["2026-Q1"], "indicators": ["concern_early_marriage"]}, "r.yaml")
    own = _leaves({("new_cases", "F"): 100, ("new_cases", "M"): 100, ("concern_early_marriage", "F"): 1,
                   ("concern_early_marriage", "M"): 10})  # fmt: skip
    shares = pd.concat([own.assign(agency=a) for a in AGENCIES], ignore_index=True)
    total = shares.groupby(["site", "indicator", "sex", "age_group", "nationality"], as_index=False)["count"].sum()
    figures = PeriodFigures(
        period_of("2026-01", "quarterly"),
        total[total["indicator"] == "new_cases"].reset_index(drop=True),
        total[total["indicator"] == "concern_early_marriage"].reset_index(drop=True),
        shares,
    )
    return isp_, spec, figures


def test_naive_percentages_fail_the_audit(case) -> None:
    isp_, spec, figures = case
    profile = isp_.protocol.disclosure.profiles["strict"]
    made = tables(isp_, spec, figures)
    protected = disclosure.protect(made.protected, profile, figures.contributions, relations=relations(isp_, spec))
    published = {p.name: p for p in protected.tables}
    counts = [published[t.name] for t in made.counts]
    from isp.release.protect import numerator_published

    naive = [
        disclosure.percentages(numerator_published(num, figures.contributions, profile), published[den.name], profile)
        for _, num, den in made.percents
    ]
    assert any(p is not None for t in naive for p in t.percent.values())
    report = disclosure.audit(counts, profile, contributions=figures.contributions, percentages=naive)
    assert not report.ok and any("sex=F" in v.cell for v in report.violations)


def test_the_release_withholds_them_until_the_audit_passes(case) -> None:
    isp_, spec, figures = case
    rows = protect_period(isp_, spec, figures, "strict")
    percent = rows[rows["measure"] == "percent"].set_index(["sex", "age_group", "nationality"])["value"]
    assert percent[("F", "ALL", "ALL")] is None and percent[("M", "ALL", "ALL")] is None
    assert percent[("ALL", "ALL", "SYR")] == 6, "what exposes nothing stays: 33 of 600 Syrian new cases"
    counts = rows[rows["measure"] == "count"].set_index(["sex", "age_group", "nationality"])["value"]
    assert counts[("ALL", "ALL", "ALL")] == 600 and counts[("F", "ALL", "ALL")] == 300
    assert "concern_early_marriage" not in set(rows.loc[rows["measure"] == "count", "indicator"])


def test_under_the_default_profile_percentages_come_from_rounded_counts(case) -> None:
    """Small-count rounding (issue 11): girls' 3 early marriages are counted as 5 (a multiple of
    the base), so the published 2 % of 300 leaves them anywhere in 1..9; nothing is blank."""
    isp_, spec, figures = case
    rows = protect_period(isp_, spec, figures, "external")
    percent = rows[rows["measure"] == "percent"].set_index(["sex", "age_group", "nationality"])["value"]
    assert percent[("F", "ALL", "ALL")] == 2 and percent[("M", "ALL", "ALL")] == 10
    counts = rows[rows["measure"] == "count"]
    assert counts["value"].notna().all() and (counts["note"] == "").all()
