"""`isp submit`: validate a sheet, normalise it, encrypt it in memory into submissions/A/M.csv.

The plaintext is read from outside the repository and lives only in this process: it goes to
sops on a pipe, and only the envelope is written (atomically) into the repository. With
``commit`` the envelope is committed alone on a branch ``submission/A/M``, signed with the user's
SSH key; when git is not set up to sign, nothing is written and the settings are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from isp import errors
from isp.crypto import keys, sops
from isp.errors import IspError, Problem, ValidationFailed, errors_only
from isp.fsutil import write_atomic
from isp.protocol import loading
from isp.protocol import models as protocol
from isp.sheets import read as sheet_read
from isp.sheets import tidy
from isp.sheets import validate as validation

PROTECTED = ("submissions", "aggregates")


@dataclass
class Submitted:
    path: str
    cells: int
    revised: bool = False
    unchanged: bool = False
    branch: str | None = None
    commit: str | None = None
    warnings: list[Problem] = field(default_factory=list)


def submission_path(agency: str, month: str) -> str:
    return f"submissions/{agency}/{month}.csv"


def refuse_inside(root: Path, source: Path) -> None:
    """Plaintext must never sit where it could be committed as a submission or an aggregate."""
    resolved = source.resolve()
    for folder in PROTECTED:
        if resolved.is_relative_to((root / folder).resolve()):
            raise IspError(
                f"{source}: a plaintext sheet must never be inside the repository's {folder}/ folder: "
                "move it outside the repository and run again"
            )


def read_source(source: Path) -> bytes:
    if not source.is_file():
        raise IspError(f"{source}: no such file")
    if source.stat().st_size > sheet_read.MAX_BYTES:
        data = b"x" * (sheet_read.MAX_BYTES + 1)  # report the size rule without reading the whole file
        raise ValidationFailed(sheet_read.read(data, str(source))[1])
    return source.read_bytes()


def submit(root: Path, source: Path, agency: str, month: str, commit: bool = False, strict: bool = False) -> Submitted:
    """Validate ``source`` and write ``submissions/<agency>/<month>.csv``; nothing is written if invalid."""
    root = root.resolve()
    isp = loading.load(root)
    refuse_inside(root, source)
    if commit:
        from isp.sheets import submit_git

        submit_git.require_signing(root)
    frame, problems = validation.validate_bytes(read_source(source), str(source), isp, agency, month, strict)
    if frame is None or errors_only(problems, strict):
        raise ValidationFailed(problems, f"{source}: not submitted, nothing was written")
    plaintext = tidy.to_csv(frame)
    rel = submission_path(agency, month)
    target = root / rel
    warnings = problems + _inside_repo(root, source) + _own_key(isp, agency, rel) + _not_over(month, rel)
    result = Submitted(rel, len(frame), revised=target.exists(), warnings=warnings)
    if result.revised and _same(target, plaintext):
        result.unchanged = True
    else:
        write_atomic(target, _encrypt(root, isp, rel, plaintext))
    if commit and not result.unchanged:
        from isp.sheets import submit_git

        result.branch, result.commit = submit_git.commit_submission(root, rel, agency, month, result.revised)
    return result


def _encrypt(root: Path, isp: protocol.Isp, rel: str, plaintext: bytes) -> bytes:
    """The envelope, refused when .sops.yaml is stale (CI would reject its recipients)."""
    envelope = sops.encrypt(root, rel, plaintext)
    if sops.recipients(envelope) != keys.required_recipients(isp, rel):
        raise IspError(f"{rel}: .sops.yaml is out of date with protocol/agencies.yaml: run `isp keys sync` first")
    return envelope


def _not_over(month: str, rel: str) -> list[Problem]:
    from isp.protocol.workdays import today

    if month < f"{today():%Y-%m}":
        return []
    return [Problem.of(errors.MONTH_NOT_OVER, rel, month=month)]


def _own_key(isp: protocol.Isp, agency: str, rel: str) -> list[Problem]:
    if isp.agencies[agency].age_recipients:
        return []
    return [Problem.of(errors.NO_AGENCY_KEY, rel, agency=agency)]


def _same(target: Path, plaintext: bytes) -> bool:
    """True when the file already holds exactly these figures (and our key can open it)."""
    try:
        return sops.decrypt(target) == plaintext
    except IspError:
        return False


def _inside_repo(root: Path, source: Path) -> list[Problem]:
    resolved = source.resolve()
    if not resolved.is_relative_to(root):
        return []
    from isp.sheets import submit_git

    if submit_git.is_ignored(root, resolved):
        return []
    return [Problem.of(errors.PLAINTEXT_IN_REPO, str(source))]
