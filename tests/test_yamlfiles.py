"""yamlfiles: the one YAML reader refuses hostile documents in one line, and edits keep comments."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from isp import yamlfiles
from isp.errors import IspError
from isp.yamlfiles import YamlError
from tests.helpers import REPO_ROOT


def _bomb(levels: int = 9) -> str:
    """The billion-laughs document: each level lists the previous one nine times."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        name, previous = chr(97 + i), chr(96 + i)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _refused(data: str | bytes, **limits: object) -> YamlError:
    with pytest.raises(YamlError) as caught:
        yamlfiles.load(data, "requests/REQ-X.yaml", **limits)  # type: ignore[arg-type]
    assert isinstance(caught.value, IspError) and "\n" not in str(caught.value)
    assert str(caught.value).startswith("requests/REQ-X.yaml")
    return caught.value


@pytest.mark.parametrize("allow_aliases", [False, True])
def test_anchor_bomb_is_refused_fast(allow_aliases: bool) -> None:
    started = time.perf_counter()
    error = _refused(_bomb(), allow_aliases=allow_aliases)
    assert time.perf_counter() - started < 1.0
    assert error.problem.rule == "yaml-alias"


def test_aliases_are_refused_by_default_and_bounded_when_allowed() -> None:
    assert _refused("a: &x [1]\nb: *x\n").problem.rule == "yaml-alias"
    assert yamlfiles.load("a: &x [1]\nb: *x\n", "f.yaml", allow_aliases=True) == {"a": [1], "b": [1]}


def test_a_recursive_alias_is_refused_even_when_aliases_are_allowed() -> None:
    assert _refused("a: &x [*x]\n", allow_aliases=True).problem.rule in {"yaml-too-deep", "yaml-alias"}


def test_duplicate_key_is_refused_naming_the_key_and_line() -> None:
    error = _refused("id: REQ-1\ndecisions:\n  UNICEF: approve\n  UNICEF: deny\n")
    assert error.problem.rule == "yaml-duplicate-key"
    assert error.problem.row == 4 and "'UNICEF'" in str(error) and "lines 3 and 4" in str(error)


def test_duplicate_key_at_the_top_level_is_refused() -> None:
    assert _refused("a: 1\nb: 2\na: 3\n").problem.row == 3


def test_oversize_is_refused_before_parsing(tmp_path: Path) -> None:
    big = b"x: '" + b"y" * 2_000_000 + b"'\n"
    assert _refused(big).problem.rule == "yaml-too-large"
    assert _refused("a: 1\n", max_bytes=3).problem.rule == "yaml-too-large"
    path = tmp_path / "big.yaml"
    path.write_bytes(big)
    with pytest.raises(YamlError, match=r"^big\.yaml: \[yaml-too-large\]"):
        yamlfiles.load_file(path, root=tmp_path)


@pytest.mark.parametrize("document", ["[" * 40 + "]" * 40, "a:\n" + "".join(f"{' ' * i}b{i}:\n" for i in range(1, 40))])
def test_deep_nesting_is_refused(document: str) -> None:
    assert _refused(document).problem.rule == "yaml-too-deep"


def test_very_deep_flow_nesting_is_one_line_not_a_crash() -> None:
    assert _refused("[" * 200_000 + "]" * 200_000).problem.rule in {"yaml-too-deep", "yaml-syntax"}


def test_syntax_error_names_the_line() -> None:
    error = _refused("a: 1\nb: [\n")
    assert error.problem.rule == "yaml-syntax" and error.problem.row is not None


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(YamlError, match=r"^nope\.yaml: \[missing-file\]"):
        yamlfiles.load_file(tmp_path / "nope.yaml", root=tmp_path)


@pytest.mark.parametrize("name", ["protocol.yaml", "agencies.yaml", "sites.yaml", "indicators.yaml"])
def test_a_protocol_file_loads(name: str) -> None:
    loaded = yamlfiles.load_file(REPO_ROOT / "protocol" / name, root=REPO_ROOT)
    assert isinstance(loaded, dict) and loaded


def test_empty_document_is_none() -> None:
    assert yamlfiles.load("", "empty.yaml") is None
    assert yamlfiles.load(b"# only a comment\n", "empty.yaml") is None


