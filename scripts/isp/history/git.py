"""The only module that runs git: one small wrapper, and the few commands the others need.

Every call goes through :func:`run`, which

- passes ``--literal-pathspecs``, so a path such as ``:(glob)*`` or ``*`` names that file and
  nothing else (a branch chooses its file names), and ``--no-replace-objects``, so
  ``refs/replace`` cannot swap the content that is judged;
- lists paths with ``-z`` and parses the NUL-separated output (a name may hold a newline, a tab or
  a quote, which git would otherwise escape or split on);
- starts git with a scrubbed environment: of the inherited ``GIT_*`` variables only the user's
  identity, dates, global-config file and SSH settings are kept (:data:`KEPT_ENV`); the rest
  (``GIT_DIR``, ``GIT_INDEX_FILE``, ``GIT_OBJECT_DIRECTORY``, ``GIT_CONFIG_PARAMETERS``,
  ``GIT_EXTERNAL_DIFF``...) could point git at another repository or inject configuration, and
  git exports some of them itself while running a hook;
- turns a failure into one :class:`GitError` naming the command (``git log``) and git's own
  ``fatal:``/``error:`` line, never the command's output, which may hold a file's content.

GitPython: not used. It earned its place for a while (opening a repository, walking a tree), but
every git process it starts receives the whole inherited environment (``Git.execute`` copies
``os.environ`` and can only add to it), so an exported ``GIT_DIR`` or ``GIT_INDEX_FILE`` would
redirect it; it keeps ``cat-file`` helper processes alive between calls; and what we used it for
is one ``ls-tree -z`` and one ``cat-file --batch`` here. A wrapper of this size, as in
pre-commit's ``pre_commit/git.py``, is easier to audit at a trust boundary.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from isp.errors import IspError

GLOBAL_OPTIONS = ("--literal-pathspecs", "--no-replace-objects")
KEPT_ENV = frozenset(
    {
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSH_VARIANT",
        "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT",
    }
)
_MARK = "\x01"  # starts each commit's header in `git log -z` output


class GitError(IspError):
    """A git command failed. The message names the command and git's reason, never its output."""

    def __init__(self, command: str, root: Path, reason: str, stderr: str = "", message: str | None = None) -> None:
        self.command = command
        self.reason = reason
        self.stderr = stderr  # for callers that tell failures apart; never shown
        super().__init__(message or f"`{command}` failed in {root}: {reason}")


class TreeEntry(NamedTuple):
    mode: str
    kind: str  # blob | tree | commit (a submodule)
    object_id: str
    path: str


class Change(NamedTuple):
    status: str  # A, M, D, T... (renames are off: a rename is a deletion and an addition)
    path: str


class LogEntry(NamedTuple):
    header: str  # the --format fields the caller asked for
    changes: list[Change]


# --- the wrapper -----------------------------------------------------------------------------


def environment(
    extra: Mapping[str, str] | None = None, *, isolated: bool = False, literal: bool = True
) -> dict[str, str]:
    """The inherited environment without the ``GIT_*`` variables that could redirect git; with
    ``isolated``, without any ``GIT_*`` variable (the demo's own identities and dates only)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GIT_") or (name in KEPT_ENV and not isolated)
    }
    if isolated:
        env["GIT_CONFIG_NOSYSTEM"] = "1"
    if literal:
        env["GIT_LITERAL_PATHSPECS"] = "1"
    return env | dict(extra or {})


def command_name(args: Iterable[str]) -> str:
    """``git <subcommand>`` for messages: the first argument that is not a global option."""
    items = iter(args)
    for arg in items:
        if arg in ("-c", "-C"):
            next(items, None)
        elif not arg.startswith("-"):
            return f"git {arg}"
    return "git"


def _reason(stderr: bytes, returncode: int) -> str:
    """git's own complaint (its last ``fatal:``/``error:`` line), or the exit code."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    own = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return own[-1][:300] if own else f"exit code {returncode}"


