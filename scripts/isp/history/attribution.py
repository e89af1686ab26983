"""Attribution: which signed commit last set each entry of a YAML mapping, read from git history.

Request decisions, breach agreements and membership approvals are mappings keyed by agency
(``decisions: {IRC: ...}``). An entry belongs to its agency: it counts only when the commit that
last set it is signed by a focal point of that agency, verified by :mod:`isp.history.provenance` against
``protocol/allowed_signers``; nobody may remove one. :func:`signed_entries` walks the history of
one file (one ``git log``, one ``git cat-file --batch``, one signature check per allowed-signers
version) and reports each bad change.

Which allowed-signers file judges a commit: for the commits a pull request brings
(``base..head``), the one of ``base`` (a pull request cannot add a key and then use it); for
commits already merged, the one of their own first parent, i.e. the keys in force when they were
made (they were checked when merged; a focal point who later leaves does not void what they signed).

GitHub's squash and rebase merges replace agency-signed commits by new ones: a repository run
this way merges pull requests with merge commits, whose second parent keeps the signed commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from isp import errors, yamlfiles
from isp.errors import Problem
from isp.history import git, provenance

FULL_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Revision:
    """One commit that touched a file: its verified signer and the file's parsed content before
    (at each parent) and after."""

    sha: str
    signer: provenance.CommitInfo
    parents: list[yamlfiles.Mapping]
    after: yamlfiles.Mapping
    in_review: bool


@dataclass(frozen=True)
class Attribution:
    """For each entry of the mapping at head: the verified commit that last set it, or None."""

    entries: dict[str, provenance.CommitInfo | None]
    problems: list[Problem]


def yaml_at(root: Path, rev: str, path: str) -> yamlfiles.Mapping:
    """``path`` as committed at ``rev``, parsed ({} when absent or unreadable)."""
    return mapping_of(git.read_many(root, [f"{rev}:{path}"]).get(f"{rev}:{path}"), path)


def list_tree(root: Path, rev: str, folder: str) -> list[str]:
    """The ``*.yaml`` files directly in ``folder`` at ``rev``."""
    paths = [entry.path for entry in git.ls_tree(root, rev, f"{folder}/")]
    return [p for p in paths if p.endswith(".yaml") and p.count("/") == folder.count("/") + 1]


def records(root: Path, folder: str, rev: str | None = None) -> list[tuple[str, bytes]]:
    """(path, content) of the ``*.yaml`` records directly in ``folder``: from the working tree, or
    as committed at ``rev`` (what a pull request's head holds, whatever is checked out)."""
    if rev is None:
        where = root / folder
        files = sorted(where.glob("*.yaml")) if where.is_dir() else []
        return [(f"{folder}/{f.name}", f.read_bytes()) for f in files]
    paths = sorted(list_tree(root, rev, folder))
    blobs = git.read_many(root, [f"{rev}:{p}" for p in paths])
    return [(p, blobs[f"{rev}:{p}"] or b"") for p in paths]


def mapping_of(data: bytes | None, source: str = "<yaml>") -> yamlfiles.Mapping:
    """The mapping in ``data``; {} when absent, unreadable or over a limit of :mod:`isp.yamlfiles`
    (the checks that judge the file report those)."""
    if data is None:
        return {}
    try:
        loaded = yamlfiles.load(data, source)
    except yamlfiles.YamlError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def resolve(root: Path, rev: str) -> str:
    """The full commit id of ``rev`` (a full id is taken as it is: git fails later if unknown)."""
    return rev if FULL_SHA.fullmatch(rev) else git.resolve(root, rev)


def revisions(root: Path, path: str, head: str = "HEAD", base: str | None = None) -> list[Revision]:
    """Every commit reachable from ``head`` that touched ``path``, oldest first, each verified.

    Commits the pull request brings (``base..head``) are verified against the allowed signers
    of ``base``, so a pull request cannot add a key and use it. Older commits were checked when
    they were merged; they are verified against the allowed signers of their own first parent
    (the keys in force when they were made), so a focal point who later leaves does not void
    the decisions they signed. Served from :func:`prefetch` when the folder was walked."""
    folder = path.rsplit("/", 1)[0] if "/" in path else "."
    key = (root.resolve(), resolve(root, head), resolve(root, base) if base else None)
    walked = _CACHE.get((*key, f"{folder}/"))
    if walked is None:
        walked = _history(*key, path)
    return list(walked.get(path, ()))


def prefetch(root: Path, folder: str, head: str = "HEAD", base: str | None = None) -> None:
    """Walk every YAML file of ``folder`` at once (one ``git log``, one batch read, one signature
    check per allowed-signers version) before asking :func:`revisions` about each of them."""
    _history(root.resolve(), resolve(root, head), resolve(root, base) if base else None, f"{folder}/")


_CACHE: dict[tuple[Path, str, str | None, str], dict[str, tuple[Revision, ...]]] = {}


def _history(root: Path, head: str, base: str | None, pathspec: str) -> dict[str, tuple[Revision, ...]]:
    """Cached by commit id (the history behind a commit never changes)."""
    key = (root, head, base, pathspec)
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = _walk(root, head, base, pathspec)
    return _CACHE[key]


def _touching(root: Path, head: str, pathspec: str) -> list[tuple[str, list[str], list[str]]]:
    """(commit, parents, YAML files it changed), oldest first, from one ``git log``. A merge lists
    what differs from its first parent; :func:`entry_changes` keeps what differs from every parent."""
    folder = pathspec.rstrip("/") if pathspec.endswith("/") else pathspec.rsplit("/", 1)[0]
    entries = git.log_changes(
        root, "%H %P", "--topo-order", "--reverse", "--diff-merges=first-parent", head, "--", pathspec
    )
    found: list[tuple[str, list[str], list[str]]] = []
    for header, changes in entries:
        sha, *parents = header.split()
        paths = [path for _, path in changes if path.endswith(".yaml") and path.rsplit("/", 1)[0] == folder]
        if paths:
            found.append((sha, parents, paths))
    return found


def _walk(root: Path, head: str, base: str | None, pathspec: str) -> dict[str, tuple[Revision, ...]]:
    touched = _touching(root, head, pathspec)
    if not touched:
        return {}
    review = set(provenance.commits_between(root, base, head)) if base else set()
    specs = [f"{rev}:{path}" for c, parents, paths in touched for path in paths for rev in (c, *parents)]
    specs += [f"{parents[0]}:{provenance.ALLOWED_SIGNERS}" for _, parents, _ in touched if parents]
    blobs = git.read_many(root, list(dict.fromkeys(specs)))
    at_base = provenance.allowed_signers_at(root, base) if base else ""
    trusted = {c: at_base if c in review else _text(blobs, parents) for c, parents, _ in touched}
    infos: dict[str, provenance.CommitInfo] = {}
    for text in set(trusted.values()):
        infos.update(provenance.verify(root, [c for c in trusted if trusted[c] == text], text))
    history: dict[str, list[Revision]] = {}
    for c, parents, paths in touched:
        for path in paths:
            history.setdefault(path, []).append(
                Revision(
                    sha=c,
                    signer=infos[c],
                    parents=[mapping_of(blobs.get(f"{p}:{path}"), path) for p in parents],
                    after=mapping_of(blobs.get(f"{c}:{path}"), path),
                    in_review=c in review,
                )
            )
    return {path: tuple(revs) for path, revs in history.items()}


def _text(blobs: dict[str, bytes | None], parents: list[str]) -> str:
    """The allowed-signers file in force when a commit was made: its first parent's."""
    data = blobs.get(f"{parents[0]}:{provenance.ALLOWED_SIGNERS}") if parents else None
    return "" if data is None else data.decode("utf-8", "replace")


def clear_cache() -> None:
    """Forget the cached histories (benchmarks; a long-running process after a rewrite of history)."""
    _CACHE.clear()


def entries_of(content: yamlfiles.Mapping, key: str) -> yamlfiles.Mapping:
    value = content.get(key)
    return dict(value) if isinstance(value, dict) else {}


def entry_changes(revision: Revision, key: str) -> list[tuple[str, str]]:
    """(entry name, added | changed | removed) that ``revision`` itself made to mapping ``key``.

    A merge whose mapping equals one of its parents' made no change of its own: what it brought
    was judged in the commit that made it."""
    after = entries_of(revision.after, key)
    befores = [entries_of(p, key) for p in revision.parents] or [{}]
    if any(before == after for before in befores):
        return []
    before = befores[0]
    changes = [
        (name, "added" if name not in before else "changed") for name in after if before.get(name) != after[name]
    ]
    changes += [(name, "removed") for name in before if name not in after]
    return sorted(changes)


def describe(info: provenance.CommitInfo) -> str:
    if info.verified:
        return f"signed by {info.principal} ({info.agency})"
    if info.status == "N":
        return "not signed"
    if info.principal:
        return f"signed by {info.principal}, who is not a registered focal point (status {info.status})"
    return f"signed with a key that is not in protocol/allowed_signers (status {info.status})"


def signed_entries(
    root: Path, path: str, key: str, what: str, head: str = "HEAD", base: str | None = None
) -> Attribution:
    """Attribute each entry of mapping ``key`` in ``path`` (decisions, agreements, approvals) to
    the signed commit that last set it. An entry belongs to its agency: only a commit verified as
    that agency's focal point may add or change it, and nobody may remove it.

    Problems: every bad change the pull request under review makes, commit by commit (errors);
    every entry at head whose last change, already merged, was not properly signed (errors: it
    does not count until its agency records it again); a removal already merged (a warning:
    history cannot be rewritten, the agency records its answer again)."""
    revs = revisions(root, path, head, base)
    last: dict[str, provenance.CommitInfo | None] = {}
    why: dict[str, Problem] = {}  # the bad change behind an entry that does not count
    problems: list[Problem] = []
    for rev in revs:
        for name, change in entry_changes(rev, key):
            problem = _judge(path, key, what, rev, name, change)
            why.pop(name, None)
            if change == "removed":
                last.pop(name, None)
            else:
                last[name] = None if problem else rev.signer
            if problem and (rev.in_review or change == "removed"):
                problems.append(replace(problem, severity="error" if rev.in_review else "warning"))
            elif problem:
                why[name] = problem
    current = entries_of(revs[-1].after, key) if revs else {}
    problems += [why[name] for name in sorted(current) if last.get(name) is None and name in why]
    return Attribution({name: last.get(name) for name in current}, problems)


def _judge(path: str, key: str, what: str, rev: Revision, name: str, change: str) -> Problem | None:
    codes = errors.SIGNED_ENTRY[what]
    if change == "removed":
        error = codes.removed
    elif not rev.signer.verified:
        error = codes.unsigned
    elif rev.signer.agency != name:
        error = codes.by_other_agency
    else:
        return None
    said = {"commit": rev.sha[:10], "agency": name, "signer": describe(rev.signer), "change": change}
    return Problem.filled(error, path, said, column=f"{key}.{name}")


def unowned_edits(path: str, revs: list[Revision], key: str, owners: list[str], record: str) -> list[Problem]:
    """The commits under review that change ``path`` outside mapping ``key`` (the record itself:
    a request's text and releases, a breach's dates) without a signature by a focal point of one
    of ``owners`` (the coordinators, who keep these records)."""
    problems = []
    for rev in revs:
        if not rev.in_review or not rev.after:
            continue
        outside = {k: v for k, v in rev.after.items() if k != key}
        if any(outside == {k: v for k, v in parent.items() if k != key} for parent in rev.parents):
            continue
        if rev.signer.verified and rev.signer.agency in owners:
            continue
        problems.append(
            Problem.of(
                errors.RECORD_NOT_BY_COORDINATOR,
                path,
                fix="a coordinator's focal point commits it, signed; agencies change only their own entry",
                commit=rev.sha[:10],
                record=record,
                signer=describe(rev.signer),
                owners=", ".join(owners),
            )
        )
    return problems
