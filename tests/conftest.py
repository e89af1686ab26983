"""Fixtures: a clean git environment for every test, a session keyring, and real ISP repos."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import IspRepo, Keyring, git_home, make_isp_repo, make_keyring


@pytest.fixture(autouse=True)
def clean_git_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never depend on the developer's git config, keys or GIT_* variables."""
    for name in list(os.environ):
        if name.startswith(("GIT_", "SOPS_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = ISP Test\n\temail = test@example.org\n[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("SOPS_DISABLE_VERSION_CHECK", "1")


@pytest.fixture(scope="session")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return make_keyring(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def _template_repo(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring) -> Path:
    root = tmp_path_factory.mktemp("template") / "isp"
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    make_isp_repo(root, keyring)
    return root


@pytest.fixture
def isp_repo(tmp_path: Path, keyring: Keyring, _template_repo: Path) -> IspRepo:
    """A fresh copy of a keyed, committed ISP repository (copied, so each test may change it)."""
    root = tmp_path / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    return IspRepo(root, keyring)


@pytest.fixture(scope="module")
def module_repo(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> Iterator[IspRepo]:
    """One copy of the initialised repository shared by a whole test module (read-mostly: the
    provenance, `isp ci pr` and `isp status` tests build their histories on it)."""
    base = tmp_path_factory.mktemp("module-repo")
    with git_home(base / "home"):
        root = base / "isp"
        shutil.copytree(_template_repo, root, symlinks=True)
        yield IspRepo(root, keyring)
