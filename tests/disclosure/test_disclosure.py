"""Disclosure control: the primary rules, the known attacks each caught, and protection that passes
its own audit. Synthetic figures only; the audit runs real HiGHS integer programs (scipy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from isp.disclosure import (
    PublishedTable,
    Relation,
    Table,
    audit,
    dominance_unsafe,
    p_percent_unsafe,
    percentages,
    protect,
    threshold_unsafe,
    whole_percent,
)
from isp.disclosure.percent import PercentTable
from isp.errors import IspError
from tests.disclosure.helpers import agency_frame, grid, grid_frame, hide, profile

# --- primary rules --------------------------------------------------------------------------


def test_p_percent_rule_on_the_tau_argus_example() -> None:
    # 700,200,60,40,10 passes p=10 (60+40+10 >= 70); as holdings 900,60,40,10 it fails (50 < 90)
    assert not p_percent_unsafe([700, 200, 60, 40, 10], 10)
    assert p_percent_unsafe([900, 60, 40, 10], 10)


def test_p_percent_rule_flags_cells_of_one_or_two_agencies_for_any_p() -> None:
    contrib = np.array([[5, 0, 0], [50, 40, 0], [3, 3, 3], [0, 0, 0]], float)
    assert dominance_unsafe(contrib, 1).tolist() == [True, True, False, False]
    assert dominance_unsafe(contrib, 0).tolist() == [False] * 4  # p = 0 switches the rule off


def test_threshold_edges_and_site_level() -> None:
    values = np.array([0, 1, 4, 5, 9, 10])
    national = np.zeros(6, bool)
    rules = profile(threshold=5, site_threshold=10)
    assert threshold_unsafe(values, national, rules).tolist() == [False, True, True, False, False, False]
    assert threshold_unsafe(values, ~national, rules).tolist() == [False, True, True, True, True, False]
    hidden_zeros = profile(threshold=5, zeros_published=False)
    assert threshold_unsafe(values, national, hidden_zeros).tolist() == [True, True, True, False, False, False]


def test_site_cells_use_the_site_threshold_and_national_cells_the_other() -> None:
    frame = pd.DataFrame(
        [("JO11", "F", 7), ("JO11", "M", 9), ("JO22", "F", 12), ("JO22", "M", 15)], columns=["site", "sex", "count"]
    )
    table = Table.from_frame(frame, ["site"], ["sex"], name="t")
    result = protect([table], profile(threshold=5, site_threshold=10))
    hidden = set(result.tables[0].suppressed)
    assert {("JO11", "F"), ("JO11", "M")} <= hidden  # 7 and 9 are below 10 at a site
    assert ("Total", "F") not in hidden  # national 19 is above 5
    assert result.report.ok


# --- the known attacks, each caught ---------------------------------------------------------


def test_a_single_suppressed_cell_in_a_row_is_recovered() -> None:
    table = grid([[8, 3, 9], [7, 8, 6]])
    report = audit([hide(table, [("r0", "c1")])], profile(threshold=5, width=2), exact=True)
    assert not report.ok
    assert report.intervals.iloc[0][["lo", "hi"]].tolist() == [3, 3]
    assert any(v.rule == "upper" for v in report.violations)


def test_zeros_pin_hidden_zeros_when_zeros_are_not_published() -> None:
    # 0 = x + x + 0: a published zero total pins both hidden zeros
    table = grid([[0, 0, 0], [6, 7, 8]])
    report = audit([hide(table, [("r0", "c0"), ("r0", "c1")])], profile(zeros_published=False), exact=True)
    pinned = report.intervals[["lo", "hi"]].to_numpy().tolist()
    assert pinned == [[0, 0], [0, 0]]
    assert not report.ok


def test_ones_pinned_by_the_known_lower_bound_when_zeros_are_published() -> None:
    # 15 = 10 + 3 + x + x with x >= 1 forces x = 1
    table = grid([[10, 3, 1, 1], [9, 8, 7, 6]])
    report = audit([hide(table, [("r0", "c2"), ("r0", "c3")])], profile(threshold=5), exact=True)
    assert report.intervals[["lo", "hi"]].to_numpy().tolist() == [[1, 1], [1, 1]]
    # hiding the 3 too is still not enough: the three share 5 and each is at least 1
    wider = audit([hide(table, [("r0", "c1"), ("r0", "c2"), ("r0", "c3")])], profile(width=2), exact=True)
    assert wider.intervals["hi"].max() == 3
    assert not wider.ok


def test_three_singletons_in_a_row_are_pinned_by_their_sum() -> None:
    # three hidden 1s with the rest of the row published: 3 = x + y + z, each >= 1
    table = grid([[1, 1, 1, 9], [6, 7, 8, 9]])
    report = audit([hide(table, [("r0", "c0"), ("r0", "c1"), ("r0", "c2")])], profile(), exact=True)
    assert report.intervals[["lo", "hi"]].to_numpy().tolist() == [[1, 1]] * 3


def test_a_singleton_agency_subtracts_its_own_cells_and_pins_the_other() -> None:
    # row totals only; the public cannot pin anything, but agency A, which alone made two of the three, can
    table = grid([[1, 1, 2, 9], [6, 7, 8, 9]], margins=["col"])
    shares = {
        "A": [[1, 1, 0, 3], [3, 3, 4, 3]],
        "B": [[0, 0, 2, 3], [3, 4, 4, 3]],
        "C": [[0, 0, 0, 3], [0, 0, 0, 3]],
    }
    rules = profile(threshold=5, zeros_published=False)
    published = hide(table, [("r0", "c0"), ("r0", "c1"), ("r0", "c2")])
    public = audit([published], rules, exact=True)
    assert public.ok
    insider = audit([published], rules, contributions=agency_frame(shares), exact=True)
    pinned = [v for v in insider.violations if v.attacker == "A"]
    assert pinned and all("c2" in v.cell for v in pinned)


def test_month_against_year_to_date_differencing() -> None:
    months = pd.concat(
        [
            grid_frame([[20, 12, 30], [25, 18, 22]]).assign(period="2026-01"),
            grid_frame([[2, 14, 30], [25, 18, 22]]).assign(period="2026-02"),
        ],
        ignore_index=True,
    )[["period", "row", "col", "count"]]
    january = Table.from_frame(months, ["row"], ["col"], where={"period": "2026-01"}, name="Jan")
    february = Table.from_frame(months, ["row"], ["col"], where={"period": "2026-02"}, name="Feb")
    to_date = Table.from_frame(months, ["row"], ["col"], where={"period": ["2026-01", "2026-02"]}, name="YTD")
    rules = profile(threshold=5, width=2)
    first = protect([january], rules).tables  # January's release: nothing to hide
    separately = protect([february], rules).tables + protect([to_date], rules).tables
    leak = audit([*first, *separately], rules, exact=True)
    assert not leak.ok  # YTD minus January gives February's hidden cells
    linked = protect([february, to_date], rules, prior=first)
    assert linked.report.ok
    assert audit([*first, *linked.tables], rules, exact=True).ok


def _indicators(name: str, values: dict[str, list[list[int]]], margins: bool = True) -> list[Table]:
    frame = pd.concat([grid_frame(v).assign(indicator=k) for k, v in values.items()], ignore_index=True)
    frame = frame[["indicator", "row", "col", "count"]]
    return [Table.from_frame(frame, ["row"], ["col"], where={"indicator": k}, name=k, margins=margins) for k in values]


def test_percentages_published_with_their_denominator() -> None:
    cases, married = _indicators("x", {"cases": [[12, 2, 9], [15, 11, 14]], "married": [[5, 1, 3], [6, 4, 7]]})
    rules = profile(threshold=3, width=1, min_denominator=1)
    counts = protect([cases, married], rules)
    denominators, numerators = counts.tables
    assert ("r0", "c1") in numerators.suppressed
    # a careless release: a percentage for every cell, the hidden numerator included
    careless = PercentTable(
        married,
        cases,
        {k: whole_percent(married.values()[k], cases.values()[k]) for k in cases.values()},
        frozenset(numerators.suppressed),
    )
    assert not audit([denominators], rules, percentages=[careless], exact=True).ok
    # computed from protected counts: no percentage for a hidden numerator, and the audit passes
    safe = percentages(numerators, denominators, rules)
    assert safe.percent[("r0", "c1")] is None
    assert audit([denominators], rules, percentages=[safe], exact=True).ok


def test_percentages_need_a_minimum_denominator_and_hide_extremes_at_small_n() -> None:
    cases, part = _indicators("x", {"cases": [[30, 8], [40, 250]], "part": [[30, 4], [10, 250]]}, margins=False)
    rules = profile(threshold=0, min_denominator=20)
    pct = percentages(PublishedTable.of(part), PublishedTable.of(cases), rules)
    assert pct.percent[("r0", "c1")] is None  # denominator 8 < 20
    assert pct.percent[("r0", "c0")] is None  # 100% of 30: exact at small N
    assert pct.percent[("r1", "c0")] == 25
    assert pct.percent[("r1", "c1")] == 100  # 100% of 250 may be 249 or 250
    assert [whole_percent(1, 8), whole_percent(1, 200), whole_percent(3, 200)] == [13, 1, 2]


def test_an_indicator_group_sum_is_known_to_the_attacker() -> None:
    frame = pd.concat(
        [
            grid_frame([[9, 8], [12, 11]]).assign(indicator="total"),
            grid_frame([[7, 6], [6, 5]]).assign(indicator="a"),
            grid_frame([[2, 2], [6, 6]]).assign(indicator="b"),
        ],
        ignore_index=True,
    )[["indicator", "row", "col", "count"]]
    tables = [Table.from_frame(frame, ["row"], ["col"], where={"indicator": i}, name=i) for i in ("total", "a", "b")]
    group = [Relation("indicator", "total", ("a", "b"))]
    rules = profile(threshold=3, width=1)
    # b's small cells hidden in b's table alone: total minus a gives them back
    naive = [PublishedTable.of(tables[0]), PublishedTable.of(tables[1]), protect([tables[2]], rules).tables[0]]
    assert not audit(naive, rules, relations=group, exact=True).ok
    linked = protect(tables, rules, relations=group)
    assert audit(list(linked.tables), rules, relations=group, exact=True).ok


# --- protection ------------------------------------------------------------------------------


def test_protect_passes_its_own_exact_audit_and_shares_one_pattern_across_linked_tables() -> None:
    frame = pd.DataFrame(
        [
            (site, sex, age, int(v))
            for (site, sex, age), v in zip(
                [(s, x, a) for s in ("A", "B", "C") for x in ("F", "M") for a in ("young", "old")],
                [3, 9, 0, 14, 2, 7, 11, 1, 8, 0, 12, 6],
                strict=True,
            )
        ],
        columns=["site", "sex", "age", "count"],
    )
    by_sex = Table.from_frame(frame, ["site"], ["sex"], name="by sex")
    by_age = Table.from_frame(frame, ["site"], ["age"], name="by age")
    rules = profile(threshold=5, width=2)
    result = protect([by_sex, by_age], rules, exact=True)
    assert result.report.ok
    sex, age = result.tables
    for site in ("A", "B", "C"):  # the site total is one cell in both tables
        assert (sex.shown[(site, "Total")] is None) == (age.shown[(site, "Total")] is None)
    assert audit([sex, age], rules, exact=True).ok
    assert (result.pattern["reason"] == "threshold").any()


def test_zeros_are_never_chosen_when_zeros_are_published() -> None:
    table = grid([[0, 3, 0, 12], [7, 0, 9, 10], [8, 6, 0, 11]])
    result = protect([table], profile(threshold=5, width=2))
    values = table.values()
    assert all(values[k] > 0 for k in result.tables[0].suppressed)
    assert result.report.ok


def test_protect_with_insiders_passes_its_audit() -> None:
    table = grid([[6, 9, 4, 12], [7, 15, 9, 10], [8, 6, 11, 21]])
    shares = {
        "A": [[6, 2, 4, 6], [0, 5, 9, 5], [8, 3, 5, 7]],
        "B": [[0, 7, 0, 6], [7, 5, 0, 5], [0, 3, 6, 7]],
        "C": [[0, 0, 0, 0], [0, 5, 0, 0], [0, 0, 0, 7]],
    }
    contributions = agency_frame(shares)
    rules = profile(threshold=5, p=10, width=2)
    result = protect([table], rules, contributions)
    assert set(result.pattern["reason"]) >= {"dominance", "secondary"}
    assert audit(list(result.tables), rules, contributions=contributions, exact=True).ok


def test_contributions_must_add_up() -> None:
    with pytest.raises(IspError, match="do not add up"):
        protect([grid([[6, 9], [7, 8]])], profile(), agency_frame({"A": [[6, 9], [7, 7]]}))


def test_inconsistent_published_figures_are_refused() -> None:
    from isp.disclosure.crosstab import read_crosstab

    published = read_crosstab(b"row,c0,c1,Total\nr0,5,x,20\nr1,x,x,9\nTotal,3,x,29\n", "bad.csv")
    with pytest.raises(IspError, match=r"inconsistent|do not add up"):
        audit([published], profile(), exact=True)


def test_protection_is_deterministic() -> None:
    rng = np.random.default_rng(7)
    shares = {a: rng.choice([0, 0, 1, 2, 5], size=(5, 4)).tolist() for a in ("A", "B", "C")}
    contributions = agency_frame(shares)
    table = Table.from_frame(contributions, ["row"], ["col"], name="t")
    rules = profile(threshold=4, p=10, width=2)
    first = protect([table], rules, contributions)
    second = protect([table], rules, contributions)
    assert first.tables[0].shown == second.tables[0].shown
    assert first.pattern.equals(second.pattern)
