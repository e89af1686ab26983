"""Small-count rounding (issue 11): additive on random hierarchical tables, and an independent
integer-programming attacker, written here with scipy's milp and nothing of the package's model,
narrows no protected cell below the profile's width: under rounding, under suppression, with
percentages, and across two releases of the same request. Synthetic figures only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from isp.disclosure import PublishedTable, Table, protect
from isp.disclosure.rounding import inner_values, small_count_round, witness_ranges
from isp.protocol.models import DisclosureProfile
from isp.release.protect import rounded_percentages
from tests.helpers import REPO_ROOT

BASE = 5
ROUNDING = DisclosureProfile(
    method="rounding", round_base=BASE, threshold=5, site_threshold=5, dominance_p=0, protection_width=4,
    min_denominator=20,
)  # fmt: skip
SUPPRESSION = DisclosureProfile(threshold=5, site_threshold=5, dominance_p=0, protection_width=3, min_denominator=20)
REGIONS = {"North": ("A", "B"), "South": ("C", "D", "E")}


def frame(values: Sequence[int], sites: Sequence[str] = ("A", "B", "C"), extra: str = "age_group") -> pd.DataFrame:
    """Leaves ``site x sex x <extra>`` (``extra``: a second breakdown, two codes)."""
    keys = [(s, x, e) for s in sites for x in ("F", "M") for e in ("e1", "e2")]
    rows = [(s, x, e, int(v)) for (s, x, e), v in zip(keys, values, strict=False)]
    return pd.DataFrame(rows, columns=["site", "sex", extra, "count"])


# --- the independent attacker ----------------------------------------------------------------


def incidence(table: Table, published: PublishedTable) -> tuple[list[tuple[str, ...]], np.ndarray, pd.DataFrame]:
    """Cells x leaves of ``table`` worked out here from labels (a Total label matches every code)."""
    leaves = table.leaves.reset_index(drop=True)
    dims = [*table.rows, *table.cols]
    labels = list(published.shown)
    M = np.zeros((len(labels), len(leaves)))
    for i, lab in enumerate(labels):
        match = np.ones(len(leaves), bool)
        for dim, value in zip(dims, lab, strict=True):
            if value != table.total_label:
                match &= leaves[dim].astype(str).to_numpy() == value
        M[i] = match
    return labels, M, leaves


def _extremes(c_rows: list[np.ndarray], A: np.ndarray, lo: np.ndarray, hi: np.ndarray, integrality: np.ndarray,
              objective: np.ndarray) -> tuple[float, float]:  # fmt: skip
    constraints = [LinearConstraint(A, lo, hi)] if len(A) else []
    ends = []
    for sign in (1.0, -1.0):
        res = milp(
            sign * objective, constraints=constraints, integrality=integrality, bounds=Bounds(c_rows[0], c_rows[1])
        )
        assert res.status == 0, res.message
        ends.append(sign * res.fun)
    return ends[0], ends[1]


class RoundingAttacker:
    """Knows the rule (a leaf of 1..b-1 becomes 0 or b, any other stays) and every published cell
    of every release given; finds each leaf's smallest and largest true value by integer programming.

    Variables per leaf: z (true), then per release r (rounded), s (rounded?), up, big (z >= b).
    ``coarse``: it also knows that a leaf of b or more may be published as a multiple of b less
    than b away (the rounding of exact cells that would narrow a small one); per release two more
    variables per leaf, c (so published?) and m (r = b m)."""

    def __init__(self, n: int, bound: float, coarse: bool = False) -> None:
        self.n, self.U = n, bound
        self.kinds = 6 if coarse else 4
        self.rows: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.releases = 0

    def _var(self, release: int, kind: int) -> int:
        return self.n * (1 + self.kinds * release + kind)  # kinds: r, s, up, big (c, m)

    def add_release(self, M: np.ndarray, y: np.ndarray) -> None:
        k, n, U = self.releases, self.n, self.U
        self.releases += 1
        width = self.n * (1 + self.kinds * self.releases)
        self.rows = [np.pad(r, (0, width - len(r))) for r in self.rows]
        z, r, s, up, big = 0, self._var(k, 0), self._var(k, 1), self._var(k, 2), self._var(k, 3)
        for j in range(n):
            self._row(width, {z + j: 1, s + j: -1}, 0, np.inf)  # rounded => z >= 1
            self._row(width, {z + j: 1, s + j: U - (BASE - 1)}, -np.inf, U)  # rounded => z <= b-1
            self._row(width, {r + j: 1, up + j: -BASE, s + j: U}, -np.inf, U)  # rounded => r = b up
            self._row(width, {r + j: 1, up + j: -BASE, s + j: -U}, -U, np.inf)
            self._row(width, {up + j: 1, s + j: -1}, -np.inf, 0)
            self._row(width, {z + j: 1, big + j: -BASE, s + j: BASE}, 0, np.inf)  # not rounded => 0 or >= b
            self._row(width, {z + j: 1, big + j: -U, s + j: -U}, -np.inf, 0)
            if self.kinds == 4:
                self._row(width, {r + j: 1, z + j: -1, s + j: -U}, -np.inf, 0)  # not rounded => r = z
                self._row(width, {r + j: 1, z + j: -1, s + j: U}, 0, np.inf)
                continue
            c, m = self._var(k, 4) + j, self._var(k, 5) + j
            self._row(width, {r + j: 1, z + j: -1, s + j: -U, c: -U}, -np.inf, 0)  # neither => r = z
            self._row(width, {r + j: 1, z + j: -1, s + j: U, c: U}, 0, np.inf)
            self._row(width, {s + j: 1, c: 1}, -np.inf, 1)
            self._row(width, {r + j: 1, m: -BASE, c: U}, -np.inf, U)  # coarse => r = b m
            self._row(width, {r + j: 1, m: -BASE, c: -U}, -U, np.inf)
            self._row(width, {r + j: 1, z + j: -1, c: U}, -np.inf, BASE - 1 + U)  # coarse => |r - z| < b
            self._row(width, {r + j: 1, z + j: -1, c: -U}, -(BASE - 1) - U, np.inf)
            self._row(width, {z + j: 1, c: -BASE}, 0, np.inf)  # coarse => z >= b
        for cell, value in zip(M, y, strict=True):
            row = np.zeros(width)
            row[r : r + n] = cell
            self.rows.append(row)
            self.lo.append(value)
            self.hi.append(value)

    def _row(self, width: int, coef: dict[int, float], lo: float, hi: float) -> None:
        row = np.zeros(width)
        for k, v in coef.items():
            row[k] = v
        self.rows.append(row)
        self.lo.append(lo)
        self.hi.append(hi)

    def range_of(self, j: int) -> tuple[float, float]:
        width = len(self.rows[0])
        upper = np.full(width, 1.0)
        upper[: self.n] = self.U
        for k in range(self.releases):
            upper[self._var(k, 0) : self._var(k, 0) + self.n] = self.U
            if self.kinds == 6:
                upper[self._var(k, 5) : self._var(k, 5) + self.n] = self.U
        integrality = np.ones(width)
        objective = np.zeros(width)
        objective[j] = 1
        return _extremes([np.zeros(width), upper], np.array(self.rows), np.array(self.lo), np.array(self.hi),
                         integrality, objective)  # fmt: skip


def assert_small_leaves_unpinned(attacker: RoundingAttacker, truth: np.ndarray, rounded: np.ndarray) -> None:
    for j in np.flatnonzero((truth >= 1) & (truth < BASE)):
        lo, hi = attacker.range_of(int(j))
        want = (0, BASE - 1) if rounded[j] == 0 else (1, BASE)
        assert lo <= want[0] and hi >= want[1], f"leaf {j} narrowed to [{lo:g}, {hi:g}]"


def _published(result, table_index: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    table = result.tables[table_index].table
    labels, M, leaves = incidence(table, result.tables[table_index])
    return M, np.array([result.tables[table_index].shown[lab] for lab in labels], float), leaves


# --- additivity ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 12), min_size=20, max_size=20))
def test_rounding_keeps_every_table_additive(values: list[int]) -> None:
    """Random counts over five sites in two regions: every published total (regions, margins,
    the national total) is the sum of its published parts, and every small count is 0 or the base."""
    data = frame(values, sites=("A", "B", "C", "D", "E"))
    order = {"site": ("A", "B", "C", "D", "E")}
    t1 = Table.from_frame(data, ["site"], ["sex"], name="by sex", categories=order, subtotals={"site": REGIONS})
    t2 = Table.from_frame(data, ["sex"], ["age_group"], name="national")
    result = small_count_round([t1, t2], ROUNDING)
    published, truth = result.published, result.model.value
    assert truth is not None
    for total, parts in result.model.lines:
        assert published[total] == sum(published[p] for p in parts)
    assert all(published[(truth >= 1) & (truth < BASE)] % BASE == 0)
    assert not witness_ranges(result)


# --- the attacker, under rounding ------------------------------------------------------------


CASES = [
    [3, 0, 1, 7, 2, 2, 0, 4, 9, 1, 3, 0],
    [1, 1, 1, 1, 4, 4, 4, 4, 0, 2, 0, 2],
    [12, 3, 0, 0, 1, 6, 2, 2, 3, 3, 0, 5],
]


@pytest.mark.parametrize("values", CASES)
def test_the_attacker_pins_no_small_count_under_rounding(values: list[int]) -> None:
    data = frame(values, extra="age_group")
    by_sex = Table.from_frame(data, ["site"], ["sex"], name="by sex")
    by_age = Table.from_frame(data, ["site"], ["age_group"], name="by age")
    result = small_count_round([by_sex, by_age], ROUNDING)
    attacker = RoundingAttacker(len(by_sex.leaves), bound=float(sum(values) + 2 * BASE * len(values)))
    for i in range(2):
        M, y, leaves = _published(result, i)
        attacker.add_release(M, y)
    truth = leaves["count"].to_numpy(float)
    rounded = _leaf_rounding(result, leaves)
    assert_small_leaves_unpinned(attacker, truth, rounded)


def _leaf_rounding(result, leaves: pd.DataFrame) -> np.ndarray:
    """The rounded value of each leaf (read from the rounding, to know which range to expect)."""
    values = inner_values(result)
    dims = list(result.model.tables[0].dims)
    out = []
    for _, row in leaves.iterrows():
        key = tuple(str(row[d]) for d in dims)
        out.append(values.get(key, row["count"]))
    return np.array(out, float)


def test_two_releases_of_the_same_request_keep_each_small_count_unpinned() -> None:
    """The second release (another breakdown of the same leaves) keeps the first one's rounding
    of every still-small leaf; the attacker holding both finds no narrower range."""
    values = [3, 0, 1, 7, 2, 2, 0, 4, 9, 1, 3, 0]
    data = frame(values, extra="age_group")
    first = small_count_round([Table.from_frame(data, ["site"], ["sex"], name="r1")], ROUNDING)
    second = small_count_round(
        [Table.from_frame(data, ["site", "sex"], ["age_group"], name="r2", margins=["age_group"])],
        ROUNDING,
        prior=inner_values(first),
    )
    assert inner_values(second) == inner_values(first)
    attacker = RoundingAttacker(len(data), bound=float(sum(values) + 2 * BASE * len(values)))
    for result in (first, second):
        M, y, leaves = _published(result, 0)
        attacker.add_release(M, y)
    assert_small_leaves_unpinned(attacker, leaves["count"].to_numpy(float), _leaf_rounding(first, leaves))


# --- the attacker, under suppression ---------------------------------------------------------


@pytest.mark.parametrize("values", CASES)
def test_the_attacker_narrows_no_suppressed_cell_below_the_width(values: list[int]) -> None:
    data = frame(values, extra="age_group")
    tables = [
        Table.from_frame(data, ["site"], ["sex"], name="a"),
        Table.from_frame(data, ["site"], ["age_group"], name="b"),
    ]
    result = protect(tables, SUPPRESSION)
    rows, lo, hi, targets = [], [], [], []
    n = len(data)
    for i, table in enumerate(tables):
        labels, M, _ = incidence(table, result.tables[i])
        for lab, cell in zip(labels, M, strict=True):
            value = result.tables[i].shown[lab]
            if value is None:
                targets.append(cell)
                rows.append(cell)
                lo.append(1.0)  # zeros are published: a hidden cell is at least 1
                hi.append(np.inf)
            else:
                rows.append(cell)
                lo.append(float(value))
                hi.append(float(value))
    assert targets, "the case suppresses something"
    A = np.array(rows)
    for cell in targets:
        low, high = _extremes([np.zeros(n), np.full(n, np.inf)], A, np.array(lo), np.array(hi), np.ones(n), cell)
        assert high - low >= SUPPRESSION.protection_width


# --- the attacker, with percentages ----------------------------------------------------------


def test_percentages_of_rounded_counts_leave_every_numerator_uncertain() -> None:
    """Early marriage as a percentage of new cases by site and sex: the attacker holds the
    percentages, the published (rounded) denominators and even every true denominator leaf,
    and knows each numerator leaf was rounded to a neighbouring multiple of the base."""
    rng = np.random.default_rng(7)
    keys = [(s, x, a) for s in ("A", "B") for x in ("F", "M") for a in ("a1", "a2")]
    new = rng.integers(8, 60, len(keys))
    married = np.minimum(rng.integers(0, 14, len(keys)), new)
    rows = [(*k, "new_cases", int(v)) for k, v in zip(keys, new, strict=True)]
    rows += [(*k, "early_marriage", int(v)) for k, v in zip(keys, married, strict=True)]
    data = pd.DataFrame(rows, columns=["site", "sex", "age_group", "indicator", "count"])
    order = {"indicator": ("new_cases", "early_marriage")}

    def make(code: str) -> Table:
        return Table.from_frame(data, ["site"], ["sex"], where={"indicator": code}, name=code, categories=order)

    den = small_count_round([make("new_cases")], ROUNDING).tables[0]
    num = make("early_marriage")
    (percent,) = rounded_percentages([num], [den], ROUNDING)
    shown = {lab: p for lab, p in percent.percent.items() if p is not None}
    assert shown, "some percentages are published"
    labels, M, leaves = incidence(num, PublishedTable.of(num))
    n = len(leaves)
    den_leaf = data[data["indicator"] == "new_cases"].set_index(["site", "sex", "age_group"])["count"]
    cap = np.array([den_leaf[(r.site, r.sex, r.age_group)] for r in leaves.itertuples()], float)
    # variables: n (true numerator leaves), k (rounded = BASE k)
    rows, lo, hi = [], [], []
    for j in range(n):
        row = np.zeros(2 * n)
        row[j], row[n + j] = 1, -BASE
        rows.append(row)
        lo.append(-(BASE - 1))
        hi.append(BASE - 1)
    for lab, cell in zip(labels, M, strict=True):
        if lab not in shown:
            continue
        p, d = shown[lab], float(den.shown[lab] or 0)
        row = np.zeros(2 * n)
        row[n:] = 200 * BASE * cell
        if p == 100:
            rows.append(row), lo.append(199 * d), hi.append(np.inf)
        else:
            rows.append(row), lo.append((2 * p - 1) * d), hi.append((2 * p + 1) * d - 1)
    A = np.array(rows)
    bounds = [np.zeros(2 * n), np.concatenate([cap, np.full(n, np.inf)])]
    for lab, cell in zip(labels, M, strict=True):
        if lab in shown:
            objective = np.concatenate([cell, np.zeros(n)])
            low, high = _extremes(bounds, A, np.array(lo), np.array(hi), np.ones(2 * n), objective)
            assert high - low >= ROUNDING.protection_width, f"{lab}: [{low:g}, {high:g}]"


# --- the strict profile ----------------------------------------------------------------------


def test_the_strict_profile_is_the_former_external_profile() -> None:
    """The strict profile keeps every setting the external profile had before issue 11, so it
    hides what it hid (the release test re-runs its independent audit with it)."""
    from isp.protocol import loading

    strict = loading.load(REPO_ROOT).protocol.disclosure.profiles["strict"]
    assert strict.method == "suppression"
    assert (strict.threshold, strict.site_threshold, strict.dominance_p, strict.protection_width) == (5, 10, 10, 5)
    assert (strict.min_denominator, strict.zeros_published) == (20, True)


def test_the_attacker_catches_two_releases_rounded_differently() -> None:
    """The attacker is not toothless: had the second release rounded every small leaf the other
    way (no memory of the first), holding both would narrow them (0..4 and 1..5 give 1..4)."""
    values = [3, 0, 1, 7, 2, 2, 0, 4, 9, 1, 3, 0]
    data = frame(values)
    first = small_count_round([Table.from_frame(data, ["site"], ["sex"], name="r1")], ROUNDING)
    flipped = {key: BASE - value for key, value in inner_values(first).items()}
    second = small_count_round(
        [Table.from_frame(data, ["site", "sex"], ["age_group"], name="r2", margins=["age_group"])],
        ROUNDING,
        prior=flipped,
    )
    attacker = RoundingAttacker(len(data), bound=float(sum(values) + 2 * BASE * len(values)))
    for result in (first, second):
        M, y, leaves = _published(result, 0)
        attacker.add_release(M, y)
    truth = leaves["count"].to_numpy(float)
    narrowed = [
        np.subtract(*attacker.range_of(int(j))[::-1]) < BASE - 1 for j in np.flatnonzero((truth >= 1) & (truth < BASE))
    ]
    assert any(narrowed)


# --- a deterministic budget ------------------------------------------------------------------


def _busy(seconds: float) -> None:
    """Keep one core busy (the load under which a wall-clock limit would have cut the solver short)."""
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(i * i for i in range(1000))


def _large_case(seed: int) -> list[Table]:
    """Twenty sites in four regions, many small cells: blocks large enough to exhaust a tiny budget."""
    rng = np.random.default_rng(seed)
    sites = tuple(f"S{i:02d}" for i in range(20))
    data = frame(list(rng.integers(0, 9, 20 * 4)), sites=sites)
    regions = {f"R{k}": sites[5 * k : 5 * k + 5] for k in range(4)}
    order = {"site": sites}
    return [
        Table.from_frame(data, ["site"], ["sex"], name="by sex", categories=order, subtotals={"site": regions}),
        Table.from_frame(data, ["site"], ["age_group"], name="by age", categories=order),
        Table.from_frame(data, ["sex"], ["age_group"], name="national"),
    ]


@pytest.mark.parametrize("node_limit", [1, 3])
def test_a_tiny_budget_rounds_the_same_way_twice_and_under_load(node_limit: int) -> None:
    """The budget is counted in branch-and-bound nodes, not seconds: the same table with a budget
    too small to finish rounds identically twice, and again while every core is busy."""
    import multiprocessing

    tables = _large_case(11)
    first = small_count_round(tables, ROUNDING, node_limit=node_limit)
    again = small_count_round(tables, ROUNDING, node_limit=node_limit)
    context = multiprocessing.get_context("spawn")
    load = [context.Process(target=_busy, args=(20.0,)) for _ in range(2)]
    for process in load:
        process.start()
    try:
        loaded = small_count_round(tables, ROUNDING, node_limit=node_limit)
    finally:
        for process in load:
            process.terminate()
            process.join()
    for other in (again, loaded):
        assert np.array_equal(first.inner, other.inner)
        assert [t.shown for t in first.tables] == [t.shown for t in other.tables]
    assert not witness_ranges(first)


def test_rebuilding_an_earlier_rounding_gives_the_published_values() -> None:
    """What a later release does with an earlier one: round the same inputs again (here with no
    prior) and get exactly the published tables, which it then keeps as ``prior``."""
    tables = _large_case(12)
    published = small_count_round(tables, ROUNDING)
    rebuilt = small_count_round(tables, ROUNDING)
    assert [t.shown for t in rebuilt.tables] == [t.shown for t in published.tables]
    assert inner_values(rebuilt) == inner_values(published)
    kept = small_count_round(tables, ROUNDING, prior=inner_values(rebuilt))
    assert [t.shown for t in kept.tables] == [t.shown for t in published.tables]
