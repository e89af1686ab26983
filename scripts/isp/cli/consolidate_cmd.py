"""Placeholder: this command group arrives with its issue."""

import typer


def register(app: typer.Typer) -> None:
    """Nothing yet."""
