"""Small helpers shared by the command-line modules."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` in red on stderr and return the ``typer.Exit`` to raise (exit code ``code``)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
