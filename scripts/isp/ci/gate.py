"""The pull-request gate: what `isp ci pr` (and the pr.yml / pr-key.yml workflows) enforces.

Everything is judged by the *base* commit: its allowed-signers file says whose signatures count,
its protocol/ says which agencies exist, who coordinates and which recipients each encrypted file
needs. A pull request therefore cannot register a key, a recipient or an agency and use it in the
same breath. The head is data: read through git, never checked out, never run.

The gate judges the whole change, default deny (:mod:`isp.ci.paths`): every changed path falls in
exactly one class, and the class's rules run on it:

=====================  ==========================================================================
class                  rules
=====================  ==========================================================================
submission             :mod:`isp.ci.rules_submissions` (signer, path, envelope, replay, content)
aggregate              :mod:`isp.ci.rules_aggregates` (re-wraps only, still decrypting)
request, breach,       :mod:`isp.governance` (request, breach and membership rules), each YAML
membership record      file through the bounded reader
protocol data          bounded reader; who may change what: :mod:`isp.governance.membership`
keys and signers       :mod:`isp.ci.rules_trust` (equal to `isp keys sync`'s output)
site credentials       :mod:`isp.ci.rules_trust` (a coordinator's commits), envelope
code, workflow         :mod:`isp.ci.rules_code` (a coordinator's signed approval), mkdocs hooks
code approval          :mod:`isp.ci.rules_code` (added once, by a coordinator, binding a digest)
notification log       :mod:`isp.ci.rules_trust` (append-only records, a coordinator's commits)
documentation          content only
=====================  ==========================================================================

Whatever the class: unsafe paths are refused (:func:`isp.ci.paths.unsafe`), and no added or
changed file may hold a tracking sheet (:mod:`isp.ci.plaintext`) or a secret key. Per commit
(:mod:`isp.ci.rules_trust`): a signed commit's committer and author are who signed it, by e-mail
and by the name agencies.yaml declares; every version the head holds was written by a commit of
the pull request (a merge of an old commit of main cannot roll a file back unsigned); a commit
rotating CI's key changes no other recipient unless a coordinator signed it and it is exactly what
``isp keys sync`` writes.
Nothing decrypted is ever printed: messages name files, commits and rules only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from isp import errors, yamlfiles
from isp.ci import plaintext, rules_approvals, rules_code, rules_trust
from isp.ci.envelopes import check_decrypts, check_envelope
from isp.ci.paths import CODE_APPROVALS, MAX_FILE_BYTES, Change, classes_of, object_sizes, raw_changes, unsafe
from isp.ci.report import Context, FileCheck, Notice, PrReport, signer_label
from isp.ci.rules_aggregates import check_aggregate, is_rewrap
from isp.ci.rules_submissions import (
    check_commits,
    check_deleted,
    check_submission,
    fingerprints,
    replay_index,
)
from isp.crypto import guard, sops
from isp.errors import IspError, Problem
from isp.history import git, provenance
from isp.protocol import loading, workdays
from isp.protocol import models as protocol

__all__ = ["FileCheck", "Notice", "PrReport", "check_pr", "fingerprints", "is_rewrap", "signer_label"]

# What the gate reads of one pull request, in all: each file stays under MAX_FILE_BYTES, but forty
# files just under it would otherwise all be read into memory at once (a runner killed, no verdict).
MAX_PR_BYTES = 256 * 1024 * 1024
# Every commit is judged on its own (its signature, what it changes itself): a few git processes
# each. A thousand empty commits took 19 s; a hundred thousand would hold the runner for an hour.
MAX_PR_COMMITS = 1000
YAML_CLASSES = frozenset({"request", "breach", "membership record", "protocol data", "code approval"})
MKDOCS = "mkdocs.yml"


@contextlib.contextmanager
def base_protocol(root: Path, rev: str) -> Iterator[protocol.Isp]:
    """protocol/ as it is in ``rev``, loaded from a private temp copy (public files only)."""
    with tempfile.TemporaryDirectory(prefix="isp-base-") as folder:
        provenance.extract_tree(root, rev, "protocol", Path(folder))
        yield loading.load(Path(folder))


def can_decrypt() -> bool:
    return bool(os.environ.get("SOPS_AGE_KEY") or os.environ.get("SOPS_AGE_KEY_FILE"))


# --- one changed path ----------------------------------------------------------------------------


def _classify(ctx: Context, check: FileCheck, change: Change) -> str | None:
    """The path's one class, or None after a violation (unsafe, unresolvable, no or two classes)."""
    bad = unsafe(change)
    if bad:
        check.checks["safe-path"] = False
        ctx.problems.append(bad)
        return None
    found = classes_of(change.path)
    if len(found) != 1:
        check.checks["classified"] = False
        what = "no class of the path policy" if not found else f"{len(found)} classes"
        ctx.violation(
            change.path,
            errors.PATH_UNCLASSIFIED,
            fix="put files where the repository layout says (submissions/, requests/, protocol/, docs/ ...)",
            what=what,
        )
        return None
    check.path_class = found[0].name
    return found[0].name


