"""The git side of `isp submit --commit` (GitPython): a new branch, one path, the user's signing."""

from __future__ import annotations

from pathlib import Path

import git

from isp.errors import IspError

BRANCH_PREFIX = "submission"


def _repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise IspError(f"{root} is not a git repository: run `git init` or `isp init`") from None


def free_branch(repo: git.Repo, agency: str, month: str) -> str:
    """``submission/A/M``, or ``submission/A/M-2``... when that name is taken (a revision)."""
    taken = {head.name for head in repo.heads}
    base = f"{BRANCH_PREFIX}/{agency}/{month}"
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, 1000) if f"{base}-{n}" not in taken)


def commit_submission(root: Path, rel: str, agency: str, month: str, revised: bool) -> tuple[str, str]:
    """Commit ``rel`` alone on a new branch; return (branch, commit id)."""
    repo = _repo(root)
    branch = free_branch(repo, agency, month)
    verb = "Revise" if revised else "Submit"
    try:
        repo.git.switch("-c", branch)
        repo.git.add("--", rel)
        repo.git.commit("-m", f"{verb} {agency} {month}", "--", rel)
    except git.GitCommandError as exc:
        reason = (exc.stderr or "").strip().splitlines()[-1:] or ["git failed"]
        raise IspError(
            f"{rel} is written but the commit failed ({reason[0].removeprefix('stderr: ').strip()}): "
            f"fix it and run `git commit -- {rel}` on branch {branch}"
        ) from None
    return branch, repo.head.commit.hexsha


def is_ignored(root: Path, path: Path) -> bool:
    try:
        return bool(_repo(root).ignored(str(path)))
    except (IspError, git.GitCommandError):
        return False
