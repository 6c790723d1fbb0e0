"""The states rows move through, spelled as in DESIGN.md."""

from enum import StrEnum


class CaseState(StrEnum):
    RECEIVED = "received"
    DRAFTED = "drafted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    SENT = "sent"
    AWAITING_SENDER = "awaiting_sender"
    REJECTED = "rejected"
    CLOSED = "closed"
    QUARANTINED = "quarantined"


class InboundState(StrEnum):
    STORED = "stored"  # committed, waiting for the processing task
    PROCESSED = "processed"  # a case holds it
    QUARANTINED = "quarantined"  # refused by a stage, reason in `error`
    IGNORED = "ignored"  # robot or bounce that opens no case, reason in `note`
    FAILED = "failed"  # a bug: traceback in `error`, needs a human


class OutboundState(StrEnum):
    QUEUED = "queued"  # waiting for (another) delivery attempt
    SENDING = "sending"  # claimed by a send task
    SENT = "sent"
    FAILED = "failed"  # permanent refusal or attempts exhausted
    BOUNCED = "bounced"
