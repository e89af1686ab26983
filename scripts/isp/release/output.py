"""Where a release package may be written, and writing it all at once.

A package is built in a private temporary folder beside the destination and renamed into place
in one step, so an interrupted run leaves either nothing or the whole package, never half of
one. The destination must be outside the repository's tracked folders: a release is meant to
leave the group, and nothing it contains belongs in git.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from isp.errors import IspError
from isp.history import git


@dataclass(frozen=True)
class WrittenFile:
    """One file of a package, as recorded in the request file."""

    name: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_ignored(root: Path, path: Path) -> bool:
    """True when git would ignore ``path`` (so nothing written there can be committed by accident)."""
    rel = path.relative_to(root).as_posix()
    return git.is_ignored(root, f"{rel}/", no_index=True)


def check_destination(repo_root: Path, out: Path) -> Path:
    """The resolved destination, or an :class:`IspError` saying why it cannot be used."""
    out = out.expanduser().resolve()
    root = repo_root.resolve()
    if out == root or (out.is_relative_to(root) and not _git_ignored(root, out)):
        raise IspError(
            f"{out}: a release is never written inside the repository's tracked folders; "
            "give a folder outside it (for example ~/releases/<ID>)"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise IspError(f"{out} already exists and is not an empty folder: choose a new one (nothing was written)")
    return out


def write_package(out: Path, files: Mapping[str, bytes]) -> list[WrittenFile]:
    """Write every file into ``out`` at once (temp folder beside it, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        written = [_write_one(staging, name, data) for name, data in sorted(files.items())]
        staging.chmod(0o755)
        if out.exists():
            out.rmdir()  # an empty folder the caller made for us; check_destination verified it is empty
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def _write_one(folder: Path, name: str, data: bytes) -> WrittenFile:
    if "/" in name or name.startswith("."):
        raise ValueError(f"package file names are flat and visible: {name!r}")
    path = folder / name
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(0o644)
    return WrittenFile(name, sha256(data), len(data))
