"""The git side of `isp submit --commit`: a branch, one path, the user's own SSH signature.

Only SSH-signed submissions count (history/provenance), so an unsigned commit is refused before
anything is written, with the three git settings that turn signing on. A rerun on the branch a
submission was committed to adds to that branch rather than stacking ``-2`` on top of it.
"""

from __future__ import annotations

from pathlib import Path

from isp.errors import IspError
from isp.history import git

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


def _require_repository(root: Path) -> None:
    if not git.succeeds(root, "rev-parse", "--git-dir"):
        raise IspError(f"{root} is not a git repository: run `git init` or `isp init`")


def signing_missing(root: Path) -> list[str]:
    """The git settings (as git itself resolves them for ``root``) that stop commits being SSH-signed."""
    _require_repository(root)
    missing = []
    for name, wanted, _ in SIGNING:
        try:
            value = git.text(root, "config", "--get", name).strip()
        except git.GitError:
            value = ""
        if not value or (wanted is not None and value.lower() != wanted):
            missing.append(name)
    return missing


def require_signing(root: Path) -> None:
    missing = signing_missing(root)
    if missing:
        raise NotSigning(missing)


def current_branch(root: Path) -> str | None:
    """The branch checked out in ``root``, or None on a detached head."""
    try:
        return git.text(root, "symbolic-ref", "-q", "--short", "HEAD").strip() or None
    except git.GitError:
        return None


def free_branch(root: Path, agency: str, month: str) -> str:
    """The branch to commit on: the current one when it already is this submission's branch (a
    rerun), else ``submission/A/M``, or ``submission/A/M-2``... when that name is taken (a revision)."""
    _require_repository(root)
    taken = git.branches(root)
    base = f"{BRANCH_PREFIX}/{agency}/{month}"
    current = current_branch(root)
    if current is not None and (current == base or current.startswith(f"{base}-")):
        return current
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, 1000) if f"{base}-{n}" not in taken)


def commit_submission(root: Path, rel: str, agency: str, month: str, revised: bool) -> tuple[str, str]:
    """Commit ``rel`` alone on the submission's branch; return (branch, commit id)."""
    branch = free_branch(root, agency, month)
    verb = "Revise" if revised else "Submit"
    try:
        if current_branch(root) != branch:
            git.run(root, "switch", "-c", branch)
        return branch, git.commit(root, f"{verb} {agency} {month}", rel)
    except git.GitError as exc:
        raise IspError(
            f"{rel} is written but the commit failed ({exc.reason}): "
            f"fix it and run `git commit -- {rel}` on branch {branch}"
        ) from None


def is_ignored(root: Path, path: Path) -> bool:
    return git.is_ignored(root, str(path))