def _content(ctx: Context, check: FileCheck, blob: bytes) -> None:
    """What no file may hold, whatever its class: a plaintext sheet, a secret key."""
    found = plaintext.finding(blob)
    if found is None and guard.is_stray_sheet(check.path) and not sops.is_envelope(blob):
        found = "a spreadsheet or CSV file"
    check.checks["no-plaintext"] = found is None
    if found:
        ctx.violation(check.path, errors.PLAINTEXT_SHEET, guard.STRAY_SHEET_FIX, holds=f"holds {found}")
    if guard.AGE_IDENTITY.search(blob) or guard.PRIVATE_KEY.search(blob):
        check.checks["no-secret-key"] = False
        ctx.violation(check.path, errors.SECRET_KEY, fix="remove it; commit only public keys")


def _yaml(ctx: Context, check: FileCheck, blob: bytes) -> tuple[bool, object]:
    """(read?, the document) through the bounded reader; a refusal is reported once, here."""
    try:
        document = yamlfiles.load(blob, check.path)
    except yamlfiles.YamlError as exc:
        check.checks["yaml"] = False
        ctx.problems.append(exc.problem)
        return False, None
    check.checks["yaml"] = True
    return True, document


def _mkdocs(ctx: Context, check: FileCheck, blob: bytes) -> None:
    """MkDocs hooks come from the installed isp package only (``isp site build`` passes them)."""
    read, config = _yaml(ctx, check, blob)
    if not read:
        return
    hooks = config.get("hooks") if isinstance(config, dict) else None
    check.checks["no-hooks"] = not hooks
    if hooks:
        ctx.violation(
            MKDOCS, errors.MKDOCS_HOOKS, fix="remove `hooks:`; `isp site build` adds the package's hooks itself"
        )


def _check_one(
    ctx: Context, check: FileCheck, change: Change, blobs: dict[str, bytes], index: dict[bytes, set[str]]
) -> None:
    cls = _classify(ctx, check, change)
    if not change.deleted and change.new_blob in blobs:
        _content(ctx, check, blobs[change.new_blob])
    if cls is None:
        return
    if change.deleted:
        if cls == "submission":
            check_deleted(ctx, check)
        elif cls == "aggregate":
            check_aggregate(ctx, check, None, None)
        return
    blob = blobs[change.new_blob]
    if cls == "submission":
        check_submission(ctx, check, blob, change.new_blob, index, blobs.get(change.old_blob))
    elif cls == "aggregate":
        check_aggregate(ctx, check, blobs.get(change.old_blob), blob)
    elif cls == "site credentials":
        check_envelope(ctx, check, blob)
        if ctx.can_decrypt and check.checks.get("encrypted"):
            check_decrypts(ctx, check, blob, "a coordinator runs `isp site credentials` again")
    elif cls in YAML_CLASSES:
        _yaml(ctx, check, blob)
    elif change.path == MKDOCS:
        _mkdocs(ctx, check, blob)


# --- the whole pull request ----------------------------------------------------------------------


