"""The one user-facing error type, and the problem records validation collects.

Every command turns an :class:`IspError` into one line per problem and an exit code (see
``isp.cli.main``): 1 for a rule or validation failure, 2 for a usage error. Nothing here may
carry a decrypted figure: messages name files, rows, columns and rules, never values read from
a confidential file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


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
        super().__init__(summary or f"{errors} problem(s) found")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def errors_only(problems: list[Problem], strict: bool = False) -> list[Problem]:
    """The problems that fail a check: errors, and warnings too under ``--strict``."""
    return [p for p in problems if strict or p.severity == "error"]
