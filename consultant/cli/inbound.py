"""`consultant inbound`: stored mail, what was refused and why, and putting it back in line.

Input: an operator's command. Output: a table of stored mail, newest first,
with the reason for any refusal; `retry` moves a failed, quarantined or
ignored mail back to `stored` (with an audit entry) and enqueues it, or
leaves it to the sweep when the broker is down.
"""

from __future__ import annotations

import click
from sqlalchemy import select, update

from consultant.cases import audit
from consultant.cli.common import actor, cli_settings, enqueue_process
from consultant.db.models import InboundMessage, InboundState
from consultant.db.session import session_scope
from consultant.handoff import hand_over


@click.group()
def inbound() -> None:
    """Stored mail: what was quarantined or failed, and why."""


@inbound.command("list")
@click.option("--state", help="stored, processed, ignored, quarantined or failed (default: all).")
@click.option("--limit", default=50, show_default=True)
def inbound_list(state: str | None, limit: int) -> None:
    """List stored mail, newest first, with the reason for any refusal."""
    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if state:
        query = query.where(InboundMessage.state == state)
    with session_scope(cli_settings()) as session:
        rows = list(session.scalars(query))
    if not rows:
        click.echo("no stored mail")
        return
    click.echo(f"{'ID':>6}  {'STATE':<12} {'RECEIVED':<17} {'BYTES':>9}  {'SOURCE':<8} REASON")
    for row in rows:
        why = row.error or (f"{row.kind}: {row.note}" if row.note else row.kind) or ""
        reason = why.strip().splitlines()[-1:] or [""]
        click.echo(
            f"{row.id:>6}  {row.state:<12} {row.received_at:%Y-%m-%d %H:%M} "
            f"{row.size:>9}  {row.source:<8} {reason[0][:80]}"
        )


@inbound.command("retry")
@click.argument("inbound_id", type=int)
def inbound_retry(inbound_id: int) -> None:
    """Put a failed, quarantined or ignored mail back in line for processing.

    E.g. after registering a sender who was sent the invitation, or fixing a
    quota: the mail is processed again under the current rules.
    """
    with session_scope(cli_settings()) as session:
        moved = session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == inbound_id,
                InboundMessage.state.in_(
                    [InboundState.FAILED, InboundState.QUARANTINED, InboundState.IGNORED]
                ),
            )
            .values(state=InboundState.STORED.value, enqueued_at=None, kind=None, note=None)
        ).rowcount  # type: ignore[attr-defined]
        if moved:
            audit(session, actor(), "inbound.retried", None, inbound_id=inbound_id)
    if not moved:
        raise click.ClickException(f"inbound {inbound_id} is not failed, quarantined or ignored")
    if hand_over(enqueue_process, inbound_id, "inbound"):
        click.echo(f"inbound {inbound_id} queued for processing")
    else:
        click.echo(f"inbound {inbound_id} will be picked up by the sweep")
