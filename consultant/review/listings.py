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

from sqlalchemy import false, func, select, text, union_all
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
    where = []
    if before is not None:
        where.append(AuditEntry.id < before)
    if case:
        where.append(AuditEntry.case_id == case_id(session, case))
    if actor and actor.strip():
        where.append(func.lower(AuditEntry.actor) == actor.strip().lower())
    if action and action.strip():
        names = actions_starting(session, action.strip())
        where.append(AuditEntry.id.in_(_newest_of(names, where, limit)) if names else false())
    query = (
        select(AuditEntry, Case.ref)
        .outerjoin(Case, Case.id == AuditEntry.case_id)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        AuditRecord(entry.id, entry.at, entry.actor, entry.action, ref, dict(entry.detail or {}))
        for entry, ref in session.execute(query)
    ]


# The distinct actions in the log, one probe of ix_audit_log_action_id each (a
# "loose index scan"): there are dozens of them however long the log grows.
_ACTIONS = text(
    "WITH RECURSIVE actions(name) AS ("
    " SELECT min(action) FROM audit_log"
    " UNION ALL"
    " SELECT (SELECT min(action) FROM audit_log WHERE action > name)"
    " FROM actions WHERE name IS NOT NULL)"
    " SELECT name FROM actions WHERE name IS NOT NULL"
)


def _newest_of(names: list[str], where: list[Any], limit: int) -> Any:
    """The ids of the newest `limit` entries of each action, by (action, id) index:
    read from the newest entry back, an action that stopped long ago would be
    looked for through everything written since."""
    # "action between name and name", not "= name": PostgreSQL drops an ordering on
    # a column held equal to a constant, and would then read the log newest first.
    newest = [
        select(AuditEntry.id)
        .where(AuditEntry.action.between(name, name), *where)
        .order_by(AuditEntry.action.desc(), AuditEntry.id.desc())
        .limit(limit)
        .subquery()
        for name in names
    ]
    chosen = [select(sub.c.id) for sub in newest]
    return union_all(*chosen) if len(chosen) > 1 else chosen[0]


def actions_starting(session: Session, prefix: str) -> list[str]:
    """The actions in the log that start with `prefix`. The log is then read by
    action = ANY of them, which an index serves, where LIKE 'prefix%' could not use
    one under PostgreSQL's usual collations and walked the whole log for a rare action."""
    return [name for name in session.scalars(_ACTIONS) if name.lower().startswith(prefix.lower())]


def case_id(session: Session, ref: str) -> int:
    """The id of the case `ref` names, or NotFound."""
    found = session.scalar(select(Case.id).where(Case.ref == ref.strip().upper()))
    if found is None:
        raise NotFound(f"no case {ref.strip()}")
    return found
