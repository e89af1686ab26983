"""The submission class: ``submissions/<AGENCY>/<YYYY-MM>.csv``.

* ``signature`` / ``wrong-agency``: every commit of the pull request that adds or changes
  ``submissions/A/`` is signed by a registered focal point of agency A (checked per commit, on
  the pull request's own commits, since GitHub's merge button drops agency signatures).
* ``deleted``: a submission is never deleted; a correction is a new version of the same file.
* ``path``, ``agency``, ``month``: ``submissions/<AGENCY>/<YYYY-MM>.csv`` only, for an agency that
  submits sheets and a month that is not in the future.
* ``replay``: a submission's ciphertext is not a copy of another submission (same blob, or the
  same sops MAC or data IV under a new layout); with ``SOPS_AGE_KEY``, its ``month`` column also
  matches its file name (``month-mismatch``).
* ``decrypt``, validation rules: with ``SOPS_AGE_KEY`` every changed submission decrypts (in
  memory) and passes ``isp.sheets.validate.validate_bytes``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from isp import errors
from isp.ci.envelopes import check_envelope
from isp.ci.report import Context, FileCheck, signer_label
from isp.ci.rules_trust import generated_recipients
from isp.crypto import keys
from isp.crypto import sops as crypto
from isp.history import provenance
from isp.history.provenance import SUBMISSION_PATH, CommitInfo
from isp.protocol.periods import is_month, month_of

_ENC = b"ENC[AES256_GCM,data:"
_IV = re.compile(r"^[A-Za-z0-9+/]{43}=$")
SIGN_FIX = "sign your commits with your registered SSH key (git config gpg.format ssh; commit with -S)"


def _check_commit_signer(ctx: Context, info: CommitInfo, path: str, agency: str) -> None:
    where = f"commit {info.sha[:10]}"
    if info.status == "N":
        ctx.violation(
            path,
            errors.SIGNATURE,
            fix=SIGN_FIX,
            detail=f"{where} is not signed: only a focal point of {agency} may change it",
        )
    elif not info.verified:
        ctx.violation(
            path,
            errors.SIGNATURE,
            fix=f"sign with the key registered for a focal point of {agency} (`isp keys signer`, merged beforehand)",
            detail=f"{where} carries a signature the base's {keys.ALLOWED_SIGNERS} does not accept "
            f"({signer_label(info)})",
        )
    elif info.agency != agency:
        ctx.violation(
            path,
            errors.WRONG_AGENCY,
            f"ask {agency}'s focal point to commit its own sheet",
            detail=f"{where} is signed by {info.principal} of {info.agency}; "
            f"only a focal point of {agency} may change it",
        )


def check_commits(ctx: Context) -> None:
    """Every commit that touches submissions/A/ must be signed by a focal point of A, except a
    coordinator's re-wrap (`isp keys sync` after a change of CI's key: the same data and MAC,
    only the key stanzas differ, so no figure changes hands)."""
    for sha, changes in ctx.own.items():
        touched = [p for _s, p in changes if _is_submission(p)]
        rewraps = _rewraps(ctx, sha, touched) if ctx.by_coordinator(sha) else set()
        for path in touched:
            if path not in rewraps:
                _check_commit_signer(ctx, ctx.infos[sha], path, path.split("/")[1])


def _is_submission(path: str) -> bool:
    parts = path.split("/")
    return len(parts) >= 3 and parts[0] == "submissions" and parts[-1] != ".gitkeep"


def _rewraps(ctx: Context, sha: str, paths: list[str]) -> set[str]:
    """The ``paths`` that commit ``sha`` only re-wrapped, compared with each of its parents, for
    exactly the recipients `isp keys sync` gives them from the commit's own agencies.yaml (a
    coordinator's hand-made stanza for another key is no re-wrap: the agency's signature counts)."""
    from isp.ci.rules_aggregates import is_rewrap
    from isp.history import git

    parents = ctx.parents[sha]
    specs = [f"{rev}:{path}" for path in paths for rev in (sha, *parents)]
    found = git.read_many(ctx.root, specs)
    rewrapped = set()
    for path in paths:
        after = found.get(f"{sha}:{path}")
        befores = [found.get(f"{p}:{path}") for p in parents]
        if (
            after is not None
            and befores
            and all(b is not None and is_rewrap(b, after) for b in befores)
            and generated_recipients(ctx.root, sha, path, after)
        ):
            rewrapped.add(path)
    return rewrapped


def check_submission_path(ctx: Context, check: FileCheck) -> tuple[str, str] | None:
    """The file name is submissions/<AGENCY>/<YYYY-MM>.csv for a submitting agency, not future."""
    match = SUBMISSION_PATH.match(check.path)
    if not match:
        check.checks["path"] = False
        ctx.violation(check.path, errors.PATH, fix="name it submissions/<AGENCY>/<YYYY-MM>.csv (as `isp submit` does)")
        return None
    agency, month = match.groups()
    check.checks["path"] = True
    if agency not in ctx.isp.agencies or not ctx.isp.agencies[agency].submits_sheets:
        check.checks["path"] = False
        ctx.violation(
            check.path, errors.AGENCY, fix="check the agency code against protocol/agencies.yaml", agency=agency
        )
        return None
    if not is_month(month) or month > month_of(ctx.today):
        check.checks["path"] = False
        ctx.violation(
            check.path,
            errors.MONTH,
            fix="name the file for the month the figures describe",
            month=month,
            today=ctx.today,
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
            errors.REPLAY,
            fix="submit this month's own sheet with `isp submit`; an envelope never moves to another month",
            original=sorted(copies)[0],
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
        ctx.violation(check.path, errors.DECRYPT, fix="submit the file again with `isp submit`", reason=exc.reason)
        return
    check.checks["decrypts"] = True
    months = _month_column(plaintext)
    check.checks["month-matches"] = months == {month}
    if months != {month}:
        ctx.violation(check.path, errors.MONTH_MISMATCH, fix="submit the sheet under its own month")
    from isp.sheets.validate import validate_bytes

    _frame, problems = validate_bytes(plaintext, check.path, ctx.isp, agency, month)
    failed = [p for p in problems if p.severity == "error"]
    check.checks["valid"] = not failed
    ctx.problems.extend(failed)


def check_deleted(ctx: Context, check: FileCheck) -> None:
    check.checks["kept"] = False
    ctx.violation(check.path, errors.DELETED, fix="to correct it, commit a new version of the same file")


def check_submission(
    ctx: Context, check: FileCheck, blob: bytes, blob_id: str, index: dict[bytes, set[str]], before: bytes | None
) -> None:
    """Every rule of the submission class on one added or changed file (``before``: its old
    version, when the pull request changes one)."""
    from isp.ci.rules_aggregates import is_rewrap

    target = check_submission_path(ctx, check)
    check_envelope(ctx, check, blob, rewrap=before is not None and is_rewrap(before, blob))
    if target is None or not check.checks.get("encrypted"):
        return
    check_replay(ctx, check, blob_id, blob, index)
    if ctx.can_decrypt:
        check_content(ctx, check, blob, *target)
