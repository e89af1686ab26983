"""The git side of `isp submit --commit` (GitPython): a branch, one path, the user's SSH signature.

Only SSH-signed submissions count (history/provenance), so an unsigned commit is refused before
anything is written, with the three git settings that turn signing on. A rerun on the branch a
submission was committed to adds to that branch rather than stacking ``-2`` on top of it.
"""

from __future__ import annotations

from pathlib import Path

import git

from isp.errors import IspError

BRANCH_PREFIX = "submission"
SIGNING = (
    ("gpg.format", "ssh", "ssh"),
    ("user.signingkey", None, "~/.ssh/id_ed25519.pub"),
    ("commit.gpgsign", "true", "true"),
)


class NotSigning(IspError):
    """git is not set up to sign commits with an SSH key: say which settings are missing."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            f"not submitted, nothing was written: git would commit unsigned ({', '.join(missing)} not set), "
            "and only SSH-signed submissions are counted"
        )

    def lines(self) -> list[str]:
        setup = [f"  git config --global {name} {example}" for name, _, example in SIGNING]
        tail = "then run the same `isp submit --commit` again (see `isp keys signer` to register the key)"
        return [str(self), "set up SSH signing once:", *setup, tail]


def signing_missing(root: Path) -> list[str]:
    """The git settings (as git itself resolves them for ``root``) that stop commits being SSH-signed."""
    repo = _repo(root)
    missing = []
    for name, wanted, _ in SIGNING:
        try:
            value = repo.git.config("--get", name).strip()
        except git.GitCommandError:
            value = ""
        if not value or (wanted is not None and value.lower() != wanted):
            missing.append(name)
    return missing


def require_signing(root: Path) -> None:
    missing = signing_missing(root)
    if missing:
        raise NotSigning(missing)


def _repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise IspError(f"{root} is not a git repository: run `git init` or `isp init`") from None


def free_branch(repo: git.Repo, agency: str, month: str) -> str:
    """The branch to commit on: the current one when it already is this submission's branch (a
    rerun), else ``submission/A/M``, or ``submission/A/M-2``... when that name is taken (a revision)."""
    taken = {head.name for head in repo.heads}
    base = f"{BRANCH_PREFIX}/{agency}/{month}"
    current = None if repo.head.is_detached else repo.active_branch.name
    if current is not None and (current == base or current.startswith(f"{base}-")):
        return current
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, 1000) if f"{base}-{n}" not in taken)


def commit_submission(root: Path, rel: str, agency: str, month: str, revised: bool) -> tuple[str, str]:
    """Commit ``rel`` alone on a new branch; return (branch, commit id)."""
    repo = _repo(root)
    branch = free_branch(repo, agency, month)
    verb = "Revise" if revised else "Submit"
    try:
        if repo.head.is_detached or repo.active_branch.name != branch:
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
