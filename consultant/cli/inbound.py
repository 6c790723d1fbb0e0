"""`consultant inbound`: stored mail, what was refused and why, and putting it back in line.

Input: an operator's command. Output: a table of stored mail, newest first,
with the reason for any refusal; `retry` moves a failed, quarantined or
ignored mail back to `stored` (with an audit entry) and enqueues it, or
leaves it to the sweep when the broker is down.
"""

from __future__ import annotations

import click

from consultant.cli.common import actor, cli_session, cli_settings, enqueue_process
from consultant.handoff import hand_over
from consultant.review.inbound import inbound_rows, retry_inbound


@click.group()
def inbound() -> None:
    """Stored mail: what was quarantined or failed, and why."""


@inbound.command("list")
@click.option("--state", help="stored, processed, ignored, quarantined or failed (default: all).")
@click.option("--limit", default=50, show_default=True)
def inbound_list(state: str | None, limit: int) -> None:
    """List stored mail, newest first, with the reason for any refusal."""
    with cli_session(cli_settings()) as session:
        rows = inbound_rows(session, state=state, limit=limit)
    if not rows:
        click.echo("no stored mail")
        return
    click.echo(f"{'ID':>6}  {'STATE':<12} {'RECEIVED':<17} {'BYTES':>9}  {'SOURCE':<8} REASON")
    for row in rows:
        click.echo(
            f"{row.id:>6}  {row.state:<12} {row.received_at:%Y-%m-%d %H:%M} "
            f"{row.size:>9}  {row.source:<8} {row.reason[:80]}"
        )


@inbound.command("retry")
@click.argument("inbound_id", type=int)
def inbound_retry(inbound_id: int) -> None:
    """Put a failed, quarantined or ignored mail back in line for processing.

    E.g. after registering a sender who was sent the invitation, or fixing a
    quota: the mail is processed again under the current rules.
    """
    with cli_session(cli_settings()) as session:
        retry_inbound(session, inbound_id, actor())
    if hand_over(enqueue_process, inbound_id, "inbound"):
        click.echo(f"inbound {inbound_id} queued for processing")
    else:
        click.echo(f"inbound {inbound_id} will be picked up by the sweep")
