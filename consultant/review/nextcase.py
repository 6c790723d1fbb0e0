"""The case a reviewer goes to next: the one after this in their queue's order.

The queue's default view (consultant.review.queue: open cases, the earliest
due first), without the cases another reviewer has claimed. After an action on
case X the reviewer lands on the case that followed X in that order; when X
was the last, on the first one left; when none is left, nowhere (the queue).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from consultant.review.queue import review_queue
from consultant.settings import Settings


def next_case(session: Session, settings: Settings, ref: str, reviewer: str) -> str | None:
    """The reference of the case after `ref` in `reviewer`'s queue, or None."""
    order = [
        item.case.ref or ""
        for item in review_queue(session, settings)
        if item.assignee in (None, reviewer)
    ]
    here = ref.upper()
    if here in order:
        at = order.index(here)
        order = order[at + 1 :] + order[:at]
    return next((other for other in order if other and other != here), None)
