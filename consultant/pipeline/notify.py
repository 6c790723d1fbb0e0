"""Automatic mail: acknowledgements, registration invitations, quota notices.

Nothing here sends: a mail is an outbox row written in the caller's
transaction, delivered by the send task after commit. Every automatic mail
carries ``Auto-Submitted: auto-replied`` (RFC 3834), is threaded onto the
mail it answers, and passes the loop guard first: at most
``auto_reply_limit`` automatic mails to one address per ``auto_reply_window``.
Robots never get one; classify has already set those aside.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import OutboundMessage
from consultant.logs import redact_address
from consultant.mailer.compose import build_reply, mint_message_id
from consultant.mailer.render import render_mail
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("acknowledgement", "invitation", "quota_notice")


def recent_auto_mails(session: Session, settings: Settings, address: str) -> int:
    """How many automatic mails went to `address` within the loop window."""
    since = utcnow() - timedelta(seconds=settings.auto_reply_window)
    return session.execute(
        select(func.count())
        .select_from(OutboundMessage)
        .where(
            OutboundMessage.rcpt == address.lower(),
            OutboundMessage.auto.is_(True),
            OutboundMessage.created_at >= since,
        )
    ).scalar_one()


def queue_auto_mail(
    session: Session,
    settings: Settings,
    kind: str,
    parsed: ParsedMessage,
    *,
    case_id: int | None,
    inbound_id: int,
    **context: Any,
) -> OutboundMessage | None:
    """Queue automatic mail `kind` answering `parsed`; None if the loop guard says no."""
    to = parsed.reply_to
    sent = recent_auto_mails(session, settings, to)
    if sent >= settings.auto_reply_limit:
        audit(
            session,
            "system",
            "auto_mail.suppressed",
            case_id,
            kind=kind,
            inbound_id=inbound_id,
            reason=f"{sent} automatic mails to this address in the last "
            f"{settings.auto_reply_window:g} s (limit {settings.auto_reply_limit})",
        )
        log.info("no %s to %s: loop limit reached", kind, redact_address(to))
        return None
    rendered = render_mail(
        kind,
        {
            "greeting_name": parsed.sender_name.split()[0] if parsed.sender_name else "there",
            "sender": parsed.sender,
            "subject": parsed.subject,
            "from_name": settings.from_name,
            "registration_url": settings.registration_url,
            **context,
        },
        settings.templates_dir,
    )
    rfc_message_id = mint_message_id(context.get("ref") or kind, settings.mail_domain)
    raw = build_reply(
        from_name=settings.from_name,
        from_address=settings.from_address,
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        rfc_message_id=rfc_message_id,
        in_reply_to=parsed.rfc_message_id,
        references=parsed.references,
        auto_submitted=True,
    )
    outbound = OutboundMessage(
        case_id=case_id,
        kind=kind,
        auto=True,
        rcpt=to.lower(),
        rfc_message_id=rfc_message_id,
        mail_from="",  # RFC 3834 3.3: a null reverse-path, so nothing bounces back
        recipients=[to],
        raw=raw,
    )
    session.add(outbound)
    session.flush()
    audit(
        session,
        "system",
        "auto_mail.queued",
        case_id,
        kind=kind,
        inbound_id=inbound_id,
        outbound_id=outbound.id,
    )
    return outbound
