"""The layout of ``scripts/isp`` shows the architecture: one package per concern, imports pointing
down one order and never back, no cycles, and the README's map listing exactly the packages.

Imports are read with ``ast``, every one of them: those inside functions and under
``TYPE_CHECKING`` tie modules together as much as those at the top.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "scripts" / "isp"
README = REPO_ROOT / "README.md"
# The root modules, lowest first; each imports nothing of isp but the root modules before it.
ROOT_MODULES = ("errors", "fsutil", "yamlfiles")
PACKAGES = (
    "protocol",
    "history",
    "crypto",
    "sheets",
    "consolidate",
    "disclosure",
    "governance",
    "release",
    "site",
    "ci",
    "demo",
    "cli",
)
ORDER = ROOT_MODULES + PACKAGES
ENTRY = ("__init__", "__main__")  # the package itself and ``python -m isp``
MAP_HEADER = "| package | concern |"


@dataclass(frozen=True)
class Edge:
    source: str  # dotted module name, e.g. "isp.governance.breaches"
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line})"


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name, not ``.__init__``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _targets(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> list[str]:
    """The project's modules one import statement reaches, relative imports resolved."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    # ``from isp.governance import breaches`` reaches the module; ``from isp.x import f``, the module x
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]


def imports(package: Path) -> list[Edge]:
    """Every import of one project module by another, wherever the statement sits."""
    known = modules(package)
    root = package.name
    edges = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(name, path, node, known):
                if (target == root or target.startswith(f"{root}.")) and target != name:
                    edges.append(Edge(name, target, node.lineno))
    return edges


def cycles(package: Path) -> list[str]:
    """The modules of one import cycle (empty when there is none). A module importing its own
    package (``from isp.consolidate import codec`` inside ``isp.consolidate``) is no cycle."""
    graph: dict[str, set[str]] = {name: set() for name in modules(package)}
    for edge in imports(package):
        if not edge.source.startswith(f"{edge.target}."):
            graph[edge.source].add(edge.target)
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return []


def _rank(name: str) -> int | None:
    """A module's place in :data:`ORDER`: its package's, or its own for a root module. None for
    the package itself (imports nothing) and ``__main__`` (the entry point, imports anything)."""
    parts = name.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return None
    return ORDER.index(parts[1]) if parts[1] in ORDER else -1


def upward(package: Path) -> list[Edge]:
    """Imports that point up :data:`ORDER`: a package may import its own modules and earlier
    packages; a root module only the root modules before it."""
    bad = []
    for edge in imports(package):
        source, target = _rank(edge.source), _rank(edge.target)
        if source is None or target is None:
            if edge.target.split(".")[1:2] == ["__main__"]:
                bad.append(edge)
            continue
        is_root = edge.source.split(".")[1] in ROOT_MODULES
        if target == -1 or source == -1 or target > source or (is_root and target == source):
            bad.append(edge)
    return bad


def loose(package: Path) -> list[str]:
    """Modules at the package root other than the entry points and the root modules."""
    allowed = {*ENTRY, *ROOT_MODULES}
    return sorted(p.name for p in package.glob("*.py") if p.stem not in allowed)


def cli_imports(package: Path) -> list[Edge]:
    """Library modules that import the command line (only ``cli`` itself and ``__main__`` may)."""
    cli = f"{package.name}.cli"
    return [
        edge
        for edge in imports(package)
        if (edge.target == cli or edge.target.startswith(f"{cli}."))
        and not (edge.source == cli or edge.source.startswith((f"{cli}.", f"{package.name}.__main__")))
    ]


def packages(package: Path) -> list[str]:
    return sorted(p.parent.name for p in package.glob("*/__init__.py"))


def summary(init: Path) -> list[str]:
    """The first paragraph of a package's docstring, line by line."""
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    return doc.split("\n\n")[0].splitlines()