def run(
    root: Path,
    *args: str,
    input: bytes | None = None,
    config: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    isolated: bool = False,
    literal: bool = True,
) -> bytes:
    """Run ``git args`` in ``root`` and return its standard output; :class:`GitError` on failure.
    ``config`` becomes ``-c key=value`` options; ``env`` is added to the scrubbed environment.
    ``literal=False`` only for commands that refuse pathspec magic outright (``check-ignore``)."""
    options = [item for key, value in (config or {}).items() for item in ("-c", f"{key}={value}")]
    globals_ = GLOBAL_OPTIONS if literal else tuple(o for o in GLOBAL_OPTIONS if o != "--literal-pathspecs")
    argv = ["git", *globals_, *options, *args]
    scrubbed = environment(env, isolated=isolated, literal=literal)
    try:
        proc = subprocess.run(argv, cwd=root, input=input, capture_output=True, env=scrubbed, check=False)
    except FileNotFoundError:
        reason = "no such folder" if not Path(root).is_dir() else "git is not installed"
        raise GitError(command_name(args), root, reason) from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise GitError(command_name(args), root, _reason(proc.stderr, proc.returncode), stderr)
    return proc.stdout


def text(
    root: Path,
    *args: str,
    config: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    isolated: bool = False,
) -> str:
    """:func:`run`, its output decoded (UTF-8; undecodable bytes kept as surrogates)."""
    return decode(run(root, *args, config=config, env=env, isolated=isolated))


def succeeds(root: Path, *args: str, literal: bool = True) -> bool:
    """True when ``git args`` exits 0 (a question such as ``check-ignore -q`` or ``rev-parse -q``)."""
    try:
        run(root, *args, literal=literal)
    except GitError:
        return False
    return True


def decode(data: bytes) -> str:
    """Bytes from git as text; a name that is not UTF-8 keeps its bytes as surrogates."""
    return data.decode("utf-8", "surrogateescape")


def nul_fields(data: bytes) -> list[str]:
    """The fields of NUL-separated output (``-z``), the empty tail dropped."""
    fields = decode(data).split("\0")
    return fields[:-1] if fields and fields[-1] == "" else fields


# --- revisions and objects -------------------------------------------------------------------


def has_commits(root: Path) -> bool:
    """True when ``root`` is a git repository whose HEAD is a commit."""
    return succeeds(root, "rev-parse", "--verify", "-q", "HEAD")


def resolve(root: Path, rev: str) -> str:
    """The full commit id of ``rev`` (a branch, tag or abbreviated id)."""
    try:
        return text(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}").strip()
    except GitError as exc:
        if "not a git repository" in exc.stderr:
            raise
        raise GitError("git rev-parse", root, "no such commit", message=f"{rev}: no such commit in {root}") from None


def batch(root: Path, specs: list[str]) -> dict[str, tuple[str, bytes] | None]:
    """``spec`` (an object id or ``rev:path``) -> (type, content), None when absent, from one
    ``git cat-file --batch``. A spec holding a newline is sent NUL-terminated (``-z``)."""
    if not specs:
        return {}
    nul = any("\n" in spec for spec in specs)
    sep = "\0" if nul else "\n"
    args = ["cat-file", "--batch", *(["-z"] if nul else [])]
    out = run(root, *args, input="".join(spec + sep for spec in specs).encode("utf-8", "surrogateescape"))
    found: dict[str, tuple[str, bytes] | None] = {}
    pos = 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[2].isdigit():
            size = int(header[2])
            found[spec] = (header[1].decode(), out[pos : pos + size])
            pos += size + 1
        else:
            found[spec] = None
    return found


def read_many(root: Path, specs: list[str]) -> dict[str, bytes | None]:
    """``rev:path`` -> the file's bytes (None when absent or not a file), in one process."""
    return {spec: (item[1] if item and item[0] == "blob" else None) for spec, item in batch(root, specs).items()}


