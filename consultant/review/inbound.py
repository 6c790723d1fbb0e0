"""Stored mail as an operator sees it: the list (never the mail's bytes) and putting
a refused mail back in line.

`retry_inbound` moves a failed, quarantined or ignored mail back to `stored`
(a conditional update, with an audit entry) in the caller's transaction; the
caller commits and hands it to the worker, or leaves it to the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from consultant.cases import audit
from consultant.db.models import InboundMessage, InboundState
from consultant.errors import Refused

RETRYABLE = (InboundState.FAILED, InboundState.QUARANTINED, InboundState.IGNORED)


@dataclass(frozen=True, slots=True)
class InboundRow:
    id: int
    state: str
    received_at: datetime
    size: int
    source: str
    error: str | None
    kind: str | None
    note: str | None

    @property
    def reason(self) -> str:
        """Why the mail was refused or set aside, in one line ("" for none)."""
        why = self.error or (f"{self.kind}: {self.note}" if self.note else self.kind) or ""
        lines = why.strip().splitlines()
        return lines[-1] if lines else ""


def inbound_rows(
    session: Session, *, state: str | None = None, limit: int = 50
) -> list[InboundRow]:
    """Stored mail, newest first, optionally of one state."""
    query = (
        select(
            InboundMessage.id,
            InboundMessage.state,
            InboundMessage.received_at,
            InboundMessage.size,
            InboundMessage.source,
            InboundMessage.error,
            InboundMessage.kind,
            InboundMessage.note,
        )
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    )
    if state:
        query = query.where(InboundMessage.state == state)
    return [InboundRow(**row._asdict()) for row in session.execute(query)]


def retry_inbound(session: Session, inbound_id: int, actor: str) -> None:
    """Put a failed, quarantined or ignored mail back in line, or Refused."""
    moved = session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.id == inbound_id,
            InboundMessage.state.in_([state.value for state in RETRYABLE]),
        )
        .values(state=InboundState.STORED.value, enqueued_at=None, kind=None, note=None)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        raise Refused(f"inbound {inbound_id} is not failed, quarantined or ignored")
    audit(session, actor, "inbound.retried", None, inbound_id=inbound_id)