def readme_map(text: str) -> dict[str, str]:
    """The README's map of the code, package -> concern: the rows of the one table headed
    ``| package | concern |`` (the table of the repository's folders is another)."""
    lines = text.split("\n")
    start = lines.index(MAP_HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return {m[1]: m[2].strip() for row in rows if (m := re.fullmatch(r"\| `(\w+)/` \| (.+?) \|", row))}


# --- the project's own layout ------------------------------------------------------------------


def test_there_is_no_import_cycle() -> None:
    assert cycles(PACKAGE) == []


def test_imports_point_down_the_order_of_packages() -> None:
    assert [str(e) for e in upward(PACKAGE)] == []


def test_no_library_module_imports_the_command_line() -> None:
    assert [str(e) for e in cli_imports(PACKAGE)] == []


def test_no_module_sits_loose_at_the_package_root() -> None:
    assert loose(PACKAGE) == []


def test_every_package_has_its_place_in_the_order() -> None:
    assert sorted(packages(PACKAGE)) == sorted(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_says_in_two_lines_what_it_holds(name: str) -> None:
    lines = summary(PACKAGE / name / "__init__.py")
    assert len(lines) == 2 and all(line.strip() for line in lines), lines


def test_the_readme_map_lists_exactly_the_packages_with_their_docstrings() -> None:
    text = README.read_text(encoding="utf-8")
    table = readme_map(text)
    assert list(table) == [p for p in PACKAGES if p in table], "the map lists the packages in their order"
    assert sorted(table) == packages(PACKAGE)
    for name, concern in table.items():
        assert concern == summary(PACKAGE / name / "__init__.py")[0], f"{name}/: the README and its docstring differ"


# --- the checks themselves, on packages made to break them ---------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "isp"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "protocol/__init__.py": "",
            "protocol/models.py": "def load():\n    from isp.protocol import checks\n",
            "protocol/checks.py": "from isp.protocol.models import load\n",
        },
    )
    assert sorted(set(cycles(root))) == ["isp.protocol.checks", "isp.protocol.models"]


def test_a_cycle_through_type_checking_and_relative_imports_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "governance/__init__.py": "",
            "governance/rules.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .files import R\n",
            "governance/files.py": "from . import rules\n",
        },
    )
    assert sorted(set(cycles(root))) == ["isp.governance.files", "isp.governance.rules"]


def test_a_module_importing_its_own_package_is_no_cycle(tmp_path: Path) -> None:
    files = {
        "consolidate/__init__.py": "from isp.consolidate.run import run\n",
        "consolidate/run.py": "from . import codec\n",
        "consolidate/codec.py": "",
    }
    assert cycles(_package(tmp_path, files)) == []


def test_an_upward_import_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "errors.py": "",
            "fsutil.py": "from isp import yamlfiles\n",
            "yamlfiles.py": "from isp.errors import E\n",
            "governance/__init__.py": "",
            "governance/breaches.py": "from isp.errors import E\nfrom isp.protocol import models\n",
            "governance/status.py": "def f():\n    from isp.release import build\n",
            "protocol/__init__.py": "",
            "protocol/models.py": "",
            "release/__init__.py": "",
            "release/build.py": "from isp.governance import breaches\n",
        },
    )
    assert [str(e) for e in upward(root)] == [
        "isp.fsutil -> isp.yamlfiles (line 1)",
        "isp.governance.status -> isp.release.build (line 2)",
    ]


def test_a_package_outside_the_order_is_refused(tmp_path: Path) -> None:
    root = _package(tmp_path, {"misc/__init__.py": "", "misc/x.py": "from isp.errors import E\n", "errors.py": ""})
    assert [str(e) for e in upward(root)] == ["isp.misc.x -> isp.errors (line 1)"]


def test_a_library_module_importing_the_cli_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__main__.py": "from isp.cli.main import run\n",
            "cli/__init__.py": "",
            "cli/main.py": "from isp.cli import output\n",
            "cli/output.py": "",
            "demo/__init__.py": "",
            "demo/build.py": "def serve():\n    from isp.cli.output import console\n",
        },
    )
    assert [str(e) for e in cli_imports(root)] == ["isp.demo.build -> isp.cli.output (line 2)"]


def test_a_loose_module_at_the_root_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__main__.py": "", "errors.py": "", "calendar.py": "", "demo_stages.py": ""})
    assert loose(root) == ["calendar.py", "demo_stages.py"]


def test_the_readme_map_is_read_row_by_row() -> None:
    folders = "| folder | holds |\n| --- | --- |\n| `site/` | the dashboard's sources |\n\n"
    text = (
        folders + f"{MAP_HEADER}\n| --- | --- |\n| `protocol/` | The protocol as data. |\n| `cli/` | Wiring. |\n\nEnd."
    )
    assert readme_map(text) == {"protocol": "The protocol as data.", "cli": "Wiring."}
