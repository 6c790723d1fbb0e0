"""What the JSON API reads and writes: bounded parameters and request models, the
response shapes, and the error answers each route declares in its OpenAPI document.

Every string a client sends has a maximum length and, where it ends up in a
mail header or a database, no control characters; every number has bounds.
A request outside them is refused with 422 before any route runs. Response
models are built from the domain objects by their `of` constructors, so the
routes (routes/api.py) stay thin and the OpenAPI document names every field.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from consultant.db.models import (
    CaseCode,
    CaseState,
    Draft,
    OutboundMessage,
)
from consultant.review.listings import AuditRecord, OutboxRow
from consultant.review.queue import QueueItem, Similar
from consultant.web.auth import CSRF_HEADER
from consultant.web.casepage import CasePage, Message, Senders

MAX_ID = 2**31 - 1  # PostgreSQL's integer; a bigger id would be a database error, not a 404
MAX_TEXT = 200_000  # as the case page's form
MAX_LINE = 998  # RFC 5322's line limit; a subject is one header line
MAX_ADDRESS = 320
REF_PATTERN = r"^[A-Za-z]{1,8}-\d{4}-\d{4,}$"
# A line (a subject, an address, a name) holds nothing that breaks a line anywhere:
# no C0 or C1 controls, DEL or Unicode line and paragraph separators, which the
# email package refuses in a header (a subject like that would fail at approval).
# A text keeps tab and line breaks. PostgreSQL cannot store NUL at all.
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_ADDRESS_PART = r"[^\x00-\x20\x7f-\x9f\u2028\u2029@]+"
ADDRESS_PATTERN = f"^{_ADDRESS_PART}@{_ADDRESS_PART}$"  # accounts.normalize_address decides

Line = Annotated[str, Field(max_length=MAX_LINE, pattern=LINE_PATTERN)]
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=TEXT_PATTERN)]
Address = Annotated[str, Field(min_length=3, max_length=MAX_ADDRESS, pattern=ADDRESS_PATTERN)]
Name = Annotated[str, Field(max_length=200, pattern=LINE_PATTERN)]
PlanName = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,40}$")]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]
Role = Literal["reviewer", "admin"]

# Path and query parameters.
CaseRef = Annotated[str, Path(pattern=REF_PATTERN, max_length=40, examples=["CC-2026-000123"])]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many.")]
States = Annotated[list[CaseState] | None, Query(description="Default: the open cases.")]
Assignee = Annotated[
    str | None,
    Query(max_length=MAX_ADDRESS, pattern=LINE_PATTERN, description='A reviewer, or "none".'),
]
CodeFilter = Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9.]*$")]
RefFilter = Annotated[str | None, Query(pattern=REF_PATTERN, max_length=40)]
Actor = Annotated[str | None, Query(max_length=MAX_ADDRESS, pattern=LINE_PATTERN)]
Action = Annotated[str | None, Query(max_length=60, pattern=LINE_PATTERN)]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Entries older than this id.")]
# A change needs the session's CSRF token. It is a header parameter here because
# OpenAPI security requirements listed one by one mean "either", not "both".
CSRF_PARAMETER = {
    "name": CSRF_HEADER,
    "in": "header",
    "required": True,
    "description": "The csrf_token of the session (POST /session, GET /me).",
    "schema": {"type": "string", "maxLength": 200},
}


class Closed(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


# --- errors -------------------------------------------------------------------


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """Why a request was refused: a sentence, or the fields that failed validation."""

    detail: str | list[FieldProblem]


def problems(*codes: int, **notes: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry of a route that can answer with these error statuses
    (`notes`: a route's own description of one, as `e401="..."`)."""
    found: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        found[code] = {"model": Problem, "description": notes.get(f"e{code}", ERRORS[code])}
    if 429 in codes:
        found[429]["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return found


def changes(*codes: int) -> dict[str, Any]:
    """Route options of a change: the CSRF header, and the errors it can answer with."""
    return {"openapi_extra": {"parameters": [CSRF_PARAMETER]}, "responses": problems(403, *codes)}


ERRORS = {
    401: "No session (or it expired): log in with POST /api/v1/session.",
    403: "The X-CSRF-Token header is missing or wrong, the route is for admins only, or "
    "the session must choose a new password first (POST /api/v1/session/password).",
    404: "No such case, reviewer or account.",
    409: "Someone else changed it first (a newer draft, another claim, a taken address).",
    422: "The request is malformed, or the action is not possible in the case's state.",
    429: "Too many failed logins; the Retry-After header says when to try again.",
}


# --- sessions -----------------------------------------------------------------


class LoginIn(Closed):
    # Any line, not only a well-formed address: a wrong one is a failed login (401).
    email: Annotated[str, Field(max_length=MAX_ADDRESS, pattern=LINE_PATTERN)]
    password: Annotated[str, Field(max_length=1024)]


class SessionOut(BaseModel):
    email: str
    name: str
    role: str = Field(description='"reviewer" or "admin"')
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every change.")
    must_change_password: bool = Field(
        default=False,
        description="Logged in with a one-time password (now used up): only "
        "POST /session/password and DELETE /session answer until a new one is chosen.",
    )


class PasswordIn(Closed):
    # `current` is not needed after a one-time login (that password is used up).
    current: Annotated[str, Field(max_length=1024)] = ""
    new: Annotated[str, Field(max_length=1024)]


# --- cases --------------------------------------------------------------------


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
                )
                for a in view.attachments
            ],
        )


class OutboundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    rfc_message_id: str

    @classmethod
    def of(cls, row: OutboundMessage) -> OutboundOut:
        return cls.model_validate(row)


class OutboxItemOut(OutboundOut):
    """One row of the outbox list: the columns the console and `consultant outbox list`
    show too."""

    case_ref: str | None
    rcpt: str
    recipients: list[str]
    auto: bool
    next_attempt_at: datetime | None
    bounce_status: str | None
    bounce_diagnostic: str | None

    @classmethod
    def row(cls, row: OutboxRow) -> OutboxItemOut:
        return cls.model_validate({**asdict(row), "case_ref": row.ref})


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
    reason: Text
    send_refusal: bool = Field(default=False, description="Mail the asker the polite refusal.")


class AskIn(Closed):
    question: Text


class QueuedOut(BaseModel):
    """An outbox row written by an action, and whether the send task has it yet."""

    outbound_id: int
    rfc_message_id: str
    queued: bool = Field(description="False: the queue was unreachable; the sweep will send it.")


class RejectedOut(CaseOut):
    refusal: QueuedOut | None


# --- audit log ----------------------------------------------------------------


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    case_ref: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditOut:
        return cls(
            id=record.id,
            at=record.at,
            actor=record.actor,
            action=record.action,
            case_ref=record.ref,
            detail=record.detail,
        )
