"""The plaintext guard run by the pre-commit hook ``isp-plaintext-guard``.

Refuses, for the files about to be committed:

- anything under submissions/ or aggregates/ that is not a sops envelope (our own check:
  ``sops filestatus`` is unreliable on binary files), except the README, ``.gitkeep`` files and
  the aggregate manifests (hashes and counts of agencies, never a figure);
- spreadsheets and CSV files anywhere else (a tracking sheet saved into the checkout by mistake)
  unless they are sops envelopes;
- age identities and SSH private keys, anywhere;
- mkdocs-encryptcontent's ``encryptcontent.cache`` (derived page keys), anywhere.

Messages name the file and the rule, never a line of its content.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from isp import errors
from isp.crypto import sops
from isp.errors import Problem
from isp.history import git

PROTECTED = ("submissions", "aggregates")
ALLOWED_NAMES = frozenset({"README.md", ".gitkeep"})
MANIFESTS = re.compile(r"^aggregates/(?:agency/[^/]+/)?manifest\.json$")
CACHE_NAME = "encryptcontent.cache"
SHEET_SUFFIXES = frozenset({".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
# Real keys only (not the words that name them), so documentation and this file itself pass.
AGE_IDENTITY = re.compile(rb"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")
PRIVATE_KEY = re.compile(rb"-----BEGIN (?:OPENSSH |RSA |DSA |EC |ENCRYPTED )?PRIVATE KEY-----\s*[A-Za-z0-9+/=]{16}")


def relative(root: Path, path: Path) -> str:
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _protected(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    if not parts or parts[0] not in PROTECTED:
        return False
    return parts[-1] not in ALLOWED_NAMES and not MANIFESTS.match(rel)


def is_stray_sheet(rel: str) -> bool:
    """A spreadsheet or CSV outside submissions/ and aggregates/ (which have their own rule)."""
    path = PurePosixPath(rel)
    return path.suffix.lower() in SHEET_SUFFIXES and (not path.parts or path.parts[0] not in PROTECTED)


STRAY_SHEET_FIX = "keep sheets outside the repository; `isp submit FILE` encrypts the figures into submissions/"


def check_file(root: Path, path: Path) -> list[Problem]:
    """Every rule for one file (a missing file, e.g. a deletion, passes)."""
    rel = relative(root, path)
    absolute = path if path.is_absolute() else Path.cwd() / path
    if PurePosixPath(rel).name == CACHE_NAME:
        fix = "delete it and add it to .gitignore (set cache_file: '' in mkdocs.yml)"
        return [Problem.of(errors.ENCRYPTCONTENT_CACHE, rel, fix=fix)]
    if absolute.is_symlink() and _protected(rel):
        return [
            Problem.of(
                errors.SYMLINK, rel, fix="commit the file", detail="a link has no place in submissions/ or aggregates/"
            )
        ]
    if not absolute.is_file():
        return []
    data = absolute.read_bytes()
    problems = []
    if _protected(rel) and not sops.is_envelope(data):
        problems.append(
            Problem.of(
                errors.PLAINTEXT,
                rel,
                fix="unstage it (`git restore --staged FILE`) and use `isp submit`, which encrypts",
            )
        )
    if is_stray_sheet(rel) and not sops.is_envelope(data):
        problems.append(
            Problem.of(errors.PLAINTEXT_SHEET, rel, fix=STRAY_SHEET_FIX, holds="a spreadsheet or CSV in the repository")
        )
    if AGE_IDENTITY.search(data):
        problems.append(Problem.of(errors.AGE_IDENTITY, rel, fix="unstage it and keep keys outside the repo"))
    if PRIVATE_KEY.search(data):
        problems.append(Problem.of(errors.PRIVATE_KEY, rel, fix="unstage it; commit only the .pub file"))
    return problems


def check(root: Path, paths: list[Path]) -> list[Problem]:
    return [problem for path in paths for problem in check_file(root, path)]


def tracked(root: Path) -> list[Path]:
    """Every file in git's index (what the next commit would hold)."""
    try:
        return [root / name for name in git.ls_files(root) if name]
    except git.GitError:
        return []
