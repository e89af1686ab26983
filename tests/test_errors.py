"""The error catalogue: every rule code scripts/isp raises is declared once, every entry can be
read by a user, `isp errors` shows it, and an unexpected exception is one line, not a traceback."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from isp import errors
from isp.errors import CATALOGUE, ErrorCode, Problem, ValidationFailed
from tests.helpers import REPO_ROOT, isp

PACKAGE = REPO_ROOT / "scripts" / "isp"
REFERENCE = REPO_ROOT / "scripts" / "ERRORS.md"
CANARY = "canary-4821-figure"

# --- finding every code scripts/isp hands to a Problem ------------------------------------------
#
# A code reaches a Problem as a literal, through a helper that passes its parameter on (found by
# following parameters until nothing new turns up), through a module constant, a conditional, a
# loop over a module dict, or an f-string (checked as a pattern). Classes with a ``rule`` field
# carry codes too, except the disclosure audit's Violation, whose rule (published, upper, lower,
# width) says how a protected cell fails inside one audit line, not which rule a file breaks.

NOT_CODES = {("isp.disclosure.audit", "Violation")}
Func = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Sink:
    position: int | None  # index among the positional arguments (self excluded)
    keyword: str


@dataclass(frozen=True)
class Use:
    code: str  # a code, or a regular expression when pattern is set (an f-string)
    where: str
    pattern: bool = False


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)


def load(root: Path) -> dict[str, Module]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = Module(".".join(parts[:-1] if parts[-1] == "__init__" else parts), path, ast.parse(path.read_bytes()))
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module.imports |= {a.asname or a.name: (node.module, a.name) for a in node.names}
            elif isinstance(node, ast.Import):
                module.imports |= {a.asname or a.name.split(".")[0]: (a.name, None) for a in node.names}
        for node in module.tree.body:
            if isinstance(node, ast.Assign):
                for target in (t for t in node.targets if isinstance(t, ast.Name)):
                    module.assigned.setdefault(target.id, []).append(node.value)
        modules[module.name] = module
    return modules


def _params(func: Func) -> list[str]:
    names = [a.arg for a in func.args.posonlyargs + func.args.args]
    return names[1:] if names[:1] in (["self"], ["cls"]) else names


def _annotation(func: Func | None, name: str) -> str | None:
    args = (func.args.posonlyargs + func.args.args + func.args.kwonlyargs) if func else []
    for arg in (a for a in args if a.arg == name):
        if isinstance(arg.annotation, ast.Name):
            return arg.annotation.id
        if isinstance(arg.annotation, ast.Constant) and isinstance(arg.annotation.value, str):
            return arg.annotation.value
    return None


def _target(module: Module, modules: dict[str, Module], call: ast.Call, func: Func | None) -> tuple[str, str] | None:
    """The (module, name) a call goes to, as far as names, imports and annotations tell."""
    callee = call.func
    if isinstance(callee, ast.Name):
        source, name = module.imports.get(callee.id, (module.name, callee.id))
        return (source, name) if name else None
    if not (isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)):
        return None
    owner = callee.value.id
    if owner in ("self", "cls"):
        return (module.name, callee.attr)
    if owner in module.imports:
        source, name = module.imports[owner]
        full = f"{source}.{name}" if name else source
        return (full, callee.attr) if full in modules else None
    typed = _annotation(func, owner)
    return (module.imports.get(typed, (module.name, typed))[0], callee.attr) if typed else None


def _calls(modules: dict[str, Module]) -> Iterator[tuple[Module, Func | None, ast.Call]]:
    for module in modules.values():
        inside: dict[int, Func] = {}
        for func in (n for n in ast.walk(module.tree) if isinstance(n, Func)):
            inside |= {id(n): func for n in ast.walk(func) if isinstance(n, ast.Call)}  # innermost last
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                yield module, inside.get(id(node)), node


def _argument(call: ast.Call, sink: Sink) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == sink.keyword:
            return keyword.value
    if sink.position is None or any(isinstance(a, ast.Starred) for a in call.args[: sink.position + 1]):
        return None
    return call.args[sink.position] if len(call.args) > sink.position else None


def sinks(modules: dict[str, Module]) -> dict[tuple[str, str], Sink]:
    """Classes with a ``rule`` field, plus every function that passes a parameter on into one."""
    found = {}
    for module in modules.values():
        for node in (n for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef)):
            fields = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            if "rule" in fields and (module.name, node.name) not in NOT_CODES:
                found[(module.name, node.name)] = Sink(fields.index("rule"), "rule")
    grew = True
    while grew:
        grew = False
        for module, func, call in _calls(modules):
            target = _target(module, modules, call, func)
            if func is None or target not in found or (module.name, func.name) in found:
                continue
            arg = _argument(call, found[target])
            params = _params(func)
            if isinstance(arg, ast.Name) and arg.id in params + [a.arg for a in func.args.kwonlyargs]:
                found[(module.name, func.name)] = Sink(params.index(arg.id) if arg.id in params else None, arg.id)
                grew = True
    return found


def _values(name: str, func: Func | None, module: Module) -> list[ast.expr] | None:
    """What a name may hold: assignments in its function, a loop over a module dict, a module constant."""
    values: list[ast.expr] = []
    for node in ast.walk(func) if func else ():
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            values.append(node.value)
        elif isinstance(node, ast.For) and name in {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}:
            values += _loop_values(node.iter, module)
    return values or module.assigned.get(name)


def _loop_values(source: ast.expr, module: Module) -> list[ast.expr]:
    if isinstance(source, ast.Tuple | ast.List):
        return list(source.elts)
    if (
        isinstance(source, ast.Call)
        and isinstance(source.func, ast.Attribute)
        and source.func.attr in ("items", "values")
    ):
        held = module.assigned.get(ast.unparse(source.func.value), [])
        return [v for d in held if isinstance(d, ast.Dict) for v in d.values]
    return []


def _codes(expr: ast.expr, func: Func | None, module: Module, modules: dict[str, Module], where: str) -> Iterator[Use]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield Use(expr.value, where)
    elif isinstance(expr, ast.IfExp):
        yield from _codes(expr.body, func, module, modules, where)
        yield from _codes(expr.orelse, func, module, modules, where)
    elif isinstance(expr, ast.JoinedStr):
        parts = [re.escape(str(v.value)) if isinstance(v, ast.Constant) else "[a-z0-9-]+" for v in expr.values]
        yield Use("".join(parts), where, pattern=True)
    elif isinstance(expr, ast.Name):
        if func is not None and expr.id in _params(func) + [a.arg for a in func.args.kwonlyargs]:
            return  # a helper's parameter: its callers are scanned
        values, home = _values(expr.id, func, module), module
        if values is None and expr.id in module.imports:
            source, name = module.imports[expr.id]
            home = modules.get(source, module)
            values = home.assigned.get(name or "") if source in modules else None
        if values is None:
            yield Use(f"<cannot tell what {expr.id} holds>", where)
        for value in values or []:
            yield from _codes(value, None, home, modules, where)
    elif not isinstance(expr, ast.Attribute):  # an attribute is a carrier's .rule or an entry's .code
        yield Use(f"<cannot tell what {ast.unparse(expr)} holds>", where)


def uses(root: Path) -> list[Use]:
    """Every rule code the package under ``root`` hands to a Problem."""
    modules = load(root)
    found = sinks(modules)
    result: list[Use] = []
    for module, func, call in _calls(modules):
        target = _target(module, modules, call, func)
        arg = _argument(call, found[target]) if target in found else None
        if arg is not None:
            result += _codes(arg, func, module, modules, f"{module.path.relative_to(root.parent)}:{call.lineno}")
    for module in modules.values():
        result += _compared(module, root)
    for (name, function), sink in found.items():
        module = modules[name]
        for func in (n for n in ast.walk(module.tree) if isinstance(n, Func) and n.name == function):
            args = func.args.posonlyargs + func.args.args
            defaults = list(zip(args[len(args) - len(func.args.defaults) :], func.args.defaults, strict=True))
            for param, default in defaults:
                if param.arg == sink.keyword:
                    result += _codes(default, None, module, modules, f"{module.path.name}:{func.lineno}")
    return result


def _compared(module: Module, root: Path) -> Iterator[Use]:
    """Codes a module tests a problem against: ``p.rule == "code"``, ``p.rule in ("a", "b")``."""
    for node in (n for n in ast.walk(module.tree) if isinstance(n, ast.Compare)):
        sides = [node.left, *node.comparators]
        if any(isinstance(side, ast.Attribute) and side.attr == "rule" for side in sides):
            where = f"{module.path.relative_to(root.parent)}:{node.lineno}"
            for side in sides:
                items = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                for item in items:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        yield Use(item.value, where)


def undeclared(found: list[Use]) -> list[str]:
    wrong = [f"{u.where}: {u.code}" for u in found if not u.pattern and u.code not in CATALOGUE]
    wrong += [f"{u.where}: f-string {u.code}" for u in found if u.pattern and not _matches(u.code)]
    return sorted(wrong)


def _matches(pattern: str) -> bool:
    return any(re.fullmatch(pattern, code) for code in CATALOGUE)


def test_every_rule_code_raised_is_declared() -> None:
    modules = load(PACKAGE)
    assert len(modules) > 100 and ("isp.errors", "Problem") in sinks(modules), "the scan lost its way"
    found = uses(PACKAGE)
    assert not undeclared(found), "declare these in scripts/isp/errors.py:\n" + "\n".join(undeclared(found))


def test_every_catalogue_reference_exists() -> None:
    """`errors.NAME` in the package names an entry (or another name errors.py defines)."""
    missing = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            if node.value.id == "errors" and not hasattr(errors, node.attr):
                missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: errors.{node.attr}")
    assert not missing, missing


def test_every_problem_built_from_an_entry_fills_its_placeholders() -> None:
    """`Problem.of(errors.X, file, name=...)` (or a helper called the same way) names every
    placeholder of X's templates, so no message fails to format at run time."""
    unfilled = []
    for path in PACKAGE.rglob("*.py"):
        for call in (n for n in ast.walk(ast.parse(path.read_bytes())) if isinstance(n, ast.Call)):
            first = call.args[0] if call.args else None
            if not (isinstance(first, ast.Attribute) and ast.unparse(first.value) == "errors"):
                continue
            entry = getattr(errors, first.attr)
            given = {k.arg for k in call.keywords}
            if isinstance(entry, ErrorCode) and None not in given:
                missing = entry.placeholders() - given - {"file", "row", "column"}
                unfilled += [f"{path.relative_to(PACKAGE)}:{call.lineno}: {entry.code} needs {sorted(missing)}"] * bool(
                    missing
                )
    assert not unfilled, unfilled


