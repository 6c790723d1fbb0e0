"""All models, imported here so the metadata is complete for Alembic."""

from consultant.db.models.audit import AuditEntry
from consultant.db.models.cases import Case, CaseCode, Draft
from consultant.db.models.codes import (
    AddonEdit,
    CodeImport,
    CodeRelease,
    CptDescriptor,
    HcpcsCode,
    Icd10cmCode,
    Icd10cmNote,
    Icd10pcsCode,
    MueEdit,
    PfsIndicator,
    PtpEdit,
    RbcsCode,
)
from consultant.db.models.mail import InboundMessage, MailboxCheckpoint, OutboundMessage
from consultant.db.models.memory import AnswerCode, ApprovedAnswer, RememberedParagraph
from consultant.db.models.people import (
    Account,
    AccountAddress,
    LoginFailure,
    Reviewer,
    WebSession,
)
from consultant.db.models.policies import PolicyRule
from consultant.db.models.states import CaseState, InboundState, OutboundState

__all__ = [
    "Account",
    "AccountAddress",
    "AddonEdit",
    "AnswerCode",
    "ApprovedAnswer",
    "AuditEntry",
    "Case",
    "CaseCode",
    "CaseState",
    "CodeImport",
    "CodeRelease",
    "CptDescriptor",
    "Draft",
    "HcpcsCode",
    "Icd10cmCode",
    "Icd10cmNote",
    "Icd10pcsCode",
    "InboundMessage",
    "InboundState",
    "LoginFailure",
    "MailboxCheckpoint",
    "MueEdit",
    "OutboundMessage",
    "OutboundState",
    "PfsIndicator",
    "PolicyRule",
    "PtpEdit",
    "RbcsCode",
    "RememberedParagraph",
    "Reviewer",
    "WebSession",
]
