"""Everything the case page shows, gathered in one place (no rules: review.py has them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.db.models import AuditEntry, Case, Draft, InboundMessage, Reviewer
from consultant.errors import Quarantine
from consultant.mailer import headers
from consultant.pipeline.notify import NULL_PATH, auto_recipient, envelope_sender
from consultant.pipeline.queue import Similar, similar_cases
from consultant.pipeline.review import REVIEWABLE, CaseView, view_case
from consultant.web.mailview import MailView, view_mail

AUDIT_ON_PAGE = 50


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound mail of the case, as the console shows it."""

    inbound: InboundMessage
    view: MailView | None
    unreadable: str  # why view is None


@dataclass(frozen=True, slots=True)
class Senders:
    """Who wrote the case's first mail, and where our mail about it goes."""

    from_name: str
    from_address: str
    reply_to: str  # "" when the mail has no Reply-To
    envelope: str  # SMTP MAIL FROM, else Return-Path; "<>" null; "" not known
    answer_to: str  # where answers, questions and refusals go (Reply-To, else From)
    auto_to: str | None  # where automatic mail goes (never Reply-To); None: nowhere
    warnings: list[str]  # mismatches a reviewer should see before answering


@dataclass(frozen=True, slots=True)
class CasePage:
    view: CaseView
    messages: list[Message]
    senders: Senders
    lookup: dict[str, Any] | None  # the newest system draft's report
    similar: list[Similar]
    history: list[AuditEntry]
    assignee: str | None
    open: bool  # a reviewer can still act


def case_page(session: Session, ref: str) -> CasePage:
    """The case `ref` with its mail, lookup report, similar cases and recent history."""
    view = view_case(session, ref)
    case = view.case
    assignee = session.get(Reviewer, case.assignee_id) if case.assignee_id else None
    messages = [_message(inbound) for inbound in view.inbound]
    return CasePage(
        view=view,
        messages=messages,
        senders=senders(case, messages[0] if messages else None),
        lookup=lookup_report(session, case.id),
        similar=similar_cases(session, case),
        history=list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.case_id == case.id)
                .order_by(AuditEntry.id.desc())
                .limit(AUDIT_ON_PAGE)
            )
        ),
        assignee=assignee.email if assignee else None,
        open=case.state in REVIEWABLE,
    )


def senders(case: Case, first: Message | None) -> Senders:
    """From, Reply-To and envelope sender of the case's first mail, with their mismatches."""
    mail = first.view if first else None
    from_address = mail.sender if mail else case.sender
    reply_to = mail.reply_to if mail else ""
    envelope = envelope_sender(first.inbound.envelope_from if first else "", _return_path(mail))
    answer_to = case.sender
    warnings = []
    if answer_to.lower() != from_address.lower():
        where = f"Reply-To {answer_to}" if answer_to == reply_to else answer_to
        warnings.append(f"Answer goes to {where}, which differs from From {from_address}.")
    if envelope not in ("", NULL_PATH) and envelope != from_address.lower():
        warnings.append(
            f"The envelope sender {envelope} differs from From {from_address}; automatic "
            "mail goes to the envelope sender."
        )
    try:
        headers.addr_spec(answer_to)
    except headers.HeaderError as error:
        warnings.append(f"No mail can be sent about this case: {error}.")
    return Senders(
        from_name=headers.clean(mail.sender_name if mail else case.sender_name, 200),
        from_address=from_address,
        reply_to=reply_to,
        envelope=envelope,
        answer_to=answer_to,
        auto_to=auto_recipient(envelope, from_address),
        warnings=warnings,
    )


def _return_path(mail: MailView | None) -> str:
    return mail.return_path if mail else ""


ERASED = "its text was erased (retention period or a request); the case keeps its codes and history"


def _message(inbound: InboundMessage) -> Message:
    if not inbound.raw:  # consultant/retention.py empties the raw mail, nothing else does
        return Message(inbound, None, ERASED)
    try:
        return Message(inbound, view_mail(inbound.raw), "")
    except Quarantine as error:
        return Message(inbound, None, error.reason)


def lookup_report(session: Session, case_id: int) -> dict[str, Any] | None:
    """The lookup report of the case's newest system draft, as stored (JSON)."""
    stored = session.scalar(
        select(Draft.lookup)
        .where(Draft.case_id == case_id, Draft.lookup.is_not(None))
        .order_by(Draft.version.desc())
        .limit(1)
    )
    if not stored:
        return None
    report: dict[str, Any] = json.loads(stored)
    return report
