"""`isp errors [CODE]`: the rule codes of the catalogue, one in full, or the Markdown reference."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from isp import errors
from isp.cli.options import JsonOption
from isp.cli.output import console, emit_json


def _show(entry: errors.ErrorCode) -> None:
    console.print(f"[bold]{entry.code}[/bold]: {escape(entry.title)}")
    console.print(f"  message:   {escape(entry.message)}", soft_wrap=True)
    console.print(f"  fix:       {escape(entry.fix or '-')}", soft_wrap=True)
    console.print(f"  severity:  {entry.severity}   exit code: {entry.exit_code}   concern: {entry.concern}")


def _list(entries: list[errors.ErrorCode]) -> None:
    grid = Table(title=f"{len(entries)} rule codes (`isp errors CODE` for one in full)", title_justify="left")
    grid.add_column("code", no_wrap=True)  # copied into `isp errors CODE`: never broken over lines
    grid.add_column("title")
    grid.add_column("fix")
    for entry in entries:
        grid.add_row(entry.code, escape(entry.title), escape(entry.fix))
    console.print(grid)


def errors_command(
    code: Annotated[str | None, typer.Argument(help="One rule code, as shown in brackets in a problem line.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the whole catalogue as a Markdown page.")] = False,
    json_out: JsonOption = False,
) -> None:
    """What each rule code means and how to fix it: the catalogue every problem line comes from.

    A problem reads `FILE, row R, column C: [code] message Fix: fix`; give the code to see its
    entry in full. Words in braces in a message stand for what the line names.

    Example: `isp errors unknown-code`
    """
    if markdown:
        typer.echo(errors.reference_markdown(), nl=False)
        return
    entries = [errors.lookup(code)] if code else list(errors.CATALOGUE.values())
    if json_out:
        emit_json(entries[0].as_dict() if code else [e.as_dict() for e in entries])
    elif code:
        _show(entries[0])
    else:
        _list(entries)


def register(app: typer.Typer) -> None:
    app.command("errors")(errors_command)
