"""The case a reviewer goes to next: the one after this in their queue's order.

The queue's default view (consultant.review.queue: open cases, the earliest
due first), without the cases another reviewer has claimed. After an action on
case X the reviewer lands on the case that follows X in that order (by X's due
time, wherever X is now); when X was the last, on the first one left; when none
is left, nowhere (the queue). One indexed query of one row each, so a case page
does not load the queue to name its "next case" link.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from consultant.db.models import Case, Reviewer
from consultant.review.queue import queue_query
from consultant.settings import Settings


def next_case(session: Session, settings: Settings, ref: str, reviewer: str) -> str | None:
    """The reference of the case after `ref` in `reviewer`'s queue, or None."""
    here = session.execute(select(Case.id, Case.due_at).where(Case.ref == ref.upper())).first()
    mine = queue_query(limit=1).where(
        or_(Case.assignee_id.is_(None), Reviewer.email == reviewer.strip().lower())
    )
    if here is not None:
        mine = mine.where(Case.id != here.id)
        after = or_(Case.due_at > here.due_at, and_(Case.due_at == here.due_at, Case.id > here.id))
        following = session.execute(mine.where(after)).first()
        if following is not None:
            return following[0].ref
    first = session.execute(mine).first()
    return first[0].ref if first is not None else None
