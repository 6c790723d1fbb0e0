"""All models, imported here so the metadata is complete for Alembic."""

from consultant.db.models.audit import AuditEntry
from consultant.db.models.cases import Case, CaseCode, Draft
from consultant.db.models.mail import InboundMessage, MailboxCheckpoint, OutboundMessage
from consultant.db.models.people import Account, AccountAddress, Reviewer
from consultant.db.models.states import CaseState, InboundState, OutboundState

__all__ = [
    "Account",
    "AccountAddress",
    "AuditEntry",
    "Case",
    "CaseCode",
    "CaseState",
    "Draft",
    "InboundMessage",
    "InboundState",
    "MailboxCheckpoint",
    "OutboundMessage",
    "OutboundState",
    "Reviewer",
]
