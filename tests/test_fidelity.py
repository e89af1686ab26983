"""The fidelity table of protocol/README.md: every clause of the signed protocol, where it is
enforced and by which test. This test fails when a listed test or enforcing function does not
exist, or when a clause is neither tested nor honestly marked as a matter of process."""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from typing import NamedTuple

import pytest

from tests.helpers import REPO_ROOT

TABLE = REPO_ROOT / "protocol" / "README.md"
HEADER = "| clause | protocol | rule | enforced in | tests |"
TEST_REF = re.compile(r"^(test_[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)$")
CODE_REF = re.compile(r"`(isp(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`")


class Row(NamedTuple):
    clause: str
    source: str
    rule: str
    enforced: str
    tests: list[str]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_table(text: str) -> list[Row]:
    """The rows of the one table whose header is :data:`HEADER`."""
    lines = text.splitlines()
    start = lines.index(HEADER) + 2  # skip the header and its separator
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        clause, source, rule, enforced, tests = _cells(line)
        refs = [t.strip().strip("`") for t in tests.split("<br>") if t.strip() and t.strip() != "-"]
        rows.append(Row(clause, source, rule, enforced, refs))
    return rows


@cache
def collected_tests(file_name: str) -> frozenset[str]:
    """Every test function of one test file, collected with ast (nothing is imported). The table
    names a file by its name alone; it is found in whichever folder of tests/ holds it (test file
    names are unique across the folders: tests/test_tests_layout.py checks it)."""
    paths = sorted((REPO_ROOT / "tests").rglob(file_name))
    if len(paths) != 1:
        return frozenset()
    path = paths[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def missing_tests(rows: list[Row]) -> list[str]:
    problems = []
    for row in rows:
        for ref in row.tests:
            match = TEST_REF.match(ref)
            if not match:
                problems.append(f"clause {row.clause}: '{ref}' is not test_file.py::test_name")
            elif match.group(2) not in collected_tests(match.group(1)):
                problems.append(f"clause {row.clause}: {ref} does not exist")
    return problems


def untested(rows: list[Row]) -> list[str]:
    """Clauses with no test that are not marked as process (a record, not code, upholds them)."""
    return [row.clause for row in rows if not row.tests and not row.enforced.startswith("process:")]


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def missing_code(rows: list[Row]) -> list[str]:
    return [
        f"clause {row.clause}: {ref} does not exist"
        for row in rows
        for ref in CODE_REF.findall(row.enforced)
        if not _resolves(ref)
    ]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return parse_table(TABLE.read_text(encoding="utf-8"))


def test_the_table_lists_every_clause_once(rows: list[Row]) -> None:
    clauses = [row.clause for row in rows]
    assert len(rows) >= 55
    assert len(set(clauses)) == len(clauses), "a clause number is listed twice"
    assert all(row.rule and row.source for row in rows)


def test_every_listed_test_exists(rows: list[Row]) -> None:
    assert missing_tests(rows) == []


def test_every_clause_has_a_test_or_is_marked_process(rows: list[Row]) -> None:
    assert untested(rows) == []


def test_every_enforcing_function_exists(rows: list[Row]) -> None:
    assert missing_code(rows) == []


def test_the_checks_catch_a_missing_test_an_untested_clause_and_missing_code() -> None:
    """Break the table three ways: each is caught."""
    text = "\n".join(
        [
            HEADER,
            "| --- | --- | --- | --- | --- |",
            "| X1 | GR 1 | a rule | `isp.protocol.models.Isp.coordinators` | test_protocol.py::test_no_such_test |",
            "| X2 | GR 2 | a rule | `isp.protocol.models.Isp.coordinators` | - |",
            "| X3 | GR 3 | a rule | process: minutes in protocol/meetings/ | - |",
            "| X4 | GR 4 | a rule | `isp.protocol.models.Isp.nothing` | test_calendar.py::test_submission_due |",
            "| X5 | GR 5 | a rule | `isp.protocol.models` | test_nowhere.py::test_x<br>not a reference |",
        ]
    )
    broken = parse_table(text)
    assert missing_tests(broken) == [
        "clause X1: test_protocol.py::test_no_such_test does not exist",
        "clause X5: test_nowhere.py::test_x does not exist",
        "clause X5: 'not a reference' is not test_file.py::test_name",
    ]
    assert untested(broken) == ["X2"]
    assert missing_code(broken) == ["clause X4: isp.protocol.models.Isp.nothing does not exist"]
