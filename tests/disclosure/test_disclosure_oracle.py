"""The audit against independent attackers: a brute-force enumeration of every completion of small
tables, and an integer program written here (scipy milp directly on the published table) on random
sparse tables shaped like the real data, after protection. Synthetic figures only."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from isp.disclosure import PublishedTable, Table, audit, protect
from tests.disclosure.helpers import grid, profile

TOTAL = "Total"

# --- an independent reading of a published 2-D table with margins ------------------------------


def _cells(pub: PublishedTable) -> tuple[list[str], list[str], dict[tuple[str, str], int | None]]:
    rows = [r for r in dict.fromkeys(k[0] for k in pub.shown) if r != TOTAL]
    cols = [c for c in dict.fromkeys(k[1] for k in pub.shown) if c != TOTAL]
    return rows, cols, dict(pub.shown)


def _members(key: tuple[str, str], rows: list[str], cols: list[str]) -> list[tuple[str, str]]:
    """Interior cells that make up ``key`` (itself when interior)."""
    rs = rows if key[0] == TOTAL else [key[0]]
    cs = cols if key[1] == TOTAL else [key[1]]
    return [(r, c) for r in rs for c in cs]


class TooLarge(Exception):
    """The enumeration would take too long (a pattern that hides almost everything)."""


def brute_force(
    pub: PublishedTable, low: int, cap: int, budget: int = 300_000
) -> dict[tuple[str, str], tuple[int, int]]:
    """Min and max of every suppressed cell over all whole-number completions (a max of ``cap`` = unbounded)."""
    rows, cols, shown = _cells(pub)
    unknown = [(r, c) for r in rows for c in cols if shown[(r, c)] is None]
    hidden = [k for k, v in shown.items() if v is None]
    found: dict[tuple[str, str], list[int]] = {k: [] for k in hidden}
    for count, values in enumerate(_completions(unknown, rows, cols, shown, low, cap)):
        if count > budget:
            raise TooLarge
        full = {**{k: v for k, v in shown.items() if v is not None and k[0] != TOTAL and k[1] != TOTAL}, **values}
        sums = {k: sum(full[m] for m in _members(k, rows, cols)) for k in shown}
        if all(sums[k] == v for k, v in shown.items() if v is not None) and all(sums[k] >= low for k in hidden):
            for k in hidden:
                found[k].append(sums[k])
    return {k: (min(v), max(v)) for k, v in found.items()}


def _completions(
    unknown: list[tuple[str, str]], rows: list[str], cols: list[str], shown: dict, low: int, cap: int
) -> Iterator[dict[tuple[str, str], int]]:
    """Every assignment of the unknown interior cells in [low, cap], pruned by published row and column sums."""

    def left(line: list[tuple[str, str]], total: int | None, partial: dict) -> int | None:
        if total is None:
            return None
        return total - sum(shown[k] if shown[k] is not None else partial.get(k, 0) for k in line)

    def extend(i: int, partial: dict) -> Iterator[dict]:
        if i == len(unknown):
            yield dict(partial)
            return
        r, c = unknown[i]
        row_line, col_line = [(r, x) for x in cols], [(x, c) for x in rows]
        room = [
            x
            for x in (left(row_line, shown.get((r, TOTAL)), partial), left(col_line, shown.get((TOTAL, c)), partial))
            if x is not None
        ]
        top = min([cap, *room])
        row_done = all(k[0] != r for k in unknown[i + 1 :])
        row_left = left(row_line, shown.get((r, TOTAL)), partial)
        options = [row_left] if row_done and row_left is not None else range(low, top + 1)
        for v in options:
            if low <= v <= top:
                partial[(r, c)] = v
                yield from extend(i + 1, partial)
                del partial[(r, c)]

    yield from extend(0, {})


def milp_attack(pub: PublishedTable, lower: dict[tuple[str, str], float], low: int) -> dict:
    """Min and max of every suppressed cell by integer programs over the interior cells (``lower``:
    known lower bounds of interior cells, e.g. an insider's own figures)."""
    rows, cols, shown = _cells(pub)
    inner = [(r, c) for r in rows for c in cols]
    index = {k: i for i, k in enumerate(inner)}

    def vector(key: tuple[str, str]) -> np.ndarray:
        out = np.zeros(len(inner))
        out[[index[m] for m in _members(key, rows, cols)]] = 1
        return out

    published = [(vector(k), v) for k, v in shown.items() if v is not None]
    hidden = [k for k, v in shown.items() if v is None]
    cons = []
    if published:
        values = [v for _, v in published]
        cons.append(LinearConstraint(np.array([a for a, _ in published]), values, values))
    if hidden:
        cons.append(LinearConstraint(np.array([vector(k) for k in hidden]), low, np.inf))
    bounds = Bounds([lower.get(k, 0) for k in inner], np.inf)
    out = {}
    for key in hidden:
        a = vector(key)
        ends = []
        for sign in (1, -1):
            res = milp(sign * a, constraints=cons, integrality=np.ones(len(inner)), bounds=bounds)
            if res.status == 4:  # HiGHS' presolve cannot tell unbounded from infeasible: ask without it
                res = milp(
                    sign * a,
                    constraints=cons,
                    integrality=np.ones(len(inner)),
                    bounds=bounds,
                    options={"presolve": False},
                )
            assert res.status in (0, 3), res.message
            ends.append(np.inf if res.status == 3 else sign * res.fun)
        out[key] = (round(ends[0]), ends[1] if np.isinf(ends[1]) else round(ends[1]))
    return out


def structural_min(pub: PublishedTable, key: tuple[str, str], lower: dict, low: int) -> float:
    """The least value of ``key`` the suppression pattern alone allows (nothing published)."""
    rows, cols, shown = _cells(pub)
    inner = [(r, c) for r in rows for c in cols]
    hidden = [k for k, v in shown.items() if v is None]
    a = np.array([[1.0 if m in _members(k, rows, cols) else 0.0 for m in inner] for k in hidden])
    target = np.array([1.0 if m in _members(key, rows, cols) else 0.0 for m in inner])
    res = milp(
        target,
        constraints=[LinearConstraint(a, low, np.inf)],
        integrality=np.ones(len(inner)),
        bounds=Bounds([lower.get(k, 0) for k in inner], np.inf),
    )
    return float(res.fun)


# --- the audit agrees with the brute force -------------------------------------------------------

PATTERNS = [
    [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")],
    [("r0", "c0"), ("r0", "c2"), ("r2", "c0"), ("r2", "c2"), ("r1", "Total")],
    [("r0", "c1"), ("r1", "c1"), ("r2", "c1"), ("Total", "c1"), ("r0", "c0")],
    [("r0", "c0"), ("r1", "c1"), ("r2", "c2"), ("r0", "c1"), ("r1", "c2"), ("r2", "c0")],
]


@pytest.mark.parametrize("zeros", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_exact_audit_equals_the_brute_force_on_small_tables(seed: int, zeros: bool) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(1 if zeros else 0, 5, size=(3, 3))
    table = grid(values.tolist())
    pattern = PATTERNS[seed % len(PATTERNS)]
    pub = PublishedTable.of(table, pattern)
    rules = profile(zeros_published=zeros)
    low = 1 if zeros else 0
    expected = brute_force(pub, low, cap=int(values.sum()) + 1)
    report = audit([pub], rules, exact=True)
    got = {row.cell: (row.lo, row.hi) for row in report.intervals.itertuples()}
    for key, (lo, hi) in expected.items():
        assert got[table.describe(key)] == (lo, hi), key


@given(st.integers(0, 10_000))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_protected_small_tables_agree_with_the_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(5, 13, size=(3, 3))
    small = rng.choice(9, size=int(rng.integers(1, 4)), replace=False)
    values.flat[small] = rng.integers(1, 4, size=len(small))  # one to three small cells
    table = grid(values.tolist())
    rules = profile(threshold=4, width=2)
    result = protect([table], rules)
    pub = result.tables[0]
    cap = int(values.sum()) + 1
    try:
        expected = brute_force(pub, 1, cap=cap)
    except TooLarge:
        reject()  # a few patterns hide nearly every cell; the other tests cover them
    truth = table.values()
    for key, (lo, hi) in expected.items():
        assert lo < hi, key  # nothing recovered exactly
        if 1 <= truth[key] < 4:
            assert hi >= truth[key] + 2
    exact = audit([pub], rules, exact=True)
    assert exact.ok
    got = {row.cell: (row.lo, row.hi) for row in exact.intervals.itertuples()}
    for key, (lo, hi) in expected.items():
        found_lo, found_hi = got[table.describe(key)]
        assert found_lo == lo and (found_hi == hi or (np.isinf(found_hi) and hi == cap)), key


# --- random sparse tables shaped like the real data, attacked independently -----------------------


@st.composite
def sparse_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    """Sites x breakdown with many 0-4 counts, each cell made by 1 to 5 agencies."""
    n_rows, n_cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    agencies = ["A", "B", "C", "D", "E"]
    records = []
    for r, c in itertools.product(range(n_rows), range(n_cols)):
        count = draw(st.sampled_from([0, 0, 1, 1, 2, 3, 4, 6, 9, 14]))
        makers = draw(st.lists(st.sampled_from(agencies), min_size=1, max_size=5, unique=True))
        shares = np.bincount(
            draw(st.lists(st.integers(0, len(makers) - 1), min_size=count, max_size=count)), minlength=len(makers)
        )
        records += [(f"r{r}", f"c{c}", a, int(s)) for a, s in zip(makers, shares, strict=True)]
    frame = pd.DataFrame(records, columns=["row", "col", "agency", "count"])
    return frame, agencies


def _primary(values: dict, shares: dict, key: tuple[str, str], k: int, p: float) -> bool:
    if 1 <= values[key] < k:
        return True
    ordered = [*sorted(shares.get(key, {}).values(), reverse=True), 0, 0]
    return ordered[0] > 0 and sum(ordered[2:]) < p / 100 * ordered[0]


@given(sparse_tables(), st.sampled_from([1, 2, 3]), st.sampled_from([0.0, 10.0]))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_protected_sparse_tables_resist_an_independent_attack(table_data, width: int, p: float) -> None:
    frame, agencies = table_data
    rules = profile(threshold=3, p=p, width=width)
    table = Table.from_frame(frame, ["row"], ["col"], name="t")
    result = protect([table], rules, frame)
    pub = result.tables[0]
    values = table.values()
    rows, cols, shown = _cells(pub)
    shares = {}
    for key in values:
        part = frame[frame["row"].isin(_axis(key[0], rows)) & frame["col"].isin(_axis(key[1], cols))]
        shares[key] = part.groupby("agency")["count"].sum().to_dict()
    attackers = {"public": {}} | {a: {(r, c): shares[(r, c)].get(a, 0) for r in rows for c in cols} for a in agencies}
    for name, own in attackers.items():
        found = milp_attack(pub, own, 1)
        for key, (lo, hi) in found.items():
            assert lo < hi, (name, key)  # no suppressed cell (nor another agency's part) recovered exactly
            v = values[key]
            mine = sum(own.get(m, 0) for m in _members(key, rows, cols))
            if _primary(values, shares, key, 3, p):
                assert hi >= v + width, (name, key)
                floor = max(1, mine, v - width)
                assert lo <= floor or lo <= structural_min(pub, key, own, 1), (name, key)
            elif name == "public":
                assert hi - lo >= width, (name, key)
    for key, v in shown.items():
        if v is not None:
            assert not _primary(values, shares, key, 3, p), key


def _axis(label: str, codes: list[str]) -> list[str]:
    return codes if label == TOTAL else [label]
