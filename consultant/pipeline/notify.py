"""Automatic mail: acknowledgements, registration invitations, quota notices.

Nothing here sends: a mail is an outbox row written in the caller's
transaction, delivered by the send task after commit. Every automatic mail
carries ``Auto-Submitted: auto-replied`` (RFC 3834), is threaded onto the
mail it answers, and passes the loop guard first: at most
``auto_reply_limit`` automatic mails to one address per ``auto_reply_window``.
Robots never get one; classify has already set those aside.

Who gets it (RFC 3834 section 4: automatic responses go to the envelope
sender, never to Reply-To): the From address when it is the envelope sender,
else the envelope sender. The envelope sender is the SMTP MAIL FROM the
intake recorded, else (mail fetched by IMAP) the topmost Return-Path the
delivering MTA wrote; when neither exists, the From address. A null
reverse-path (``<>``) gets no automatic mail. What it says: the case
reference and the mail's subject, cleaned by the header module and capped at
SUBJECT_LIMIT characters, never the sender's name or any text they wrote.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.db.base import utcnow
from consultant.db.models import InboundMessage, OutboundMessage
from consultant.logs import redact_address
from consultant.mailer import headers
from consultant.mailer.render import Rendered, render_mail, strip_reply_prefixes
from consultant.outbound import Thread, write_outbound
from consultant.pipeline.parse import ParsedMessage
from consultant.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("acknowledgement", "invitation", "quota_notice")
NULL_PATH = "<>"
SUBJECT_LIMIT = 80  # characters of the asker's subject an automatic mail repeats


def envelope_sender(envelope_from: str, return_path: str) -> str:
    """The SMTP MAIL FROM, else the Return-Path: an address, NULL_PATH, or "" (unknown)."""
    envelope = "".join(envelope_from.split())
    if envelope in ("<>", ""):
        return NULL_PATH if envelope else return_path
    return envelope.strip("<>").lower()


def auto_recipient(envelope: str, sender: str) -> str | None:
    """Where automatic mail goes: From when it is the envelope sender, else the envelope
    sender; From when no envelope is known; nobody for a null reverse-path. Never Reply-To."""
    if envelope == NULL_PATH:
        return None
    if not envelope or envelope == sender.lower():
        return sender or None
    return envelope


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
    """Queue automatic mail `kind` answering `parsed`; None if there is nobody to send it
    to or the loop guard says no."""
    to, why_not = _recipient(session, parsed, inbound_id)
    if to is not None:
        why_not = _loop_limit(session, settings, to)
    if to is None or why_not:
        log.info("no %s for inbound %s: %s", kind, inbound_id, why_not)
        _suppress(session, kind, case_id, inbound_id, why_not)
        return None
    try:
        mail = _render(settings, kind, parsed, context)
    except TemplateError as error:
        _broken_template(session, kind, case_id, inbound_id, error)
        return None
    outbound = write_outbound(
        session,
        settings,
        kind=kind,
        to=to,
        mail=mail,
        thread=Thread(parsed.rfc_message_id, parsed.references),
        case_id=case_id,
        ref=context.get("ref") or kind,
        auto=True,
    )
    audit(session, "system", "auto_mail.queued", case_id, kind=kind, inbound_id=inbound_id,
          outbound_id=outbound.id)  # fmt: skip
    return outbound


def _broken_template(
    session: Session, kind: str, case_id: int | None, inbound_id: int, error: TemplateError
) -> None:
    """An override in CONSULTANT_TEMPLATES_DIR that does not render (a variable
    automatic mail no longer gets, say) costs this mail, not the case."""
    why_not = f"the {kind} template does not render: {error}"
    log.error("no %s for inbound %s: %s (CONSULTANT_TEMPLATES_DIR)", kind, inbound_id, why_not)
    _suppress(session, kind, case_id, inbound_id, why_not)


def _render(
    settings: Settings, kind: str, parsed: ParsedMessage, context: dict[str, Any]
) -> Rendered:
    """Template `kind` for the mail `parsed`: its subject cleaned and capped, no name."""
    return render_mail(
        kind,
        {
            "subject": headers.clean(strip_reply_prefixes(parsed.subject), SUBJECT_LIMIT),
            "from_name": settings.from_name,
            "registration_url": settings.registration_url,
            **context,
        },
        settings.templates_dir,
    )


def _suppress(
    session: Session, kind: str, case_id: int | None, inbound_id: int, why: str | None
) -> None:
    audit(
        session,
        "system",
        "auto_mail.suppressed",
        case_id,
        kind=kind,
        inbound_id=inbound_id,
        reason=why,
    )


def _recipient(
    session: Session, parsed: ParsedMessage, inbound_id: int
) -> tuple[str | None, str | None]:
    """(address, None), or (None, why there is nobody to send automatic mail to)."""
    inbound = session.get(InboundMessage, inbound_id)
    envelope = envelope_sender(inbound.envelope_from if inbound else "", parsed.return_path)
    chosen = auto_recipient(envelope, parsed.sender)
    if chosen is None:
        return None, "null envelope sender (<>): automatic mail goes to nobody"
    try:
        return headers.addr_spec(chosen), None
    except headers.HeaderError:
        return None, "the envelope sender or From address is not one we can write to"


def _loop_limit(session: Session, settings: Settings, to: str) -> str | None:
    """Why the loop guard holds mail to `to` back (None: it may go)."""
    sent = recent_auto_mails(session, settings, to)
    if sent < settings.auto_reply_limit:
        return None
    log.info("automatic mail to %s held back: loop limit reached", redact_address(to))
    return (
        f"{sent} automatic mails to this address in the last "
        f"{settings.auto_reply_window:g} s (limit {settings.auto_reply_limit})"
    )
