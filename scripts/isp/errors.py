"""The one user-facing error type, the problem records validation collects, and the error catalogue.

Every command turns an :class:`IspError` into one line per problem and an exit code (see
``isp.cli.main``): 1 for a rule or validation failure, 2 for a usage error, 3 for a bug in isp.
Nothing here may carry a decrypted figure: messages name files, rows, columns and rules, never
values read from a confidential file.

The catalogue (after frictionless-py's error classes) declares every rule code once: its title,
a message template with named placeholders, the fix, and the exit code. A place that finds a
problem builds it from its entry, ``Problem.of(errors.UNKNOWN_AGENCY, file, agency=code, ...)``,
so the code is referenced by name and ``isp errors CODE`` explains it. The location (file, row,
column) is not part of a message: :class:`Problem` puts it in front.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]
BUG_EXIT = 3  # pre-commit's code for an unexpected exception: scripts can tell a bug from a broken rule


@dataclass(frozen=True)
class ErrorCode:
    """One rule code as the user meets it: ``[code] message Fix: fix``, with an exit code."""

    code: str
    title: str
    message: str  # a str.format template; named placeholders only
    fix: str  # a template too; empty only where nothing can be done (never for an error)
    concern: str  # the package or record it belongs to, for the reference's grouping
    severity: Severity = "error"
    exit_code: int = 1

    def placeholders(self) -> set[str]:
        """The names the message and fix templates need."""
        fields = [*string.Formatter().parse(self.message), *string.Formatter().parse(self.fix)]
        return {name for _, name, _, _ in fields if name}

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


CATALOGUE: dict[str, ErrorCode] = {}


def _declare(
    code: str,
    title: str,
    message: str,
    fix: str,
    concern: str,
    severity: Severity = "error",
    exit_code: int = 1,
) -> ErrorCode:
    if code in CATALOGUE:
        raise ValueError(f"rule code {code} is declared twice")
    CATALOGUE[code] = ErrorCode(code, title, message, fix, concern, severity, exit_code)
    return CATALOGUE[code]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, located as precisely as we can."""

    file: str
    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    fix: str | None = None
    severity: Severity = "error"

    @classmethod
    def of(
        cls,
        error: ErrorCode,
        file: str,
        *,
        row: int | None = None,
        column: str | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
        **values: object,
    ) -> Problem:
        """The problem ``error`` describes, its templates filled from ``values`` (and file, row,
        column). ``fix`` replaces the catalogue's fix where the place knows a more precise one."""
        return cls.filled(error, file, values, row=row, column=column, severity=severity, fix=fix)

    @classmethod
    def filled(
        cls,
        error: ErrorCode,
        file: str,
        values: Mapping[str, object],
        *,
        row: int | None = None,
        column: str | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
    ) -> Problem:
        """:meth:`of` with the values as one mapping, for a helper that passes its caller's on."""
        where = {"file": file, "row": row, "column": column, **values}
        return cls(
            file,
            error.code,
            error.message.format(**where),
            row=row,
            column=column,
            fix=fix if fix is not None else (error.fix.format(**where) or None),
            severity=severity or error.severity,
        )

    def location(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}: [{self.rule}] {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text if self.severity == "error" else f"warning: {text}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class IspError(Exception):
    """A failure the user can act on. Its message is one plain line."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [str(self)]


class UsageError(IspError):
    """The command was called wrongly (exit code 2)."""

    exit_code = 2


class ValidationFailed(IspError):
    """One or more problems were found; every one is reported, not only the first."""

    def __init__(self, problems: list[Problem], summary: str = "") -> None:
        self.problems = problems
        errors = sum(p.severity == "error" for p in problems)
        self.exit_code = max((_exit_code(p.rule) for p in problems if p.severity == "error"), default=1)
        super().__init__(summary or f"{errors} problem(s) found")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def _exit_code(rule: str) -> int:
    entry = CATALOGUE.get(rule)
    return entry.exit_code if entry else 1


def issue_tracker() -> str:
    """Where to report a bug: the package's ``Issues`` project URL when it declares one."""
    try:
        urls = importlib.metadata.metadata("isp").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in ("issues", "bug tracker", "tracker"):
            return url.strip()
    return "the issue tracker of the repository isp came from"


def lookup(code: str) -> ErrorCode:
    """The catalogue entry of ``code``; a usage error naming the nearest codes when there is none."""
    if code in CATALOGUE:
        return CATALOGUE[code]
    near = difflib.get_close_matches(code, CATALOGUE, n=3)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise UsageError(f"'{code}' is not a rule code{hint}: `isp errors` lists them all")


def reference_markdown() -> str:
    """The catalogue as a Markdown page, one table per concern (what ``isp errors --markdown`` prints)."""
    lines = [
        "# Rule codes",
        "",
        "Generated by `isp errors --markdown` from `scripts/isp/errors.py`; a test keeps it current.",
        "Each problem is one line: `FILE, row R, column C: [code] message Fix: fix`. Words in braces",
        "stand for what the line names. Exit codes: 1 a rule is broken, 2 a usage error, 3 a bug in isp.",
    ]
    for concern in dict.fromkeys(e.concern for e in CATALOGUE.values()):
        lines += ["", f"## {concern}", "", "| code | title | message | fix | exit |", "| --- | --- | --- | --- | --- |"]
        for e in (e for e in CATALOGUE.values() if e.concern == concern):
            exit_code = f"{e.exit_code}" if e.severity == "error" else f"{e.exit_code} with --strict, else 0"
            cells = [f"`{e.code}`", e.title, e.message, e.fix or "-", exit_code]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def errors_only(problems: list[Problem], strict: bool = False) -> list[Problem]:
    """The problems that fail a check: errors, and warnings too under ``--strict``."""
    return [p for p in problems if strict or p.severity == "error"]


# === the catalogue ==============================================================================
# Grouped by concern. Placeholders name what varies; keep them free of figures from a sheet.

# --- isp itself --------------------------------------------------------------------------------

BUG = _declare(
    "bug",
    "A bug in isp",
    "isp stopped on an unexpected {exception}: this is a bug in isp, not in your data",
    "report it, with the command you ran, on {tracker}; run it again with ISP_DEBUG=1 to see the traceback",
    "isp",
    exit_code=BUG_EXIT,
)

# --- sheets: reading the file ------------------------------------------------------------------

TOO_LARGE = _declare(
    "too-large",
    "File too large",
    "the {what} exceeds the limit of {limit}",
    "send one month's aggregate sheet, not a case list: it has a few thousand rows at most",
    "sheets",
)
EMPTY_FILE = _declare(
    "empty-file",
    "Empty file",
    "the file is empty",
    "fill in the template (`isp template`) and try again",
    "sheets",
)
MACRO_FILE = _declare(
    "macro-file",
    "Macro-enabled workbook",
    "the workbook can hold macros ({why})",
    "save it as a plain .xlsx",
    "sheets",
)
UNSUPPORTED_FORMAT = _declare(
    "unsupported-format",
    "Old or foreign spreadsheet format",
    "old or foreign spreadsheet format",
    "save it as .xlsx or CSV",
    "sheets",
)
NOT_UTF8 = _declare(
    "not-utf8",
    "Not UTF-8 text",
    "the file is not UTF-8 text",
    "save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8)",
    "sheets",
)
NOT_TEXT = _declare(
    "not-text",
    "Binary data in a CSV",
    "the file holds binary data, not CSV text",
    "send a CSV or .xlsx",
    "sheets",
)
CSV_SYNTAX = _declare(
    "csv-syntax",
    "CSV cannot be parsed",
    "the CSV cannot be read (unbalanced quotes?)",
    "check the quotes on that line (save it again from the spreadsheet)",
    "sheets",
)
UNREADABLE_FILE = _declare(
    "unreadable-file",
    "Damaged or unreadable workbook",
    "the workbook cannot be read ({why})",
    "save it again as .xlsx (or send a CSV)",
    "sheets",
)
EXTRA_SHEET = _declare(
    "extra-sheet",
    "Extra worksheet",
    "worksheet {index} is not part of the sheet (only {allowed} may be there)",
    "keep only the input worksheet (extra worksheets may hold case details)",
    "sheets",
)
ENCRYPTED_FILE = _declare(
    "encrypted-file",
    "Password-protected workbook",
    "the workbook is protected with a password, so it cannot be read",
    "remove the password (Excel: File > Info > Protect Workbook > Encrypt with Password, clear it) and save "
    "as .xlsx; `isp submit` encrypts the figures itself",
    "sheets",
)
MERGED_CELLS = _declare(
    "merged-cells",
    "Merged cells",
    "the cells {cells} are merged; a merged range keeps its value in its first cell only",
    "unmerge them (Excel: Home > Merge & Center) and fill in every cell",
    "sheets",
)
HIDDEN_CELLS = _declare(
    "hidden-cells",
    "Hidden rows or columns hold figures",
    "{what} hidden but holds data that is submitted as it stands",
    "unhide it (Excel: right-click > Unhide) and check its figures before submitting",
    "sheets",
    severity="warning",
)
MISSING_DATA_SHEET = _declare(
    "missing-data-sheet",
    "Data worksheet missing",
    "the template's Data worksheet is missing (renamed or deleted?)",
    "name the worksheet holding the figures Data again, as `isp template` wrote it",
    "sheets",
)

# --- sheets: what may never be in one ----------------------------------------------------------

_PERSONAL_FIX = "remove it: the sheet holds aggregate counts only; personal details stay in the case system"
IDENTIFIABLE_NAME = _declare(
    "identifiable-name",
    "A person's name",
    "the {place} looks like it holds a person's name, not a code or a count",
    _PERSONAL_FIX,
    "sheets",
)
IDENTIFIABLE_DATE = _declare(
    "identifiable-date",
    "A date (of birth?)",
    "the {place} looks like it holds a date (a date of birth?), not a code or a count",
    _PERSONAL_FIX,
    "sheets",
)
IDENTIFIABLE_PHONE = _declare(
    "identifiable-phone",
    "A phone number",
    "the {place} looks like it holds a phone number, not a code or a count",
    _PERSONAL_FIX,
    "sheets",
)
IDENTIFIABLE_ID = _declare(
    "identifiable-id",
    "A case or registration number",
    "the {place} looks like it holds a case or registration number, not a code or a count",
    _PERSONAL_FIX,
    "sheets",
)
FREE_TEXT = _declare(
    "free-text",
    "Free text",
    "the {place} holds free text; the sheet takes codes and counts only",
    "delete it (and every comment or note): " + _PERSONAL_FIX.removeprefix("remove it: "),
    "sheets",
)
FORMULA = _declare(
    "formula",
    "A spreadsheet formula",
    "the {place} starts with =, +, - or @ (a spreadsheet formula could run when the sheet is opened)",
    "type the plain number or code, without a leading =, +, - or @",
    "sheets",
)

# --- sheets: the context of a submission -------------------------------------------------------

UNKNOWN_AGENCY = _declare(
    "unknown-agency",
    "Unknown agency",
    "'{agency}' is not an agency",
    "use one of {known}",
    "sheets",
)
NO_SHEET = _declare(
    "no-sheet",
    "Agency sends no sheet",
    "{agency} does not send the monthly tracking sheet",
    "only data-gathering agencies submit sheets",
    "sheets",
)
BAD_MONTH = _declare(
    "bad-month",
    "Month not written YYYY-MM",
    "the month is not written YYYY-MM",
    "write it as YYYY-MM, e.g. {example}",
    "sheets",
)

# --- sheets: columns and layout ----------------------------------------------------------------

UNKNOWN_LAYOUT = _declare(
    "unknown-layout",
    "No accepted layout",
    "the columns match no accepted layout (tidy CSV, template, or an export in protocol/imports/)",
    "use `isp template`, the tidy CSV columns month,site,indicator,sex,age_group,nationality,count, or an export",
    "sheets",
)
UNKNOWN_COLUMN = _declare(
    "unknown-column",
    "Column not part of the sheet",
    "this column is not part of the sheet",
    "remove it; see `isp template` for the columns",
    "sheets",
)
UNNAMED_COLUMN = _declare(
    "unnamed-column",
    "Data under no header",
    "a column without a header holds data",
    "remove the column, or give it one of the template's headers",
    "sheets",
)
HEADER_MOVED = _declare(
    "header-moved",
    "Header row moved down",
    "the header row of {layout} is row {found}, not row {expected} (a title row inserted above it?)",
    "delete the rows above the header so that it is row {expected} again",
    "sheets",
)
MISSING_COLUMN = _declare(
    "missing-column",
    "Missing column",
    "{expected} is missing",
    "add {expected} (see {layout})",
    "sheets",
)
NO_ROWS = _declare(
    "no-rows",
    "No data rows",
    "the sheet has no data rows",
    "fill in the sheet (`isp template`)",
    "sheets",
)

# --- sheets: cells -----------------------------------------------------------------------------

MISSING_VALUE = _declare(
    "missing-value",
    "Empty code",
    "the {what} is empty",
    "fill in the {what} code",
    "sheets",
)
UNKNOWN_CODE = _declare(
    "unknown-code",
    "Unknown code",
    "{value} is not a known {what} code",
    "use a code from {codes_file} (see the template's Codes sheet)",
    "sheets",
)
WRONG_AGENCY = _declare(
    "wrong-agency",
    "Another agency's data",
    "{detail}",
    "submit each agency's sheet under its own agency, committed by one of its focal points",
    "sheets",
)
WRONG_MONTH = _declare(
    "wrong-month",
    "Another month's data",
    "the row is for {month}, not {expected}",
    "submit each month separately, or correct the month to {expected}",
    "sheets",
)
MISSING_COUNT = _declare(
    "missing-count",
    "Empty count",
    "the count is empty",
    "enter a whole number of 0 or more (0 when there were none)",
    "sheets",
)
NOT_INTEGER = _declare(
    "not-integer",
    "Count not a whole number",
    "the count is not a whole number",
    "enter a whole number of 0 or more (0 when there were none)",
    "sheets",
)
ERROR_VALUE = _declare(
    "error-value",
    "A spreadsheet error instead of a count",
    "the count is the spreadsheet error {shown}",
    "correct what the formula refers to, then type the plain number (0 when there were none)",
    "sheets",
)
NEGATIVE_COUNT = _declare(
    "negative-count",
    "Negative count",
    "the count is negative",
    "enter a whole number of 0 or more (0 when there were none)",
    "sheets",
)
DUPLICATE = _declare(
    "duplicate",
    "A cell given twice",
    "the cell {cell} is given twice (first on row {first})",
    "keep one row per cell: add the two rows up or delete one",
    "sheets",
)
UNDECLARED_SITE = _declare(
    "undeclared-site",
    "Site outside the agency's annex sites",
    "{site} is not one of {agency}'s annex sites ({declared})",
    "correct the site; if {agency} now works at {site}, a signed change must first add it to {agency}'s "
    "sites in protocol/agencies.yaml",
    "sheets",
)
_RESTORE = "restore them from `isp template` (0 when there were none); a deleted row is never read as zero"
MISSING_SITE = _declare("missing-site", "Annex site missing from the sheet", "{detail}", _RESTORE, "sheets")
MISSING_ROW = _declare("missing-row", "Row missing from the sheet", "{detail}", _RESTORE, "sheets")
MISSING_CELL = _declare("missing-cell", "Cell missing from the sheet", "{detail}", _RESTORE, "sheets")
TOTALS = _declare(
    "totals",
    "Breakdown does not add up",
    "{parts} do not add up to {total} for {cell}",
    "correct the breakdown or {total} so that they agree",
    "sheets",
)

# --- sheets: submissions in the repository ----------------------------------------------------

MISPLACED = _declare(
    "misplaced",
    "File misplaced under submissions/",
    "submissions/ holds only AGENCY/YYYY-MM.csv files",
    "move or remove the file; `isp submit` writes the right name",
    "submissions",
)
PLAINTEXT = _declare(
    "plaintext",
    "Plaintext where only ciphertext may be",
    "not a sops envelope: plaintext must never be in the repository",
    "delete or unstage it and submit with `isp submit`, which encrypts",
    "submissions",
)
RECIPIENTS = _declare(
    "recipients",
    "Wrong recipients",
    "{detail}",
    "run `isp keys sync` (or submit again with `isp submit`)",
    "submissions",
)
NOT_DECRYPTED = _declare(
    "not-decrypted",
    "Contents not checked",
    "contents not checked: {why}",
    "set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE to a key that opens it",
    "submissions",
    severity="warning",
)
DECRYPT = _declare(
    "decrypt",
    "Cannot be decrypted",
    "{reason}",
    "restore the file from git history or submit it again with `isp submit`",
    "submissions",
)
NOT_CANONICAL = _declare(
    "not-canonical",
    "Not in canonical tidy form",
    "not in the canonical tidy form `isp submit` writes",
    "submit it again with `isp submit`",
    "submissions",
    severity="warning",
)
MONTH_NOT_OVER = _declare(
    "month-not-over",
    "Month not over yet",
    "{month} has not ended yet: the sheet may be incomplete",
    "submit again after the month ends",
    "submissions",
    severity="warning",
)
NO_AGENCY_KEY = _declare(
    "no-agency-key",
    "Agency has no age key",
    "{agency} has no age key: it will not be able to read its own submission",
    "run `isp keys new {agency} --out FILE`",
    "submissions",
    severity="warning",
)
PLAINTEXT_IN_REPO = _declare(
    "plaintext-in-repo",
    "Plaintext sheet inside the repository",
    "the plaintext sheet is inside the repository and not git-ignored",
    "move it outside the repository so it can never be committed",
    "submissions",
    severity="warning",
)

# --- the pre-commit guard ------------------------------------------------------------------------

ENCRYPTCONTENT_CACHE = _declare(
    "encryptcontent-cache",
    "The site's key cache",
    "the site's key cache must never be committed",
    "delete it and add it to .gitignore (set cache_file: '' in mkdocs.yml)",
    "guard",
)
SYMLINK = _declare(
    "symlink",
    "A link among encrypted files",
    "{detail}",
    "commit the file",
    "guard",
)
PLAINTEXT_SHEET = _declare(
    "plaintext-sheet",
    "Unencrypted spreadsheet or CSV",
    "{holds}, unencrypted",
    "keep sheets outside the repository; `isp submit FILE` encrypts the figures into submissions/",
    "guard",
)
AGE_IDENTITY = _declare(
    "age-identity",
    "An age secret key",
    "holds an age secret key",
    "unstage it and keep keys outside the repo",
    "guard",
)
PRIVATE_KEY = _declare(
    "private-key",
    "An SSH private key",
    "holds an SSH private key",
    "unstage it; commit only the .pub file",
    "guard",
)

# --- the pull-request gate ------------------------------------------------------------------------

NOT_ENCRYPTED = _declare(
    "not-encrypted",
    "Submission not encrypted",
    "not a sops envelope (plaintext or damaged)",
    "encrypt it with `isp submit` (never commit the plaintext sheet)",
    "ci",
)
PATH = _declare(
    "path",
    "Not a submission file name",
    "not a submission file name",
    "name it submissions/AGENCY/YYYY-MM.csv (as `isp submit` does)",
    "ci",
)
AGENCY = _declare(
    "agency",
    "Not a submitting agency",
    "{agency} is not an agency that submits tracking sheets",
    "check the agency code against protocol/agencies.yaml",
    "ci",
)
MONTH = _declare(
    "month",
    "Wrong month",
    "{month} is not a past or current month (today is {today})",
    "name the file for the month the figures describe, and give every row that month",
    "ci",
)
SIGNATURE = _declare(
    "signature",
    "Unsigned or unaccepted signature",
    "{detail}",
    "sign your commits with your registered SSH key (git config gpg.format ssh; commit with -S)",
    "ci",
)
REPLAY = _declare(
    "replay",
    "Ciphertext copied from another file",
    "the ciphertext is a copy of {original}",
    "submit this month's own sheet with `isp submit`; an envelope never moves to another month",
    "ci",
)
MONTH_MISMATCH = _declare(
    "month-mismatch",
    "Month column differs from the file name",
    "the sheet's month column does not match the file name (replayed or filed under the wrong month)",
    "submit the sheet under its own month",
    "ci",
)
DELETED = _declare(
    "deleted",
    "Submission deleted",
    "a submission may not be deleted",
    "to correct it, commit a new version of the same file",
    "ci",
)
AGGREGATES_NOT_BY_CI = _declare(
    "aggregates-not-by-ci",
    "A pull request changed aggregates/",
    "{changed} by the pull request; aggregates/ is written only by the consolidation on main (main.yml), "
    "after the submissions are merged",
    "drop the change: `git checkout origin/main -- aggregates` (re-wraps by `isp keys sync` are allowed)",
    "ci",
)

# --- the pull-request gate: path policy, code, trust files, recipients, approvals ---------------
# (isp.ci: one class per changed path, default deny; see isp.ci.paths and isp.ci.gate)

PATH_UNCLASSIFIED = _declare(
    "path-unclassified",
    "A path in no class of the policy",
    "falls in {what}: the gate refuses what it does not know",
    "put files where the repository layout says (submissions/, requests/, protocol/, docs/ ...)",
    "ci",
)
GITLINK = _declare(
    "gitlink",
    "A submodule",
    "a submodule (gitlink): only files are allowed",
    "commit plain files under ordinary names only",
    "ci",
)
MODE = _declare(
    "mode",
    "Not a regular file",
    "mode {mode} is not a regular file",
    "commit plain files under ordinary names only",
    "ci",
)
PATH_NAME = _declare(
    "path-name",
    "Control characters or bytes that are not UTF-8 in a name",
    "the name holds control characters or bytes that are not UTF-8",
    "commit plain files under ordinary names only",
    "ci",
)
PATH_COMPONENT = _declare(
    "path-component",
    "An empty, '.', '..' or '.git' path component",
    "the path has an empty, '.', '..' or '.git' component (a hand-made tree)",
    "commit plain files under ordinary names only",
    "ci",
)
PATHSPEC = _declare(
    "pathspec",
    "A name git would read as a pathspec",
    "the name looks like a git pathspec (leading ':', '*', '?', '[', ']' or '\\')",
    "commit plain files under ordinary names only",
    "ci",
)
UNRESOLVABLE = _declare(
    "unresolvable",
    "An object the repository does not hold",
    "points at an object the repository does not hold",
    "push the commit with its files (`git push` of an ordinary commit)",
    "ci",
)
FILE_TOO_LARGE = _declare(
    "file-too-large",
    "A file over the gate's size limit",
    "{size} bytes, more than the {limit} a file may have",
    "keep large files outside the repository",
    "ci",
)
PR_TOO_LARGE = _declare(
    "pr-too-large",
    "A pull request over the gate's total size limit",
    "its files (or the YAML versions its commits write) hold {size} bytes, more than the {limit} the gate "
    "reads for one pull request",
    "split it, and keep large files outside the repository",
    "ci",
)
PR_TOO_MANY_COMMITS = _declare(
    "pr-too-many-commits",
    "A pull request with more commits than the gate judges",
    "{count} commits, more than the {limit} the gate judges one by one; nothing else was checked",
    "squash the branch into fewer commits (each signed by whoever may make its change)",
    "ci",
)
SECRET_KEY = _declare(
    "secret-key",
    "A private key in the pull request",
    "holds a private key",
    "remove it; commit only public keys",
    "ci",
)
MKDOCS_HOOKS = _declare(
    "mkdocs-hooks",
    "MkDocs hooks named in mkdocs.yml",
    "names hooks: MkDocs would run Python from the branch; the site's hooks come from the installed isp package only",
    "remove `hooks:`; `isp site build` adds the package's hooks itself",
    "ci",
)
GOVERNANCE_UNREADABLE = _declare(
    "governance-unreadable",
    "The governance rules could not read the pull request",
    "{reason}",
    "fix the file named in the message",
    "ci",
)
CODE_NOT_APPROVED = _declare(
    "code-not-approved",
    "Code without a coordinator's signed approval",
    "the pull request changes code ({shown}) without a coordinator's signed approval (digest sha256:{digest}…)",
    "a coordinator runs `isp ci approve --base <base>` and commits the record alone, signed (-S); "
    "or a coordinator signs the code commits",
    "ci",
)
APPROVAL_FROZEN = _declare(
    "approval-frozen",
    "A code approval record edited or deleted",
    "an approval record is never changed or deleted",
    "add a new one",
    "ci",
)
APPROVAL_RECORD = _declare(
    "approval-record",
    "A code approval record that names another change",
    "{detail}",
    "run `isp ci approve` again on the pull request's head",
    "ci",
)
APPROVAL_SIGNER = _declare(
    "approval-signer",
    "A code approval not added by a coordinator alone",
    "the approval record must be added by a coordinator's signed commit that touches nothing else",
    "a coordinator commits the record alone, signed (-S)",
    "ci",
)
TRUST_FILE_NOT_GENERATED = _declare(
    "trust-file-not-generated",
    "A signer list, .sops.yaml or CODEOWNERS written by hand",
    "differs from what `isp keys sync` generates from the head's protocol/agencies.yaml",
    "run `isp keys sync` and commit what it writes; change protocol/agencies.yaml, never these files",
    "ci",
)
PROTOCOL_UNREADABLE = _declare(
    "protocol-unreadable",
    "The head's protocol cannot be read",
    "the head's protocol cannot be read: {reason}",
    "fix protocol/ on the branch (`isp protocol check`)",
    "ci",
)
SITE_CREDENTIALS_SIGNER = _declare(
    "site-credentials-signer",
    "Site passphrases changed by someone other than a coordinator",
    "commit {sha} changes the site passphrases but is not signed by a coordinator ({join})",
    "a coordinator runs `isp site credentials` and commits it signed (-S)",
    "ci",
)
FORGED_IDENTITY = _declare(
    "forged-identity",
    "A signed commit under another person's name",
    "signed by {signer} but the committer says {committer}",
    "commit under your own name and e-mail (git config user.email), signed with your own key",
    "ci",
)
AUTHOR_NOT_SIGNER = _declare(
    "author-not-signer",
    "A signed commit on behalf of another author",
    "signed by {signer} on behalf of the author {author}: check the author agreed",
    "nothing, if the author agreed",
    "ci",
    severity="warning",
)
FORGED_NAME = _declare(
    "forged-name",
    "A signed commit under another declared person's name",
    "the {who} name '{name}' is {owner}'s, but the commit is {whose}",
    "commit under your own name as protocol/agencies.yaml declares it (git config user.name), signed with your own key",
    "ci",
)
NAME_NOT_DECLARED = _declare(
    "name-not-declared",
    "A signed commit whose name is not the one agencies.yaml declares",
    "the {who} name '{name}' is not {expected}, as protocol/agencies.yaml declares {email}",
    "set git config user.name to your name as protocol/agencies.yaml declares it",
    "ci",
    severity="warning",
)
CI_ROTATION_RECIPIENTS = _declare(
    "ci-rotation-recipients",
    "A CI-key rotation that also changes other recipients",
    "commit {commit} rotates CI's key and also changes {others}: {detail}",
    "rotate CI's key alone (`isp keys new ci`, `isp keys sync`, one commit signed by a coordinator); "
    "an agency changes its own keys in its own signed commit",
    "ci",
)
RECIPIENT_SHAPE = _declare(
    "recipient-shape",
    "An age stanza not as sops writes it",
    "{problem}: the labels do not say who can read it",
    "encrypt with sops for the base's recipients only (`isp submit`, `isp keys sync`)",
    "ci",
)
RECIPIENT_NOT_CI = _declare(
    "recipient-not-ci",
    "The stanza labelled CI's does not open with CI's key",
    "the stanza labelled as CI's does not open with CI's key (encrypted for someone else)",
    "encrypt with sops for the base's recipients (`isp submit`, `isp keys sync`)",
    "ci",
)
DECISION_DATE = _declare(
    "decision-date",
    "A decision dated away from its signed commit",
    "{entry} is dated {stated} but was committed on {committed}; a date may differ from its signed commit's "
    "by {days} days at most",
    "date it the day you record it (`isp request decide` does)",
    "ci",
)
DECISION_DATE_FORMAT = _declare(
    "decision-date-format",
    "A decision's date that is not a calendar date",
    "{entry} (commit {commit}) is not dated YYYY-MM-DD; a timestamp or a date with a time escapes the "
    "check against its signed commit's date",
    "write the date as YYYY-MM-DD (`isp request decide` does)",
    "ci",
)
RECORD_FROZEN = _declare(
    "record-frozen",
    "A membership record edited after its first approval",
    "commit {sha} changes the record after it was approved; the approvals were given to the earlier text",
    "leave it as approved, and add a new record for the new change",
    "ci",
)
UNATTRIBUTED_CHANGE = _declare(
    "unattributed-change",
    "A change no commit of the pull request made",
    "no commit of the pull request writes this version ({detail}); a merge took it from a commit "
    "outside the pull request, so no signature vouches for it",
    "make the change in an ordinary commit, signed by whoever may make it; merge only the base branch's tip",
    "ci",
)
NOTIFICATION_LOG = _declare(
    "notification-log",
    "The notification log changed other than by appending a coordinator's records",
    "{detail}: a forged line stops the message it names from ever being sent",
    "leave protocol/notifications/sent.jsonl to `isp notify` on the default branch",
    "ci",
)
MINUTES_SIGNER = _declare(
    "minutes-signer",
    "Minutes written by someone who neither coordinates nor attended",
    "commit {commit} writes these minutes but is {signer}; only a coordinator or a focal point the minutes "
    "list as attending may (a meeting counts as held once its minutes are in)",
    "a coordinator or a focal point who attended commits them, signed (-S)",
    "ci",
)
COMMIT_DATE = _declare(
    "commit-date",
    "A commit dated in the future",
    "commit {commit} is dated {committed}, after now ({now}); a decision may be dated only near its signed "
    "commit's date, so a future commit would carry a decision dated in the future",
    "commit with your computer's clock right (check its date and time zone), and sign again",
    "ci",
)
PROTOCOL_SETTINGS = _declare(
    "protocol-settings",
    "Shared protocol settings changed without a coordinator",
    "commit {commit} changes the shared settings of this file but is {signer}; only a coordinator may "
    "(where ActivityInfo exports go, the sites, the import mappings, the calendar, deadlines and validity)",
    "ask a coordinator to make the change, signed (-S); amendments of `sharing` and `disclosure` go through "
    "a protocol-amendment record",
    "ci",
)
SOPS_METADATA = _declare(
    "sops-metadata",
    "Envelope metadata that sops does not write here",
    "the envelope's sops block holds {fields}: key groups or settings other than age stanzas can open "
    "the file to keys nobody checks",
    "encrypt it again with `isp submit` (or `isp keys sync`); never edit an envelope by hand",
    "ci",
)
APPROVAL_STALE = _declare(
    "approval-stale",
    "An approved change edited afterwards",
    "what this record approves changed after its first approval (commit {sha}); "
    "an approval counts only for the change it approved",
    "revert the later change, or start a new record and collect the approvals again",
    "ci",
)

# --- consolidation inputs and outputs -----------------------------------------------------------

_CONSOLIDATE_FIX = (
    "check it with `isp validate FILE` and submit a corrected sheet; for aggregates/, run `isp consolidate --full`"
)
COLUMNS = _declare(
    "columns",
    "Wrong header",
    "the header must be {columns}",
    _CONSOLIDATE_FIX,
    "consolidate",
)
CSV = _declare(
    "csv",
    "Unreadable CSV table",
    "not a readable CSV table",
    _CONSOLIDATE_FIX,
    "consolidate",
)
COUNT = _declare(
    "count",
    "Bad count",
    "a count must {expected}",
    _CONSOLIDATE_FIX,
    "consolidate",
)
PERIOD = _declare(
    "period",
    "Row for another period",
    "every row must be for {label}, as the file name says",
    _CONSOLIDATE_FIX,
    "consolidate",
)

# --- disclosure control ------------------------------------------------------------------------

CROSSTAB = _declare(
    "crosstab",
    "Malformed cross-tab",
    "{detail}",
    "write a header row (`row\\column` dimensions, then the column codes), one row per code, "
    "and whole numbers (empty or `x` where a cell is hidden)",
    "disclosure",
)

# --- ActivityInfo -------------------------------------------------------------------------------

ACTIVITYINFO_MAPPING = _declare(
    "activityinfo-mapping",
    "ActivityInfo mapping does not fit the protocol",
    "{detail}",
    "correct protocol/activityinfo.yaml: every indicator, disaggregation and location it names must "
    "exist in protocol/, and no SGBV indicator may be mapped",
    "release",
)

# --- meetings and the agencies' rights -----------------------------------------------------------

ATTENDED = _declare(
    "attended",
    "Unknown attendee",
    "attended: {email} is not a focal point in agencies.yaml",
    "list attendees by the e-mail address of a focal point in protocol/agencies.yaml",
    "meetings",
)
MINUTES_FIGURES = _declare(
    "minutes-figures",
    "Figures in minutes",
    "decisions: no figures in minutes (digits only in dates)",
    "say what was decided in words; the figures stay in the encrypted reports",
    "meetings",
)
BREACH_MEETING_ATTENDANCE = _declare(
    "breach-meeting-attendance",
    "Breach meeting without every agency",
    "the breach meeting brings together the focal points of every agency; absent: {join}",
    "the protocol calls the focal points of every agency to a breach meeting: invite the absent ones",
    "meetings",
)
RIGHTS_SIGNED = _declare(
    "rights-signed",
    "Right not signed by its agency",
    "{detail}",
    "commit the record signed by a focal point of the agency that holds the right",
    "rights",
)
RIGHTS_SCOPE = _declare(
    "rights-scope",
    "Right without its scope",
    "{detail}",
    "name what the record needs: the breach for a withdrawal; member, recipient and data for an "
    "authorisation; report, use and minutes for a discussion",
    "rights",
)
RIGHTS_MINUTES = _declare(
    "rights-minutes",
    "Discussion without its minutes",
    "minutes: no {minutes} in {meetings_dir}/",
    "record the signatories' discussion in protocol/meetings/ and name its id under `minutes`",
    "rights",
)
WITHDRAWAL_BREACH = _declare(
    "withdrawal-breach",
    "Withdrawal without an unresolved breach",
    "{detail}",
    "an agency leaves on its own signed record only while a breach it names is unresolved; otherwise "
    "leaving is a membership change every signatory approves",
    "rights",
)
SYSTEM_SWITCH_RECORD = _declare(
    "system-switch-record",
    "System switch record incomplete",
    "{name}: when the coordinators {what}",
    "add the day the coordinators arranged the training (`training`) and told the signatories (`signatories_notified`)",
    "membership",
)
FOCAL_POINT_POSITION = _declare(
    "focal-point-position",
    "Focal point without a position",
    "agencies.{code}.focal_points.{role}: no position (the annex gives each focal point's role)",
    "add `position: JOB TITLE` (the annex gives each focal point's role)",
    "protocol",
)
ATTRIBUTION = _declare(
    "attribution",
    "Attribution missing an element",
    "sharing.attribution: the wording does not say that {says} ({code})",
    "keep every element of ground rule 10, or remove `attribution` to use the default wording",
    "protocol",
)

# --- protocol/ ---------------------------------------------------------------------------------

MISSING_FILE = _declare(
    "missing-file",
    "Protocol file missing",
    "the file is missing",
    "run `isp init` or restore it from git",
    "protocol",
)
YAML_SYNTAX = _declare(
    "yaml-syntax",
    "Not valid YAML",
    "not valid YAML{why}",
    "correct the YAML at that line (a stray tab, colon or quote?)",
    "protocol",
)
YAML_TOO_LARGE = _declare(
    "yaml-too-large",
    "YAML file too large",
    "{detail}",
    "a protocol, request or breach file is a few kilobytes: split the file or remove what does not belong",
    "protocol",
)
YAML_TOO_DEEP = _declare(
    "yaml-too-deep",
    "YAML nested too deeply",
    "nested deeper than {limit} levels",
    "flatten the structure: no file of the protocol needs that depth",
    "protocol",
)
YAML_ALIAS = _declare(
    "yaml-alias",
    "YAML anchor or alias",
    "{detail}",
    "write the values out in full: anchors and aliases (&name, *name) are refused in files from a branch",
    "protocol",
)
YAML_TAG = _declare(
    "yaml-tag",
    "A YAML value with a type tag no protocol file uses",
    "a `{tag}` value, which no protocol file uses (a `!!binary` one shows a reviewer base64 while the "
    "tool reads the decoded text)",
    "write the value out as plain text, numbers, dates, lists and mappings",
    "protocol",
)
YAML_DUPLICATE_KEY = _declare(
    "yaml-duplicate-key",
    "Key repeated in a YAML mapping",
    "the key '{key}' appears twice (lines {first} and {line}); YAML keeps only the last, "
    "so a reader and the code would disagree",
    "keep one entry per key: a repeated key lets a reviewer read one value while the tool reads another",
    "protocol",
)
SCHEMA = _declare(
    "schema",
    "Field breaks the schema",
    "{detail}",
    "correct the field; the schemas are described in protocol/README.md",
    "protocol",
)
UNSAFE_TEXT = _declare(
    "unsafe-text",
    "Record text holds a control or bidi character",
    "the field {detail}",
    "retype the text without control characters (ANSI escapes, CR, NUL...) or bidi overrides "
    "(U+202A-U+202E, U+2066-U+2069); only descriptions, purposes, reasons and decisions may span lines",
    "protocol",
)
UNKNOWN_SITE = _declare(
    "unknown-site",
    "Unknown site",
    "{where}: '{site}' is not a site of sites.yaml",
    "use a code from protocol/sites.yaml",
    "protocol",
)
NO_SITES = _declare(
    "no-sites",
    "Data-gathering agency without sites",
    "agencies.{agency}.sites: a data-gathering agency needs sites",
    "list the sites where the agency works",
    "protocol",
)
FOCAL_POINTS = _declare(
    "focal-points",
    "Focal points",
    "{detail}",
    "name two different people per agency, each a focal point of one agency only",
    "protocol",
)
ROLES = _declare(
    "roles",
    "Missing role",
    "no agency {role}",
    "give the role to an agency in protocol/agencies.yaml",
    "protocol",
)
UNKNOWN_GROUP = _declare(
    "unknown-group",
    "Unknown indicator group",
    "{indicator}.group: '{group}' is not a group",
    "declare the group under groups in protocol/indicators.yaml",
    "protocol",
)
UNKNOWN_TAG = _declare(
    "unknown-tag",
    "Undeclared tag",
    "{where}: tag '{tag}' is not declared in indicators.yaml",
    "declare the tag under tags in protocol/indicators.yaml",
    "protocol",
)
UNKNOWN_INDICATOR = _declare(
    "unknown-indicator",
    "Unknown indicator",
    "{where}: '{indicator}' is not an indicator",
    "use a code from protocol/indicators.yaml",
    "protocol",
)
DENOMINATOR = _declare(
    "denominator",
    "Percent-only indicator without denominator",
    "{indicator}: a percent-only indicator needs a denominator",
    "name the indicator it is a share of under denominator",
    "protocol",
)
DATES = _declare(
    "dates",
    "Dates out of order",
    "{detail}",
    "correct the dates so that each follows the one it depends on",
    "protocol",
)
PROTOCOL_NOT_IN_FORCE = _declare(
    "protocol-not-in-force",
    "Protocol not in force",
    "the protocol is not in force on {day}: nothing may be shared until it is renewed",
    "the signatories renew it; add the renewal under validity.periods",
    "protocol",
)
PROTOCOL_REVIEW = _declare(
    "protocol-review",
    "Protocol review due",
    "the protocol's review was due on {review}; the current period ends on {end}",
    "review it with the signatories and record the renewal",
    "protocol",
    severity="warning",
)

# --- requests ----------------------------------------------------------------------------------

UNKNOWN_PROFILE = _declare(
    "unknown-profile",
    "Profile an approval cannot set",
    "{where}: `{profile}` is not a condition an approval can set",
    "approve with one of the profiles in protocol.yaml's disclosure.strictness, or leave `profile:` out",
    "requests",
)
ID = _declare(
    "id",
    "Id differs from the file name",
    "id '{id}' differs from the file name",
    "make the id and the file name the same",
    "requests",
)
INCOMPLETE = _declare(
    "incomplete",
    "Required element missing",
    "{field} is missing: {meaning}",
    "fill in {field} (a request needs all five required elements)",
    "requests",
)
DATA = _declare(
    "data",
    "Data asked for is not in the protocol",
    "data.{field}: '{value}' {detail}",
    "use the reports, period labels, indicators and sites of protocol/ (or `all`)",
    "requests",
)
WITHHELD = _declare(
    "withheld",
    "Indicators that never leave the group",
    "{detail}",
    "nothing to do; drop them from data.indicators to say so in the request itself",
    "requests",
    severity="warning",
)
GOVERNMENT_RECIPIENT = _declare(
    "government-recipient",
    "Unknown government body",
    "recipient: '{recipient}' is not a government body of protocol.yaml ({known})",
    "use one of the government bodies listed in protocol/protocol.yaml",
    "requests",
)
GOVERNMENT_ANNUAL = _declare(
    "government-annual",
    "Government requests get the annual analysis",
    "a government request receives the annual analysis only",
    "set data.report: annual and annual periods (2025)",
    "requests",
)
RECIPIENT = _declare(
    "recipient",
    "Recipient on a non-government request",
    "recipient is only for government requests",
    "remove recipient, or make the request type government",
    "requests",
)
ORIGINAL_REQUEST = _declare(
    "original-request",
    "Original request on a request that is not onward",
    "original_request is only for onward requests",
    "remove original_request, or make the request type onward",
    "requests",
)
MEDIA_BLANKET = _declare(
    "media-blanket",
    "Blanket media request",
    "a media request names the exact indicators it needs; media requests are decided case by case, "
    "never as a blanket approval",
    "list the indicators the story needs under data.indicators",
    "requests",
)
ONWARD_ORIGINAL = _declare(
    "onward-original",
    "Onward request names no existing request",
    "original_request: '{original}' is not an existing request",
    "name the request under which the data first left the group",
    "requests",
)
ONWARD_FORWARDING = _declare(
    "onward-forwarding",
    "Recipient passing data on",
    "{organization} received the data under {original} and may never pass it on itself; "
    "the third party asks the group directly",
    "record the request in the third party's own name",
    "requests",
)
NOT_A_PARTY = _declare(
    "not-a-party",
    "Decision by an agency that is not a party",
    "{where}: {agency} is not a data-gathering agency of agencies.yaml ({required})",
    "remove the entry; only data-gathering agencies decide",
    "requests",
)
DENIAL_WITHOUT_REASON = _declare(
    "denial-without-reason",
    "Denial without a reason",
    "{where}: a denial needs its reason",
    "{agency} adds `reason:` in a signed commit",
    "requests",
)
DECISION_BEFORE_ISSUED = _declare(
    "decision-before-issued",
    "Decision before the request was issued",
    "{where}: {when}, before the request was issued ({issued}); nothing is approved in advance",
    "decide after the coordinators issue the request, in a signed commit",
    "requests",
)
MEDIA_PRE_APPROVED = _declare(
    "media-pre-approved",
    "Media request approved in advance",
    "{where}: {when}, before the request was issued ({issued}); media requests are decided case by case",
    "decide after the coordinators issue the request, in a signed commit",
    "requests",
)
CHANGED_AFTER_DECISIONS = _declare(
    "changed-after-decisions",
    "Request changed after agencies decided",
    "commit {commit} changes the request after agencies decided on it; their answers were about the earlier text",
    "leave it as decided, and issue a new request for the new terms",
    "requests",
)
REQUEST_DELETED = _declare(
    "request-deleted",
    "Request deleted",
    "commit {commit} deletes a request; the record is kept",
    "restore the file",
    "requests",
)
RELEASE_WITHOUT_APPROVAL = _declare(
    "release-without-approval",
    "Release without approval",
    "releases: {release} on {date} was made while the request was {state}",
    "release only when every required agency has approved and no breach is open",
    "requests",
)
RELEASE_DATE = _declare(
    "release-date",
    "Release recorded late or misdated",
    "releases: {release} is dated {date}, but it is recorded on {today}",
    "record a release within {days} days of making it, with the real date (`isp release` without ISP_TODAY)",
    "requests",
)

# --- signed entries: decisions on requests, agreements on breaches, approvals of membership ----


@dataclass(frozen=True)
class SignedEntryCodes:
    """The three ways a signed entry (an agency's own answer in a shared record) is mishandled."""

    removed: ErrorCode
    unsigned: ErrorCode
    by_other_agency: ErrorCode


def _signed_entry(what: str, concern: str) -> SignedEntryCodes:
    return SignedEntryCodes(
        _declare(
            f"{what}-removed",
            f"An agency's {what} removed",
            f"commit {{commit}} removes {{agency}}'s {what} ({{signer}}); an agency's recorded answer is never deleted",
            f"restore it; {{agency}} may change its own {what} in a commit it signs",
            concern,
        ),
        _declare(
            f"{what}-unsigned",
            f"An agency's {what} in an unsigned commit",
            f"commit {{commit}} {{change}} {{agency}}'s {what} but is {{signer}}",
            "a focal point of {agency} commits it with an SSH signature (`git commit -S`)",
            concern,
        ),
        _declare(
            f"{what}-by-other-agency",
            f"An agency's {what} recorded by another",
            f"commit {{commit}} is {{signer}} but {{change}} {{agency}}'s {what}; an agency may only record its own",
            f"drop that change; only {{agency}}'s focal points record {{agency}}'s {what}",
            concern,
        ),
    )


SIGNED_ENTRY = {
    "decision": _signed_entry("decision", "requests"),
    "agreement": _signed_entry("agreement", "breaches"),
    "approval": _signed_entry("approval", "membership"),
    "signature": _signed_entry("signature", "rights"),
}
RECORD_NOT_BY_COORDINATOR = _declare(
    "record-not-by-coordinator",
    "Shared record written by a non-coordinator",
    "commit {commit} writes the {record} itself but is {signer}; the coordinators ({owners}) keep this record",
    "a coordinator's focal point commits it, signed; agencies change only their own entry",
    "requests",
)

# --- breaches ----------------------------------------------------------------------------------

BREACH_FIGURES = _declare(
    "breach-figures",
    "Figures in a breach record",
    "description: no figures in a breach record (no digits at all)",
    "describe what happened in words",
    "breaches",
)
NOT_A_SIGNATORY = _declare(
    "not-a-signatory",
    "Agreement by an agency that is not a signatory",
    "agreements.{agency}: not an agency of agencies.yaml",
    "remove the entry; only signatory agencies agree a resolution",
    "breaches",
)
RESOLVED_WITHOUT_AGREEMENT = _declare(
    "resolved-without-agreement",
    "Resolved without every agreement",
    "resolved is set but {missing} have not agreed: the breach stays open",
    "each signatory agrees under `agreements:` in a commit it signs",
    "breaches",
    severity="warning",
)
BREACH_DELETED = _declare(
    "breach-deleted",
    "Breach record deleted",
    "commit {commit} deletes a breach record; the register is kept",
    "restore the file",
    "breaches",
)

# --- membership: agencies.yaml and protocol amendments -----------------------------------------

MEMBERSHIP_APPROVAL = _declare(
    "membership-approval",
    "Membership change without its approvals",
    "{what} {detail}",
    "add a record under protocol/membership/ and have it approved in commits signed by the approvers",
    "membership",
)
SUSPENSION_SIGNATURE = _declare(
    "suspension-signature",
    "Suspension not signed by the agency or a coordinator",
    "commit {commit} changes {agency}'s suspensions but is {signer}",
    "a focal point of {allowed} commits it, signed with a key registered before this change",
    "membership",
)
KEYS_SIGNATURE = _declare(
    "keys-signature",
    "Keys changed without the agency's signature",
    "commit {commit} changes {agency}'s {field} but is {signer}",
    "a focal point of {allowed} commits it, signed with a key registered before this change",
    "membership",
)
AGENCY_FIELD_SIGNATURE = _declare(
    "agency-field-signature",
    "An agency's entry changed without its signature",
    "commit {commit} changes {agency}'s {field} but is {signer}",
    "a focal point of {allowed} commits it, signed with a key registered before this change",
    "membership",
)
CI_KEY_SIGNATURE = _declare(
    "ci-key-signature",
    "CI key changed without a coordinator's signature",
    "commit {commit} changes the CI key but is {signer}",
    "a focal point of {allowed} commits it, signed with a key registered before this change",
    "membership",
)
