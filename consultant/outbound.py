"""The one writer of outbox rows: every mail consultant will send starts here.

Automatic mail (acknowledgements, invitations, quota notices) and a
reviewer's mail (an approved answer, a refusal, a question to the asker) are
each an outbox row written in the caller's transaction: a Message-ID minted
for the case, the MIME built and threaded onto the mail it answers, the row
added and flushed. The send task delivers it after the caller commits
(consultant.handoff). What the mail says (a rendered template or a reviewed
draft) and who may get it are the callers' business; how it is written is
this module's, so the four kinds cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from consultant.db.models import OutboundMessage
from consultant.mailer.compose import build_reply, mint_message_id
from consultant.mailer.render import Rendered
from consultant.settings import Settings


@dataclass(frozen=True, slots=True)
class Thread:
    """The mail a reply answers: its Message-ID and its References."""

    rfc_message_id: str | None
    references: Sequence[str]


def write_outbound(
    session: Session,
    settings: Settings,
    *,
    kind: str,
    to: str,
    mail: Rendered,
    thread: Thread,
    case_id: int | None,
    ref: str,
    auto: bool = False,
    draft_id: int | None = None,
) -> OutboundMessage:
    """Write the outbox row of `mail` to `to` (an address the header module accepted).

    `ref` names the case in the Message-ID. Automatic mail carries
    Auto-Submitted and a null reverse-path (RFC 3834 3.3: nothing bounces
    back to us); a reviewer's mail is sent from the desk's address.
    """
    # Why one function: the Message-ID, the bytes that carry it and the row that
    # stores both are one write; apart, a caller could store bytes under another id.
    rfc_message_id = mint_message_id(ref, settings.mail_domain)
    raw = build_reply(
        from_name=settings.from_name,
        from_address=settings.from_address,
        to=to,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        rfc_message_id=rfc_message_id,
        in_reply_to=thread.rfc_message_id,
        references=thread.references,
        auto_submitted=auto,
    )
    outbound = OutboundMessage(
        case_id=case_id,
        draft_id=draft_id,
        kind=kind,
        auto=auto,
        rcpt=to.lower(),
        rfc_message_id=rfc_message_id,
        mail_from="" if auto else settings.from_address,
        recipients=[to],
        raw=raw,
    )
    session.add(outbound)
    session.flush()
    return outbound
