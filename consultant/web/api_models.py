"""What the JSON API reads and writes: the bounded types every request field uses,
path and query parameters, the error answers each route declares in its OpenAPI
document, and the session, outbox, audit log and search models.

Every string a client sends has a maximum length and, where it ends up in a
mail header or a database, no control characters; every number has bounds.
A request outside them is refused with 422 before any route runs. Response
models are built from the domain objects by their `of` constructors, so the
routes (routes/api.py) stay thin and the OpenAPI document names every field.
The case view and the case actions' models are api_case_models.py's; the
admin routes' are api_admin_models.py's.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from consultant.db.models import CaseState, OutboundMessage
from consultant.memory import Hit
from consultant.review.listings import AuditRecord, OutboxRow
from consultant.web.auth import CSRF_HEADER

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
Words = Annotated[
    str,
    Query(
        max_length=500,
        pattern=LINE_PATTERN,
        description="Words that must all occur in the question or the approved answer "
        "(taken as plain words: no search syntax).",
    ),
]
Day = Annotated[date | None, Query(description="An approval date (inclusive), YYYY-MM-DD.")]
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


# --- outbox and audit log -----------------------------------------------------


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


# --- search -------------------------------------------------------------------


class SearchHitOut(BaseModel):
    """A past approved answer that matches: its case, a short passage and its codes."""

    ref: str
    subject: str
    approved_at: datetime
    approved_by: str
    snippet: str
    codes: list[str]

    @classmethod
    def of(cls, hit: Hit) -> SearchHitOut:
        return cls.model_validate({**asdict(hit), "codes": list(hit.codes)})
