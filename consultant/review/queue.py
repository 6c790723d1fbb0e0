"""The review queue: open cases, the one most overdue first, and similar answered cases.

A case is due `sla_hours` (of its account's plan; a guest's plan for
senders without one) after it was opened. Sorting happens here, not in SQL,
because the due time depends on the plans file; the queue is the open cases
only, so it stays small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from consultant.accounts import GUEST_PLAN, Plan, load_plans
from consultant.codes.systems import CodeSystem
from consultant.db.base import utcnow
from consultant.db.models import Account, Case, CaseCode, CaseState, Reviewer
from consultant.review.cases import REVIEWABLE
from consultant.settings import Settings

ANSWERED = (CaseState.SENT, CaseState.CLOSED)
UNASSIGNED = "none"


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
    limit: int = 500,
) -> list[QueueItem]:
    """Open cases (or those in `states`), filtered, the earliest due first.

    By default: drafted and in-review cases, and approved ones flagged because
    their answer could not be delivered. `assignee` is a reviewer's address, or
    "none" for unclaimed cases.
    """
    query = (
        select(Case, Account, Reviewer.email)
        .outerjoin(Account, Account.id == Case.account_id)
        .outerjoin(Reviewer, Reviewer.id == Case.assignee_id)
        .where(_in_states(states))
        .order_by(Case.created_at, Case.id)
        .limit(limit)
    )
    if assignee == UNASSIGNED:
        query = query.where(Case.assignee_id.is_(None))
    elif assignee:
        query = query.where(Reviewer.email == assignee.strip().lower())
    if code:
        query = query.where(
            Case.id.in_(select(CaseCode.case_id).where(CaseCode.code == code.strip().upper()))
        )
    rows = session.execute(query).all()
    codes = _codes_of(session, [case.id for case, _, _ in rows])
    plans = load_plans(settings)
    items = [
        _item(case, account, reviewer, plans, settings.default_plan, codes.get(case.id, ()))
        for case, account, reviewer in rows
    ]
    items.sort(key=lambda item: (item.due_at, item.case.id))
    return items


def _item(
    case: Case,
    account: Account | None,
    reviewer: str | None,
    plans: Mapping[str, Plan],
    default_plan: str,
    codes: tuple[str, ...],
) -> QueueItem:
    """A row of the queue: the plan (a guest's without an account) sets the due time."""
    plan_name = account.plan if account is not None else GUEST_PLAN
    plan = plans.get(plan_name) or plans[default_plan]
    return QueueItem(
        case=case,
        account=account.name if account is not None else "guest",
        plan=plan_name,
        due_at=case.created_at + timedelta(hours=plan.sla_hours),
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
    """Answered cases sharing the most codes (modifiers aside) with `case`, newest first."""
    mine = select(CaseCode.code).where(
        CaseCode.case_id == case.id, CaseCode.system != CodeSystem.MODIFIER
    )
    shared = func.count(func.distinct(CaseCode.code))
    rows = session.execute(
        select(CaseCode.case_id, shared)
        .join(Case, Case.id == CaseCode.case_id)
        .where(
            CaseCode.code.in_(mine),
            CaseCode.case_id != case.id,
            Case.state.in_([str(s) for s in ANSWERED]),
        )
        .group_by(CaseCode.case_id)
        .order_by(shared.desc(), CaseCode.case_id.desc())
        .limit(limit)
    ).all()
    codes = _codes_of(session, [case.id, *(case_id for case_id, _ in rows)])
    own = set(codes.get(case.id, ()))
    return [
        Similar(
            case=session.get_one(Case, case_id),
            shared=tuple(c for c in codes.get(case_id, ()) if c in own),
        )
        for case_id, _ in rows
    ]
