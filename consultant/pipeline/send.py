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

The mail is DKIM-signed just before each attempt (the row keeps it unsigned).
Retries stop after ``max_send_attempts`` or once the row is older than
``send_retry_horizon``. A failed row puts a one-line reason, with the
relay's answer, on its case's ``attention``; `requeue_failed` (the operator's
``outbox retry``) takes it back and queues the row for one more attempt.
"""

from __future__ import annotations

import logging
import random
import re
import smtplib
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from consultant.cases import advance, audit, fingerprint, flag, unflag
from consultant.db.base import utcnow
from consultant.db.models import AuditEntry, CaseState, OutboundMessage, OutboundState
from consultant.errors import NotFound, Refused, Transient
from consultant.logs import redact_address
from consultant.mailer.dkim import sign
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
        # Signed now, not when queued: each attempt gets a fresh signature.
        where = deliver(settings, sign(raw, settings), mail_from, recipients, name)
    except Transient as error:
        return _retry_later(sessions, settings, outbound_id, describe(error))
    except DeliveryRefused as error:
        return _fail(sessions, outbound_id, error)
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


def describe(error: Exception) -> str:
    """The error, with the relay's own answer (code and text) when it gave one."""
    answer = relay_answer(error)
    return f"{error}: {answer}" if answer and answer not in str(error) else str(error)


def relay_answer(error: BaseException) -> str | None:
    """'550 5.1.1 <x@y>: no such user': the SMTP reply behind a relay error, if any."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, smtplib.SMTPRecipientsRefused) and seen.recipients:
            code, text = next(iter(seen.recipients.values()))
            return _reply_line(code, text)
        if isinstance(seen, smtplib.SMTPResponseException):
            return _reply_line(seen.smtp_code, seen.smtp_error)
        seen = seen.__cause__ or seen.__context__
    return None


def _reply_line(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{code} {text}".split())


def _retry_later(
    sessions: sessionmaker[Session], settings: Settings, outbound_id: int, error: str
) -> Outcome:
    with sessions.begin() as session:
        row = session.get_one(OutboundMessage, outbound_id)
        waited = utcnow() - row.created_at
        if row.attempts >= settings.max_send_attempts or (
            waited.total_seconds() >= settings.send_retry_horizon
        ):
            _give_up(session, row, error, waited)
            return Outcome.FAILED
        row.state = OutboundState.QUEUED.value
        row.last_error = error
        row.next_attempt_at = utcnow() + backoff(settings, row.attempts)
        log.info(
            "outbound %s will retry at %s: %s", outbound_id, row.next_attempt_at, _redact(error)
        )
    return Outcome.RETRY


def _give_up(session: Session, row: OutboundMessage, error: str, waited: timedelta) -> None:
    """Retries ran out (attempts or time): fail the row with the last error."""
    tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
    attention = f"{_what(row)} not delivered after {tries} over {_span(waited)}: {error}"
    _set_failed(session, row, f"gave up after {tries}: {error}", attention)
    log.warning("outbound %s gives up after %s over %s", row.id, tries, _span(waited))


def _fail(sessions: sessionmaker[Session], outbound_id: int, error: DeliveryRefused) -> Outcome:
    answer = relay_answer(error) or str(error)
    with sessions.begin() as session:
        row = session.get_one(OutboundMessage, outbound_id)
        attention = f"{_what(row)} not delivered: relay refused it permanently: {answer}"
        _set_failed(session, row, describe(error), attention)
    log.warning("outbound %s refused: %s", outbound_id, _redact(answer))
    return Outcome.FAILED


def _set_failed(session: Session, row: OutboundMessage, error: str, attention: str) -> None:
    """Mark the row failed; put `attention` (one line) on its case for a reviewer."""
    row.state = OutboundState.FAILED.value
    row.last_error = error
    attention = " ".join(attention.split())
    if row.case_id is not None:
        flag(session, row.case_id, attention)
    audit(
        session,
        "system",
        _action(row, "failed"),
        row.case_id,
        outbound_id=row.id,
        kind=row.kind,
        error=error,
        attention=attention,
    )


def requeue_failed(session: Session, outbound_id: int, actor: str) -> OutboundMessage:
    """Put a failed row back in the queue, due now, attempts kept; unflag its case."""
    moved = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == outbound_id, OutboundMessage.state == OutboundState.FAILED)
        .values(state=OutboundState.QUEUED.value, next_attempt_at=utcnow(), claimed_at=None)
    ).rowcount  # type: ignore[attr-defined]
    row = session.get(OutboundMessage, outbound_id)
    if row is None:
        raise NotFound(f"no outbound message {outbound_id}")
    if not moved:
        raise Refused(f"outbound {outbound_id} is {row.state}; only failed mail can be retried")
    cleared = _unflag_case(session, row)
    audit(
        session,
        actor,
        _action(row, "retried"),
        row.case_id,
        outbound_id=row.id,
        attempts=row.attempts,
        cleared_attention=cleared,
    )
    log.info("outbound %s queued again by %s after %d attempts", row.id, actor, row.attempts)
    return row


def _unflag_case(session: Session, row: OutboundMessage) -> str | None:
    """Remove the attention line this row's failure put on its case; return it.

    The audit log keeps that line as its fingerprint (it quotes the relay), so
    the line is found on the case by its fingerprint; an entry written before
    fingerprints holds the text itself.
    """
    if row.case_id is None:
        return None
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_id == row.case_id, AuditEntry.action == _action(row, "failed"))
        .order_by(AuditEntry.id.desc())
    )
    kept = next(
        (e.detail.get("attention") for e in entries if e.detail.get("outbound_id") == row.id),
        None,
    )
    if kept is None:
        return None
    return unflag(session, row.case_id, lambda line: kept in (line, fingerprint(line)))


def _what(row: OutboundMessage) -> str:
    """'answer', 'refusal', 'information request', 'acknowledgement', ..."""
    return row.kind.replace("_", " ")


def _action(row: OutboundMessage, verb: str) -> str:
    return f"answer.{verb}" if row.kind == "answer" else f"auto_mail.{verb}"


def _span(waited: timedelta) -> str:
    """A short duration for people: 40s, 12m, 3h, 1.5h, 2d."""
    seconds = waited.total_seconds()
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}".removesuffix(".0") + "h"
    return f"{seconds / 86400:.1f}".removesuffix(".0") + "d"


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _redact(text: str) -> str:
    """Relay answers name the recipient; logs get it shortened."""
    return _ADDRESS.sub(lambda m: redact_address(m.group(0)), text)
