"""`isp validate`: every check of a repository's contents, as a list of validators.

A validator takes a :class:`Context` and returns an :class:`Outcome` (what it checked, what is
wrong). ``VALIDATORS`` holds them in order; other areas add theirs with :func:`register` (the
requests check, say) and ``isp validate`` runs them all. Sheets named on the command line are
checked by :func:`validate_paths`: plaintext read from disk, envelopes decrypted in memory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from isp import errors
from isp.crypto import keys, sops
from isp.errors import IspError, Problem, UsageError, ValidationFailed
from isp.protocol import loading
from isp.protocol import models as protocol
from isp.protocol.periods import is_month
from isp.sheets import layouts as sheet_import
from isp.sheets import tidy
from isp.sheets import validate as validation
from isp.sheets.submit import read_source

SUBMISSION = re.compile(r"^submissions/([A-Z][A-Z0-9]{1,11})/(\d{4}-\d{2})\.csv$")
NO_KEY = sops.SOPS_HINTS[128]


@dataclass
class Context:
    root: Path
    strict: bool = False
    isp: protocol.Isp | None = None


@dataclass
class Outcome:
    """What one validator checked. ``opened`` counts encrypted files whose contents were decrypted
    and checked (None where nothing is encrypted): a file not opened had only its envelope checked."""

    name: str
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    opened: int | None = None

    @property
    def complete(self) -> bool:
        return self.opened is None or self.opened == self.checked

    def summary(self) -> str:
        if self.opened is None or not self.checked:
            return f"{self.name} ({self.checked} checked)"
        if self.complete:
            return f"{self.name} ({self.checked} checked, contents decrypted and checked)"
        return (
            f"{self.name} ({self.checked} envelopes checked: placement, encryption, recipients; "
            f"contents of {self.opened} decrypted and checked, {self.checked - self.opened} not)"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "checked": self.checked,
            "contents_checked": self.opened,
            "problems": [p.as_dict() for p in self.problems],
        }


Validator = Callable[[Context], Outcome]


def check_protocol(ctx: Context) -> Outcome:
    """protocol/*.yaml (what `isp protocol check` does) and the import mappings."""
    outcome = Outcome("protocol", checked=1)
    try:
        ctx.isp = loading.load(ctx.root)
    except ValidationFailed as exc:
        outcome.problems = exc.problems
        return outcome
    outcome.problems = loading.cross_check(ctx.isp) + sheet_import.mapping_problems(ctx.isp, ctx.root)
    return outcome


def check_submissions(ctx: Context) -> Outcome:
    """Every file under submissions/: placed and encrypted right, and (with a key) valid inside."""
    outcome = Outcome("submissions", opened=0)
    if ctx.isp is None:
        return outcome
    files = sorted(
        p for p in (ctx.root / "submissions").rglob("*") if p.is_file() and p.name not in ("README.md", ".gitkeep")
    )
    readable = []
    for path in files:
        rel = path.relative_to(ctx.root).as_posix()
        outcome.checked += 1
        problems = envelope_problems(ctx.isp, rel, path.read_bytes())
        outcome.problems += problems
        if not problems:
            readable.append(path)
    if readable and not have_key():
        outcome.problems.append(_no_key_warning())
        return outcome
    for path, result in sops.decrypt_many(readable):
        rel = path.relative_to(ctx.root).as_posix()
        outcome.opened = (outcome.opened or 0) + (not isinstance(result, sops.CryptoError))
        outcome.problems += _content_problems(ctx, rel, result)
    return outcome


VALIDATORS: list[Validator] = [check_protocol, check_submissions]


def register(validator: Validator, before: Validator | None = None) -> None:
    """Add a validator (once), at the end or before another."""
    if validator in VALIDATORS:
        return
    VALIDATORS.insert(VALIDATORS.index(before) if before in VALIDATORS else len(VALIDATORS), validator)


def validate_repo(root: Path, strict: bool = False) -> list[Outcome]:
    ctx = Context(root.resolve(), strict)
    return [validator(ctx) for validator in VALIDATORS]


# --- single files ----------------------------------------------------------------------------


def envelope_problems(isp: protocol.Isp, rel: str, data: bytes) -> list[Problem]:
    """Placement, encryption and recipients of a file under submissions/."""
    if not SUBMISSION.match(rel):
        return [Problem.of(errors.MISPLACED, rel)]
    if not sops.is_envelope(data):
        return [Problem.of(errors.PLAINTEXT, rel, fix="delete it and submit with `isp submit`, which encrypts")]
    want = keys.required_recipients(isp, rel)
    if want is not None and sops.recipients(data) != want:
        return [Problem.of(errors.RECIPIENTS, rel, detail="not encrypted for the recipients .sops.yaml requires")]
    return []


def have_key() -> bool:
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = config / "sops" / "age" / "keys.txt"
    return bool(os.environ.get("SOPS_AGE_KEY") or os.environ.get("SOPS_AGE_KEY_FILE") or default.exists())


def _no_key_warning() -> Problem:
    return Problem.of(
        errors.NOT_DECRYPTED,
        "submissions/",
        fix="set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE to check what is inside",
        why="no age key is set",
    )


def _content_problems(ctx: Context, rel: str, result: bytes | sops.CryptoError) -> list[Problem]:
    if isinstance(result, sops.CryptoError):
        if result.reason == NO_KEY:
            return [Problem.of(errors.NOT_DECRYPTED, rel, why="your key cannot open it")]
        return [Problem.of(errors.DECRYPT, rel, reason=result.reason)]
    match = SUBMISSION.match(rel)
    assert match is not None and ctx.isp is not None
    return sheet_problems(ctx.isp, rel, result, match.group(1), match.group(2), ctx.strict)


def sheet_problems(
    isp: protocol.Isp, display: str, plaintext: bytes, agency: str, month: str, strict: bool, stored: bool = True
) -> list[Problem]:
    """A sheet's problems; a ``stored`` (decrypted) submission must also be in the canonical form."""
    frame, problems = validation.validate_bytes(plaintext, display, isp, agency, month, strict)
    if stored and frame is not None and not problems and tidy.to_csv(frame) != plaintext:
        problems.append(Problem.of(errors.NOT_CANONICAL, display))
    return problems


def infer(path: Path) -> tuple[str | None, str | None]:
    """Agency and month from a path ending in AGENCY/YYYY-MM.csv."""
    if is_month(path.stem) and re.match(r"^[A-Z][A-Z0-9]{1,11}$", path.parent.name):
        return path.parent.name, path.stem
    return None, None


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".xlsx", ".xlsm"))
        else:
            out.append(path)
    return out


def validate_paths(
    root: Path, paths: list[Path], agency: str | None, month: str | None, strict: bool = False
) -> list[Outcome]:
    """Sheets named on the command line (plaintext, or envelopes decrypted in memory), plus the protocol."""
    ctx = Context(root.resolve(), strict)
    outcomes = [check_protocol(ctx)]
    if ctx.isp is None:
        return outcomes
    outcome = Outcome("sheets")
    for path in _expand(paths):
        outcome.checked += 1
        outcome.problems += _one_path(ctx, path, agency, month)
    return [*outcomes, outcome]


def _one_path(ctx: Context, path: Path, agency: str | None, month: str | None) -> list[Problem]:
    assert ctx.isp is not None
    from isp.crypto.guard import relative

    rel = relative(ctx.root, path)
    inferred = infer(Path(rel))
    agency, month = agency or inferred[0], month or inferred[1]
    if agency is None or month is None:
        raise UsageError(f"{path}: give --agency and --month (or name the file AGENCY/YYYY-MM.csv)")
    try:
        data = read_source(path)
    except ValidationFailed as exc:
        return exc.problems
    problems: list[Problem] = []
    in_repo = rel.startswith(("submissions/", "aggregates/"))
    stored = sops.is_envelope(data)
    if stored:
        problems += envelope_problems(ctx.isp, rel, data) if in_repo else []
        try:
            data = sops.decrypt_bytes(data, rel)
        except IspError as exc:
            return [*problems, Problem.of(errors.DECRYPT, rel, reason=getattr(exc, "reason", type(exc).__name__))]
    elif in_repo:
        problems += envelope_problems(ctx.isp, rel, data)
    return problems + sheet_problems(ctx.isp, rel, data, agency, month, ctx.strict, stored)
