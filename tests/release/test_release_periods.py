"""A recipient who holds the quarters of 2026 asks for the year (issue: overlapping periods across
releases): the audit meets the periods in the months (flows summed, a stock its last month's, as
the consolidation makes them) instead of refusing the overlap. With large counts the year goes
out; where the year minus three held quarters pins a small count of the fourth, it is refused,
naming the cells; the independent integer-programming attacker of the rounding tests, holding
the quarters and the year, narrows no small count in any case the audit lets out. Hand-made
figures on the real protocol, built as :func:`isp.release.build.earlier_holdings` builds them;
no crypto."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from isp.disclosure.rounding import Rounded, witness_ranges
from isp.errors import IspError
from isp.protocol import loading
from isp.protocol.periods import Period
from isp.release import holdings
from isp.release.cube import LEAF, leaves
from isp.release.protect import round_period
from isp.release.sources import PeriodFigures, ground_of
from isp.release.spec import ReleaseSpec, read_spec
from tests.disclosure.test_disclosure_rounding import BASE, RoundingAttacker, incidence
from tests.helpers import REPO_ROOT

SITES = ("JO11", "JO22", "JO21")
INDICATORS = ["new_cases", "active_cases"]  # a flow and a stock
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
QUARTERS = {"periods": ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"], "indicators": INDICATORS,
            "geography": ["national", "JO11"]}  # fmt: skip
YEAR = {**QUARTERS, "periods": ["2026"]}
WHERE = ("6-11", "SYR")  # every other age and nationality has no child in these figures
Counts = Callable[[np.random.Generator, str, str], int]


def _months(seed: int, counts: Counts) -> dict[str, pd.DataFrame]:
    """Each month's ground figures: ``counts(rng, month, indicator)`` at ages 6-11, Syrian."""
    rng = np.random.default_rng(seed)
    dims = loading.load(REPO_ROOT).dimension_codes()
    out = {}
    for month in MONTHS:
        rows = [
            (site, ind, sex, age, nat, counts(rng, month, ind) if (age, nat) == WHERE else 0)
            for site in SITES
            for ind in INDICATORS
            for sex in dims["sex"]
            for age in dims["age_group"]
            for nat in dims["nationality"]
        ]
        out[month] = ground_of(pd.DataFrame(rows, columns=[*LEAF, "count"]))
    return out


def _period(monthly: dict[str, pd.DataFrame], period: Period) -> pd.DataFrame:
    """The period's figures as the consolidation makes them: flows summed, stocks the last month's
    (written here again, independently of the audit)."""
    frames = [monthly[m] for m in period.months]
    summed = pd.concat(frames).groupby(LEAF, as_index=False)["count"].sum()
    flows = summed[summed["indicator"] == "new_cases"]
    stocks = frames[-1][frames[-1]["indicator"] == "active_cases"]
    return ground_of(pd.concat([flows, stocks], ignore_index=True))


def _figures(spec: ReleaseSpec, period: Period, monthly: dict[str, pd.DataFrame]) -> PeriodFigures:
    frame = _period(monthly, period)
    plan, geo = spec.indicators, spec.geography
    none = pd.DataFrame(columns=[*LEAF, "count", "agency"])
    return PeriodFigures(period, leaves(frame, plan, geo, plan.counts), leaves(frame, plan, geo, ()), none,
                         ground=frame, monthly={m: monthly[m] for m in period.months})  # fmt: skip


Outcome = tuple[list[Rounded], Rounded, list[str], float]


