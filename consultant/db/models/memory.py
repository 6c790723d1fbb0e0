"""Answer memory: approved answers kept for search, their paragraphs by verdict key,
and the codes of each answered case (consultant/memory/).

All three hold or point at mail text (the question, the approved answer), so
the retention purge deletes a case's rows with its mail (consultant/retention.py).
Full-text search has its own index beside `approved_answers`, made by migration
0012 for the database in use: a generated tsvector column with a GIN index on
PostgreSQL, an FTS5 table kept in step by triggers on SQLite. Neither is mapped
here; consultant.memory.search queries them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consultant.db.base import Base, UTCDateTime, utcnow


class ApprovedAnswer(Base):
    """One approval of a case: the answer part of the approved text and the question."""

    __tablename__ = "approved_answers"
    __table_args__ = (
        Index("ix_approved_answers_case_id", "case_id"),
        Index("ix_approved_answers_approved_at", "approved_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # grows with approval time
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text, default="")  # the asker's new text
    answer: Mapped[str] = mapped_column(Text, default="")  # the answer paragraphs approved
    # The policy rules the draft cited: [{"id", "version", "title"}].
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    approved_by: Mapped[str] = mapped_column(String(320))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RememberedParagraph(Base):
    """The approved paragraphs that answered one verdict key ("pair:20610+27447")."""

    __tablename__ = "remembered_paragraphs"
    __table_args__ = (Index("ix_remembered_paragraphs_key_id", "key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("approved_answers.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    # The verdict as drafted (kind, facts, stale, sources) and the releases it was made with.
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The policy rules cited for this verdict: [{"id", "version", "title"}].
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    approved_by: Mapped[str] = mapped_column(String(320))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerCode(Base):
    """A code of an answered case, for search by code (newest answer first)."""

    __tablename__ = "answer_codes"
    __table_args__ = (Index("ix_answer_codes_code_answer_id", "code", "answer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        ForeignKey("approved_answers.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
