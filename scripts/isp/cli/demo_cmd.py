"""`isp demo`: build a complete synthetic ISP, and optionally serve its site."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from isp.cli.options import JsonOption
from isp.cli.output import console, emit_json, err

if TYPE_CHECKING:
    from isp.demo import build as demo


class RichProgress:
    """The builder's progress as rich bars on stderr, one per stage."""

    def __init__(self) -> None:
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.task: TaskID | None = None
        self.stage = ""
        self.started = time.monotonic()

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def start(self, stage: str, total: int | None = None) -> None:
        """A bar for ``stage``; called again for the same stage, it only sets the total."""
        if self.task is not None and self.stage == stage:
            self.bar.update(self.task, total=total)
            return
        self._finish()
        self.task, self.stage, self.started = self.bar.add_task(stage, total=total), stage, time.monotonic()

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, steps)

    def _finish(self) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None

    def done(self, stage: str, detail: str) -> None:
        self._finish()
        self.bar.console.print(f"[green]✓[/green] {stage} [dim]({time.monotonic() - self.started:.0f} s)[/dim]")

    def skipped(self, stage: str, why: str) -> None:
        self._finish()
        self.bar.console.print(f"[yellow]–[/yellow] {stage} skipped: {escape(why)}", soft_wrap=True)


SHOWN_LEVELS = ("members", "coordinators")
SETUP = ("repository", "keys")  # shown in the header rows


def _print_summary(summary: demo.DemoSummary) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("repository", f"{summary.root}  ({summary.commits} commits)")
    grid.add_row("months", f"{summary.months[0]} .. {summary.months[1]} for {', '.join(summary.agencies)}")
    grid.add_row(
        "story",
        f"late: {summary.late['agency']} {summary.late['month']}; "
        f"revised: {summary.revised['agency']} {summary.revised['month']}"
        + (
            f"; {summary.suspension['agency']} suspended {summary.suspension['from']}..{summary.suspension['to']}"
            if summary.suspension
            else ""
        ),
    )
    for stage in summary.stages:
        if stage.name in SETUP:
            continue
        if stage.status == "done":
            grid.add_row(stage.name, f"{escape(stage.detail)} [dim]({stage.seconds:.0f} s)[/dim]")
        else:
            grid.add_row(f"[yellow]{stage.name}[/yellow]", f"[yellow]skipped: {escape(stage.detail)}[/yellow]")
    grid.add_row("keys", f"{summary.key_dir} (git-ignored): age identities, SSH signing keys, canaries.json")
    grid.add_row("built in", f"{summary.seconds:.0f} s")
    console.print(Panel(grid, title="isp demo: a complete synthetic ISP", title_align="left"))
    if summary.credentials:
        _print_credentials(summary)


def _print_credentials(summary: demo.DemoSummary) -> None:
    from isp.protocol import loading
    from isp.site import credentials

    agency = next((level for level in summary.credentials if level.startswith("agency-")), None)
    names = credentials.holders(loading.load(summary.root))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(style="green", no_wrap=True)
    for level in (*SHOWN_LEVELS, *([agency] if agency else [])):
        if level in summary.credentials:
            grid.add_row(names.get(level, level), summary.credentials[level])
    key = summary.key_dir / "ci.agekey"
    how = "On a protected page, choose whose passphrase it is (left), then enter it (right)."
    hint = f"every level: SOPS_AGE_KEY_FILE={key} isp site credentials --show --repo {summary.root}"
    console.print(Panel(Group(grid, "", how, hint), title="site passphrases (demo only)", title_align="left"))


def demo_command(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo repository (new, empty, or an earlier demo).")],
    serve: Annotated[bool, typer.Option("--serve", help="Serve the built site on 127.0.0.1 afterwards.")] = False,
    months: Annotated[int, typer.Option("--months", min=6, help="How many months of submissions.")] = 26,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for --serve.")] = 8000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic figures and dates.")] = 2015,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier demo in DIRECTORY.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", help="Parallel sops processes (0: one per core).")] = 0,
    json_out: JsonOption = False,
) -> None:
    """Build a complete synthetic ISP: keys, two years of signed encrypted sheets, a late and a
    corrected one, requests in every state, a breach and a suspension, the aggregates, a release
    and the access-controlled site. Keys go to DIRECTORY/.demo-keys (git-ignored).

    Example: `isp demo /tmp/demo-isp --serve`
    """
    from isp.demo import build as demo  # lazily: pandas loads only when a demo is built

    options = demo.DemoOptions(directory, months=months, seed=seed, force=force, jobs=jobs)
    if serve:
        demo.check_port(port)  # before minutes of work, not after
    with RichProgress() as progress:
        summary = demo.build(options, progress)
    if json_out:
        emit_json(summary.as_dict())
    else:
        _print_summary(summary)
    if serve:
        demo.serve(summary, port, console.print)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
