"""A drafted case claimed by one reviewer, and the four reviewer actions, for the
claims tests on both profiles (tests/unit/pipeline/test_review_claims.py,
tests/integration/test_claims_race.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from consultant import review
from consultant.db.models import Case, Draft, OutboundMessage, Reviewer
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.conftest import mail_bytes

RITA, OTTO = "rita@desk.example", "otto@desk.example"
ANSWER = "Hello Dana,\n\n20700 is an add-on code: report it with the primary procedure.\n"
Action = Callable[..., Any]


def claimed_case(migrated: Settings) -> str:
    """A drafted case claimed by Rita (its reference); Otto is a reviewer too."""
    with session_scope(migrated) as session:
        inbound_id = store_raw(session, mail_bytes("simple_question.eml"), source="smtp").inbound_id
        for email in (RITA, OTTO):
            add_reviewer(session, email, password="long-enough-password")
    with session_scope(migrated) as session:
        case_id = process_message(session, migrated, inbound_id).case_id
        assert case_id is not None
        ref = session.get_one(Case, case_id).ref or ""
    with session_scope(migrated) as session:
        rita = session.execute(select(Reviewer).where(Reviewer.email == RITA)).scalar_one()
        review.claim(session, ref, rita)
    return ref


ACTIONS: dict[str, Action] = {
    "save": lambda s, st, ref, who, **kw: review.save_draft(s, st, ref, who, ANSWER, **kw),
    "approve": lambda s, st, ref, who, **kw: review.approve(s, st, ref, who, ANSWER, **kw),
    "reject": lambda s, st, ref, who, **kw: review.reject(s, ref, who, "out of scope", **kw),
    "ask": lambda s, st, ref, who, **kw: review.ask_sender(s, st, ref, who, "Which knee?", **kw),
}


def case_state(settings: Settings, ref: str) -> tuple[str, str | None, int, int]:
    with session_scope(settings) as session:
        case = session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        holder = session.get(Reviewer, case.assignee_id) if case.assignee_id else None
        drafts = len(session.scalars(select(Draft).where(Draft.case_id == case.id)).all())
        rows = len(session.scalars(select(OutboundMessage)).all())
        return case.state, holder.email if holder else None, drafts, rows
