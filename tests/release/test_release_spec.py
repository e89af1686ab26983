"""What a release publishes, decided from the request's data section and the protocol (no crypto)."""

from __future__ import annotations

import pandas as pd
import pytest

from isp.demo import synthetic
from isp.errors import IspError
from isp.protocol import loading
from isp.release.cube import LEAF, contributions, leaves
from isp.release.spec import NATIONAL, REST, plan_geography, plan_indicators, read_spec
from tests.helpers import REPO_ROOT

WHERE = "requests/REQ-TEST.yaml"


@pytest.fixture(scope="module")
def isp_():
    return loading.load(REPO_ROOT)


def test_sgbv_is_withheld_and_early_marriage_is_a_percentage(isp_) -> None:
    plan = plan_indicators(isp_, "all", WHERE)
    assert plan.withheld == ("concern_sexual_violence",)
    assert plan.percents == (("concern_early_marriage", "new_cases"),)
    assert "concern_sexual_violence" not in plan.counts and "concern_early_marriage" not in plan.counts


def test_the_residual_absorbs_what_is_not_published(isp_) -> None:
    """new_cases minus the published concerns would otherwise give sexual violence + early marriage."""
    plan = plan_indicators(isp_, "all", WHERE)
    (residual,) = plan.residuals
    assert residual.code == "concern_other" and residual.total == "new_cases"
    assert set(residual.folded) == {"concern_sexual_violence", "concern_early_marriage"}
    assert plan.sources("concern_other") == ("concern_other", *residual.folded)


def test_asking_for_early_marriage_alone_publishes_its_denominator(isp_) -> None:
    plan = plan_indicators(isp_, ["concern_early_marriage"], WHERE)
    assert plan.counts == ("new_cases",) and plan.residuals == ()


def test_a_group_partly_asked_for_folds_the_rest_into_other(isp_) -> None:
    plan = plan_indicators(isp_, ["new_cases", "concern_child_labour"], WHERE)
    (residual,) = plan.residuals
    assert "concern_unaccompanied" in residual.folded and "concern_other" in plan.counts


def test_unknown_indicator_names_the_file(isp_) -> None:
    with pytest.raises(IspError, match=r"requests/REQ-TEST.yaml: data.indicators: 'bogus'"):
        plan_indicators(isp_, ["bogus"], WHERE)


@pytest.mark.parametrize(
    ("periods", "message"),
    [(["2026-01", "2026-Q1"], "overlap"), (["2026-H1", "2026"], "overlap"), (["2026-13"], "not a period label")],
)
def test_bad_periods_are_refused(isp_, periods, message) -> None:
    with pytest.raises(IspError, match=message):
        read_spec(isp_, {"periods": periods}, WHERE)


def test_periods_parse_in_order(isp_) -> None:
    spec = read_spec(isp_, {"periods": ["2026-Q2", "2026-01", "2025"]}, WHERE)
    assert [(p.kind, p.label) for p in spec.periods] == [
        ("annual", "2025"),
        ("monthly", "2026-01"),
        ("quarterly", "2026-Q2"),
    ]


def test_geography(isp_) -> None:
    assert plan_geography(isp_, "national", WHERE).rows == (NATIONAL,)
    assert plan_geography(isp_, ["national", "JO22"], WHERE).rows == (NATIONAL, "JO22", REST)
    assert plan_geography(isp_, ["JO22"], WHERE).rows == ("JO22",)
    assert plan_geography(isp_, "sites", WHERE).rows == (NATIONAL, *isp_.sites)
    with pytest.raises(IspError, match="'NOWHERE' is not a site code"):
        plan_geography(isp_, ["NOWHERE"], WHERE)


def test_leaves_relabel_and_place(isp_) -> None:
    spec = read_spec(isp_, {"periods": ["2026-01"], "geography": ["national", "JO22"]}, WHERE)
    plan, geo = spec.indicators, spec.geography
    frame = synthetic.month_sheet(isp_, "UNHCR", "2026-01")
    cells = leaves(frame, plan, geo, plan.counts)
    assert not cells.duplicated(LEAF).any()
    assert set(cells["indicator"]) == set(plan.counts) and set(cells["site"]) == {"JO22", REST}
    by = cells.groupby("indicator")["count"].sum()
    concerns = [c for c in plan.counts if c.startswith("concern_")]
    assert by[concerns].sum() == by["new_cases"], "the residual keeps the concern breakdown additive"
    national = leaves(frame, plan, read_spec(isp_, {"periods": ["2026-01"]}, WHERE).geography, plan.counts)
    assert set(national["site"]) == {NATIONAL} and national["count"].sum() == cells["count"].sum()


def test_early_marriage_is_its_own_numerator_and_part_of_the_residual(isp_) -> None:
    spec = read_spec(isp_, {"periods": ["2026-01"], "geography": "national"}, WHERE)
    plan = spec.indicators
    frame = synthetic.month_sheet(isp_, "UNHCR", "2026-01")
    codes = (*plan.counts, "concern_early_marriage")
    cells = leaves(frame, plan, spec.geography, codes).groupby("indicator")["count"].sum()
    raw = frame.groupby("indicator")["count"].sum()
    assert cells["concern_early_marriage"] == raw["concern_early_marriage"]
    folded = ["concern_other", "concern_early_marriage", "concern_sexual_violence"]
    assert cells["concern_other"] == raw[folded].sum()


def test_contributions_sum_to_the_leaves(isp_) -> None:
    spec = read_spec(isp_, {"periods": ["2026-01"], "geography": "sites"}, WHERE)
    plan, geo = spec.indicators, spec.geography
    frames = {a: synthetic.month_sheet(isp_, a, "2026-01") for a in ("IRC", "UNHCR")}
    whole = leaves(pd.concat(frames.values()), plan, geo, plan.counts).set_index(LEAF)["count"]
    parts = contributions(frames, plan, geo, plan.counts).groupby(LEAF)["count"].sum()
    assert whole.sort_index().equals(parts.reindex(whole.index).sort_index())
