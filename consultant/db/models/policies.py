"""The policy library: one row per version of a rule; a rule's newest version is
the one in use (retiring a rule writes a version that says so)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consultant.db.base import Base, UTCDateTime, utcnow


class PolicyRule(Base):
    __tablename__ = "policy_rules"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))  # "em-minor-procedure-25"
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)  # the explanation, in our own words
    citations: Mapped[list[str]] = mapped_column(JSON, default=list)
    # When it applies: {"applies": [{...}, ...], "unless": [...]} (consultant.policies.rules)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    effective: Mapped[date | None] = mapped_column(Date)
    expires: Mapped[date | None] = mapped_column(Date)
    reviewed_by: Mapped[str] = mapped_column(String(320))
    reviewed_on: Mapped[date] = mapped_column(Date)
    retired: Mapped[bool] = mapped_column(default=False)
    origin: Mapped[str] = mapped_column(String(16))  # "package", "console", "import", "cli"
    author: Mapped[str] = mapped_column(String(320))  # who wrote this version
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
