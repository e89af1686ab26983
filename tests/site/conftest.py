"""The site tests' shared build: the small repository of :mod:`tests.site.helpers`, populated and
built once per session (the browser and dashboard tests read the same pages)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from isp.site.build import build_site
from tests.helpers import IspRepo, Keyring, patched_env
from tests.site.helpers import TODAY, BuiltSite, canaries, hermetic_git, passphrases, populate


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> BuiltSite:
    """The small repository, populated and built once per session (strict, both languages)."""
    base = tmp_path_factory.mktemp("site")
    root = base / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    env = hermetic_git(base / "home") | {"ISP_TODAY": TODAY, "SOPS_AGE_KEY": None, "SOPS_AGE_KEY_FILE": None}
    with patched_env(env):
        site = populate(IspRepo(root, keyring))
    ci = keyring.age_secret["ci"]
    with patched_env(env | {"SOPS_AGE_KEY": ci}):
        start = time.monotonic()
        report = build_site(root, strict=True)
        seconds = time.monotonic() - start
    return BuiltSite(site, report.out, passphrases(site, ci), canaries(site), seconds, ci)
