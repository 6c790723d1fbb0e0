"""What the JSON API's case routes read and write: the review queue, a case with
its mail, codes, draft, outbox rows and remembered answers, and the bodies of the case actions
(claim, edit, approve, reject, ask).

The bounded types and the conventions are api_models.py's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consultant.db.models import CaseCode, Draft
from consultant.memory import Offer
from consultant.review.queue import QueueItem, Similar
from consultant.web.api_models import Closed, Line, OutboundOut, Text, Version
from consultant.web.casepage import CasePage, Message, Senders


class QueueItemOut(BaseModel):
    ref: str
    subject: str
    sender: str
    account: str
    plan: str
    state: str
    created_at: datetime
    due_at: datetime
    overdue: bool
    due_soon: bool  # due within two hours, not yet overdue
    verdicts: str | None  # the draft's problems in a few words, worst first
    severity: str | None  # error, warning or info: the worst verdict or finding
    stale_data: bool  # a verdict rests on data that does not cover the date of service
    asker_replied: bool  # reopened by the asker's reply
    assignee: str | None
    codes: list[str]
    attention: str | None

    @classmethod
    def of(cls, item: QueueItem) -> QueueItemOut:
        case = item.case
        return cls(
            ref=case.ref or "",
            subject=case.subject,
            sender=case.sender,
            account=item.account,
            plan=item.plan,
            state=case.state,
            created_at=case.created_at,
            due_at=item.due_at,
            overdue=item.overdue,
            due_soon=item.due_soon,
            verdicts=case.verdicts,
            severity=case.severity,
            stale_data=case.stale_data,
            asker_replied=item.replied,
            assignee=item.assignee,
            codes=list(item.codes),
            attention=case.attention,
        )


class CodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    system: str
    as_written: str
    quoted: bool
    units: int | None
    range: str | None
    part: str

    @classmethod
    def of(cls, code: CaseCode) -> CodeOut:
        return cls.model_validate(code)


class DraftOut(BaseModel):
    version: int
    subject: str
    text: str
    html: str
    author: str
    created_at: datetime

    @classmethod
    def of(cls, draft: Draft) -> DraftOut:
        return cls(
            version=draft.version,
            subject=draft.subject,
            text=draft.body_text,
            html=draft.body_html,
            author=draft.author,
            created_at=draft.created_at,
        )


class AttachmentOut(BaseModel):
    index: int
    filename: str
    content_type: str
    size: int
    download_url: str
    view_url: str | None = Field(
        default=None,
        description="A page showing it (image, PDF pages, text) for a sandboxed frame; "
        "None when it can only be downloaded.",
    )


class MessageOut(BaseModel):
    """One inbound mail; `unreadable` says why the other fields are empty."""

    inbound_id: int
    received_at: datetime
    unreadable: str | None
    sender: str = ""
    sender_name: str = ""
    date: datetime | None = None
    subject: str = ""
    new_text: str = ""
    quoted: str = ""
    signature: str = ""
    html: str | None = Field(default=None, description="Sanitised HTML body; show it sandboxed.")
    remote_images_blocked: int = 0
    attachments: list[AttachmentOut] = []

    @classmethod
    def of(cls, ref: str, message: Message) -> MessageOut:
        inbound, view = message.inbound, message.view
        if view is None:
            return cls(
                inbound_id=inbound.id,
                received_at=inbound.received_at,
                unreadable=message.unreadable or "unreadable",
            )
        url = f"/cases/{ref}/mail/{inbound.id}/attachments"
        return cls(
            inbound_id=inbound.id,
            received_at=inbound.received_at,
            unreadable=None,
            sender=view.sender,
            sender_name=view.sender_name,
            date=view.date,
            subject=view.subject,
            new_text=view.new_text,
            quoted=view.quoted,
            signature=view.signature,
            html=view.html,
            remote_images_blocked=view.remote_images_blocked,
            attachments=[
                AttachmentOut(
                    index=a.index,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                    download_url=f"{url}/{a.index}",
                    view_url=None if a.kind == "download" else f"{url}/{a.index}/view",
                )
                for a in view.attachments
            ],
        )


class SimilarOut(BaseModel):
    ref: str
    subject: str
    state: str
    shared: list[str]

    @classmethod
    def of(cls, similar: Similar) -> SimilarOut:
        case = similar.case
        return cls(
            ref=case.ref or "", subject=case.subject, state=case.state, shared=list(similar.shared)
        )


class OfferOut(BaseModel):
    """A paragraph approved earlier for one of the case's verdict keys; offered only,
    never put into the answer by the system."""

    id: int
    key: str = Field(examples=["pair:20610+27447"])
    text: str
    case_ref: str = Field(description="The case it was approved for.")
    approved_by: str
    approved_at: datetime
    verdict: dict[str, Any] = Field(description="The verdict it answered, as drafted then.")
    rules: list[dict[str, Any]] = Field(description="The policy rule versions it cited.")
    stale: list[str] = Field(description="Why it no longer stands (empty: it does).")
    differs: list[str] = Field(description="Why it answered another verdict than this case's.")

    @classmethod
    def of(cls, offer: Offer) -> OfferOut:
        return cls(
            id=offer.id,
            key=offer.key,
            text=offer.text,
            case_ref=offer.ref,
            approved_by=offer.approved_by,
            approved_at=offer.approved_at,
            verdict=offer.verdict,
            rules=offer.rules,
            stale=list(offer.stale),
            differs=list(offer.differs),
        )


class SendersOut(BaseModel):
    """From, Reply-To and envelope sender of the case's first mail, kept apart."""

    from_name: str
    from_address: str
    reply_to: str = Field(description='The Reply-To address; "" when the mail has none.')
    envelope_sender: str = Field(
        description='SMTP MAIL FROM, else Return-Path; "<>" when null, "" when not recorded.'
    )
    answer_to: str = Field(description="Where answers, questions and refusals go.")
    automatic_mail_to: str | None = Field(description="Where automatic mail goes (never Reply-To).")
    warnings: list[str] = Field(description="Mismatches to check before answering.")

    @classmethod
    def of(cls, senders: Senders) -> SendersOut:
        return cls(
            from_name=senders.from_name,
            from_address=senders.from_address,
            reply_to=senders.reply_to,
            envelope_sender=senders.envelope,
            answer_to=senders.answer_to,
            automatic_mail_to=senders.auto_to,
            warnings=senders.warnings,
        )