def _read(ctx: Context, changes: list[Change]) -> dict[str, bytes]:
    """Every blob the rules read (new ones, and the old side of encrypted paths); unresolvable
    and oversized objects are reported and left out."""
    wanted = [c.new_blob for c in changes if not c.deleted and unsafe(c) is None]
    wanted += [c.old_blob for c in changes if c.path.startswith(("aggregates/", "submissions/")) and c.status == "M"]
    sizes = object_sizes(ctx.root, wanted)
    unreadable = {blob for blob, size in sizes.items() if size is None or size > MAX_FILE_BYTES}
    total = sum(size for blob, size in sizes.items() if size is not None and blob not in unreadable)
    if total > MAX_PR_BYTES:
        ctx.violation("pull request", errors.PR_TOO_LARGE, size=total, limit=MAX_PR_BYTES)
        unreadable |= _over_budget(sizes, unreadable)
    for change in changes:
        size = sizes.get(change.new_blob, 0)
        if size is None:
            ctx.violation(change.path, errors.UNRESOLVABLE)
        elif size > MAX_FILE_BYTES:
            ctx.violation(change.path, errors.FILE_TOO_LARGE, size=size, limit=MAX_FILE_BYTES)
    return provenance.read_blobs(ctx.root, sorted(set(sizes) - unreadable))


def _over_budget(sizes: dict[str, int | None], unreadable: set[str]) -> set[str]:
    """The blobs left unread so that what is read stays within MAX_PR_BYTES (smallest read first)."""
    budget, over = MAX_PR_BYTES, set()
    for blob, size in sorted(((b, s) for b, s in sizes.items() if b not in unreadable), key=lambda p: p[1] or 0):
        budget -= size or 0
        if budget < 0:
            over.add(blob)
    return over


def _check_files(ctx: Context, changes: list[Change]) -> list[FileCheck]:
    blobs = _read(ctx, changes)
    submissions = {
        c.path: blobs[c.new_blob]
        for c in changes
        if c.new_blob in blobs and [cls.name for cls in classes_of(c.path)] == ["submission"]
    }
    index = replay_index(ctx.root, ctx.base, submissions) if submissions else {}
    files = []
    for change in changes:
        check = FileCheck(change.path, change.status)
        if change.deleted or change.new_blob in blobs or unsafe(change):
            _check_one(ctx, check, change, blobs, index)
        else:
            check.checks["readable"] = False
        files.append(check)
    return files


def governance_problems(root: Path, base: str, head: str, isp: protocol.Isp, since: str | None = None) -> list[Problem]:
    """The rules on requests/, protocol/breaches/ and membership changes, over the same commits,
    judged by the base's protocol; what changed is taken from ``since`` (the merge base)."""
    from isp.governance import breaches, membership, request_files

    return (
        request_files.check(root, base, head, isp=isp, since=since)
        + breaches.breach_check(root, base, head, isp=isp)
        + membership.membership_check(root, base, head, since=since)
        + records_problems(root, base, head, isp)
    )


def records_problems(root: Path, base: str, head: str, isp: protocol.Isp) -> list[Problem]:
    """protocol/meetings/ (no figures, known attendees) and protocol/rights/ (each signed by its own
    agency), read as the head commit holds them, whatever is checked out (pr-key.yml checks out
    the default branch and fetches the head as objects only)."""
    from isp.errors import ValidationFailed
    from isp.governance import meetings, rights

    try:
        meetings.all_minutes(root, isp, rev=head)
        found: list[Problem] = []
    except ValidationFailed as exc:
        found = list(exc.problems)
    return found + rights.check(root, isp, head, base, committed=True)


