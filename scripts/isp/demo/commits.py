"""Git for the demo: SSH signing keys for focal points and dated, signed commits.

The demo writes a history that looks lived-in, so every commit carries the date the event would
have happened (``GIT_AUTHOR_DATE`` and ``GIT_COMMITTER_DATE``) and is signed with the SSH key of
the focal point who would have made it. Git runs with an explicit configuration on the command
line and a scrubbed environment, so the user's own git settings (signing, hooks, identity) never
leak into the demo and the demo never touches them.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from isp.errors import IspError
from isp.history import git


def run_git(root: Path, *args: str, when: datetime | None = None) -> str:
    """Run git in ``root`` with no inherited ``GIT_*`` variable (identity, dates, config), dated
    ``when``; a failure is one :class:`git.GitError` line naming the git command."""
    dates = {"GIT_AUTHOR_DATE": when.isoformat(), "GIT_COMMITTER_DATE": when.isoformat()} if when else {}
    return git.text(root, *args, env=dates, isolated=True)


def ssh_keygen(private_key: Path, comment: str) -> Path:
    """A new passphrase-less ed25519 key pair; returns the private key path (``.pub`` beside it)."""
    proc = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(private_key)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise IspError(f"ssh-keygen could not make {private_key.name}: is OpenSSH installed?")
    return private_key


@dataclass(frozen=True)
class Signer:
    """Who makes a commit: a name, an e-mail and (optionally) an SSH signing key."""

    name: str
    email: str
    key: Path | None = None


@dataclass(frozen=True)
class Merge:
    """How a pull request is merged: its number, branch, who presses the button, and when."""

    number: int
    branch: str
    merger: Signer
    when: datetime


def _identity(who: Signer) -> list[str]:
    return ["-c", f"user.name={who.name}", "-c", f"user.email={who.email}", "-c", "commit.gpgsign=false"]


class DemoGit:
    """A repository the demo commits to, one dated commit per event."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._head: str | None = None  # main's tip, as this object last moved it

    def init(self) -> None:
        run_git(self.root, "init", "-q", "-b", "main")

    def commit(self, paths: list[str], message: str, signer: Signer, when: datetime) -> str:
        """Stage ``paths`` (added, changed or removed) and commit them alone; returns the commit id."""
        run_git(self.root, "add", "--all", "--", *paths)
        opts = [*_identity(signer), "-c", "core.hooksPath=/dev/null"]
        if signer.key is not None:
            opts += ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signer.key}"]
        sign = ["-S"] if signer.key is not None else ["--no-gpg-sign"]
        run_git(self.root, *opts, "commit", "-q", "--no-verify", "--allow-empty", *sign, "-m", message, when=when)
        self._head = None
        return self.head()

    def pull_request(
        self, paths: list[str], message: str, signer: Signer, when: datetime, merge: Merge
    ) -> tuple[str, str]:
        """The agency's signed commit on a branch off ``main``, merged into ``main`` with ``--no-ff``
        (its own commit stays the merge's second parent, as GitHub keeps it). Returns both ids."""
        base = self.head()
        own = self.commit(paths, message, signer, when)
        text = f"Merge pull request #{merge.number} from {merge.branch}\n\n{message.splitlines()[0]}"
        merged = run_git(
            self.root,
            *_identity(merge.merger),
            "commit-tree",
            f"{own}^{{tree}}",
            "-p",
            base,
            "-p",
            own,
            "-m",
            text,
            when=merge.when,
        ).strip()
        run_git(self.root, "update-ref", "-m", "demo: merge pull request", "refs/heads/main", merged, own)
        self._head = merged
        return own, merged

    def discard_changes(self) -> None:
        """Back to the last commit after a failed step (tracked files restored, new ones removed;
        ignored files such as the keys are kept)."""
        run_git(self.root, "reset", "-q", "--hard", "HEAD")
        run_git(self.root, "clean", "-q", "-fd")

    def head(self) -> str:
        if self._head is None:
            self._head = run_git(self.root, "rev-parse", "HEAD").strip()
        return self._head

    def count(self) -> int:
        return int(run_git(self.root, "rev-list", "--count", "HEAD").strip())