def _quarters_then_year(seed: int, counts: Counts) -> Outcome:
    """REL-1 (the four quarters, audited one after the other as a release is), then the year
    audited against them; the seconds the year's rounding and audit took."""
    isp_ = loading.load(REPO_ROOT)
    profile = isp_.protocol.disclosure.profiles["external"]
    monthly = _months(seed, counts)
    quarters_spec, year_spec = read_spec(isp_, QUARTERS, "r1.yaml"), read_spec(isp_, YEAR, "r2.yaml")
    held = holdings.Holdings(monthly=True)
    quarters = []
    for period in quarters_spec.periods:
        figures = _figures(quarters_spec, period, monthly)
        result = round_period(isp_, quarters_spec, figures, profile, held)
        assert not holdings.check(isp_, quarters_spec, figures, result, held.related(period))
        held.add(holdings.Held(holdings.THIS, quarters_spec, result, figures.ground, period, figures.monthly))
        quarters.append(result)
    held.settle("REL-1")
    (year,) = year_spec.periods
    assert len(held.related(year)) == 4
    started = time.perf_counter()
    figures = _figures(year_spec, year, monthly)
    result = round_period(isp_, year_spec, figures, profile, held)
    narrowed = holdings.check(isp_, year_spec, figures, result, held.related(year))
    return quarters, result, narrowed, time.perf_counter() - started


def _large(rng: np.random.Generator, month: str, indicator: str) -> int:
    return int(rng.integers(10, 30))


def _some_small(rng: np.random.Generator, month: str, indicator: str) -> int:
    return int(rng.integers(0, 3))


def _pinned(rng: np.random.Generator, month: str, indicator: str) -> int:
    """Large in the first three quarters; the fourth's new cases small (1 or 2) in every cell."""
    if indicator == "active_cases":
        return int(rng.integers(10, 30))
    return int(rng.integers(10, 30)) if month < "2026-10" else (1 if month == "2026-10" else 0)


CASES = range(6)


@pytest.fixture(scope="module")
def outcomes() -> dict[int, Outcome]:
    return {seed: _quarters_then_year(seed, _some_small) for seed in CASES}


def test_the_year_after_its_quarters_with_large_counts_goes_out() -> None:
    quarters, year, narrowed, seconds = _quarters_then_year(0, _large)
    assert narrowed == [] and not witness_ranges(year)
    assert _attack(quarters, year) == []
    print(f"\nthe year after four quarters, rounded and audited in {seconds:.2f} s")


def test_a_year_that_pins_a_small_count_of_the_fourth_quarter_is_refused_by_labels() -> None:
    """The year minus the three exact quarters is the fourth quarter's small count: refused, the
    cells named (the fourth quarter's, as REL-1 gave them) and no figure in the names."""
    _, _, narrowed, _ = _quarters_then_year(1, _pinned)
    assert narrowed, "the year would give away the fourth quarter's small counts"
    assert any("2026-Q4, as released in REL-1" in name for name in narrowed)
    for name in narrowed:
        words = re.sub(r"\b(0-5|6-11|12-17|2026(-Q\d)?|REL-1)\b", "", name)
        assert not re.search(r"\d", words.replace("JO", "")), f"a figure in {name}"


def test_the_audit_lets_some_years_out_and_refuses_others(outcomes: dict[int, Outcome]) -> None:
    passed = [seed for seed, (_, _, narrowed, _) in outcomes.items() if not narrowed]
    assert passed and len(passed) < len(CASES), "the cases exercise both outcomes"


def test_the_attacker_holding_quarters_and_year_narrows_no_small_count(outcomes: dict[int, Outcome]) -> None:
    """Every case the audit lets out (the others are refused: nothing goes out)."""
    released = [(quarters, year) for quarters, year, narrowed, _ in outcomes.values() if not narrowed]
    assert released
    for quarters, year in released:
        assert _attack(quarters, year) == [], "the attacker narrowed these leaves"


def test_without_the_audit_the_year_would_narrow_a_small_count(outcomes: dict[int, Outcome]) -> None:
    """The attacker has teeth: the year rounded as for another recipient, held with the quarters."""
    isp_ = loading.load(REPO_ROOT)
    profile = isp_.protocol.disclosure.profiles["external"]
    found = []
    for seed, (quarters, _, _, _) in outcomes.items():
        year_spec = read_spec(isp_, YEAR, "r2.yaml")
        (year,) = year_spec.periods
        alone = round_period(isp_, year_spec, _figures(year_spec, year, _months(seed, _some_small)), profile)
        found += _attack(quarters, alone)
        if found:
            break
    assert found