def check_pr(root: Path, base: str, head: str = "HEAD", today: date | None = None) -> PrReport:
    """Every pull-request rule on ``base...head``; never raises for a rule broken, only reports.

    Two ends of the base, on purpose: what the pull request changes is the diff from the merge
    base of ``base`` and ``head`` (its own commits, ``base..head``), so changes that landed on
    ``base`` after the branch point are never counted as the pull request's; who may sign, which
    agencies and recipients exist and who coordinates are read from ``base`` itself, the tip the
    pull request merges into, never from the merge base or the head."""
    base_sha, head_sha = provenance.resolve(root, base), provenance.resolve(root, head)
    start = provenance.merge_base(root, base_sha, head_sha)
    shas = provenance.commits_between(root, base_sha, head_sha)
    if len(shas) > MAX_PR_COMMITS:
        problem = Problem.of(errors.PR_TOO_MANY_COMMITS, "pull request", count=len(shas), limit=MAX_PR_COMMITS)
        return PrReport(base_sha, head_sha, [], [], [problem], [], can_decrypt())
    infos = provenance.verify(root, shas, provenance.allowed_signers_at(root, base_sha))
    changes = raw_changes(root, start, head_sha)
    own = {sha: provenance.own_changes(root, sha) for sha in shas}
    parents = {sha: provenance.parents(root, sha) for sha in shas}
    with base_protocol(root, base_sha) as isp:
        ctx = Context(root, base_sha, head_sha, start, isp, today or workdays.today(), can_decrypt())
        ctx.infos, ctx.own, ctx.parents = infos, own, parents
        check_commits(ctx)
        with rules_trust.generated_protocol(ctx, {c.path for c in changes}) as ctx.head_isp:
            files = _check_files(ctx, changes)
        rules_code.check_code(ctx, changes, _approval_blobs(root, changes))
        rules_trust.check_site_credentials(ctx)
        rules_trust.check_identities(ctx, shas)
        rules_trust.check_notification_log(ctx, changes)
        rules_trust.check_minutes(ctx)
        rules_trust.check_protocol_settings(ctx)
        rules_trust.check_commit_dates(ctx)
        rules_trust.check_attribution(ctx, [c for c in changes if unsafe(c) is None])
        rules_trust.check_ci_rotations(ctx)
        rules_approvals.check_approvals(ctx, [c.path for c in changes if unsafe(c) is None])
        if _yaml_versions_ok(ctx, shas):
            try:
                ctx.problems.extend(governance_problems(root, base_sha, head_sha, isp, since=start))
            except IspError as exc:
                ctx.violation("governance", errors.GOVERNANCE_UNREADABLE, reason=str(exc))
    return PrReport(base_sha, head_sha, [infos[s] for s in shas], files, ctx.problems, ctx.notices, ctx.can_decrypt)


def _yaml_versions_ok(ctx: Context, shas: list[str]) -> bool:
    """Every version of every YAML file the pull request's commits write, through the bounded
    reader, before the governance rules parse their history: an anchor bomb or a repeated key in
    an intermediate commit is refused too (and the governance rules are then not run)."""
    if not shas:
        return True
    out = git.run(ctx.root, "log", "--raw", "-z", "--no-abbrev", "--no-renames", "-m", "--format=%x01%H", *shas,
                    "--no-walk=unsorted")  # fmt: skip
    versions: dict[str, str] = {}
    for record in out.split(b"\x01")[1:]:
        fields = record.split(b"\x00")
        for i in range(1, len(fields) - 1, 2):
            meta, path = (
                fields[i].decode("ascii", "replace").lstrip("\n:").split(),
                fields[i + 1].decode("utf-8", "replace"),
            )
            if len(meta) == 5 and path.endswith((".yaml", ".yml")) and meta[3] != "0" * 40:
                versions.setdefault(meta[3], path)
    sizes = object_sizes(ctx.root, list(versions))
    readable = [b for b, size in sizes.items() if size is not None and size <= yamlfiles.MAX_BYTES]
    total = sum(sizes[b] or 0 for b in readable)
    if total > MAX_PR_BYTES:
        ctx.violation("pull request", errors.PR_TOO_LARGE, size=total, limit=MAX_PR_BYTES)
        ctx.notice("governance", "request, breach and membership rules not run: the pull request is too large", True)
        return False
    blobs = provenance.read_blobs(ctx.root, readable)
    good = len(readable) == len(sizes)
    for blob_id in sorted(set(sizes) - set(readable)):
        detail = f"a version written by the pull request (blob {blob_id[:10]}) is missing or over "
        detail += f"{yamlfiles.MAX_BYTES} bytes"
        ctx.violation(versions[blob_id], errors.YAML_TOO_LARGE, detail=detail)
    for blob_id, data in blobs.items():
        try:
            yamlfiles.load(data, versions[blob_id])
        except yamlfiles.YamlError as exc:
            good = False
            if exc.problem not in ctx.problems:
                ctx.problems.append(exc.problem)
    if not good:
        ctx.notice("governance", "request, breach and membership rules not run: a YAML file is refused above", True)
    return good


def _approval_blobs(root: Path, changes: list[Change]) -> dict[str, bytes]:
    wanted = {c.path: c.new_blob for c in changes if c.path.startswith(CODE_APPROVALS + "/") and not c.deleted}
    blobs = provenance.read_blobs(root, sorted(set(wanted.values()))) if wanted else {}
    return {path: blobs[blob] for path, blob in wanted.items() if blob in blobs}
