"""A claim committed between reading a case and acting on it wins, on PostgreSQL
(READ COMMITTED: each statement sees what others committed before it).

The reviewer's session reads the case first, as every action does; another
reviewer then claims it and commits; the action that follows is refused and
changes nothing. Reading first is the window the claim check must close.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consultant import review
from consultant.db.models import Case, CaseState, Reviewer
from consultant.db.session import session_scope
from consultant.errors import Conflict
from consultant.settings import Settings
from tests.claims_support import ACTIONS, OTTO, RITA, case_state, claimed_case

pytestmark = pytest.mark.integration


@pytest.fixture
def ref(production: Settings) -> str:
    return claimed_case(production)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_claim_committed_after_the_case_was_read_refuses_the_action(
    production: Settings, ref: str, action: str
) -> None:
    with session_scope(production) as session:
        rita = session.execute(select(Reviewer).where(Reviewer.email == RITA)).scalar_one()
        review.unclaim(session, ref, rita)
    before = case_state(production, ref)
    assert before[1] is None

    refused = pytest.raises(Conflict, match="claimed by someone else just now")
    with refused, session_scope(production) as session:
        seen = session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        assert seen.assignee_id is None  # Otto's session has read the case unclaimed
        with session_scope(production) as other:
            rita = other.execute(select(Reviewer).where(Reviewer.email == RITA)).scalar_one()
            review.claim(other, ref, rita)  # committed while Otto's session is open
        ACTIONS[action](session, production, ref, OTTO)

    assert case_state(production, ref) == (before[0], RITA, *before[2:])


def test_the_holder_still_acts_on_a_case_read_before_nobody_else_claimed_it(
    production: Settings, ref: str
) -> None:
    with session_scope(production) as session:
        session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        review.approve(session, production, ref, RITA, "Hello Dana,\n\nYes, with modifier 59.\n")
    assert case_state(production, ref)[:2] == (CaseState.APPROVED, RITA)
