"""`consultant outbox`: what we are sending, what failed and why, and a retry.

An operator's command: it shows full addresses and the relay's answers. The
rules live in consultant/pipeline/send.py; this module reads rows, calls
`requeue_failed`, enqueues, and prints.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from consultant.cli.common import actor, cli_session, cli_settings, enqueue_send
from consultant.db.models import OutboundState
from consultant.handoff import hand_over
from consultant.review.listings import OutboxRow, outbox_rows

STATES = [state.value for state in OutboundState]


@click.group()
def outbox() -> None:
    """Outgoing mail: list it, see why it failed, send it again."""


@outbox.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only mail in this state.")
@click.option("--case", "ref", help="Only mail of this case (its reference, e.g. CC-2026-000123).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def outbox_list(state: str | None, ref: str | None, limit: int, as_json: bool) -> None:
    """List outgoing mail, newest first, with the last error or bounce."""
    with cli_session(cli_settings()) as session:
        rows = [_row_data(row) for row in outbox_rows(session, state=state, case=ref, limit=limit)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no outgoing mail")
        return
    _echo_table(rows)


def _row_data(row: OutboxRow) -> dict[str, Any]:
    """What list prints about one row, as JSON-ready data."""
    return {
        "id": row.id,
        "case": row.ref,
        "kind": row.kind,
        "recipients": list(row.recipients),
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "last_error": row.last_error,
        "bounce_status": row.bounce_status,
        "bounce_diagnostic": row.bounce_diagnostic,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "rfc_message_id": row.rfc_message_id,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _echo_table(rows: list[dict[str, Any]]) -> None:
    click.echo(
        f"{'ID':>6}  {'CASE':<16} {'KIND':<19} {'STATE':<8} {'TRIES':>5}  "
        f"{'NEXT ATTEMPT':<19} {'SENT':<19} {'RECIPIENT':<30} PROBLEM"
    )
    for row in rows:
        queued = row["state"] == OutboundState.QUEUED
        due = _when(row["next_attempt_at"]) if queued and row["next_attempt_at"] else "-"
        due = "now" if queued and due == "-" else due
        click.echo(
            f"{row['id']:>6}  {row['case'] or '-':<16} {row['kind']:<19} {row['state']:<8} "
            f"{row['attempts']:>5}  {due:<19} {_when(row['sent_at']):<19} "
            f"{', '.join(row['recipients']):<30} {_problem(row)}"
        )


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _problem(row: dict[str, Any]) -> str:
    """The bounce of a bounced row, else the last error; one line."""
    if row["state"] == OutboundState.BOUNCED:
        bounce = " ".join(x for x in (row["bounce_status"], row["bounce_diagnostic"]) if x)
        text = f"bounced: {bounce}" if bounce else "bounced"
    else:
        text = row["last_error"] or ""
    return " ".join(text.split())


@outbox.command("retry")
@click.argument("outbound_id", type=int)
def outbox_retry(outbound_id: int) -> None:
    """Queue failed mail OUTBOUND_ID for one more attempt.

    Fix what made it fail first (see `outbox list`). The row goes back in the
    queue, due now, with its attempts kept: if this attempt fails too, it is
    failed again. The case's attention note about
    the failure is taken back.
    """
    # On use: the send stage loads DKIM signing (dkimpy, PyNaCl, dnspython).
    from consultant.pipeline.send import requeue_failed

    with cli_session(cli_settings()) as session:
        row = requeue_failed(session, outbound_id, actor())
        attempts = row.attempts
    click.echo(f"outbound {outbound_id} queued again ({attempts} earlier attempts)")
    _enqueue(outbound_id)


def _enqueue(outbound_id: int) -> None:
    """Hand the row to a worker now; if the broker is down, the sweep will."""
    if not hand_over(enqueue_send, outbound_id, "outbound"):
        click.echo(
            f"warning: the broker is unreachable; the sweep will send outbound {outbound_id}",
            err=True,
        )