def test_round_trip_edit_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "agencies.yaml"
    path.write_text("# who is who\nagencies:\n  UNICEF:  # the coordinator\n    name: 'UNICEF'\n")
    with yamlfiles.edit(path) as doc:
        doc["agencies"]["UNICEF"]["email"] = "focal.unicef@example.org"
    text = path.read_text()
    assert "# who is who" in text and "# the coordinator" in text and "name: 'UNICEF'" in text
    assert yamlfiles.load_file(path)["agencies"]["UNICEF"]["email"] == "focal.unicef@example.org"


def test_an_exception_inside_edit_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1  # keep\n")
    with pytest.raises(RuntimeError), yamlfiles.edit(path) as doc:
        doc["a"] = 2
        raise RuntimeError("stop")
    assert path.read_text() == "a: 1  # keep\n"


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_edit_refuses_a_document_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    """Every file the project edits holds a mapping: anything else is one schema line, and the
    file is left as it was."""
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(YamlError, match=r"a\.yaml: .*schema.*not a mapping"), yamlfiles.edit(path):
        pass
    assert path.read_text() == text


def test_schema_problems_put_the_field_path_in_the_column() -> None:
    class Inner(BaseModel):
        email: str

    class Outer(BaseModel):
        agencies: dict[str, Inner]

    with pytest.raises(ValidationError) as caught:
        Outer.model_validate({"agencies": {"UNICEF": {}}})
    (problem,) = yamlfiles.schema_problems(caught.value, "protocol/agencies.yaml")
    assert (problem.file, problem.rule, problem.column) == ("protocol/agencies.yaml", "schema", "agencies.UNICEF.email")


@pytest.mark.parametrize("writer", [yamlfiles.dump, yamlfiles.dump_data])
def test_writers_never_emit_an_alias_the_reader_would_refuse(writer: object) -> None:
    shared = ["concern_child_labour", "concern_early_marriage"]
    text = writer({"data": {"indicators": shared}, "summary": {"indicators": shared}})  # type: ignore[operator]
    assert "&" not in text and "*" not in text
    assert yamlfiles.load(text, "requests/R.yaml") == {
        "data": {"indicators": shared},
        "summary": {"indicators": shared},
    }


@pytest.mark.parametrize(
    "document",
    ['decisions:\n  IRC: approve\n  "IRC": deny\n', "limits:\n  1: a\n  0x1: b\n", "a: 1\nb: {c: 1, c: 2}\n"],
)
def test_keys_equal_once_read_are_duplicates_too(document: str) -> None:
    assert _refused(document).problem.rule == "yaml-duplicate-key"


def test_a_merge_key_may_repeat_what_it_merges_when_aliases_are_allowed() -> None:
    document = "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n"
    assert yamlfiles.load(document, "f.yaml", allow_aliases=True)["item"] == {"x": 1, "y": 3}
    assert _refused(document).problem.rule == "yaml-alias"


def test_no_other_module_imports_a_yaml_library() -> None:
    """yamlfiles is the one reader and writer (ci/gate.py moves to it on branch cigate)."""
    package = REPO_ROOT / "scripts" / "isp"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel in {"yamlfiles.py", "ci/gate.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name.split(".")[0] in {"yaml", "ruamel"} for name in names):
                offenders.append(rel)
    assert offenders == []


@pytest.mark.parametrize("tag", ["binary", "set", "omap", "pairs"])
def test_type_tags_no_protocol_file_uses_are_refused(tag: str) -> None:
    value = {"binary": "aGVsbG8=", "set": "{a, b}", "omap": "[{a: 1}]", "pairs": "[{a: 1}]"}[tag]
    assert _refused(f"purpose: !!{tag} {value}\n").problem.rule == "yaml-tag"


def test_a_merge_key_overriding_an_explicit_key_is_a_repeated_key_without_aliases() -> None:
    assert _refused("purpose: shown\n<<: {purpose: read}\n").problem.rule == "yaml-duplicate-key"
    assert yamlfiles.load("<<: {other: 1}\npurpose: shown\n", "f.yaml") == {"other": 1, "purpose": "shown"}


def test_a_python_object_tag_is_refused() -> None:
    assert _refused('purpose: !!python/object/apply:os.system ["id"]\n').problem.rule == "yaml-syntax"
