"""The outbox and the audit log as lists: one query and one set of filters each, for
the console's pages, the JSON API and the CLI alike.

Both are newest first and page with `before` (the smallest id already seen).
The outbox list selects the columns it shows, never the stored mail (`raw`).
Filters mean the same everywhere: `case` a case reference (one that names no
case is NotFound, not an empty list), `state` an outbox state, `actor` an
address or "system" compared without case, `action` an audit action or the
start of one ("draft." for every draft action).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.db.models import AuditEntry, Case, OutboundMessage
from consultant.errors import NotFound


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outgoing mail as every list shows it (no mail text)."""

    id: int
    ref: str | None  # the case's reference; None for mail outside a case
    kind: str
    auto: bool
    rcpt: str
    recipients: tuple[str, ...]
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    bounce_status: str | None
    bounce_diagnostic: str | None
    created_at: datetime
    sent_at: datetime | None
    rfc_message_id: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry as every list shows it."""

    id: int
    at: datetime
    actor: str
    action: str
    ref: str | None
    detail: dict[str, Any]


_OUTBOX_COLUMNS = (
    OutboundMessage.id,
    Case.ref,
    OutboundMessage.kind,
    OutboundMessage.auto,
    OutboundMessage.rcpt,
    OutboundMessage.recipients,
    OutboundMessage.state,
    OutboundMessage.attempts,
    OutboundMessage.next_attempt_at,
    OutboundMessage.last_error,
    OutboundMessage.bounce_status,
    OutboundMessage.bounce_diagnostic,
    OutboundMessage.created_at,
    OutboundMessage.sent_at,
    OutboundMessage.rfc_message_id,
)


def outbox_rows(
    session: Session,
    *,
    state: str | None = None,
    case: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[OutboxRow]:
    """Outgoing mail, newest first, optionally of one state and one case."""
    query = (
        select(*_OUTBOX_COLUMNS)
        .outerjoin(Case, Case.id == OutboundMessage.case_id)
        .order_by(OutboundMessage.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(OutboundMessage.id < before)
    if state:
        query = query.where(OutboundMessage.state == state)
    if case:
        query = query.where(OutboundMessage.case_id == case_id(session, case))
    rows = (values._asdict() for values in session.execute(query))
    return [OutboxRow(**{**row, "recipients": tuple(row["recipients"] or ())}) for row in rows]


def audit_records(
    session: Session,
    *,
    case: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """The audit log, newest first, optionally of one case, one actor, one action."""
    query = (
        select(AuditEntry, Case.ref)
        .outerjoin(Case, Case.id == AuditEntry.case_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if case:
        query = query.where(AuditEntry.case_id == case_id(session, case))
    if actor and actor.strip():
        query = query.where(func.lower(AuditEntry.actor) == actor.strip().lower())
    if action and action.strip():
        query = query.where(AuditEntry.action.startswith(action.strip(), autoescape=True))
    return [
        AuditRecord(entry.id, entry.at, entry.actor, entry.action, ref, dict(entry.detail or {}))
        for entry, ref in session.execute(query)
    ]


def case_id(session: Session, ref: str) -> int:
    """The id of the case `ref` names, or NotFound."""
    found = session.scalar(select(Case.id).where(Case.ref == ref.strip().upper()))
    if found is None:
        raise NotFound(f"no case {ref.strip()}")
    return found
