"""Terminal output for people (rich) and for scripts (JSON on stdout)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def emit_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# C0 and C1 controls but newline and tab (ESC starts an ANSI sequence that moves the cursor, clears
# the screen or retitles the terminal) and the bidi overrides, shown as U+FFFD.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> Text:
    """Record text for the terminal: never rich markup (``[link=...]``), never a control sequence."""
    return Text(_CONTROLS.sub("\ufffd", text))


LONG_WORD = 16  # words this long are e-mails, IDs or paths: their column is at least that wide
MAX_WORD = 40  # a longer word (a file path) may fold; IDs, e-mails and dates never do


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A table that never cuts a word with "…": at 80 columns an ID or an e-mail stays whole
    (its column is at least as wide as it), one-word columns never wrap, text wraps between words.
    Cells are shown as plain text (:func:`plain`); a :class:`Text` cell keeps the style its
    caller gave it (a state's colour), never markup read from a record."""
    given = [list(row) for row in rows]
    styled = {(r, c): cell for r, row in enumerate(given) for c, cell in enumerate(row) if isinstance(cell, Text)}
    cells = [["" if cell is None else str(cell) for cell in row] for row in given]
    grid = Table(title=plain(title), title_justify="left")
    for index, column in enumerate(columns):
        longest = max((len(word) for row in cells for word in row[index].split()), default=0)
        one_word = all(len(row[index].split()) <= 1 for row in cells)
        # rich keeps short words whole by itself; a column with long words gets a fixed width
        # (a min_width is not enough: rich collapses below it, then widens the table past the screen)
        fixed = min(longest, MAX_WORD) if longest >= LONG_WORD and not one_word else None
        grid.add_column(column, width=fixed, overflow="fold", no_wrap=one_word)
    for r, row in enumerate(cells):
        grid.add_row(*(styled.get((r, c)) or plain(cell) for c, cell in enumerate(row)))
    console.print(grid)


def ok(message: str) -> None:
    console.print(Text.assemble(("✓", "green"), " ", plain(message)), soft_wrap=True)


def warn(message: str) -> None:
    # escaped: problem lines carry their rule in brackets ("[schema]"), which rich would take as markup
    err.print(Text.assemble(("warning:", "yellow"), " ", plain(message)), soft_wrap=True)


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
