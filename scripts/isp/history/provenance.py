"""Provenance: who made each commit, proven by its SSH signature, read from git history.

Signatures are checked by git itself (``ssh-keygen -Y verify`` underneath) against an
allowed-signers file that the caller chooses, normally the one *of the base commit*: a pull
request cannot add its own key and then use it. The file is written to a private temp dir for
the one ``git log`` call that checks every commit at once, and removed afterwards (it holds
public keys only, but nothing is left behind on principle).

git's ``%GS`` gives the principal (the focal point's e-mail). Its agency and role come from the
comment that ends each allowed-signers line (``IRC:primary``), written by ``isp keys sync``.
A signature belongs to the committer, so the committer date is the time that counts.

GitHub's merge and squash buttons make new commits that carry no agency signature, so a pull
request's own commits are the ones verified (``commits_between``); on the main branch the
submission history (``submission_versions``) follows the merged side of merge commits.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from isp.errors import IspError
from isp.history import git

ALLOWED_SIGNERS = "protocol/allowed_signers"
SUBMISSIONS = "submissions"
SUBMISSION_PATH = re.compile(r"^submissions/([^/]+)/(\d{4}-\d{2})\.csv$")
_SIGNER_COMMENT = re.compile(r"^([A-Z][A-Z0-9]{1,11}):(primary|secondary|signatory)$")
_FIELDS = "%H%x00%G?%x00%GS%x00%cI%x00%ae"


@dataclass(frozen=True)
class CommitInfo:
    """One commit and what its signature proves."""

    sha: str
    status: str  # git's %G? letter: G good, B bad, U unknown signer, N none, E cannot check, X/Y/R expired/revoked
    principal: str | None  # the signer's e-mail from the allowed-signers file
    agency: str | None
    role: str | None  # primary | secondary | signatory
    committed: datetime  # committer date, tz-aware
    author_email: str

    @property
    def verified(self) -> bool:
        """A good signature by a registered focal point of some agency."""
        return self.status == "G" and self.agency is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "sha": self.sha,
            "status": self.status,
            "verified": self.verified,
            "principal": self.principal,
            "agency": self.agency,
            "role": self.role,
            "committed": self.committed.isoformat(),
            "author_email": self.author_email,
        }


def _git(root: Path, *args: str, config: dict[str, str] | None = None) -> str:
    return git.text(root, *args, config=config)


def resolve(root: Path, rev: str) -> str:
    """The full commit id of ``rev`` (a branch, tag or abbreviated id)."""
    return git.resolve(root, rev)


def file_at(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` in commit ``rev``; None when the path is not a file there."""
    return git.blob_at(root, rev, path)


def allowed_signers_at(root: Path, rev: str) -> str:
    """protocol/allowed_signers as it is in commit ``rev`` ("" when absent)."""
    data = file_at(root, rev, ALLOWED_SIGNERS)
    return "" if data is None else data.decode("utf-8", "replace")


def commits_between(root: Path, base: str, head: str) -> list[str]:
    """The commits in ``base..head`` (what a pull request brings), oldest first."""
    out = _git(root, "rev-list", "--reverse", "--topo-order", f"{resolve(root, base)}..{resolve(root, head)}")
    return out.split()


def signer_roles(allowed_signers: str) -> dict[str, tuple[str, str]]:
    """principal e-mail (lower case) -> (agency, role), from each line's ``AGENCY:role`` comment."""
    roles: dict[str, tuple[str, str]] = {}
    for line in allowed_signers.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        match = _SIGNER_COMMENT.match(parts[-1])
        if match:
            for principal in parts[0].split(","):
                roles[principal.strip('"').lower()] = (match.group(1), match.group(2))
    return roles


def _parse_record(line: str, roles: dict[str, tuple[str, str]]) -> CommitInfo:
    sha, status, principal, committed, author = line.split("\x00")
    agency, role = roles.get(principal.lower(), (None, None)) if principal else (None, None)
    return CommitInfo(
        sha=sha,
        status=status or "N",
        principal=principal or None,
        agency=agency,
        role=role,
        committed=datetime.fromisoformat(committed),
        author_email=author,
    )


def verify(root: Path, shas: list[str], allowed_signers: str) -> dict[str, CommitInfo]:
    """Check every commit's signature against ``allowed_signers`` (the text of the file) in one
    ``git log --no-walk`` call; returns sha -> CommitInfo."""
    if not shas:
        return {}
    roles = signer_roles(allowed_signers)
    with tempfile.TemporaryDirectory(prefix="isp-signers-") as folder:
        signers = Path(folder) / "allowed_signers"
        signers.write_text(allowed_signers, encoding="utf-8")
        config = {"gpg.ssh.allowedSignersFile": str(signers), "gpg.ssh.revocationFile": ""}
        out = _git(root, "log", "--no-walk=unsorted", f"--format={_FIELDS}", *shas, "--", config=config)
    infos = [_parse_record(line, roles) for line in out.splitlines() if line]
    return {info.sha: info for info in infos}


def parents(root: Path, sha: str) -> list[str]:
    """The parents of commit ``sha`` (none for a root commit, two or more for a merge)."""
    return _git(root, "rev-list", "--parents", "-n", "1", resolve(root, sha)).split()[1:]


