"""Reading cases for review: one case by reference, its newest draft, a plain list,
and everything a reviewer sees about one case.

`REVIEWABLE` is the one definition of an open case: drafted, or in review.
Refusals are consultant.errors' (NotFound for a reference that names no case).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consultant.db.models import (
    Case,
    CaseCode,
    CaseState,
    Draft,
    InboundMessage,
    OutboundMessage,
    Reviewer,
)
from consultant.errors import NotFound

REVIEWABLE = (CaseState.DRAFTED, CaseState.IN_REVIEW)  # awaiting a reviewer


@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    draft: Draft | None
    codes: list[CaseCode]
    inbound: list[InboundMessage]
    outbound: list[OutboundMessage]


def get_case(session: Session, ref: str) -> Case:
    """The case with public reference `ref`, or NotFound."""
    case = session.execute(select(Case).where(Case.ref == ref.strip().upper())).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {ref}")
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


def assignee_email(session: Session, case: Case) -> str | None:
    """The address of the reviewer who claimed `case`, if anyone has."""
    holder = session.get(Reviewer, case.assignee_id) if case.assignee_id else None
    return holder.email if holder else None


def code_counts(session: Session, cases: list[Case]) -> dict[int, int]:
    """How many codes each of `cases` names, by case id (absent: none)."""
    query = (
        select(CaseCode.case_id, func.count())
        .where(CaseCode.case_id.in_([case.id for case in cases]))
        .group_by(CaseCode.case_id)
    )
    return {case_id: count for case_id, count in session.execute(query)}


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
