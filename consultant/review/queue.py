"""The review queue: open cases, the one most overdue first, and similar answered cases.

A case is due `sla_hours` (of its account's plan; a guest's plan for
senders without one) after it was opened, or after the asker replied to a
case we had answered; intake stores that time (`cases.due_at`), so the queue
sorts and limits in SQL on the (state, due_at, id) index and its cost does not
grow with the number of cases. Each row carries the signals the last system
draft wrote (consultant.answer.summary): the verdict summary, the highest
severity, stale data; and whether the asker replied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from consultant.accounts import GUEST_PLAN
from consultant.codes.systems import CodeSystem
from consultant.db.base import utcnow
from consultant.db.models import Account, Case, CaseCode, CaseState, Reviewer
from consultant.review.cases import REVIEWABLE
from consultant.settings import Settings

ANSWERED = (CaseState.SENT, CaseState.CLOSED)
UNASSIGNED = "none"
SOON = timedelta(hours=2)  # "due soon": within this and not overdue
PAGE = 100  # rows the queue shows
SIMILAR_WINDOW = 2000  # the newest answered cases that similar_cases looks through


@dataclass(frozen=True, slots=True)
class QueueItem:
    case: Case
    account: str  # the account's name, or "guest"
    plan: str
    due_at: datetime
    assignee: str | None  # the reviewer's address
    codes: tuple[str, ...]

    @property
    def overdue(self) -> bool:
        return self.due_at <= utcnow()

    @property
    def due_soon(self) -> bool:
        return not self.overdue and self.due_at <= utcnow() + SOON

    @property
    def replied(self) -> bool:
        """The asker wrote again on a case we had answered or asked them about."""
        return self.case.reopened_at is not None and self.case.state in REVIEWABLE

    @property
    def age(self) -> timedelta:
        return utcnow() - self.case.created_at


@dataclass(frozen=True, slots=True)
class Similar:
    case: Case
    shared: tuple[str, ...]  # the codes both cases name


def review_queue(
    session: Session,
    settings: Settings,
    *,
    states: tuple[str, ...] | None = None,
    assignee: str | None = None,
    code: str | None = None,
    limit: int = PAGE,
) -> list[QueueItem]:
    """Open cases (or those in `states`), filtered, the earliest due first.

    By default: drafted and in-review cases, and approved ones flagged because
    their answer could not be delivered. `assignee` is a reviewer's address, or
    "none" for unclaimed cases.
    """
    query = queue_query(states=states, assignee=assignee, code=code, limit=limit)
    rows = session.execute(query).all()
    codes = _codes_of(session, [case.id for case, _, _ in rows])
    return [
        _item(case, account, reviewer, codes.get(case.id, ())) for case, account, reviewer in rows
    ]


def queue_query(
    *,
    states: tuple[str, ...] | None = None,
    assignee: str | None = None,
    code: str | None = None,
    limit: int = PAGE,
) -> Select[Case, Account, str]:
    """The queue's one SELECT: due order and the limit in SQL, on (state, due_at, id)."""
    query = (
        select(Case, Account, Reviewer.email)
        .outerjoin(Account, Account.id == Case.account_id)
        .outerjoin(Reviewer, Reviewer.id == Case.assignee_id)
        .where(_in_states(states))
        .order_by(Case.due_at, Case.id)
        .limit(limit)
    )
    if assignee == UNASSIGNED:
        query = query.where(Case.assignee_id.is_(None))
    elif assignee:
        query = query.where(Reviewer.email == assignee.strip().lower())
    if code:
        named = select(CaseCode.case_id).where(CaseCode.code == code.strip().upper())
        query = query.where(Case.id.in_(named))
    return query


def _item(
    case: Case,
    account: Account | None,
    reviewer: str | None,
    codes: tuple[str, ...],
) -> QueueItem:
    """A row of the queue, with the name of the plan (a guest's without an account)."""
    return QueueItem(
        case=case,
        account=account.name if account is not None else "guest",
        plan=account.plan if account is not None else GUEST_PLAN,
        due_at=case.due_at,
        assignee=reviewer,
        codes=codes,
    )


def _in_states(states: tuple[str, ...] | None) -> ColumnElement[bool]:
    """The chosen states; by default the open ones, and approved answers that failed."""
    if states:
        return Case.state.in_(states)
    undelivered = and_(Case.state == CaseState.APPROVED.value, Case.attention.is_not(None))
    return or_(Case.state.in_([s.value for s in REVIEWABLE]), undelivered)


def _codes_of(session: Session, case_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    if not case_ids:
        return {}
    for case_id, code in session.execute(
        select(CaseCode.case_id, CaseCode.code)
        .where(CaseCode.case_id.in_(case_ids), CaseCode.system != CodeSystem.MODIFIER)
        .order_by(CaseCode.case_id, CaseCode.position)
    ):
        found.setdefault(case_id, []).append(code)
    return {case_id: tuple(codes) for case_id, codes in found.items()}


def similar_cases(session: Session, case: Case, limit: int = 5) -> list[Similar]:
    """Of the newest SIMILAR_WINDOW answered cases, those sharing the most codes
    (modifiers aside) with `case`, newest first.

    One query of constant cost: the newest answered cases by key (skipping the
    open ones, which are few and new), their codes by the case_codes key. A
    search by code over every case (the Search page) finds older answers.
    """
    codes = _codes_of(session, [case.id]).get(case.id, ())
    if not codes:
        return []
    recent = (
        select(Case.id)
        .where(Case.state.in_([str(s) for s in ANSWERED]), Case.id != case.id)
        .order_by(Case.id.desc())
        .limit(SIMILAR_WINDOW)
        .subquery()
    )
    shared: dict[int, set[str]] = {}
    for other, code in session.execute(
        select(CaseCode.case_id, CaseCode.code)
        .join(recent, recent.c.id == CaseCode.case_id)
        .where(CaseCode.code.in_(codes))
    ):
        shared.setdefault(other, set()).add(code)
    ranked = sorted(shared, key=lambda other: (-len(shared[other]), -other))[:limit]
    found = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ranked)))}
    return [
        Similar(case=found[other], shared=tuple(c for c in codes if c in shared[other]))
        for other in ranked
    ]
