"""Code is code: site sources, hooks, templates, mkdocs.yml, workflows, scripts/, packaging,
Makefile, .ci/ and .pre-commit-config.yaml run in CI or in the site build, so a change to any of
them needs a coordinator's signed approval in the pull request. Either:

* every commit of the pull request that changes code is signed by a focal point of a coordinating
  agency (the signature covers the whole tree); or
* the pull request adds an approval record ``protocol/approvals/code-<digest16>.yaml``
  (``isp ci approve`` writes it), in a commit signed by a coordinator that touches nothing else.
  The record binds :func:`code_digest`: the hash of every code path's new mode and blob since the
  head left the base. One more code change after the approval changes the digest, and the record
  no longer counts. A record is added once and never changed or deleted (``approval-frozen``).

Without either, the gate refuses (``code-not-approved``) and says how to get the approval.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from isp import errors, yamlfiles
from isp.ci.paths import CODE_APPROVALS, CODE_CLASSES, Change, classes_of
from isp.ci.report import Context
from isp.errors import IspError
from isp.history import provenance

APPROVE_FIX = (
    "a coordinator runs `isp ci approve --base <base>` on the pull request's head and commits the record it "
    "writes, signed (-S), in a commit of its own; or a coordinator signs the code commits"
)


def is_code(path: str) -> bool:
    return any(cls.name in CODE_CLASSES for cls in classes_of(path))


def code_digest(changes: list[Change]) -> str:
    """sha256 over (path, new mode, new blob) of every code path changed, sorted by path."""
    lines = sorted(f"{c.path}\0{c.new_mode}\0{c.new_blob}\n" for c in changes if is_code(c.path))
    return hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def approval_path(digest: str) -> str:
    return f"{CODE_APPROVALS}/code-{digest[:16]}.yaml"


def approval_record(digest: str, base: str, head: str) -> str:
    return (
        "# A coordinator's approval of a code change (`isp ci approve`). It counts only in the pull\n"
        "# request that adds it, for exactly the code it names by digest; it is never edited.\n"
        f"kind: code\ndigest: sha256:{digest}\nbase: {base}\nhead: {head}\n"
    )


def write_approval(root: Path, base: str, head: str) -> tuple[str, str]:
    """Write the approval record for the code change ``base...head``; (path, digest)."""
    from isp.ci.paths import raw_changes

    start = provenance.merge_base(root, base, head)
    changes = raw_changes(root, start, provenance.resolve(root, head))
    if not any(is_code(c.path) for c in changes):
        raise IspError(f"{base}...{head}: the pull request changes no code; nothing to approve")
    digest = code_digest(changes)
    rel = approval_path(digest)
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(approval_record(digest, provenance.resolve(root, base), provenance.resolve(root, head)))
    return rel, digest


def check_code(ctx: Context, changes: list[Change], heads: dict[str, bytes]) -> None:
    """Refuse unapproved code changes and edits of approval records (see the module doc)."""
    for change in changes:
        if change.path.startswith(f"{CODE_APPROVALS}/") and change.status != "A":
            ctx.violation(change.path, errors.APPROVAL_FROZEN, fix="add a new one")
    code = [c.path for c in changes if is_code(c.path)]
    if not code:
        return
    code_commits = [sha for sha, paths in ctx.own.items() if any(is_code(p) for _, p in paths)]
    if code_commits and all(ctx.by_coordinator(sha) for sha in code_commits):
        ctx.notice(code[0], f"code change ({len(code)} path(s)) signed by a coordinator in every commit")
        return
    digest = code_digest(changes)
    if _approved_by_record(ctx, changes, heads, digest):
        ctx.notice(code[0], f"code change ({len(code)} path(s)) approved by a coordinator (sha256:{digest[:16]}…)")
        return
    shown = ", ".join(code[:3]) + (f" and {len(code) - 3} more" if len(code) > 3 else "")
    ctx.violation(code[0], errors.CODE_NOT_APPROVED, fix=APPROVE_FIX, shown=shown, digest=digest[:16])


def _approved_by_record(ctx: Context, changes: list[Change], heads: dict[str, bytes], digest: str) -> bool:
    path = approval_path(digest)
    if not any(c.path == path and c.status == "A" for c in changes):
        return False
    try:
        record = yamlfiles.load(heads.get(path, b""), path, max_bytes=4096)
    except IspError as exc:
        ctx.violation(path, errors.APPROVAL_RECORD, detail=str(exc))
        return False
    if not isinstance(record, dict) or record.get("kind") != "code" or record.get("digest") != f"sha256:{digest}":
        ctx.violation(
            path, errors.APPROVAL_RECORD, fix=APPROVE_FIX, detail="the record does not name this code change's digest"
        )
        return False
    adders = [sha for sha, paths in ctx.own.items() if any(p == path for _, p in paths)]
    good = [
        sha
        for sha in adders
        if ctx.by_coordinator(sha) and all(p.startswith(f"{CODE_APPROVALS}/") for _, p in ctx.own[sha])
    ]
    if not adders or len(good) != len(adders):
        ctx.violation(path, errors.APPROVAL_SIGNER, fix=APPROVE_FIX)
        return False
    return True
