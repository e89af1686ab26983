"""Helpers of the protocol tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def edit(root: Path, name: str, change: Callable[[Any], object]) -> None:
    """Load ``protocol/<name>`` under ``root``, let ``change`` edit it in place, write it back."""
    path = root / "protocol" / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
