"""Terminal output for people (rich) and for scripts (JSON on stdout)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
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
    console.print(f"[green]✓[/green] {escape(message)}", soft_wrap=True)


def warn(message: str) -> None:
    # escaped: problem lines carry their rule in brackets ("[schema]"), which rich would take as markup
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


@contextlib.contextmanager
def working(message: str, logger: str = "isp") -> Iterator[None]:
    """A spinner on stderr while long work runs (shown only on a terminal, so logs stay clean);
    what the library logs at INFO under ``logger`` is shown beside it as progress."""
    with err.status(escape(message), spinner="dots") as status:
        handler = _StatusHandler(lambda line: status.update(escape(f"{message}: {line}")))
        source = logging.getLogger(logger)
        level = source.level
        source.addHandler(handler)
        source.setLevel(logging.INFO)
        try:
            yield
        finally:
            source.removeHandler(handler)
            source.setLevel(level)


class _StatusHandler(logging.Handler):
    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        self.show(record.getMessage())
