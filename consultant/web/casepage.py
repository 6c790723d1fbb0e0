"""Everything the case page shows, gathered in one place (no rules: review.py has them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultant.db.models import AuditEntry, Draft, InboundMessage, Reviewer
from consultant.errors import Quarantine
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
class CasePage:
    view: CaseView
    messages: list[Message]
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
    return CasePage(
        view=view,
        messages=[_message(inbound) for inbound in view.inbound],
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


def _message(inbound: InboundMessage) -> Message:
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