def changed_paths(root: Path, sha: str) -> list[git.Change]:
    """(status letter, path) for each file ``sha`` changed against its first parent (renames
    are reported as a deletion plus an addition, so neither side escapes the rules)."""
    parents = _git(root, "rev-list", "--parents", "-n", "1", resolve(root, sha)).split()
    against = [parents[1], parents[0]] if len(parents) > 1 else ["--root", parents[0]]
    return git.diff(root, "diff-tree", "-r", "--no-commit-id", *against)


def path_commits(root: Path, path: str, rev: str = "HEAD") -> list[str]:
    """The commits reachable from ``rev`` that touched ``path``, oldest first."""
    return _git(root, "log", "--reverse", "--format=%H", resolve(root, rev), "--", path).split()


def submission_commits(root: Path, rev: str = "HEAD") -> dict[tuple[str, str], list[str]]:
    """(agency, month) -> the commits that added or changed submissions/<agency>/<month>.csv,
    oldest first, from one walk of the history."""
    entries = git.log_changes(root, "%H", "--reverse", "--diff-filter=AM", resolve(root, rev), "--", SUBMISSIONS)
    found: dict[tuple[str, str], list[str]] = {}
    for sha, changes in entries:
        for _status, path in changes:
            match = SUBMISSION_PATH.match(path)
            if match:
                found.setdefault((match.group(1), match.group(2)), []).append(sha)
    return found


def submission_versions(root: Path, rev: str = "HEAD") -> dict[tuple[str, str], list[CommitInfo]]:
    """(agency, month) -> every commit that added or changed that submission, oldest first,
    verified against the allowed-signers file at ``rev``."""
    commits = submission_commits(root, rev)
    shas = sorted({sha for versions in commits.values() for sha in versions})
    infos = verify(root, shas, allowed_signers_at(root, rev))
    return {key: [infos[sha] for sha in versions] for key, versions in commits.items()}


# --- helpers for the pull-request rules (beyond contract B) -------------------------------------


def merge_base(root: Path, base: str, head: str) -> str:
    """Where ``head`` left ``base``: what a pull request's diff is taken against."""
    return _git(root, "merge-base", resolve(root, base), resolve(root, head)).strip()


def diff_paths(root: Path, base: str, head: str) -> list[git.Change]:
    """(status letter, path) for what ``head`` changes since it left ``base`` (``base...head``)."""
    start = merge_base(root, base, head)
    return git.diff(root, "diff", start, resolve(root, head))


def own_changes(root: Path, sha: str) -> list[git.Change]:
    """The changes a commit makes itself. For a merge, only paths that differ from *every* parent
    (what the merge's author wrote); what a parent brought is judged where it was made."""
    merged = parents(root, sha)
    if len(merged) < 2:
        return changed_paths(root, sha)
    per_parent = [
        {path: status for status, path in git.diff(root, "diff-tree", "-r", "--no-commit-id", parent, sha)}
        for parent in merged
    ]
    common = set(per_parent[0]).intersection(*per_parent[1:])
    return [git.Change(status, path) for path, status in per_parent[0].items() if path in common]


def blob_ids(root: Path, rev: str, paths: list[str]) -> dict[str, str]:
    """path -> blob id in ``rev`` for each of ``paths`` that is a file there."""
    if not paths:
        return {}
    return {
        entry.path: entry.object_id for entry in git.ls_tree(root, resolve(root, rev), *paths) if entry.kind == "blob"
    }


def history_blobs(root: Path, rev: str, folder: str = SUBMISSIONS) -> set[tuple[str, str]]:
    """Every (blob id, path) a file under ``folder`` ever had in the history of ``rev``: one walk."""
    out = git.decode(git.run(root, "log", "--format=", "--raw", "--no-abbrev", "--no-renames", "-z",
                             resolve(root, rev), "--", folder))  # fmt: skip
    found = set()
    fields = out.strip("\n\x00").split("\x00")
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.strip().split()
        if len(parts) >= 5 and set(parts[3]) != {"0"}:
            found.add((parts[3], path))
    return found


def read_blobs(root: Path, blobs: list[str]) -> dict[str, bytes]:
    """The content of many blobs, streamed by one `git cat-file --batch` process."""
    return git.blobs(root, blobs)


def extract_tree(root: Path, rev: str, folder: str, dest: Path) -> int:
    """Write every file under ``folder`` as it is in ``rev`` below ``dest``; returns how many.
    A name with an empty, ``.`` or ``..`` part (possible only in a hand-made tree) is refused."""
    entries = [e for e in git.ls_tree(root, resolve(root, rev), folder, recursive=True) if e.kind == "blob"]
    for entry in entries:
        parts = PurePosixPath(entry.path).parts
        if entry.path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise IspError(f"{rev}: the tree holds an unsafe path under {folder}; nothing extracted")
    contents = git.blobs(root, list(dict.fromkeys(e.object_id for e in entries)))
    for entry in entries:
        target = dest / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(contents[entry.object_id])
    return len(entries)
