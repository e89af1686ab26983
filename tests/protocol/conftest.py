"""The protocol tests' fixture: a copy of the shipped protocol/ folder a test may break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT


@pytest.fixture
def proto(tmp_path: Path) -> Path:
    """A folder holding a copy of the repository's protocol/ (the test may edit it)."""
    shutil.copytree(REPO_ROOT / "protocol", tmp_path / "protocol")
    return tmp_path
