"""history/git.py: the only module that runs git. Real repositories, no mocks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from isp.history import git, provenance
from tests.helpers import REPO_ROOT
from tests.helpers import git as raw_git

PACKAGE = REPO_ROOT / "scripts" / "isp"
ALLOWED = {"history/git.py", "ci/gate.py"}  # ci/gate.py: moves to history/git.py on branch cigate


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    raw_git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    raw_git(root, "add", "--all")
    raw_git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one")
    return root


@pytest.mark.parametrize("magic", [":(glob)*", "*", "[ab].csv", ":!x.csv"])
def test_a_path_that_looks_like_pathspec_magic_is_taken_literally(tmp_path: Path, magic: str) -> None:
    root = _repo(tmp_path, {"a.csv": "a\n", "b.csv": "b\n", "x.csv": "x\n"})
    assert git.ls_tree(root, "HEAD", magic) == []
    assert git.log_changes(root, "%H", "HEAD", "--", magic) == []
    (root / magic.replace("/", "_")).write_text("magic\n")
    name = magic.replace("/", "_")
    sha = git.commit(root, "magic", name)
    assert [c.path for c in provenance.changed_paths(root, sha)] == [name]
    assert [e.path for e in git.ls_tree(root, "HEAD", name)] == [name]
    assert git.blob_at(root, "HEAD", name) == b"magic\n"


def test_names_with_newlines_tabs_and_quotes_survive_z_parsing(tmp_path: Path) -> None:
    odd = ["sub/new\nline.csv", "sub/tab\there.csv", 'sub/"quoted".csv', "sub/\x01looks-like-a-header"]
    root = _repo(tmp_path, {name: "x\n" for name in odd})
    assert sorted(e.path for e in git.ls_tree(root, "HEAD", "sub/")) == sorted(odd)
    assert sorted(git.ls_files(root)) == sorted(odd)
    ((_header, changes),) = git.log_changes(root, "%H", "HEAD")
    assert sorted(c.path for c in changes) == sorted(odd) and {c.status for c in changes} == {"A"}
    specs = [f"HEAD:{name}" for name in odd]
    assert set(git.read_many(root, specs).values()) == {b"x\n"}


def test_a_failing_command_raises_git_error_naming_it(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"a.csv": "secret-figure-4711\n"})
    with pytest.raises(git.GitError) as caught:
        git.run(root, "-c", "x.y=z", "log", "no-such-rev")
    error = caught.value
    assert error.command == "git log" and str(error).startswith("`git log` failed in")
    assert "\n" not in str(error)
    with pytest.raises(git.GitError, match=r"no such commit"):
        git.resolve(root, "nope")
    with pytest.raises(git.GitError, match=r"^`git cat-file` failed"):
        git.blobs(root, ["0" * 40])


def test_a_git_error_never_carries_the_command_output(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"a.csv": "secret-figure-4711\n"})
    with pytest.raises(git.GitError) as caught:
        git.run(root, "show", "HEAD:a.csv", "--no-such-option")
    assert "4711" not in str(caught.value)


def test_outside_a_repository_is_one_line(tmp_path: Path) -> None:
    assert not git.has_commits(tmp_path)
    with pytest.raises(git.GitError, match="not a git repository"):
        git.resolve(tmp_path, "HEAD")
    with pytest.raises(git.GitError, match="no such folder"):
        git.run(tmp_path / "absent", "status")


def test_inherited_git_variables_cannot_redirect_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook exports GIT_DIR and GIT_INDEX_FILE; a hostile environment may add config."""
    root = _repo(tmp_path, {"a.csv": "a\n"})
    other = _repo(tmp_path / "other", {"b.csv": "b\n"})
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.quotePath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "nonsense")
    monkeypatch.setenv("GIT_GLOB_PATHSPECS", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Kept Identity")
    assert git.ls_files(root) == ["a.csv"]
    env = git.environment()
    assert "GIT_DIR" not in env and "GIT_CONFIG_COUNT" not in env and env["GIT_AUTHOR_NAME"] == "Kept Identity"
    isolated = {name for name in git.environment(isolated=True) if name.startswith("GIT_")}
    assert isolated == {"GIT_CONFIG_NOSYSTEM", "GIT_LITERAL_PATHSPECS"}


def test_extract_tree_writes_the_folder_as_committed(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"site/a.md": "a\n", "site/sub/b.md": "b\n", "other.md": "o\n"})
    dest = tmp_path / "out"
    assert provenance.extract_tree(root, "HEAD", "site", dest) == 2
    assert (dest / "site/sub/b.md").read_text() == "b\n" and not (dest / "other.md").exists()


def _imports_gitpython(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name == "git" or alias.name.startswith("git.") for alias in node.names)
    return isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "git"


def _runs_git_by_subprocess(tree: ast.AST) -> bool:
    """A call (subprocess.run, Popen, check_output...) whose first argument is a list or tuple
    starting with the constant "git"."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            first = node.args[0].elts[0] if node.args[0].elts else None
            if isinstance(first, ast.Constant) and first.value == "git":
                return True
    return False


def _offenders() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(_imports_gitpython(node) for node in ast.walk(tree)):
            found.append(f"{rel}: imports GitPython")
        if _runs_git_by_subprocess(tree):
            found.append(f"{rel}: runs git itself")
    return found


def test_no_other_module_runs_git_or_imports_gitpython() -> None:
    assert _offenders() == []


def test_the_scan_catches_a_module_that_runs_git(tmp_path: Path) -> None:
    tree = ast.parse('import subprocess\nsubprocess.run(["git", "log"], check=True)\n')
    assert _runs_git_by_subprocess(tree)
    assert _imports_gitpython(ast.parse("import git").body[0])
    assert _imports_gitpython(ast.parse("from git import Repo").body[0])
    assert not _imports_gitpython(ast.parse("from isp.history import git").body[0])
