"""`isp disclosure audit|protect` through the real CLI, the cross-tab format, and the library's edges
(subtotals, prior releases, the LP fallback, fast against exact intervals). Synthetic figures only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from isp.disclosure import PublishedTable, Table, audit, protect, read_crosstab, to_crosstab
from isp.disclosure import lp as lp_module
from isp.errors import IspError, ValidationFailed
from tests.disclosure.helpers import agency_frame, grid, profile
from tests.helpers import REPO_ROOT, isp

LEAKY = "site \\ sex,F,M,Total\nJO11,10,x,15\nJO22,x,x,9\nJO13,30,28,58\nTotal,x,x,82\n"
SAFE_INPUT = "site \\ sex,F,M,Total\nJO11,31,3,34\nJO22,7,25,32\nJO13,30,28,58\nJO21,14,12,26\nTotal,82,68,150\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the protocol (profiles come from protocol.yaml)."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO_ROOT / "protocol", root / "protocol")
    return root


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_audit_reports_each_violation_on_one_line_and_exits_1(repo: Path, tmp_path: Path) -> None:
    table = _write(tmp_path, "leaky.csv", LEAKY)
    result = isp("disclosure", "audit", table, "--profile", "exact", "--repo", repo)
    assert result.code == 1, result.err
    lines = [line for line in result.err.splitlines() if "leaky.csv:" in line and "needed" in line]
    assert any("site=JO11, sex=M" in line and "[5, 5]" in line and "hi - lo >= 5" in line for line in lines)
    assert "Traceback" not in result.err


def test_a_rounding_profile_is_refused_by_the_suppression_commands(repo: Path, tmp_path: Path) -> None:
    table = _write(tmp_path, "leaky.csv", LEAKY)
    result = isp("disclosure", "audit", table, "--profile", "external", "--repo", repo)
    assert result.code == 1 and "rounds small counts" in result.err and "Traceback" not in result.err


def test_audit_json_lists_the_intervals(repo: Path, tmp_path: Path) -> None:
    table = _write(tmp_path, "leaky.csv", LEAKY)
    result = isp("disclosure", "audit", table, "--repo", repo, "--json")
    data = json.loads(result.out)
    assert result.code == 1
    assert not data["ok"]
    cell = next(c for c in data["cells"] if c["cell"].endswith("site=JO11, sex=M"))
    assert (cell["lo"], cell["hi"], cell["exact"]) == (5, 5, True)


def test_protect_writes_a_table_that_passes_its_audit(repo: Path, tmp_path: Path) -> None:
    source = _write(tmp_path, "full.csv", SAFE_INPUT)
    out = tmp_path / "protected.csv"
    result = isp("disclosure", "protect", source, "-o", out, "--repo", repo)
    assert result.code == 0, result.err
    protected = read_crosstab(out.read_bytes(), "protected.csv")
    assert protected.shown[("JO11", "M")] is None and protected.shown[("JO22", "F")] is None
    check = isp("disclosure", "audit", out, "--repo", repo)
    assert check.code == 0, check.err
    again = isp("disclosure", "protect", source, "-o", out, "--repo", repo)
    assert again.code == 1 and "--force" in again.err


def test_protect_refuses_a_table_with_hidden_cells_or_wrong_totals(repo: Path, tmp_path: Path) -> None:
    hidden = _write(tmp_path, "hidden.csv", LEAKY)
    result = isp("disclosure", "protect", hidden, "-o", tmp_path / "o.csv", "--repo", repo)
    assert result.code == 1 and "every cell must be given" in result.err
    wrong = _write(tmp_path, "wrong.csv", SAFE_INPUT.replace("Total,82,68,150", "Total,82,68,151"))
    result = isp("disclosure", "protect", wrong, "-o", tmp_path / "o.csv", "--repo", repo)
    assert result.code == 1 and "not the sum" in result.err
    assert "151" not in result.err  # no figure in the message
    assert not (tmp_path / "o.csv").exists()


def test_bad_csv_gives_one_line_per_problem(repo: Path, tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.csv", "site,F,F\nJO11,3,-1\nJO11,2\n")
    result = isp("disclosure", "audit", bad, "--repo", repo)
    assert result.code == 1
    assert "appears twice" in result.err
    assert "row 2, column F" in result.err and "whole number" in result.err
    assert "has 2 fields" in result.err
    missing = isp("disclosure", "audit", tmp_path / "nope.csv", "--repo", repo)
    assert missing.code == 1 and "no such file" in missing.err
    unknown = isp("disclosure", "audit", bad, "--profile", "press", "--repo", repo)
    assert unknown.code == 1 and "unknown disclosure profile" in unknown.err


def test_help_has_an_example_and_the_format(repo: Path) -> None:
    result = isp("disclosure", "audit", "--help")
    assert "Example:" in result.out and "Total" in result.out and "x" in result.out


def test_crosstab_round_trip() -> None:
    published = read_crosstab(LEAKY.encode(), "leaky.csv")
    assert published.table.rows == ("site",) and published.table.cols == ("sex",)
    assert published.shown[("JO11", "M")] is None and published.shown[("JO13", "Total")] == 58
    again = read_crosstab(to_crosstab(published), "again.csv")
    assert again.shown == published.shown


# --- library edges ----------------------------------------------------------------------------


def test_subtotals_are_cells_the_attacker_knows() -> None:
    frame = pd.DataFrame(
        [
            ("JO22", "F", 12),
            ("JO22", "M", 15),
            ("ZAATARI", "F", 3),
            ("ZAATARI", "M", 11),
            ("JO11", "F", 20),
            ("JO11", "M", 22),
        ],
        columns=["site", "sex", "count"],
    )
    table = Table.from_frame(frame, ["site"], ["sex"], subtotals={"site": {"JO22+camp": ["JO22", "ZAATARI"]}})
    rules = profile(threshold=5, width=2)
    leaky = PublishedTable.of(table, [("ZAATARI", "F"), ("ZAATARI", "Total")])
    assert not audit([leaky], rules, exact=True).ok  # the subtotal row gives the camp away
    result = protect([table], rules)
    assert result.report.ok and audit(list(result.tables), rules, exact=True).ok


def test_a_cell_an_earlier_release_gives_away_cannot_be_protected() -> None:
    months = pd.concat(
        [
            pd.DataFrame([("a", 2), ("b", 9), ("c", 12)], columns=["row", "count"]).assign(period="m1"),
            pd.DataFrame([("a", 7), ("b", 9), ("c", 12)], columns=["row", "count"]).assign(period="m2"),
        ]
    )
    first = Table.from_frame(months, ["row"], where={"period": "m1"}, name="m1")
    to_date = Table.from_frame(months, ["row"], where={"period": ["m1", "m2"]}, name="to date")
    rules = profile(threshold=5, width=1)
    careless = PublishedTable.of(first)  # m1's 2 was published in full
    with pytest.raises(IspError, match=r"cannot protect|earlier release"):
        protect([to_date, first], rules, prior=[careless])


def test_the_linprog_fallback_gives_the_same_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    table = grid([[6, 2, 9, 1], [7, 3, 8, 12], [5, 11, 2, 9]])
    rules = profile(threshold=4, width=2)
    result = protect([table], rules)
    fast = audit(list(result.tables), rules, exact=True).intervals
    monkeypatch.setattr(lp_module, "USE_BINDINGS", False)
    again = protect([table], rules)
    slow = audit(list(again.tables), rules, exact=True).intervals
    assert again.tables[0].shown == result.tables[0].shown
    pd.testing.assert_frame_equal(fast, slow)


def test_fast_intervals_never_claim_more_than_the_exact_ones() -> None:
    table = grid([[6, 2, 9, 1], [7, 3, 8, 12], [5, 11, 2, 9]])
    shares = {"A": [[6, 2, 4, 1], [3, 3, 8, 6], [5, 6, 2, 9]], "B": [[0, 0, 5, 0], [4, 0, 0, 6], [0, 5, 0, 0]]}
    rules = profile(threshold=4, p=10, width=2)
    contributions = agency_frame(shares)
    result = protect([table], rules, contributions)
    fast = audit(list(result.tables), rules, contributions=contributions).intervals
    exact = audit(list(result.tables), rules, contributions=contributions, exact=True).intervals
    merged = fast.merge(exact, on=["cell", "attacker"], suffixes=("_fast", "_exact"))
    assert len(merged) == len(exact)
    # a side that passed shows a value some table reaches: inside the exact interval
    assert (merged["lo_fast"] >= merged["lo_exact"]).all()
    assert (np.minimum(merged["hi_fast"], 1e9) <= np.minimum(merged["hi_exact"], 1e9)).all()


def test_validation_problems_name_row_and_column() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_crosstab(b"site,F,M\nJO11,3,abc\n", "t.csv")
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.rule) == (2, "M", "crosstab")


def test_progress_is_logged_as_counts_of_cells_only(caplog: pytest.LogCaptureFixture) -> None:
    """`isp release` shows these lines beside its spinner: never a figure, only how many cells."""
    import logging
    import re

    from isp.cli.output import working

    table = grid([[6, 2, 9, 1], [7, 3, 8, 12], [5, 11, 2, 9], [4, 13, 1, 8]])
    with caplog.at_level(logging.INFO, logger="isp.disclosure"):
        protect([table], profile(threshold=4, width=3))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("isp.disclosure")]
    assert lines and all(re.fullmatch(r"round \d+: \d+ cells hidden, \d+ still exposed to [a-z ]+", s) for s in lines)
    before = logging.getLogger("isp").level
    with working("protecting"):
        assert logging.getLogger("isp").level == logging.INFO
    assert logging.getLogger("isp").level == before
