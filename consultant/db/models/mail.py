"""Mail in and mail out: the raw inbound store and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consultant.db.base import Base, UTCDateTime, utcnow
from consultant.db.models.states import InboundState, OutboundState


class InboundMessage(Base):
    """One accepted mail, stored raw before it was acknowledged."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("rfc_message_id", "sha256"),
        Index("ix_inbound_messages_state_enqueued", "state", "enqueued_at"),
        Index("ix_inbound_messages_case_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rfc_message_id: Mapped[str] = mapped_column(String(998))
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(80))  # "smtp" or "imap:<mailbox>"
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default=InboundState.STORED)
    error: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    # What classify made of it (question, follow_up, robot, bounce, ...) and why.
    kind: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class OutboundMessage(Base):
    """One mail we send; the row and its Message-ID exist before any SMTP attempt."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_state_next", "state", "next_attempt_at"),
        Index("ix_outbound_messages_case_id", "case_id"),
        Index("ix_outbound_messages_rcpt_created", "rcpt", "created_at"),
        Index("ix_outbound_messages_state_id", "state", "id"),  # the outbox filtered by state
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for automatic mail that answers a mail no case was opened for.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="answer")
    auto: Mapped[bool] = mapped_column(default=False)  # automatic mail (loop-limited)
    rcpt: Mapped[str] = mapped_column(String(320), default="")  # first recipient, lower-case
    rfc_message_id: Mapped[str] = mapped_column(String(998), unique=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(20), default=OutboundState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounce_status: Mapped[str | None] = mapped_column(String(16))
    bounce_diagnostic: Mapped[str | None] = mapped_column(Text)


class MailboxCheckpoint(Base):
    """How far the IMAP poller got in one mailbox: every UID up to `last_uid`
    (under this `uidvalidity`) is stored. Advanced in the transaction that
    stores the mails, so it is never ahead of them.
    """

    __tablename__ = "mailbox_checkpoints"

    mailbox: Mapped[str] = mapped_column(String(40), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