def test_months_that_cannot_model_a_period_keep_the_refusal() -> None:
    """A stock that is not its last month's (an agency left it out), or a month not consolidated:
    the overlap is refused, saying why."""
    isp_ = loading.load(REPO_ROOT)
    profile = isp_.protocol.disclosure.profiles["external"]
    monthly = _months(2, _large)
    quarters_spec, year_spec = read_spec(isp_, QUARTERS, "r1.yaml"), read_spec(isp_, YEAR, "r2.yaml")
    held = holdings.Holdings(monthly=True)
    q1 = quarters_spec.periods[0]
    figures = _figures(quarters_spec, q1, monthly)
    result = round_period(isp_, quarters_spec, figures, profile)
    held.add(holdings.Held("REL-1", quarters_spec, result, figures.ground, q1, figures.monthly))
    (year,) = year_spec.periods
    good = _figures(year_spec, year, monthly)
    december = monthly["2026-12"]
    stale = {**monthly, "2026-12": december.assign(count=december["count"] + (december["indicator"] == "active_cases"))}
    cases = {
        "not all consolidated": replace(good, monthly=None),
        "is not the figure of its last month": replace(good, monthly=stale),
    }
    for why, figures in cases.items():
        with pytest.raises(IspError, match=f"2026 overlaps 2026-Q1.*{why}"):
            round_period(isp_, year_spec, figures, profile, held)


def _release_leaves(result: Rounded) -> pd.DataFrame:
    frame = pd.concat([t.table.leaves for t in result.tables], ignore_index=True).drop_duplicates(LEAF)
    return frame.reset_index(drop=True)


def _attack(quarters: list[Rounded], year: Rounded) -> list[int]:
    """The attacker of the rounding tests over the leaves of the four quarters and the year: every
    published cell of each (one rounding each), and what it knows of periods: a year's new cases
    are its quarters' sum, its active cases the fourth quarter's. It is told every leaf outside
    ages 6-11, Syrian, is 0 (those leaves are left out: more than it knows, the test only gets
    stricter), and that exact cells may have been rounded to a multiple of the base."""
    results = [*quarters, year]
    frames = [_release_leaves(r) for r in results]
    kept = [np.flatnonzero((f["age_group"] == WHERE[0]) & (f["nationality"] == WHERE[1])) for f in frames]
    position, n = [], 0
    for frame, rows in zip(frames, kept, strict=True):
        position.append({tuple(str(v) for v in frame.loc[j, LEAF]): n + i for i, j in enumerate(rows)})
        n += len(rows)
    truth = np.concatenate([f.loc[rows, "count"].to_numpy(float) for f, rows in zip(frames, kept, strict=True)])
    attacker = RoundingAttacker(n, bound=float(truth.sum() + 2 * BASE * n), coarse=True)
    for k, result in enumerate(results):
        cells, values = [], []
        for published in result.tables:
            labels, M, table_leaves = incidence(published.table, published)
            full = np.zeros((len(labels), n))
            for j, row in enumerate(table_leaves[LEAF].astype(str).to_numpy()):
                if tuple(row) in position[k]:
                    full[:, position[k][tuple(row)]] += M[:, j]
            cells.append(full)
            values += [float(published.shown[lab] or 0) for lab in labels]
        attacker.add_release(np.vstack(cells), np.array(values))
    width = len(attacker.rows[0])
    for key, i in position[4].items():
        parts = [position[q][key] for q in range(4)] if key[1] == "new_cases" else [position[3][key]]
        attacker._row(width, {i: 1.0, **{p: -1.0 for p in parts}}, 0, 0)
    small = np.flatnonzero((truth >= 1) & (truth < BASE))
    return [int(j) for j in small if np.subtract(*attacker.range_of(int(j))[::-1]) < BASE - 1]
