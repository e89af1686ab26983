"""The pull-request rules: what `isp ci pr` (and the pr.yml workflow) enforces before a merge.

Everything is judged by the *base* commit: its allowed-signers file says whose signatures count,
its protocol/ says which agencies exist and which recipients each encrypted file needs. A pull
request therefore cannot register a key, a recipient or an agency and use it in the same breath.

Rules (each failure is one line: file or commit, rule code, what is wrong, how to fix it):

* ``signature`` / ``wrong-agency``: every commit of the pull request that adds or changes
  ``submissions/A/`` is signed by a registered focal point of agency A (checked per commit, on
  the pull request's own commits, since GitHub's merge button drops agency signatures).
* ``deleted``: a submission is never deleted; a correction is a new version of the same file.
* ``path``, ``agency``, ``month``: ``submissions/<AGENCY>/<YYYY-MM>.csv`` only, for an agency that
  submits sheets and a month that is not in the future.
* ``not-encrypted``, ``recipients``: every encrypted path (submissions, aggregates CSVs, the site
  credentials) holds a sops envelope wrapped for exactly the recipients the base requires.
* ``replay``: a submission's ciphertext is not a copy of another submission (same blob, or the
  same sops MAC or data IV under a new layout); with ``SOPS_AGE_KEY``, its ``month`` column also
  matches its file name (``month-mismatch``).
* ``decrypt``, validation rules: with ``SOPS_AGE_KEY`` every changed submission decrypts (in
  memory) and passes ``isp.sheets.validate.validate_bytes``.
* ``plaintext-sheet``: no unencrypted spreadsheet or CSV anywhere else in the repository (the
  pre-commit guard's rule, which a ``--no-verify`` commit skips).
* ``aggregates-not-by-ci``: ``aggregates/`` is written only by the consolidation on main
  (main.yml). A pull request may re-wrap an aggregate for new recipients (``isp keys sync``:
  same encrypted data, same MAC) but never add, change or delete one: anyone holding the public
  keys could otherwise encrypt invented figures that the site and the releases would trust.
* Notices, not failures: changes to code, workflows and protocol go to coordinator review; a
  change to the signers or the agencies is flagged loudly.

Nothing decrypted is ever printed: messages name files, commits and rules only.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from isp.crypto import guard, keys
from isp.crypto import sops as crypto
from isp.errors import Problem
from isp.history import provenance
from isp.history.provenance import SUBMISSION_PATH, CommitInfo
from isp.protocol import loading, workdays
from isp.protocol import models as protocol
from isp.protocol.periods import is_month, month_of

REVIEW_PATHS = ("protocol/", "scripts/", ".github/", "mkdocs.yml", "pyproject.toml", ".sops.yaml")
LOUD_PATHS = (keys.ALLOWED_SIGNERS, "protocol/agencies.yaml")
ENCRYPTED = re.compile(rf"^(submissions/.+|aggregates/.+\.csv|{re.escape(keys.SITE_CREDENTIALS)})$")
SUBMISSIONS_README = "submissions/README.md"
AGGREGATES_README = "aggregates/README.md"
_ENC = b"ENC[AES256_GCM,data:"
_IV = re.compile(r"^[A-Za-z0-9+/]{43}=$")
SIGN_FIX = "sign your commits with your registered SSH key (git config gpg.format ssh; commit with -S)"


@dataclass(frozen=True)
class Notice:
    """A change that needs a coordinator's review (not a failure)."""

    path: str
    message: str
    loud: bool = False

    def __str__(self) -> str:
        return f"{'REVIEW CAREFULLY' if self.loud else 'review'}: {self.path}: {self.message}"


