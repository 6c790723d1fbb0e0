"""`consultant db`: migrate the database schema and show its revision."""

from __future__ import annotations

import click

from consultant.cli.common import cli_settings
from consultant.logs import redact_url


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    # Alembic and Mako load on use, off the path of `consultant --help` (80 ms).
    from consultant.db.migrate import current, upgrade

    settings = cli_settings()
    before = current(settings)
    backup = upgrade(settings, revision)
    if backup is not None:
        click.echo(f"backed up the database to {backup} before migrating from {before}", err=True)
    click.echo(f"database at revision {current(settings)}")


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision (and the database, without its password)."""
    from consultant.db.migrate import current  # Alembic on use, as in db_upgrade

    settings = cli_settings()
    click.echo(current(settings) or "(empty database)")
    click.echo(f"database {redact_url(settings.database_url)}", err=True)
