"""Sweep: re-enqueue rows whose task never ran (broker down, lost enqueue, crash).

Runs from Celery beat in production and inside `consultant up` in the
embedded profile. Picks stored inbound mail and queued outbox rows that have
waited longer than the grace period, outbox rows whose retry is due, and
re-queues attempts that were interrupted mid-send (flagging the possible
duplicate). Enqueueing is safe to repeat: every task is idempotent. Last, it
redrafts open drafts made before the code data loaded now (one small query
when the data did not change; consultant.review.stale), so a lost enqueue after
`consultant codes import` only delays that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, update

from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import InboundMessage, InboundState, OutboundMessage, OutboundState
from consultant.db.session import session_scope
from consultant.review.stale import redraft_stale
from consultant.settings import Settings

log = logging.getLogger(__name__)

BATCH = 500
Enqueue = Callable[[int], None]


def sweep(settings: Settings, enqueue_process: Enqueue, enqueue_send: Enqueue) -> dict[str, int]:
    """Run one sweep; return how many rows of each kind were re-enqueued or reset."""
    counts = {"interrupted": _requeue_interrupted(settings)}
    counts["inbound"] = _enqueue_all(
        settings, _due_inbound(settings), InboundMessage, enqueue_process
    )
    counts["outbound"] = _enqueue_all(
        settings, _due_outbound(settings), OutboundMessage, enqueue_send
    )
    counts["redrafted"] = len(redraft_stale(settings).redrafted)
    if any(counts.values()):
        log.info("sweep: %s", counts)
    return counts


def _due_inbound(settings: Settings) -> list[int]:
    cutoff = utcnow() - timedelta(seconds=settings.sweep_grace)
    waited = func.coalesce(InboundMessage.enqueued_at, InboundMessage.received_at)
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(InboundMessage.id)
                .where(InboundMessage.state == InboundState.STORED, waited <= cutoff)
                .order_by(InboundMessage.id)
                .limit(BATCH)
            )
        )


def _due_outbound(settings: Settings) -> list[int]:
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.sweep_grace)
    waited = func.coalesce(OutboundMessage.enqueued_at, OutboundMessage.created_at)
    retry_due = and_(
        OutboundMessage.next_attempt_at <= now,
        or_(
            OutboundMessage.enqueued_at.is_(None),
            OutboundMessage.enqueued_at < OutboundMessage.next_attempt_at,
        ),
    )
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.state == OutboundState.QUEUED, or_(retry_due, waited <= cutoff)
                )
                .order_by(OutboundMessage.id)
                .limit(BATCH)
            )
        )


def _enqueue_all(
    settings: Settings,
    ids: list[int],
    model: type[InboundMessage] | type[OutboundMessage],
    enqueue: Enqueue,
) -> int:
    done = []
    for row_id in ids:
        try:
            enqueue(row_id)
        except Exception:  # Broker still down: the next sweep tries again.
            log.warning("sweep could not enqueue %s %s; will retry", model.__tablename__, row_id)
            break
        done.append(row_id)
    if done:
        with session_scope(settings) as session:
            session.execute(update(model).where(model.id.in_(done)).values(enqueued_at=utcnow()))
    return len(done)


def _requeue_interrupted(settings: Settings) -> int:
    cutoff = utcnow() - timedelta(seconds=settings.sending_stale_after)
    with session_scope(settings) as session:
        rows = list(
            session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.state == OutboundState.SENDING,
                    OutboundMessage.claimed_at <= cutoff,
                )
                .limit(BATCH)
            )
        )
        for row in rows:
            row.state = OutboundState.QUEUED.value
            row.last_error = "attempt interrupted after claim; a duplicate delivery is possible"
            audit(
                session,
                "system",
                "answer.interrupted",
                row.case_id,
                outbound_id=row.id,
                rfc_message_id=row.rfc_message_id,
                possible_duplicate=True,
            )
            log.warning("outbound %s interrupted mid-send; re-queued (possible duplicate)", row.id)
        return len(rows)
