"""`isp init`: a new ISP repository made from this one's template files.

The template is the set of files below, taken from the repository this package lives in, with
every key, signer and suspension cleared so the new group starts clean.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from isp import yamlfiles
from isp.errors import IspError

TEMPLATE_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_FILES = (
    "protocol/protocol.yaml",
    "protocol/agencies.yaml",
    "protocol/sites.yaml",
    "protocol/indicators.yaml",
    "protocol/activityinfo.yaml",
    "protocol/imports",
    "protocol/reports",
    "protocol/README.md",
    "submissions/README.md",
    "aggregates/README.md",
    "requests/README.md",
    "protocol/breaches/README.md",
    "protocol/membership/README.md",
    ".github/workflows",
    "mkdocs.yml",
    "site",
    ".pre-commit-config.yaml",
    ".gitignore",
    ".gitattributes",
)


def init_repository(target: Path) -> list[str]:
    """Copy the template into ``target`` (which must be empty or absent); return what was made."""
    if target.exists() and any(target.iterdir()):
        raise IspError(f"{target} is not empty: choose a new folder")
    target.mkdir(parents=True, exist_ok=True)
    made = []
    for rel in TEMPLATE_FILES:
        source = TEMPLATE_ROOT / rel
        if not source.exists():
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, dest)
        made.append(rel)
    for folder in ("submissions", "aggregates", "requests", "protocol/breaches"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    clear_keys(target / "protocol" / "agencies.yaml")
    return made


def clear_keys(agencies_file: Path) -> None:
    """Remove recipients, signing keys and suspensions: a new group brings its own."""
    with yamlfiles.edit(agencies_file) as doc:
        for agency in doc["agencies"].values():
            agency["age_recipients"] = []
            agency.pop("suspensions", None)
            for focal in agency["focal_points"].values():
                focal.pop("ssh_keys", None)
        doc["ci"]["age_recipients"] = []
