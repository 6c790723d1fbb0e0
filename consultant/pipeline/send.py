"""Send: deliver one outbox row, once.

Input: an outbound message id. The row is claimed by a conditional update
(queued -> sending) and committed before any SMTP attempt, so a task that
runs twice delivers once. Success marks it sent and moves the case to
``sent``; a temporary failure puts it back in the queue with a later
``next_attempt_at`` (the sweep re-enqueues it then); a permanent refusal or
too many attempts mark it failed. A crash between the relay's "250" and our
commit leaves the row in ``sending``: the sweep re-queues it after
``sending_stale_after`` and records that a duplicate is possible (the one
window in the durability contract; the copy carries the same Message-ID).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import or_, update
from sqlalchemy.orm import Session, sessionmaker

from consultant.cases import advance, audit
from consultant.db.base import utcnow
from consultant.db.models import CaseState, OutboundMessage, OutboundState
from consultant.errors import Transient
from consultant.mailer.relay import DeliveryRefused, deliver
from consultant.settings import Settings

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # not ours to send: already sent, claimed, or not due
    RETRY = "retry"
    FAILED = "failed"


def claim(session: Session, outbound_id: int) -> bool:
    """queued -> sending, if due; True when this caller owns the attempt."""
    now = utcnow()
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id == outbound_id,
            OutboundMessage.state == OutboundState.QUEUED,
            or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
        )
        .values(
            state=OutboundState.SENDING.value, attempts=OutboundMessage.attempts + 1, claimed_at=now
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def send_outbound(sessions: sessionmaker[Session], settings: Settings, outbound_id: int) -> Outcome:
    """Deliver the outbox row `outbound_id` unless it is not due or already handled."""
    with sessions.begin() as session:
        if not claim(session, outbound_id):
            return Outcome.SKIPPED
        row = session.get_one(OutboundMessage, outbound_id)
        raw, mail_from, recipients = row.raw, row.mail_from, list(row.recipients)
        name = f"{row.id:06d}-{row.rfc_message_id.strip('<>').split('@')[0]}"
    try:
        where = deliver(settings, raw, mail_from, recipients, name)
    except Transient as error:
        return _retry_later(sessions, settings, outbound_id, str(error))
    except DeliveryRefused as error:
        return _fail(sessions, outbound_id, str(error))
    with sessions.begin() as session:
        _mark_sent(session, outbound_id, where)
    return Outcome.SENT


def _mark_sent(session: Session, outbound_id: int, where: str) -> None:
    session.execute(
        update(OutboundMessage)
        # QUEUED too: the sweep may have re-queued a slow attempt; it did go out.
        .where(
            OutboundMessage.id == outbound_id,
            OutboundMessage.state.in_([OutboundState.SENDING, OutboundState.QUEUED]),
        )
        .values(
            state=OutboundState.SENT.value,
            sent_at=utcnow(),
            last_error=None,
            delivered_to={"via": where},
        )
    )
    row = session.get_one(OutboundMessage, outbound_id)
    if row.kind == "answer" and row.case_id is not None:
        advance(session, row.case_id, CaseState.SENT, actor="system", sources=[CaseState.APPROVED])
    audit(
        session,
        "system",
        "answer.sent" if row.kind == "answer" else "auto_mail.sent",
        row.case_id,
        outbound_id=outbound_id,
        via=where,
        attempts=row.attempts,
    )
    log.info("outbound %s sent via %s after %d attempt(s)", outbound_id, where, row.attempts)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Exponential backoff with full jitter in its upper half, capped at six hours."""
    ceiling = min(settings.retry_backoff * 2 ** max(attempts - 1, 0), 6 * 3600.0)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _retry_later(
    sessions: sessionmaker[Session], settings: Settings, outbound_id: int, error: str
) -> Outcome:
    with sessions.begin() as session:
        row = session.get_one(OutboundMessage, outbound_id)
        if row.attempts >= settings.max_send_attempts:
            log.warning("outbound %s gives up after %d attempts", outbound_id, row.attempts)
            _set_failed(session, row, f"gave up after {row.attempts} attempts: {error}")
            return Outcome.FAILED
        row.state = OutboundState.QUEUED.value
        row.last_error = error
        row.next_attempt_at = utcnow() + backoff(settings, row.attempts)
        log.info("outbound %s will retry at %s: %s", outbound_id, row.next_attempt_at, error)
    return Outcome.RETRY


def _fail(sessions: sessionmaker[Session], outbound_id: int, error: str) -> Outcome:
    with sessions.begin() as session:
        _set_failed(session, session.get_one(OutboundMessage, outbound_id), error)
    log.warning("outbound %s refused: %s", outbound_id, error)
    return Outcome.FAILED


def _set_failed(session: Session, row: OutboundMessage, error: str) -> None:
    row.state = OutboundState.FAILED.value
    row.last_error = error
    audit(session, "system", "answer.failed", row.case_id, outbound_id=row.id, error=error)