def blob_at(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` in commit ``rev`` (None when it is not a file there)."""
    spec = f"{resolve(root, rev)}:{path}"
    return read_many(root, [spec])[spec]


def blobs(root: Path, object_ids: list[str]) -> dict[str, bytes]:
    """The content of many blobs by id, in one process; :class:`GitError` when one is missing."""
    found = batch(root, object_ids)
    missing = [oid for oid, item in found.items() if item is None]
    if missing:
        raise GitError("git cat-file", root, f"{missing[0]}: no such object")
    return {oid: item[1] for oid, item in found.items() if item is not None}


def all_objects(root: Path) -> bytes:
    """Every object of the repository, reachable or not, as ``cat-file --batch`` prints them."""
    return run(root, "cat-file", "--batch-all-objects", "--batch")


def ls_tree(root: Path, rev: str, *paths: str, recursive: bool = False) -> list[TreeEntry]:
    """The entries of ``rev``'s tree at ``paths`` (a folder ending in ``/`` lists its content)."""
    out = run(root, "ls-tree", "-z", *(["-r"] if recursive else []), rev, "--", *paths)
    entries = []
    for field in nul_fields(out):
        meta, path = field.split("\t", 1)
        mode, kind, object_id = meta.split()
        entries.append(TreeEntry(mode, kind, object_id, path))
    return entries


def ls_files(root: Path) -> list[str]:
    """Every path in the index."""
    return nul_fields(run(root, "ls-files", "-z"))


# --- changes ---------------------------------------------------------------------------------


def name_status(data: bytes) -> list[Change]:
    """(status, path) pairs from ``--name-status -z --no-renames`` output."""
    fields = nul_fields(data)
    return [Change(fields[i].lstrip("\n")[:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def diff(root: Path, *args: str) -> list[Change]:
    """``git diff`` or ``git diff-tree`` (first of ``args``) as (status, path), renames off,
    no external diff or text conversion."""
    command, *rest = args
    options = ["-z", "--no-renames", "--name-status", "--no-ext-diff", "--no-textconv"]
    return name_status(run(root, command, *options, *rest))


def log_changes(root: Path, fmt: str, *args: str) -> list[LogEntry]:
    """``git log --format=fmt args`` with each commit's changed paths (``--name-status -z``).

    A header is told from a status by position: statuses are single letters and sit where a
    header may start, so a file name can never pass for a commit."""
    out = run(root, "log", "-z", "--no-renames", "--name-status", f"--format={_MARK}{fmt}", *args)
    fields = nul_fields(out)
    entries: list[LogEntry] = []
    i = 0
    while i < len(fields):
        field = fields[i].lstrip("\n")
        if field.startswith(_MARK):
            entries.append(LogEntry(field[1:], []))
            i += 1
        elif entries and i + 1 < len(fields):
            entries[-1].changes.append(Change(field[:1], fields[i + 1]))
            i += 2
        else:
            raise GitError("git log", root, "output not understood")
    return entries


# --- writing ---------------------------------------------------------------------------------


def init(root: Path, branch: str = "main") -> None:
    run(root, "init", "-q", "-b", branch)


def add(root: Path, *paths: str) -> None:
    """Stage ``paths`` (added, changed or removed)."""
    run(root, "add", "--all", "--", *paths)


def commit(root: Path, message: str, *paths: str, sign: bool = False) -> str:
    """Commit ``paths`` alone (staged first) with the user's identity; returns the commit id."""
    add(root, *paths)
    run(root, "commit", "-q", *(["-S"] if sign else []), "-m", message, "--", *paths)
    return head(root)


def head(root: Path) -> str:
    return text(root, "rev-parse", "HEAD").strip()


def branches(root: Path) -> set[str]:
    """The local branch names."""
    out = text(root, "for-each-ref", "--format=%(refname)", "refs/heads/")
    return {line.removeprefix("refs/heads/") for line in out.splitlines() if line}


def is_ignored(root: Path, path: str, *, no_index: bool = False) -> bool:
    """True when git would ignore ``path``. ``check-ignore`` takes no ``--literal-pathspecs``: it
    refuses pathspec magic itself, and a refusal reads as "not ignored" (the safe answer)."""
    args = ["check-ignore", "-q", *(["--no-index"] if no_index else []), "--", path]
    return succeeds(root, *args, literal=False)
