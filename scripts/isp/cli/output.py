"""Terminal output for people (rich) and for scripts (JSON on stdout)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(grid)


def ok(message: str) -> None:
    console.print(f"[green]✓[/green] {escape(message)}")


def warn(message: str) -> None:
    # escaped: problem lines carry their rule in brackets ("[schema]"), which rich would take as markup
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


@contextlib.contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner on stderr while long work runs (shown only on a terminal, so logs stay clean)."""
    with err.status(escape(message), spinner="dots"):
        yield
