"""The site tests' shared fixtures: the small repository of :mod:`tests.site.helpers`, populated and
built once per session (the browser and dashboard tests read the same pages), served on
127.0.0.1, and Debian's Chromium through Playwright for the browser tests."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from isp.site import serve
from isp.site.build import build_site
from tests.helpers import IspRepo, Keyring, patched_env
from tests.site.helpers import ARGS, CHROMIUM, TODAY, BuiltSite, canaries, hermetic_git, passphrases, populate


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


@pytest.fixture(scope="module")
def base_url(built_site: BuiltSite) -> Iterator[str]:
    httpd, thread = serve.in_thread(built_site.out)
    yield serve.url(httpd)
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()