# Where a Problem may still be built from its fields rather than from a catalogue entry. errors.py
# itself: Problem.filled is the one generic place that turns an entry and its values into a
# Problem.
DIRECT_PROBLEM_ALLOWED = {"errors.py"}


def direct_problems(root: Path) -> list[str]:
    """Every ``Problem(...)`` built outside :data:`DIRECT_PROBLEM_ALLOWED`: a rule code passed as a
    string (a literal, an f-string, a variable) instead of ``Problem.of(errors.X, ...)``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in DIRECT_PROBLEM_ALLOWED:
            continue
        for call in (n for n in ast.walk(ast.parse(path.read_bytes())) if isinstance(n, ast.Call)):
            func = call.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "Problem":
                found.append(f"{rel}:{call.lineno}: {ast.unparse(call)[:100]}")
    return found


def test_every_problem_is_built_from_a_catalogue_entry() -> None:
    """Issue 9: a rule code is declared once and referenced by name where it is raised."""
    found = direct_problems(PACKAGE)
    assert not found, "build these with Problem.of(errors.X, file, ...):\n" + "\n".join(found)


def test_the_strict_scan_catches_a_string_code(tmp_path: Path) -> None:
    package = tmp_path / "isp"
    package.mkdir()
    (package / "errors.py").write_text("class Problem:\n    pass\n")
    (package / "good.py").write_text(
        "from isp import errors\nfrom isp.errors import Problem\n\nProblem.of(errors.EMPTY_FILE, 'x.csv')\n"
    )
    (package / "bad.py").write_text(
        "from isp import errors\n\nerrors.Problem('x.csv', 'empty-file', 'the file is empty')\n"
    )
    found = direct_problems(package)
    assert len(found) == 1 and found[0].startswith("bad.py:3:"), found


HELPER_MODULE = """
from isp.errors import Problem

