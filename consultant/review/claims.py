"""Claims as a rule of review: who may work a case another reviewer has claimed.

Input: a case about to be edited, approved, rejected or used to ask the
sender, and the reviewer (their address) doing it. Output: nothing, or
Conflict naming the holder. State change: with `take_over`, the claim moves
to the caller (a conditional update, so two take-overs cannot both win) and
the audit log records `case.taken_over`. Unclaimed cases are open to anyone.
Claiming a case and giving it back are here too (`claim`, `unclaim`).

A check that passes also holds the claim as it was seen until the caller's
transaction ends: a conditional update that changes nothing. A claim another
reviewer committed after the case was read makes it match no row (Conflict);
one arriving after it waits for this transaction (PostgreSQL's row lock;
SQLite's transactions are serial already).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from consultant.cases import advance, audit
from consultant.db.base import utcnow
from consultant.db.models import Case, CaseState, Reviewer
from consultant.errors import Conflict, Refused
from consultant.review.cases import REVIEWABLE, get_case


def check_claim(session: Session, case: Case, reviewer: str, *, take_over: bool) -> None:
    """Refuse a case claimed by someone else, unless the caller takes it over now."""
    caller = session.scalar(select(Reviewer.id).where(Reviewer.email == reviewer.lower()))
    if case.assignee_id is None or case.assignee_id == caller:
        _hold(session, case)
        return
    if not take_over:
        holder = session.get(Reviewer, case.assignee_id)
        raise Conflict(
            f"case {case.ref} is claimed by {holder.email if holder else 'another reviewer'}; "
            "take it over first"
        )
    previous = case.assignee_id
    moved = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.assignee_id == previous)
        .values(assignee_id=caller, assigned_at=utcnow() if caller else None)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"case {case.ref} was claimed by someone else just now; reload it")
    audit(session, reviewer, "case.taken_over", case.id, previous_assignee_id=previous)
    session.refresh(case)


def _hold(session: Session, case: Case) -> None:
    """Keep the case's claim as `case` shows it until the transaction ends, or refuse."""
    seen = case.assignee_id
    held = session.execute(
        update(Case)
        .where(
            Case.id == case.id,
            Case.assignee_id.is_(None) if seen is None else Case.assignee_id == seen,
        )
        .values(assignee_id=seen)
        .execution_options(synchronize_session=False)
    )
    if not held.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"case {case.ref} was claimed by someone else just now; reload it")


def claim(session: Session, ref: str, reviewer: Reviewer, *, take_over: bool = False) -> Case:
    """Assign the case to `reviewer`; another reviewer's claim is kept unless `take_over`."""
    case = get_case(session, ref)
    if case.state not in REVIEWABLE:
        raise Refused(f"case {case.ref} is {case.state}; only open cases can be claimed")
    holder = case.assignee_id
    if holder not in (None, reviewer.id) and not take_over:
        other = session.get(Reviewer, holder)
        raise Conflict(f"case {case.ref} is claimed by {other.email if other else 'someone'}")
    moved = session.execute(
        update(Case)
        .where(Case.id == case.id, _same_holder(holder))
        .values(assignee_id=reviewer.id, assigned_at=utcnow())
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"case {case.ref} was claimed by someone else just now; reload it")
    advance(
        session, case.id, CaseState.IN_REVIEW, actor=reviewer.email, sources=[CaseState.DRAFTED]
    )
    audit(session, reviewer.email, "case.claimed", case.id, previous_assignee_id=holder)
    session.refresh(case)
    return case


def _same_holder(holder: int | None) -> ColumnElement[bool]:
    return Case.assignee_id.is_(None) if holder is None else Case.assignee_id == holder


def unclaim(session: Session, ref: str, reviewer: Reviewer) -> Case:
    """Give the case back to the queue."""
    case = get_case(session, ref)
    if case.assignee_id is None:
        return case
    if case.assignee_id != reviewer.id and reviewer.role != "admin":
        raise Refused(f"case {case.ref} is claimed by another reviewer")
    previous = case.assignee_id
    case.assignee_id = None
    case.assigned_at = None
    audit(session, reviewer.email, "case.unclaimed", case.id, previous_assignee_id=previous)
    return case
