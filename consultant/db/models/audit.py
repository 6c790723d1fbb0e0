"""The append-only audit log: database triggers refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from consultant.db.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_case_id", "case_id"),
        # On PostgreSQL, migration 0014 also indexes (lower(actor), id) for the log
        # filtered by actor; SQLite's reflection (batch migrations) cannot keep it.
        Index("ix_audit_log_action_id", "action", "id"),  # ... by action
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
