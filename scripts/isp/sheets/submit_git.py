"""The git side of `isp submit --commit`: a new branch, one path, the user's own identity and signing."""

from __future__ import annotations

from pathlib import Path

from isp.errors import IspError
from isp.history import git

BRANCH_PREFIX = "submission"


def free_branch(root: Path, agency: str, month: str) -> str:
    """``submission/A/M``, or ``submission/A/M-2``... when that name is taken (a revision)."""
    try:
        taken = git.branches(root)
    except git.GitError:
        raise IspError(f"{root} is not a git repository: run `git init` or `isp init`") from None
    base = f"{BRANCH_PREFIX}/{agency}/{month}"
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, 1000) if f"{base}-{n}" not in taken)


def commit_submission(root: Path, rel: str, agency: str, month: str, revised: bool) -> tuple[str, str]:
    """Commit ``rel`` alone on a new branch; return (branch, commit id)."""
    branch = free_branch(root, agency, month)
    verb = "Revise" if revised else "Submit"
    try:
        git.run(root, "switch", "-c", branch)
        return branch, git.commit(root, f"{verb} {agency} {month}", rel)
    except git.GitError as exc:
        raise IspError(
            f"{rel} is written but the commit failed ({exc.reason}): "
            f"fix it and run `git commit -- {rel}` on branch {branch}"
        ) from None


def is_ignored(root: Path, path: Path) -> bool:
    return git.is_ignored(root, str(path))