class CaseOut(BaseModel):
    """A case after an action: its state and who holds it."""

    ref: str
    state: str
    state_reason: str | None
    assignee: str | None
    open: bool


class CaseDetailOut(CaseOut):
    subject: str
    sender: str
    sender_name: str
    senders: SendersOut
    account_id: int | None
    attention: str | None
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None
    codes: list[CodeOut]
    lookup: dict[str, Any] | None = Field(description="The lookup report the system drafted from.")
    draft: DraftOut | None
    messages: list[MessageOut]
    outbound: list[OutboundOut]
    offers: list[OfferOut]
    similar: list[SimilarOut]

    @classmethod
    def of(cls, page: CasePage) -> CaseDetailOut:
        view = page.view
        case = view.case
        ref = case.ref or ""
        return cls(
            ref=ref,
            state=case.state,
            state_reason=case.state_reason,
            assignee=page.assignee,
            open=page.open,
            subject=case.subject,
            sender=case.sender,
            sender_name=case.sender_name,
            senders=SendersOut.of(page.senders),
            account_id=case.account_id,
            attention=case.attention,
            created_at=case.created_at,
            updated_at=case.updated_at,
            assigned_at=case.assigned_at,
            codes=[CodeOut.of(code) for code in view.codes],
            lookup=page.lookup,
            draft=DraftOut.of(view.draft) if view.draft else None,
            messages=[MessageOut.of(ref, message) for message in page.messages],
            outbound=[OutboundOut.of(row) for row in view.outbound],
            offers=[OfferOut.of(offer) for offer in page.offers],
            similar=[SimilarOut.of(similar) for similar in page.similar],
        )


class ClaimIn(Closed):
    take_over: bool = Field(
        default=False, description="Take the case from the reviewer holding it."
    )


class DraftIn(Closed):
    text: Text
    subject: Line | None = Field(default=None, description="Default: the current draft's subject.")
    base_version: Version = Field(description="The draft version this edit started from.")


class ApproveIn(Closed):
    base_version: Version = Field(description="The draft version the reviewer approves.")
    text: Text | None = Field(default=None, description="Save this edit first, then approve it.")
    subject: Line | None = None


class RejectIn(Closed):
    reason: Text = Field(description="Why: kept in the case and the audit log, never mailed.")
    send_refusal: bool = Field(default=False, description="Mail the asker the polite refusal.")
    message: Text = Field(
        default="", description="With send_refusal: what the refusal tells the asker, if anything."
    )


class AskIn(Closed):
    question: Text


class SettingIn(Closed):
    setting: Literal["practitioner", "hospital", "dme", ""] = Field(
        description="Whose NCCI edits and MUEs the case's claim is checked against: "
        "hospital outpatient or DME supplier ones where loaded; empty: read from the mail, "
        "or the account's."
    )


class QueuedOut(BaseModel):
    """An outbox row written by an action, and whether the send task has it yet."""

    outbound_id: int
    rfc_message_id: str
    queued: bool = Field(description="False: the queue was unreachable; the sweep will send it.")


class RejectedOut(CaseOut):
    refusal: QueuedOut | None