@dataclass
class FileCheck:
    """What was checked on one changed file: check name -> passed (None: not applicable/skipped)."""

    path: str
    change: str
    checks: dict[str, bool | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(result is not False for result in self.checks.values())


@dataclass
class PrReport:
    base: str
    head: str
    commits: list[CommitInfo]
    files: list[FileCheck]
    problems: list[Problem]
    notices: list[Notice]
    decrypted: bool

    @property
    def violations(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "base": self.base,
            "head": self.head,
            "decrypted": self.decrypted,
            "commits": [c.as_dict() for c in self.commits],
            "files": [{"path": f.path, "change": f.change, "checks": f.checks} for f in self.files],
            "violations": [p.as_dict() for p in self.violations],
            "warnings": [p.as_dict() for p in self.warnings],
            "notices": [{"path": n.path, "message": n.message, "loud": n.loud} for n in self.notices],
        }


@dataclass
class Context:
    """What every rule reads: the repository, the two ends, the base's protocol, today."""

    root: Path
    base: str
    head: str
    isp: protocol.Isp
    today: date
    can_decrypt: bool
    problems: list[Problem] = field(default_factory=list)

    def violation(self, path: str, rule: str, message: str, fix: str | None = None) -> None:
        self.problems.append(Problem(path, rule, message, fix=fix))


# --- the base's protocol -----------------------------------------------------------------------


@contextlib.contextmanager
def base_protocol(root: Path, rev: str) -> Iterator[protocol.Isp]:
    """protocol/ as it is in ``rev``, loaded from a private temp copy (public files only)."""
    with tempfile.TemporaryDirectory(prefix="isp-base-") as folder:
        provenance.extract_tree(root, rev, "protocol", Path(folder))
        yield loading.load(Path(folder))


# --- commits -----------------------------------------------------------------------------------


def signer_label(info: CommitInfo) -> str:
    if info.status == "N":
        return "unsigned"
    if info.verified:
        return f"{info.principal} ({info.agency}:{info.role})"
    if info.status == "G":
        return f"{info.principal} (not a focal point)"
    return "signature not from a registered key" if info.status in ("U", "E") else f"bad signature ({info.status})"


def _check_commit_signer(ctx: Context, info: CommitInfo, path: str, agency: str) -> None:
    where = f"commit {info.sha[:10]}"
    if info.status == "N":
        ctx.violation(
            path, "signature", f"{where} is not signed: only a focal point of {agency} may change it", SIGN_FIX
        )
    elif not info.verified:
        ctx.violation(
            path,
            "signature",
            f"{where} carries a signature the base's {keys.ALLOWED_SIGNERS} does not accept ({signer_label(info)})",
            f"sign with the key registered for a focal point of {agency} (`isp keys signer`, merged beforehand)",
        )
    elif info.agency != agency:
        ctx.violation(
            path,
            "wrong-agency",
            f"{where} is signed by {info.principal} of {info.agency}; only a focal point of {agency} may change it",
            f"ask {agency}'s focal point to commit its own sheet",
        )


def check_commits(ctx: Context, infos: dict[str, CommitInfo], shas: list[str]) -> None:
    """Every commit that touches submissions/A/ must be signed by a focal point of A."""
    for sha in shas:
        for _status, path in provenance.own_changes(ctx.root, sha):
            parts = path.split("/")
            if len(parts) >= 3 and parts[0] == "submissions":
                _check_commit_signer(ctx, infos[sha], path, parts[1])


# --- files -------------------------------------------------------------------------------------


def _owners(isp: protocol.Isp) -> dict[str, str]:
    names = {r: code for code, a in isp.agencies.items() for r in a.age_recipients}
    names.update({r: "CI" for r in isp.ci.age_recipients})
    return names


def _describe(recipients: set[str], owners: dict[str, str]) -> str:
    return ", ".join(sorted(owners.get(r, f"unregistered key {r[:12]}…") for r in recipients))


def check_envelope(ctx: Context, check: FileCheck, blob: bytes) -> None:
    """An encrypted path holds a sops envelope for exactly the recipients the base requires."""
    if not crypto.is_envelope(blob):
        check.checks["encrypted"] = False
        ctx.violation(
            check.path,
            "not-encrypted",
            "not a sops envelope (plaintext or damaged)",
            "encrypt it with `isp submit` (never commit the plaintext sheet)",
        )
        return
    check.checks["encrypted"] = True
    want = keys.required_recipients(ctx.isp, check.path)
    have = crypto.recipients(blob)
    check.checks["recipients"] = want == have
    if want is None:
        ctx.violation(
            check.path,
            "recipients",
            "no rule of the base's .sops.yaml covers this path",
            "use submissions/<AGENCY>/<YYYY-MM>.csv for an agency of protocol/agencies.yaml",
        )
    elif want != have:
        owners = _owners(ctx.isp)
        wrong = [
            f"missing {_describe(want - have, owners)}" if want - have else "",
            f"not allowed {_describe(have - want, owners)}" if have - want else "",
        ]
        ctx.violation(
            check.path,
            "recipients",
            f"encrypted for the wrong recipients ({'; '.join(w for w in wrong if w)})",
            "re-encrypt with `isp submit` from the base branch; key changes go in a pull request of their own first",
        )


def check_submission_path(ctx: Context, check: FileCheck) -> tuple[str, str] | None:
    """The file name is submissions/<AGENCY>/<YYYY-MM>.csv for a submitting agency, not future."""
    match = SUBMISSION_PATH.match(check.path)
    if not match:
        check.checks["path"] = False
        ctx.violation(
            check.path,
            "path",
            "not a submission file name",
            "name it submissions/<AGENCY>/<YYYY-MM>.csv (as `isp submit` does)",
        )
        return None
    agency, month = match.groups()
    check.checks["path"] = True
    if agency not in ctx.isp.agencies or not ctx.isp.agencies[agency].submits_sheets:
        check.checks["path"] = False
        ctx.violation(
            check.path,
            "agency",
            f"{agency} is not an agency that submits tracking sheets",
            "check the agency code against protocol/agencies.yaml",
        )
        return None
    if not is_month(month) or month > month_of(ctx.today):
        check.checks["path"] = False
        ctx.violation(
            check.path,
            "month",
            f"{month} is not a past or current month (today is {ctx.today})",
            "name the file for the month the figures describe",
        )
        return None
    return agency, month


def _ivs(text: bytes, marker: bytes) -> list[bytes]:
    """The IV of each sops value (``ENC[AES256_GCM,data:...,iv:...,``) in ``text``, by plain search."""
    ivs, start = [], text.find(marker)
    while start != -1:
        begin = text.find(b",iv:", start) + 4
        end = text.find(b",", begin)
        if begin < 4 or end == -1:
            break
        ivs.append(text[begin:end])
        start = text.find(marker, end)
    return ivs


def fingerprints(blob: bytes) -> set[bytes]:
    """What a copied envelope keeps however it is re-laid out: the random IVs of its data and
    its MAC. A plain byte search for sops' own layout; anything else (escapes, odd spacing)
    is parsed as JSON first, so a disguised copy is still recognised."""
    ivs = _ivs(blob, _ENC)
    if len(ivs) == 2 and all(_IV.match(iv.decode("ascii", "replace")) for iv in ivs):
        return set(ivs)
    doc = crypto.parse_envelope(blob)
    if doc is None:
        return set()
    values = [doc["data"], str(doc["sops"].get("mac", ""))]
    return set(_ivs("\n".join(values).encode(), _ENC))


def replay_index(root: Path, rev: str, extra: dict[str, bytes]) -> dict[bytes, set[str]]:
    """blob id or fingerprint -> paths, for every submission version ever reachable from ``rev``
    (plus the pull request's own files in ``extra``)."""
    index: dict[bytes, set[str]] = {}
    versions = provenance.history_blobs(root, rev)
    contents = provenance.read_blobs(root, sorted({blob for blob, _ in versions}))
    pairs = [(blob, path, contents[blob]) for blob, path in versions]
    pairs += [("", path, data) for path, data in extra.items()]
    for blob, path, data in pairs:
        for key in {blob.encode(), *fingerprints(data)} - {b""}:
            index.setdefault(key, set()).add(path)
    return index


def check_replay(ctx: Context, check: FileCheck, blob_id: str, blob: bytes, index: dict[bytes, set[str]]) -> None:
    copies: set[str] = set()
    for key in {blob_id.encode(), *fingerprints(blob)}:
        copies |= index.get(key, set()) - {check.path}
    check.checks["not-replayed"] = not copies
    if copies:
        ctx.violation(
            check.path,
            "replay",
            f"the ciphertext is a copy of {sorted(copies)[0]}",
            "submit this month's own sheet with `isp submit`; an envelope never moves to another month",
        )


def _month_column(plaintext: bytes) -> set[str] | None:
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(plaintext), usecols=["month"], dtype="string", keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        return None
    return set(frame["month"].dropna().str.strip())


def check_content(ctx: Context, check: FileCheck, blob: bytes, agency: str, month: str) -> None:
    """Decrypt in memory; the month column matches the file name; the sheet validates."""
    try:
        plaintext = crypto.decrypt_bytes(blob, check.path)
    except crypto.CryptoError as exc:
        check.checks["decrypts"] = False
        ctx.violation(check.path, "decrypt", exc.reason, "submit the file again with `isp submit`")
        return
    check.checks["decrypts"] = True
    months = _month_column(plaintext)
    check.checks["month-matches"] = months == {month}
    if months != {month}:
        message = "the sheet's month column does not match the file name (replayed or filed under the wrong month)"
        ctx.violation(check.path, "month-mismatch", message, "submit the sheet under its own month")
    from isp.sheets.validate import validate_bytes

    _frame, problems = validate_bytes(plaintext, check.path, ctx.isp, agency, month)
    errors = [p for p in problems if p.severity == "error"]
    check.checks["valid"] = not errors
    ctx.problems.extend(errors)


def check_file(ctx: Context, check: FileCheck, blob: bytes | None, blob_id: str, index: dict[bytes, set[str]]) -> None:
    path = check.path
    if check.change == "D":
        if path.startswith("submissions/") and path != SUBMISSIONS_README:
            check.checks["kept"] = False
            ctx.violation(
                path,
                "deleted",
                "a submission may not be deleted",
                "to correct it, commit a new version of the same file",
            )
        return
    if blob is not None and guard.is_stray_sheet(path) and not crypto.is_envelope(blob):
        check.checks["encrypted"] = False
        ctx.violation(
            path, "plaintext-sheet", "a spreadsheet or CSV in the repository, unencrypted", guard.STRAY_SHEET_FIX
        )
        return
    if blob is None or not ENCRYPTED.match(path) or path == SUBMISSIONS_README:
        return
    is_submission = path.startswith("submissions/")
    target = check_submission_path(ctx, check) if is_submission else None
    check_envelope(ctx, check, blob)
    if not is_submission or target is None or not check.checks.get("encrypted"):
        return
    check_replay(ctx, check, blob_id, blob, index)
    if ctx.can_decrypt:
        check_content(ctx, check, blob, *target)


def is_rewrap(before: bytes, after: bytes) -> bool:
    """True when ``after`` is ``before`` wrapped for other recipients: the encrypted data and the
    MAC (which covers the plaintext) are unchanged, only the key stanzas differ."""
    old, new = crypto.parse_envelope(before), crypto.parse_envelope(after)
    if old is None or new is None:
        return False
    return old["data"] == new["data"] and old["sops"].get("mac") == new["sops"].get("mac")


def check_aggregates(ctx: Context, files: list[FileCheck], heads: dict[str, bytes]) -> None:
    """Nothing under aggregates/ changes in a pull request except re-wraps (see the module doc)."""
    touched = [f for f in files if f.path.startswith("aggregates/") and f.path != AGGREGATES_README]
    modified = [f.path for f in touched if f.change == "M"]
    start = provenance.merge_base(ctx.root, ctx.base, ctx.head) if modified else ctx.base  # where the diff starts
    base_ids = provenance.blob_ids(ctx.root, start, modified) if modified else {}
    bases = provenance.read_blobs(ctx.root, sorted(set(base_ids.values()))) if base_ids else {}
    for check in touched:
        before = bases.get(base_ids.get(check.path, ""))
        after = heads.get(check.path)
        rewrap = check.change == "M" and before is not None and after is not None and is_rewrap(before, after)
        check.checks["written-by-ci"] = rewrap
        if not rewrap:
            ctx.violation(
                check.path,
                "aggregates-not-by-ci",
                f"{_CHANGE_WORDS.get(check.change, 'changed')} by the pull request; aggregates/ is written only "
                "by the consolidation on main (main.yml), after the submissions are merged",
                "drop the change: `git checkout origin/main -- aggregates` (re-wraps by `isp keys sync` are allowed)",
            )


_CHANGE_WORDS = {"A": "added", "M": "changed", "D": "deleted"}


def review_notices(changes: list[tuple[str, str]]) -> list[Notice]:
    notices = []
    for _status, path in changes:
        if path in LOUD_PATHS:
            notices.append(Notice(path, "changes who may sign or who may decrypt: every coordinator must review", True))
        elif path.startswith(REVIEW_PATHS) or path == SUBMISSIONS_README:
            notices.append(Notice(path, "code, workflow or protocol change: needs a coordinator's review"))
    return notices


def governance_problems(root: Path, base: str, head: str) -> list[Problem]:
    """The rules on requests/, protocol/breaches/, membership changes, meetings' minutes and the
    agencies' signed rights, over the same commits."""
    from isp.governance import breaches, membership, request_files

    return (
        request_files.check(root, base, head)
        + breaches.breach_check(root, base, head)
        + membership.membership_check(root, base, head)
        + records_problems(root, base, head)
    )


def records_problems(root: Path, base: str, head: str) -> list[Problem]:
    """protocol/meetings/ (no figures, known attendees) and protocol/rights/ (each signed by its own agency)."""
    from isp.errors import ValidationFailed
    from isp.governance import meetings, rights

    isp = loading.load(root)
    try:
        meetings.all_minutes(root, isp)
        found: list[Problem] = []
    except ValidationFailed as exc:
        found = list(exc.problems)
    return found + rights.check(root, isp, head, base)


# --- the whole pull request --------------------------------------------------------------------


def can_decrypt() -> bool:
    return bool(os.environ.get("SOPS_AGE_KEY") or os.environ.get("SOPS_AGE_KEY_FILE"))


def check_pr(root: Path, base: str, head: str = "HEAD", today: date | None = None) -> PrReport:
    """Every pull-request rule on ``base..head``; never raises for a rule broken, only reports."""
    base_sha, head_sha = provenance.resolve(root, base), provenance.resolve(root, head)
    shas = provenance.commits_between(root, base_sha, head_sha)
    infos = provenance.verify(root, shas, provenance.allowed_signers_at(root, base_sha))
    changes = provenance.diff_paths(root, base_sha, head_sha)
    with base_protocol(root, base_sha) as isp:
        ctx = Context(root, base_sha, head_sha, isp, today or workdays.today(), can_decrypt())
        check_commits(ctx, infos, shas)
        files = _check_files(ctx, changes)
    ctx.problems.extend(governance_problems(root, base_sha, head_sha))
    return PrReport(
        base_sha, head_sha, [infos[s] for s in shas], files, ctx.problems, review_notices(changes), ctx.can_decrypt
    )


def _check_files(ctx: Context, changes: list[tuple[str, str]]) -> list[FileCheck]:
    present = [path for status, path in changes if status != "D"]
    ids = provenance.blob_ids(ctx.root, ctx.head, present)
    blobs = provenance.read_blobs(ctx.root, sorted(set(ids.values())))
    heads = {path: blobs[ids[path]] for path in present if path in ids}
    submissions = {p: b for p, b in heads.items() if p.startswith("submissions/") and p != SUBMISSIONS_README}
    index = replay_index(ctx.root, ctx.base, submissions) if submissions else {}
    files = []
    for status, path in changes:
        check = FileCheck(path, status)
        check_file(ctx, check, heads.get(path), ids.get(path, ""), index)
        files.append(check)
    check_aggregates(ctx, files, heads)
    return files
