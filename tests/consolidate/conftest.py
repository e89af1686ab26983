"""The consolidation tests' shared fixtures: outputs are read with CI's key, and one committed
dataset is built once per session for both test modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.consolidate.helpers import Dataset, make_dataset
from tests.helpers import IspRepo, Keyring


@pytest.fixture(autouse=True)
def ci_key(clean_git_env: None, monkeypatch: pytest.MonkeyPatch, keyring: Keyring) -> None:
    """Tests read outputs as CI does (a test that needs another key patches the environment)."""
    monkeypatch.setenv("SOPS_AGE_KEY", keyring.age_secret["ci"])


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> Dataset:
    """Five agencies' sheets for 2025-11..2026-03 (JRF skips March), committed, not consolidated.
    Shared by every consolidation test: copy it (``Dataset.copy``) before changing anything."""
    root = tmp_path_factory.mktemp("consolidate-base") / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    return make_dataset(IspRepo(root, keyring), keyring)
