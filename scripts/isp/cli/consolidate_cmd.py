"""`isp consolidate`: aggregates/ from submissions/, incremental, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from isp.cli.options import JsonOption, RepoOption
from isp.cli.output import emit_json, err, ok, warn

PHASES = {"decrypt": "decrypting inputs", "encrypt": "encrypting outputs"}


class _Bars:
    """The run's progress as rich bars on stderr, one per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, phase: str, total: int) -> None:
        if total:
            self._tasks[phase] = self._progress.add_task(PHASES.get(phase, phase), total=total)

    def advance(self, phase: str) -> None:
        task = self._tasks.get(phase)
        if task is not None:
            self._progress.advance(task)


@contextmanager
def _bars(enabled: bool) -> Iterator[_Bars | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=err, transient=True) as progress:
        yield _Bars(progress)


JobsOption = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="sops processes at once.", show_default="CPU count")
]
FullOption = Annotated[
    bool, typer.Option("--full", help="Recompute every output, not only those whose inputs changed.")
]


def consolidate(
    jobs: JobsOption = None, full: FullOption = False, repo: RepoOption = Path("."), json_out: JsonOption = False
) -> None:
    """Consolidate the submissions into aggregates/: every month, quarter, half-year and year,
    per site and national (ALL), with no agency named; plus each agency's own figures, one file
    per agency and year (`aggregates/agency/AGENCY/YYYY.csv`), encrypted to that agency and CI.
    Only outputs whose inputs changed are recomputed; aggregates/manifest.json records input
    hashes, coverage and revisions (never a figure). Needs SOPS_AGE_KEY or
    SOPS_AGE_KEY_FILE (the CI key).

    Example: `SOPS_AGE_KEY_FILE=ci.agekey isp consolidate --jobs 4`
    """
    from isp.consolidate import run  # lazily: numpy and pandas load only when a command needs them

    with _bars(enabled=not json_out and err.is_terminal) as bars:
        report = run(repo, jobs=jobs, full=full, progress=bars)
    if json_out:
        emit_json(report.as_dict())
        return
    ok(report.summary())
    for note in report.notes:
        warn(note)


def register(app: typer.Typer) -> None:
    app.command("consolidate")(consolidate)
