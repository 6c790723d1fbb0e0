"""`consultant codes …`: load and import code sets, and show what is loaded."""

from __future__ import annotations

import click


@click.group()
def codes() -> None:
    """Code sets and correct-coding edits: load, import, status."""
