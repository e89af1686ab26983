"""Shared pieces for the provenance, `isp ci pr` and `isp status` tests.

Module-scoped repositories keep the suite fast: they are copies of the session's initialised
repository, built once per test module inside the same clean git environment the autouse
fixture gives each test (module fixtures start before it, so they set up their own).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import IspRepo, Keyring, git, patched_env, ssh_keygen


@contextlib.contextmanager
def clean_git_env(home: Path) -> Iterator[None]:
    """The conftest's clean environment, usable outside a function-scoped fixture."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = ISP Test\n\temail = test@example.org\n[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
    )
    drop: dict[str, str | None] = {name: None for name in os.environ if name.startswith(("GIT_", "SOPS_"))}
    env: dict[str, str | None] = {
        **drop,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "SOPS_DISABLE_VERSION_CHECK": "1",
    }
    with patched_env(env):
        yield


def copy_repo(template: Path, target: Path, keyring: Keyring) -> IspRepo:
    shutil.copytree(template, target, symlinks=True)
    return IspRepo(target, keyring)


def commit_at(repo: IspRepo, message: str, when: str, signer: str | None = "IRC:primary") -> str:
    """A signed commit whose committer (and author) date is ``when`` (ISO 8601 with offset)."""
    with patched_env({"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}):
        return repo.commit(message, signer=signer)


def branch(repo: IspRepo, name: str, start: str) -> None:
    """Start a fresh branch ``name`` at ``start`` and switch to it (a pull request's head)."""
    git(repo.root, "checkout", "-q", "-B", name, start)


def new_ssh_key(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return ssh_keygen(folder / name, name)


@pytest.fixture(scope="module")
def module_repo(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> Iterator[IspRepo]:
    """One copy of the initialised repository shared by a whole test module."""
    base = tmp_path_factory.mktemp("module-repo")
    with clean_git_env(base / "home"):
        yield copy_repo(_template_repo, base / "isp", keyring)


def leftover_temp_dirs(prefix: str) -> list[str]:
    return [p.name for p in Path(tempfile.gettempdir()).glob(f"{prefix}*")]


def blob(repo: IspRepo, data: bytes) -> str:
    """Store ``data`` as a blob; its id."""
    proc = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo.root, input=data, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def mktree(repo: IspRepo, lines: list[str], missing: bool = False) -> str:
    """A tree from ``mode type id<TAB>name`` lines, as `git mktree` takes them (names unchecked:
    this is how a hand-made tree gets entries git itself never writes)."""
    args = ["git", "mktree", *(["--missing"] if missing else [])]
    proc = subprocess.run(args, cwd=repo.root, input="".join(f"{ln}\n" for ln in lines).encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode().strip()


def tree_plus(repo: IspRepo, rev: str, entries: list[str], missing: bool = False) -> str:
    """``rev``'s root tree with extra top-level ``entries`` (mktree lines)."""
    current = git(repo.root, "ls-tree", rev).splitlines()
    return mktree(repo, [*current, *entries], missing)


def commit_tree(repo: IspRepo, tree: str, parent: str, signer: str, message: str = "hand-made tree") -> str:
    """A commit of ``tree`` on ``parent``, SSH-signed by ``signer``; HEAD moves to it."""
    email = repo.email(*signer.split(":")) if ":" in signer else "nobody@example.org"
    sha = git(
        repo.root,
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey={repo.keyring.ssh[signer]}",
        "-c",
        f"user.email={email}",
        "commit-tree",
        f"-S{repo.keyring.ssh[signer]}",
        tree,
        "-p",
        parent,
        "-m",
        message,
    ).strip()
    git(repo.root, "reset", "-q", "--soft", sha)
    return sha


def index_commit(repo: IspRepo, parent: str, entries: list[tuple[str, str, str]], signer: str) -> str:
    """A signed commit of ``parent``'s tree plus index ``entries`` (mode, object id, path), built in
    a private index: a gitlink or an odd name that no working tree holds."""
    index = repo.root / ".git" / "isp-test-index"
    env = {"GIT_INDEX_FILE": str(index)}
    git(repo.root, "read-tree", parent, env=env)
    for mode, sha, path in entries:
        git(repo.root, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
    tree = git(repo.root, "write-tree", "--missing-ok", env=env).strip()
    index.unlink()
    return commit_tree(repo, tree, parent, signer)
