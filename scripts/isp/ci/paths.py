"""The path policy of a pull request: default deny.

Every changed path falls in exactly one class of :data:`CLASSES`; each class says who may change
it, what it may hold and what review it needs, and the gate's rules for that class enforce it. A
path in no class is refused (``path-unclassified``), and so, whatever its class, is a path the
gate could misread: a symlink (mode 120000: MkDocs and Python follow it out of the repository), a
gitlink (160000: a submodule is another repository's commit, not a file), any mode git itself
does not write, a ``.``, ``..``, empty or ``.git`` component (only a hand-made tree holds them), a
name that git would read as a pathspec (leading ``:``, glob characters, backslash), control
characters or bytes that are not UTF-8, and an object the repository does not hold.

Changes come from one ``git diff --raw -z`` between the merge base and the head: NUL-separated,
never quoted, never given back to git as a pathspec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from isp import errors
from isp.errors import Problem
from isp.history import git

NULL_SHA = "0" * 40
MAX_FILE_BYTES = 64 * 1024 * 1024  # nothing the repository legitimately holds comes near it
FILE_MODES = frozenset({"100644", "100755"})
SYMLINK, GITLINK = "120000", "160000"
_PATHSPEC = re.compile(r"^:|[*?\[\]\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOTGIT = re.compile(r"^(\.git|git~\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    """One changed path between the merge base and the head, as git's raw diff gives it."""

    status: str  # A, M, D or T (type change)
    path: str
    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str

    @property
    def deleted(self) -> bool:
        return self.status == "D"


@dataclass(frozen=True)
class PathClass:
    """One class of the policy: which paths, who signs, what they hold, what review they need."""

    name: str
    include: re.Pattern[str]
    who: str
    content: str
    review: str
    exclude: re.Pattern[str] | None = None

    def matches(self, path: str) -> bool:
        return bool(self.include.search(path)) and not (self.exclude and self.exclude.search(path))


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_DOC_NAMES = r"(README|CHANGELOG|CONTRIBUTING|SECURITY|LICENSE|NOTICE)(\.md|\.txt)?"
_PLACEHOLDER = r"(^|/)\.gitkeep$"
_README = rf"(^|/){_DOC_NAMES}$"
CODE_APPROVALS = "protocol/approvals"
CODE_APPROVAL_PATH = re.compile(rf"^{CODE_APPROVALS}/code-[0-9a-f]{{16}}\.yaml$")
COORDINATOR = "a coordinator's signed approval in the pull request"

CLASSES: tuple[PathClass, ...] = (
    PathClass(
        "submission",
        _re(r"^submissions/"),
        "a focal point of the agency in the path, in every commit that touches it",
        "a sops envelope for the agency and CI, never a copy of another month",
        "none beyond the rules",
        exclude=_re(rf"^submissions/{_DOC_NAMES}$|{_PLACEHOLDER}"),
    ),
    PathClass(
        "aggregate",
        _re(r"^aggregates/"),
        "the consolidation on main only; a pull request may only re-wrap (`isp keys sync`)",
        "a sops envelope whose data and MAC equal the base's",
        "none beyond the rules",
        exclude=_re(rf"^aggregates/{_DOC_NAMES}$|{_PLACEHOLDER}"),
    ),
    PathClass(
        "request",
        _re(r"^requests/[A-Za-z0-9][A-Za-z0-9._-]{1,63}\.yaml$"),
        "the requesting agency; decisions by each deciding agency",
        "a request record (bounded YAML); decisions dated within the tolerance of their commit",
        "the request rules (isp request check)",
    ),
    PathClass(
        "breach",
        _re(r"^protocol/breaches/[A-Za-z0-9][A-Za-z0-9._-]{1,63}\.yaml$"),
        "the reporting agency; decisions by the deciding agencies",
        "a breach record (bounded YAML)",
        "the breach rules",
    ),
    PathClass(
        "membership record",
        _re(r"^protocol/membership/[A-Za-z0-9][A-Za-z0-9._-]{1,63}\.yaml$"),
        "the proposer; approvals by every signatory, each bound to the record's substance",
        "a membership record (bounded YAML), frozen once approved",
        "every signatory",
    ),
    PathClass(
        "meeting minutes",
        _re(r"^protocol/meetings/[A-Za-z0-9][A-Za-z0-9._-]{1,63}\.yaml$"),
        "a coordinator or a member who attended",
        "minutes (bounded YAML): date, focal points who attended, decisions in words (no figures)",
        "the minutes rules",
    ),
    PathClass(
        "rights record",
        _re(r"^protocol/rights/[A-Za-z0-9][A-Za-z0-9._-]{1,63}\.yaml$"),
        "the agency that holds the right, in a commit signed by its focal point",
        "a rights record (bounded YAML): withdrawal, authorisation of its own data, or a recorded discussion",
        "the rights rules",
    ),
    PathClass(
        "code approval",
        CODE_APPROVAL_PATH,
        "a coordinator, in a commit that touches nothing else",
        "the digest of the pull request's code change (`isp ci approve`)",
        "none: it is the review",
    ),
    PathClass(
        "protocol data",
        _re(r"^protocol/((protocol|agencies|sites|indicators|activityinfo)\.yaml|imports/[A-Za-z0-9._-]+\.yaml)$"),
        "each agency for its own entries; amendments by every signatory; shared settings by a coordinator",
        "protocol YAML (bounded, no duplicate keys)",
        "the amendment and membership rules",
    ),
    PathClass(
        "notification log",
        _re(r"^protocol/notifications/sent\.jsonl$"),
        "`isp notify` on main (one line per message sent); in a pull request, a coordinator appending records",
        "sent-message records, no figures",
        "an ordinary review",
    ),
    PathClass(
        "keys and signers",
        _re(r"^(protocol/allowed_signers|\.sops\.yaml|\.github/CODEOWNERS)$"),
        "nobody by hand: `isp keys sync` writes them from agencies.yaml",
        "exactly what `isp keys sync` generates from the head's agencies.yaml",
        "the agencies.yaml change behind them",
    ),
    PathClass(
        "site credentials",
        _re(r"^protocol/site-credentials\.yaml$"),
        "a coordinator, in every commit that touches it",
        "a sops envelope for the base's coordinators and CI",
        "a coordinator",
    ),
    PathClass(
        "workflow",
        _re(r"^\.github/workflows/[A-Za-z0-9._-]+\.ya?ml$"),
        COORDINATOR,
        "a GitHub workflow",
        "a coordinator (code)",
    ),
    PathClass(
        "code",
        _re(
            r"^(site/|scripts/|tests/|benchmarks/|\.ci/|\.github/(?!workflows/|CODEOWNERS$)|protocol/reports/(?!README\.md$)"
            r"|mkdocs\.yml$|pyproject\.toml$|setup\.(py|cfg)$|Makefile$|package(-lock)?\.json$|[^/]*\.lock$"
            r"|requirements[^/]*\.txt$|\.pre-commit-config\.yaml$|\.gitattributes$|\.gitignore$|\.gitmodules$"
            r"|\.python-version$|tox\.ini$|noxfile\.py$)"
        ),
        COORDINATOR,
        "anything a reviewer can read; run by CI or the site build",
        "a coordinator (code)",
        exclude=_re(r"^\.github/workflows/[A-Za-z0-9._-]+\.ya?ml$"),
    ),
    PathClass(
        "documentation",
        _re(rf"{_README}|^docs/[A-Za-z0-9._/-]+\.(md|txt|png|svg)$|{_PLACEHOLDER}"),
        "anyone",
        "text; never a sheet, a figure or a key",
        "an ordinary review",
        exclude=_re(r"^(site|scripts|tests|benchmarks|\.ci|\.github)/"),
    ),
)
CODE_CLASSES = frozenset({"code", "workflow"})


