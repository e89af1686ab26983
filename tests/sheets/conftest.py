"""The sheet tests' fixture: the shipped protocol, loaded once per module."""

from __future__ import annotations

import pytest

from isp.protocol.models import Isp
from tests.sheets import helpers as sf


@pytest.fixture(scope="module")
def isp_() -> Isp:
    """The repository's own protocol (indicators, sites, layouts)."""
    return sf.load_isp()
