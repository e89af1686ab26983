"""Hand-made git objects for the `isp ci` tests: blobs, trees and signed commits that git's own
porcelain would never write (odd names, gitlinks, missing objects)."""

from __future__ import annotations

import json
import subprocess

from tests.helpers import IspRepo, Result, git, isp

TODAY = "2025-06-20"  # the day the pull-request tests judge on (ISP_TODAY)


def start_pr(repo: IspRepo, base: str, name: str) -> None:
    """Check out a fresh branch ``name`` at ``base``, with nothing left over from another test."""
    git(repo.root, "checkout", "-q", "-f", "-B", name.replace(":", "-"), base)
    git(repo.root, "clean", "-q", "-f", "-d", "-x", "-e", ".demo-keys")


def ci_pr(repo: IspRepo, base: str, key: bool = False) -> Result:
    """``isp ci pr --json`` on the checked-out branch, with CI's key when ``key``."""
    env: dict[str, str | None] = {"ISP_TODAY": TODAY}
    if key:
        env.update(repo.keyring.env("ci"))
    return isp("ci", "pr", "--repo", repo.root, "--base", base, "--head", "HEAD", "--json", env=env)


def rules(result: Result) -> set[str]:
    """The rule codes of the violations ``isp ci pr --json`` reported."""
    return {v["rule"] for v in json.loads(result.out)["violations"]}


def blob(repo: IspRepo, data: bytes) -> str:
    """Store ``data`` as a blob; its id."""
    proc = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo.root, input=data, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def mktree(repo: IspRepo, lines: list[str], missing: bool = False) -> str:
    """A tree from ``mode type id<TAB>name`` lines, as `git mktree` takes them (names unchecked:
    this is how a hand-made tree gets entries git itself never writes)."""
    args = ["git", "mktree", *(["--missing"] if missing else [])]
    proc = subprocess.run(args, cwd=repo.root, input="".join(f"{ln}\n" for ln in lines).encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode().strip()


def tree_plus(repo: IspRepo, rev: str, entries: list[str], missing: bool = False) -> str:
    """``rev``'s root tree with extra top-level ``entries`` (mktree lines)."""
    current = git(repo.root, "ls-tree", rev).splitlines()
    return mktree(repo, [*current, *entries], missing)


def commit_tree(repo: IspRepo, tree: str, parent: str, signer: str, message: str = "hand-made tree") -> str:
    """A commit of ``tree`` on ``parent``, SSH-signed by ``signer``; HEAD moves to it."""
    email = repo.email(*signer.split(":")) if ":" in signer else "nobody@example.org"
    sha = git(
        repo.root,
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey={repo.keyring.ssh[signer]}",
        "-c",
        f"user.email={email}",
        "commit-tree",
        f"-S{repo.keyring.ssh[signer]}",
        tree,
        "-p",
        parent,
        "-m",
        message,
    ).strip()
    git(repo.root, "reset", "-q", "--soft", sha)
    return sha


def index_commit(repo: IspRepo, parent: str, entries: list[tuple[str, str, str]], signer: str) -> str:
    """A signed commit of ``parent``'s tree plus index ``entries`` (mode, object id, path), built in
    a private index: a gitlink or an odd name that no working tree holds."""
    index = repo.root / ".git" / "isp-test-index"
    env = {"GIT_INDEX_FILE": str(index)}
    git(repo.root, "read-tree", parent, env=env)
    for mode, sha, path in entries:
        git(repo.root, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
    tree = git(repo.root, "write-tree", "--missing-ok", env=env).strip()
    index.unlink()
    return commit_tree(repo, tree, parent, signer)