RULE = "{constant}"
TABLE = {{"a": "{looped}"}}


def _problem(file, rule, message):
    return Problem(file, rule, message)


def _outer(file, code="{default}"):
    return _problem(file, code, "passed on twice")


def check(file, what):
    yield _problem(file, "{literal}", "a literal through a helper")
    yield Problem(file, RULE, "a module constant")
    yield Problem(file, "{branch}" if file else "unknown-agency", "a conditional")
    yield Problem(file, f"{{what}}-{suffix}", "an f-string")
    for _, rule in TABLE.items():
        yield Problem(file, rule, "a loop over a module dict")
    yield _outer(file)


def wanted(problem):
    return problem.rule in ("empty-file", "{compared}")
"""


@pytest.mark.parametrize("kind", ["literal", "constant", "branch", "looped", "default", "suffix", "compared"])
def test_the_scan_finds_an_undeclared_code_however_it_is_passed(tmp_path: Path, kind: str) -> None:
    good = {"literal": "empty-file", "constant": "too-large", "branch": "no-rows", "looped": "formula"}
    good |= {"default": "not-utf8", "suffix": "removed", "compared": "no-sheet"}
    package = tmp_path / "isp"
    (package / "errors.py").parent.mkdir()
    (package / "errors.py").write_text("class Problem:\n    file: str\n    rule: str\n")
    (package / "helper.py").write_text(HELPER_MODULE.format(**(good | {kind: "no-such-code"})))
    wrong = undeclared(uses(package))
    assert len(wrong) == 1 and "no-such-code" in wrong[0].replace("\\", ""), wrong


# --- the entries themselves ------------------------------------------------------------------------


@pytest.mark.parametrize("entry", CATALOGUE.values(), ids=list(CATALOGUE))
def test_every_entry_has_title_message_and_fix(entry: ErrorCode) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", entry.code)
    assert entry.title.strip() and entry.message.strip() and entry.fix.strip()
    assert entry.title[0].isupper() and not entry.title.endswith(".")
    assert entry.exit_code in (1, 2, 3) and entry.severity in ("error", "warning")
    assert all(name.isidentifier() for name in entry.placeholders()), entry.placeholders()


def test_a_problem_is_built_from_its_entry() -> None:
    problem = Problem.of(errors.UNKNOWN_AGENCY, "x.csv", row=3, agency="XYZ", known="IRC, IMC")
    assert str(problem) == "x.csv, row 3: [unknown-agency] 'XYZ' is not an agency Fix: use one of IRC, IMC"
    warning = Problem.of(errors.MONTH_NOT_OVER, "x.csv", month="2026-05")
    assert warning.severity == "warning" and str(warning).startswith("warning: ")
    strict = Problem.of(errors.MONTH_NOT_OVER, "x.csv", severity="error", month="2026-05")
    assert strict.severity == "error"
    assert Problem.of(errors.EMPTY_FILE, "x.csv", fix="something closer").fix == "something closer"


def test_a_validation_failure_exits_with_its_entries_code() -> None:
    assert ValidationFailed([Problem.of(errors.EMPTY_FILE, "x.csv")]).exit_code == 1
    assert ValidationFailed([Problem("x.csv", "bug", "made up")]).exit_code == errors.BUG_EXIT
    assert ValidationFailed([Problem("x.csv", "not-in-the-catalogue", "made up")]).exit_code == 1


# --- isp errors ---------------------------------------------------------------------------------------


def test_isp_errors_lists_every_code() -> None:
    result = isp("errors", "--json")
    assert result.code == 0, result.err
    assert [e["code"] for e in json.loads(result.out)] == list(CATALOGUE)
    listing = isp("errors").out
    assert all(code in listing for code in CATALOGUE)


def test_isp_errors_code_shows_the_entry_in_full() -> None:
    result = isp("errors", "unknown-code")
    assert result.code == 0
    for text in ("Unknown code", errors.UNKNOWN_CODE.message, "exit code: 1"):
        assert text in " ".join(result.out.split()), text
    assert json.loads(isp("errors", "formula", "--json").out)["fix"] == errors.FORMULA.fix


def test_isp_errors_unknown_code_is_a_usage_error_that_suggests() -> None:
    result = isp("errors", "unknown-cod")
    assert result.code == 2 and "unknown-code" in result.err and "Traceback" not in result.output


def test_the_reference_is_current() -> None:
    result = isp("errors", "--markdown")
    assert result.code == 0
    assert REFERENCE.read_text(encoding="utf-8") == result.out, "run `isp errors --markdown > scripts/ERRORS.md`"


# --- one boundary -------------------------------------------------------------------------------------


def _explode(*_args: object, **_kwargs: object) -> str:
    raise RuntimeError(f"a message that may hold a value: {CANARY}")


def test_an_unexpected_exception_is_one_line_naming_only_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "reference_markdown", _explode)
    result = isp("errors", "--markdown", env={"ISP_DEBUG": None})
    assert result.code == errors.BUG_EXIT
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert "RuntimeError" in lines[0] and "bug in isp" in lines[0] and "ISP_DEBUG=1" in lines[0]
    assert errors.issue_tracker() in lines[0]
    assert CANARY not in result.output and "Traceback" not in result.output


def test_isp_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "reference_markdown", _explode)
    with pytest.raises(RuntimeError, match=CANARY):
        isp("errors", "--markdown", env={"ISP_DEBUG": "1"})


SITECUSTOMIZE = f"""
import json

def _explode(*args, **kwargs):
    raise ValueError("{CANARY}")

json.dumps = _explode
"""


@pytest.mark.parametrize("debug", [False, True])
def test_the_boundary_of_the_real_entry_point(tmp_path: Path, debug: bool) -> None:
    """A real process whose json.dumps breaks (planted by a sitecustomize): `isp errors --json`."""
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if k != "ISP_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO_ROOT / "scripts")])
    env |= {"ISP_DEBUG": "1"} if debug else {}
    done = subprocess.run([sys.executable, "-m", "isp", "errors", "--json"], env=env, capture_output=True, text=True)
    if debug:
        assert done.returncode == 1 and "Traceback" in done.stderr and CANARY in done.stderr
    else:
        assert done.returncode == errors.BUG_EXIT and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and "ValueError" in done.stderr and CANARY not in done.stderr
