"""The tests mirror the packages: a test module sits in ``tests/<package>/`` for the package it
tests, or at ``tests/`` itself when it checks the whole project (the short list below). Pytest
fixtures live in ``conftest.py`` (or in the test module that alone uses them), never in a helper
module that tests import them from; the old ``tests/*_fixtures.py`` modules do not come back.
Tests find files from ``tests.helpers.REPO_ROOT``, never from their own location, so a test can
move folder without breaking.

Files are read with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT
from tests.test_layout import PACKAGES

TESTS = REPO_ROOT / "tests"
# Test modules that check the project as a whole rather than one package.
CROSS_CUTTING = frozenset(
    {
        "test_errors.py",  # the error catalogue, raised from every package
        "test_fidelity.py",  # the protocol's clauses against the code and tests that enforce them
        "test_layout.py",  # the package layout of scripts/isp
        "test_tests_layout.py",  # this file: the layout of tests/
        "test_workflows.py",  # the GitHub workflows
        "test_yamlfiles.py",  # the one YAML module, used by every package
    }
)


def misplaced_tests(tests: Path) -> list[str]:
    """Test modules outside ``tests/<package>/`` and not on the cross-cutting list."""
    problems = []
    for path in sorted(tests.rglob("test_*.py")):
        rel = path.relative_to(tests)
        if len(rel.parts) == 1 and rel.name not in CROSS_CUTTING:
            problems.append(
                f"{rel}: move it to tests/<package>/, or name it in CROSS_CUTTING if it checks the whole project"
            )
        elif len(rel.parts) == 2 and rel.parts[0] not in PACKAGES:
            problems.append(f"{rel}: {rel.parts[0]}/ is not a package of isp ({', '.join(PACKAGES)})")
        elif len(rel.parts) > 2:
            problems.append(f"{rel}: one folder per package, no deeper")
    return problems


def fixture_modules(tests: Path) -> list[str]:
    """``*_fixtures.py`` modules: their fixtures belong in a conftest.py, their helpers in helpers.py."""
    return [str(path.relative_to(tests)) for path in sorted(tests.rglob("*_fixtures.py"))]


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "fixture"


def fixtures_outside_conftest(tests: Path) -> list[str]:
    """Pytest fixtures defined in a module that is neither a conftest.py nor a test module: tests
    would have to import them, which pytest does not expect (a conftest.py shares them instead)."""
    problems = []
    for path in sorted(tests.rglob("*.py")):
        if path.name == "conftest.py" or path.name.startswith("test_"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(_is_fixture(d) for d in node.decorator_list):
                problems.append(f"{path.relative_to(tests)}: fixture {node.name} belongs in a conftest.py")
    return problems


def duplicate_names(tests: Path) -> list[str]:
    """Test module names used twice (the fidelity table names a test file by its name alone)."""
    seen: dict[str, Path] = {}
    problems = []
    for path in sorted(tests.rglob("test_*.py")):
        if path.name in seen:
            problems.append(f"{path.relative_to(tests)} and {seen[path.name].relative_to(tests)}")
        seen.setdefault(path.name, path)
    return problems


def fragile_imports(tests: Path) -> list[str]:
    """Imports from a conftest.py (pytest imports conftest files itself; tests take fixtures as
    arguments and helpers from helpers.py) and paths built from ``__file__`` outside
    tests/helpers.py (they break when a test moves folder: use ``REPO_ROOT``)."""
    problems = []
    for path in sorted(tests.rglob("*.py")):
        rel = path.relative_to(tests)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "conftest":
                problems.append(f"{rel}:{node.lineno}: imports {node.module}; use tests.helpers or a fixture")
            if isinstance(node, ast.Name) and node.id == "__file__" and str(rel) != "helpers.py":
                problems.append(f"{rel}:{node.lineno}: a path from __file__; use tests.helpers.REPO_ROOT")
    return problems


def missing_init(tests: Path) -> list[str]:
    """Folders of tests without ``__init__.py``: tests import each other as ``tests.<package>.x``."""
    folders = {path.parent for path in tests.rglob("*.py")} - {tests}
    return sorted(str(f.relative_to(tests)) for f in folders if not (f / "__init__.py").is_file())


def test_every_test_module_sits_in_its_packages_folder() -> None:
    assert misplaced_tests(TESTS) == []


def test_no_fixtures_module() -> None:
    assert fixture_modules(TESTS) == []


def test_fixtures_are_shared_through_conftest() -> None:
    assert fixtures_outside_conftest(TESTS) == []


def test_test_module_names_are_unique() -> None:
    assert duplicate_names(TESTS) == []


def test_tests_find_files_from_the_repository_root_and_never_import_a_conftest() -> None:
    assert fragile_imports(TESTS) == []


def test_every_folder_is_a_package() -> None:
    assert missing_init(TESTS) == []


def test_every_package_has_its_folder() -> None:
    assert sorted(p.name for p in TESTS.iterdir() if (p / "__init__.py").is_file()) == sorted(PACKAGES)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A tests/ tree that breaks every rule once."""
    files = {
        "test_layout.py": "",
        "test_loose.py": "",
        "sheets/__init__.py": "",
        "sheets/test_sheet.py": "",
        "sheets/helpers.py": "import pytest\n\n@pytest.fixture(scope='module')\ndef repo(): ...\n",
        "sheets/conftest.py": "import pytest\n\n@pytest.fixture\ndef fine(): ...\n",
        "requests/__init__.py": "",
        "requests/test_sheet.py": "",
        "governance/deeper/test_x.py": "from pytest import fixture\n\n@fixture\ndef x(): ...\n",
        "release_fixtures.py": "",
        "site/test_site.py": "from tests.conftest import REPO_ROOT\nHERE = __file__\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checks_catch_each_break(broken: Path) -> None:
    assert misplaced_tests(broken) == [
        "governance/deeper/test_x.py: one folder per package, no deeper",
        f"requests/test_sheet.py: requests/ is not a package of isp ({', '.join(PACKAGES)})",
        "test_loose.py: move it to tests/<package>/, or name it in CROSS_CUTTING if it checks the whole project",
    ]
    assert fixture_modules(broken) == ["release_fixtures.py"]
    assert fixtures_outside_conftest(broken) == ["sheets/helpers.py: fixture repo belongs in a conftest.py"]
    assert duplicate_names(broken) == ["sheets/test_sheet.py and requests/test_sheet.py"]
    assert fragile_imports(broken) == [
        "site/test_site.py:1: imports tests.conftest; use tests.helpers or a fixture",
        "site/test_site.py:2: a path from __file__; use tests.helpers.REPO_ROOT",
    ]
    assert missing_init(broken) == ["governance/deeper", "site"]