def classes_of(path: str) -> list[PathClass]:
    return [cls for cls in CLASSES if cls.matches(path)]


UNSAFE_FIX = "commit plain files under ordinary names only"


def unsafe(change: Change) -> Problem | None:
    """The problem when the path or its mode is one the gate refuses whatever its class."""
    path = change.path
    if change.new_mode == SYMLINK or (change.deleted and change.old_mode == SYMLINK):
        message = "a symbolic link: links are refused everywhere (they can point outside the repository)"
        return Problem.of(errors.SYMLINK, path, fix=UNSAFE_FIX, detail=message)
    if GITLINK in (change.new_mode, change.old_mode):
        return Problem.of(errors.GITLINK, path, fix=UNSAFE_FIX)
    if not change.deleted and change.new_mode not in FILE_MODES:
        return Problem.of(errors.MODE, path, fix=UNSAFE_FIX, mode=change.new_mode)
    return _unsafe_name(path)


def _unsafe_name(path: str) -> Problem | None:
    if "\ufffd" in path or _CONTROL.search(path):
        return Problem.of(errors.PATH_NAME, path, fix=UNSAFE_FIX)
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or any(_DOTGIT.match(part) for part in parts):
        return Problem.of(errors.PATH_COMPONENT, path, fix=UNSAFE_FIX)
    if _PATHSPEC.search(path):
        return Problem.of(errors.PATHSPEC, path, fix=UNSAFE_FIX)
    return None


def raw_changes(root: Path, start: str, head: str) -> list[Change]:
    """Every changed path between ``start`` and ``head``, with modes and blob ids (no renames)."""
    out = git.run(root, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", "--no-ext-diff", start, head)
    fields = out.split(b"\x00")
    changes = []
    for i in range(0, len(fields) - 1, 2):
        old_mode, new_mode, old_blob, new_blob, status = fields[i].decode("ascii").lstrip(":").split()
        path = fields[i + 1].decode("utf-8", "replace")
        changes.append(Change(status[:1], path, old_mode, new_mode, old_blob, new_blob))
    return changes


def object_sizes(root: Path, blobs: list[str]) -> dict[str, int | None]:
    """Blob id -> size in bytes, None for an object the repository cannot read (a pull
    request's tree pointing at nothing)."""
    wanted = sorted({b for b in blobs if b != NULL_SHA})
    if not wanted:
        return {}
    out = git.run(root, "cat-file", "--batch-check", input="".join(f"{b}\n" for b in wanted).encode())
    sizes: dict[str, int | None] = {}
    for line in out.decode().splitlines():
        fields = line.split()
        sizes[fields[0]] = int(fields[2]) if len(fields) == 3 and fields[2].isdigit() else None
    return sizes
