"""Cases, their drafts and the code references found in them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from consultant.db.base import Base, UTCDateTime, utcnow
from consultant.db.models.states import CaseState

DEFAULT_SLA_HOURS = 48.0  # a plan's SLA when its plans file does not say


def _due(context: DefaultExecutionContext) -> datetime:
    """A due time for a case made without one (intake sets it from the plan's SLA)."""
    given: dict[str, object] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    opened = given.get("created_at")
    opened = opened if isinstance(opened, datetime) else utcnow()
    return opened + timedelta(hours=DEFAULT_SLA_HOURS)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # The queue: a state's cases in due order (the default view, a state filter).
        Index("ix_cases_state_due", "state", "due_at", "id"),
        Index("ix_cases_sender", "sender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(40), unique=True)  # CC-2026-000123
    sender: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default=CaseState.RECEIVED)
    state_reason: Mapped[str | None] = mapped_column(Text)
    # Why a reviewer must look before anything else (bounce, DMARC, policy hold).
    attention: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("reviewers.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its mail data (subject, names, mail, drafts, outbox) was erased; see retention.py.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at open from the plan's SLA; fixed, so the queue sorts on a column.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_due)
    # The queue's signals, written with each system draft (consultant.answer.summary).
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the asker replied
    verdicts: Mapped[str | None] = mapped_column(Text)  # "PTP edit, add-on without primary"
    severity: Mapped[str | None] = mapped_column(String(16))  # error, warning, info
    stale_data: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The claim's setting a reviewer chose (consultant.codes.kinds: practitioner,
    # hospital, dme); None: read from the mail with each draft.
    setting: Mapped[str | None] = mapped_column(String(16))


class CaseCode(Base):
    """A code reference the extractor found in a case's mail."""

    __tablename__ = "case_codes"
    __table_args__ = (
        UniqueConstraint("case_id", "system", "code"),
        Index("ix_case_codes_code", "code", "case_id"),  # the queue's code filter
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(16))
    system: Mapped[str] = mapped_column(String(16))
    as_written: Mapped[str] = mapped_column(String(64))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    quoted: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(Integer)
    part: Mapped[str] = mapped_column(String(8), default="body")  # subject or body
    range: Mapped[str | None] = mapped_column(String(40))  # "99202-99205" on both endpoints
    units: Mapped[int | None] = mapped_column(Integer)  # quantity stated with the code


class Draft(Base):
    """One version of a case's reply; the newest version is the one approved."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # The lookup report (facts and findings with their sources, JSON) this version
    # was drafted from; None for versions a reviewer wrote.
    lookup: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(320))  # "system" or the reviewer's address
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("reviewers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
