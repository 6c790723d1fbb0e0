"""Everything the case page shows, gathered in one place (no rules: review.py has them).

State: the parsed views of the mails shown lately (`VIEWS`, an LRU bounded by
CONSULTANT_MAIL_VIEW_CACHE and emptied by create_app), so that a case page
shown again does not parse its mail again. A mail over the MIME limits (one
stored before they existed) is not parsed at all: the page says why.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.db.models import AuditEntry, Case, InboundMessage
from consultant.errors import Quarantine
from consultant.mailer import headers
from consultant.memory import Offer, fact_sheet, offers_for
from consultant.pipeline.limits import mime_limit_reason
from consultant.pipeline.notify import NULL_PATH, auto_recipient, envelope_sender
from consultant.policies.cited import CitedRule, cited_rules
from consultant.review import REVIEWABLE, CaseView, assignee_email, view_case
from consultant.review.queue import Similar, similar_cases
from consultant.web.casefacts import (
    CodeSheet,
    VerdictLine,
    code_sheets,
    sorted_findings,
    verdict_lines,
)
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
    question: Message | None  # the newest mail the asker wrote: shown first
    senders: Senders
    lookup: dict[str, Any] | None  # the newest system draft's report
    verdicts: list[VerdictLine]  # what the proposed answer rests on, beside the editor
    sheets: list[CodeSheet]  # per code, the worst findings first
    findings: list[dict[str, Any]]  # errors first
    rules: list[CitedRule]  # the policy rules that report cites, in full
    offers: list[Offer]  # remembered paragraphs for its verdict keys (consultant.memory)
    similar: list[Similar]
    history: list[AuditEntry]
    assignee: str | None
    open: bool  # a reviewer can still act


def case_page(session: Session, ref: str) -> CasePage:
    """The case `ref` with its mail, lookup report and the rules it cites, remembered
    answers, similar cases and recent history."""
    view = view_case(session, ref)
    case = view.case
    messages = [_message(inbound) for inbound in view.inbound]
    lookup = fact_sheet(session, case.id)  # the newest system draft's
    return CasePage(
        view=view,
        messages=messages,
        question=next((m for m in reversed(messages) if m.view is not None), None),
        senders=senders(case, messages[0] if messages else None),
        lookup=lookup,
        verdicts=verdict_lines(lookup),
        sheets=code_sheets(lookup),
        findings=[dict(f) for f in sorted_findings(lookup)],
        rules=cited_rules(session, lookup),
        offers=offers_for(session, case.id, lookup),
        similar=similar_cases(session, case),
        history=list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.case_id == case.id)
                .order_by(AuditEntry.id.desc())
                .limit(AUDIT_ON_PAGE)
            )
        ),
        assignee=assignee_email(session, case),
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


class ViewCache:
    """Parsed mail views by (inbound id, sha256 of the bytes), the least recently shown
    dropped first. The key holds the digest of the bytes as they are now, so a mail
    whose bytes change (purged, say) is never shown from the cache."""

    def __init__(self, size: int, limits: tuple[int, int] = (500, 20)) -> None:
        self.size = size
        self.limits = limits  # MIME parts and depth beyond which a mail is not parsed
        self._views: OrderedDict[tuple[int, str], MailView | str] = OrderedDict()
        self._lock = threading.Lock()  # routes run in a thread pool

    def reset(self, size: int, limits: tuple[int, int]) -> None:
        """Empty the cache, bound it to `size` views (0: keep none), set the MIME limits."""
        with self._lock:
            self.size, self.limits = size, limits
            self._views.clear()

    def refusal(self, raw: bytes) -> str | None:
        """Why the mail is not to be parsed (over a MIME limit), or None."""
        return mime_limit_reason(raw, *self.limits)

    def view(self, inbound_id: int, raw: bytes) -> MailView | str:
        """The mail's view, or the reason it cannot be shown; parsed once while kept."""
        key = (inbound_id, hashlib.sha256(raw).hexdigest())
        with self._lock:
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
        found: MailView | str
        try:
            found = self.refusal(raw) or view_mail(raw)
        except Quarantine as error:
            found = error.reason
        with self._lock:
            self._views[key] = found
            while len(self._views) > self.size:
                self._views.popitem(last=False)
        return found


VIEWS = ViewCache(64)


def _message(inbound: InboundMessage) -> Message:
    if not inbound.raw:  # consultant/retention.py empties the raw mail, nothing else does
        return Message(inbound, None, ERASED)
    found = VIEWS.view(inbound.id, inbound.raw)
    if isinstance(found, str):
        return Message(inbound, None, found)
    return Message(inbound, found, "")
