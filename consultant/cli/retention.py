"""`consultant purge` and `consultant cases erase`: retention of mail data at a terminal.

Input: an operator's command. Output: the counts consultant/retention.py
reports, one line, for people and scripts alike (`name=count …`). A refusal
(unknown case, mail still in the outbox) is one line on stderr, exit status 1,
and nothing changed.
"""

from __future__ import annotations

import click

from consultant.cli.common import actor, cli_settings, one_line
from consultant.retention import erase, purge


@click.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    help="Days since a case's last change (default: CONSULTANT_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--as", "who", help="Who the audit log names (default: $CONSULTANT_REVIEWER).")
def purge_command(days: int | None, dry_run: bool, who: str | None) -> None:
    """Erase the mail data of closed cases (and of mail that opened none) past retention."""
    settings = cli_settings()
    days = days or settings.retention_days
    if not days:
        click.echo("retention is off (CONSULTANT_RETENTION_DAYS=0): nothing purged")
        return
    with one_line():
        erased = purge(settings, days, actor=actor(who), dry_run=dry_run)
    done = "would purge" if dry_run else "purged"
    click.echo(f"{done} (older than {days} days): {erased.line()}")


@click.command("erase")
@click.argument("ref")
@click.option("--force", is_flag=True, help="Cancel an answer still waiting in the outbox.")
@click.option("--as", "who", help="Who the audit log names (default: $CONSULTANT_REVIEWER).")
def erase_command(ref: str, force: bool, who: str | None) -> None:
    """Erase one case's mail data now (a request to delete), and close the case."""
    with one_line():
        erased = erase(cli_settings(), ref, actor=actor(who), force=force)
    click.echo(f"erased {ref.strip().upper()}: {erased.line()}")
