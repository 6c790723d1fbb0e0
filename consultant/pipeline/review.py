"""Review: what a coding expert does with a drafted case.

Approving writes the outbox row (Message-ID minted, MIME rendered) in the
same transaction as the state change and the audit entry; the caller commits
and only then enqueues delivery. Nothing leaves without an approval.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.cases import advance, audit
from consultant.db.models import (
    Case,
    CaseCode,
    CaseState,
    Draft,
    InboundMessage,
    OutboundMessage,
    Reviewer,
)
from consultant.errors import ReviewError
from consultant.mailer.compose import build_reply, mint_message_id
from consultant.mailer.render import text_as_html
from consultant.pipeline.draft import PLACEHOLDER
from consultant.pipeline.parse import parse
from consultant.settings import Settings

REVIEWABLE = (CaseState.DRAFTED, CaseState.IN_REVIEW)


@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    draft: Draft | None
    codes: list[CaseCode]
    inbound: list[InboundMessage]
    outbound: list[OutboundMessage]


def get_case(session: Session, ref: str) -> Case:
    """The case with public reference `ref`, or ReviewError."""
    case = session.execute(select(Case).where(Case.ref == ref.strip().upper())).scalar_one_or_none()
    if case is None:
        raise ReviewError(f"no case {ref}")
    return case


def latest_draft(session: Session, case_id: int) -> Draft | None:
    return session.execute(
        select(Draft).where(Draft.case_id == case_id).order_by(Draft.version.desc()).limit(1)
    ).scalar_one_or_none()


def list_cases(session: Session, state: str | None = None, limit: int = 50) -> list[Case]:
    """Cases, oldest first, optionally of one state."""
    query = select(Case).order_by(Case.created_at, Case.id).limit(limit)
    if state:
        query = query.where(Case.state == state)
    return list(session.execute(query).scalars())


def view_case(session: Session, ref: str) -> CaseView:
    """Everything a reviewer needs to see about one case."""
    case = get_case(session, ref)
    return CaseView(
        case=case,
        draft=latest_draft(session, case.id),
        codes=list(
            session.scalars(
                select(CaseCode).where(CaseCode.case_id == case.id).order_by(CaseCode.position)
            )
        ),
        inbound=list(
            session.scalars(
                select(InboundMessage)
                .where(InboundMessage.case_id == case.id)
                .order_by(InboundMessage.id)
            )
        ),
        outbound=list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.case_id == case.id)
                .order_by(OutboundMessage.id)
            )
        ),
    )


def _reviewer_id(session: Session, reviewer: str) -> int | None:
    return session.execute(
        select(Reviewer.id).where(Reviewer.email == reviewer.lower())
    ).scalar_one_or_none()


def edit_draft(
    session: Session, settings: Settings, case: Case, reviewer: str, text: str, subject: str | None
) -> Draft:
    """Save a new draft version written by `reviewer`, with its diff in the audit log."""
    current = latest_draft(session, case.id)
    if current is None:
        raise ReviewError(f"case {case.ref} has no draft yet")
    draft = Draft(
        case_id=case.id,
        version=current.version + 1,
        subject=subject or current.subject,
        body_text=text,
        body_html=text_as_html(text, case.ref or "", settings.templates_dir),
        author=reviewer,
        reviewer_id=_reviewer_id(session, reviewer),
    )
    session.add(draft)
    session.flush()
    diff = difflib.unified_diff(
        current.body_text.splitlines(),
        text.splitlines(),
        f"v{current.version}",
        f"v{draft.version}",
        lineterm="",
    )
    audit(session, reviewer, "draft.edited", case.id, version=draft.version, diff="\n".join(diff))
    return draft


def approve(
    session: Session,
    settings: Settings,
    ref: str,
    reviewer: str,
    text: str | None = None,
    subject: str | None = None,
) -> OutboundMessage:
    """Approve the case's newest draft (after an optional edit) and put it in the outbox."""
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise ReviewError(f"case {case.ref} is {case.state}; only drafted cases can be approved")
    draft = edit_draft(session, settings, case, reviewer, text, subject) if text else None
    draft = draft or latest_draft(session, case.id)
    if draft is None:
        raise ReviewError(f"case {case.ref} has no draft")
    if PLACEHOLDER in draft.body_text:
        raise ReviewError(
            f"the draft of {case.ref} still holds the placeholder for the expert's answer; "
            "write the answer first (approve --edit FILE)"
        )
    if not advance(session, case.id, CaseState.APPROVED, actor=reviewer, sources=REVIEWABLE):
        raise ReviewError(f"case {case.ref} was changed by someone else; reload it")
    outbound = _outbox_row(session, settings, case, draft)
    audit(
        session,
        reviewer,
        "answer.queued",
        case.id,
        draft_version=draft.version,
        outbound_rfc_message_id=outbound.rfc_message_id,
    )
    return outbound


def reject(session: Session, ref: str, reviewer: str, reason: str) -> Case:
    """Close the case without an answer; the reason goes into the case and the audit log."""
    if not reason.strip():
        raise ReviewError("a rejection needs a reason")
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise ReviewError(f"case {case.ref} is {case.state}; only drafted cases can be rejected")
    if not advance(
        session,
        case.id,
        CaseState.REJECTED,
        actor=reviewer,
        reason=reason.strip(),
        sources=REVIEWABLE,
    ):
        raise ReviewError(f"case {case.ref} was changed by someone else; reload it")
    return case


def _outbox_row(session: Session, settings: Settings, case: Case, draft: Draft) -> OutboundMessage:
    asker = _latest_inbound(session, case.id)
    parsed = parse(asker.raw)
    rfc_message_id = mint_message_id(case.ref or "case", settings.mail_domain)
    raw = build_reply(
        from_name=settings.from_name,
        from_address=settings.from_address,
        to=case.sender,
        subject=draft.subject,
        text=draft.body_text,
        html=draft.body_html,
        rfc_message_id=rfc_message_id,
        in_reply_to=parsed.rfc_message_id,
        references=parsed.references,
    )
    outbound = OutboundMessage(
        case_id=case.id,
        draft_id=draft.id,
        kind="answer",
        rfc_message_id=rfc_message_id,
        mail_from=settings.from_address,
        recipients=[case.sender],
        raw=raw,
    )
    session.add(outbound)
    session.flush()
    return outbound


def _latest_inbound(session: Session, case_id: int) -> InboundMessage:
    newest = session.execute(
        select(func.max(InboundMessage.id)).where(InboundMessage.case_id == case_id)
    ).scalar_one()
    return session.get_one(InboundMessage, newest)
