"""`isp demo`: build a complete synthetic ISP, and optionally serve its site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from isp import demo
from isp.cli.options import JsonOption
from isp.cli.output import console, emit_json, err, table


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
        self.task: object | None = None

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def start(self, stage: str, total: int | None = None) -> None:
        self.task = self.bar.add_task(stage, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, steps)  # type: ignore[arg-type]

    def _finish(self) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)  # type: ignore[arg-type]
            self.task = None

    def done(self, stage: str, detail: str) -> None:
        self._finish()
        self.bar.console.print(f"[green]✓[/green] {stage}: {detail}", soft_wrap=True)

    def skipped(self, stage: str, why: str) -> None:
        self._finish()
        self.bar.console.print(f"[yellow]–[/yellow] {stage} skipped: {why}", soft_wrap=True)


def _print_summary(summary: demo.DemoSummary) -> None:
    table(
        "What the demo built",
        ("stage", "status", "detail"),
        [(s.name, s.status, s.detail) for s in summary.stages],
    )
    lines = [
        f"repository   {summary.root}",
        f"months       {summary.months[0]} .. {summary.months[1]} for {', '.join(summary.agencies)}",
        f"sheets       {summary.submissions} signed submissions, {summary.commits} commits in all",
        f"late         {summary.late['agency']} {summary.late['month']}   "
        f"revised  {summary.revised['agency']} {summary.revised['month']}",
        f"keys         {summary.key_dir} (git-ignored: age identities, SSH keys, canaries.json)",
        f"built in     {summary.seconds:.0f} s",
    ]
    if summary.site:
        lines.append(f"site         {summary.site}")
    console.print(Panel("\n".join(lines), title="isp demo", title_align="left"))
    if summary.credentials:
        table("Site credentials (demo only)", ("who", "password"), sorted(summary.credentials.items()))


def demo_command(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo repository (new, empty, or an earlier demo).")],
    serve: Annotated[bool, typer.Option("--serve", help="Serve the built site on 127.0.0.1 afterwards.")] = False,
    months: Annotated[int, typer.Option("--months", min=6, help="How many months of submissions.")] = 26,
    port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8000,
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
    options = demo.DemoOptions(directory, months=months, seed=seed, force=force, jobs=jobs)
    with RichProgress() as progress:
        summary = demo.build(options, progress)
    if json_out:
        emit_json(summary.as_dict())
    else:
        _print_summary(summary)
    if serve:
        demo.serve(summary, port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
