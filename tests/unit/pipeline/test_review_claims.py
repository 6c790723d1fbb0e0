"""A claim holds: another reviewer cannot edit, approve, reject or ask the sender on a
claimed case until they take it over; unclaimed cases stay open to everyone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from consultant.db.models import AuditEntry, Case, CaseState, Draft, OutboundMessage, Reviewer
from consultant.db.session import session_scope
from consultant.errors import Conflict
from consultant.pipeline import review
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.conftest import mail_bytes

RITA, OTTO = "rita@desk.example", "otto@desk.example"
ANSWER = "Hello Dana,\n\n20700 is an add-on code: report it with the primary procedure.\n"
Action = Callable[..., Any]


@pytest.fixture
def ref(migrated: Settings) -> str:
    """A drafted case claimed by Rita; Otto is a reviewer too."""
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


def _state(settings: Settings, ref: str) -> tuple[str, str | None, int, int]:
    with session_scope(settings) as session:
        case = session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        holder = session.get(Reviewer, case.assignee_id) if case.assignee_id else None
        drafts = len(session.scalars(select(Draft).where(Draft.case_id == case.id)).all())
        rows = len(session.scalars(select(OutboundMessage)).all())
        return case.state, holder.email if holder else None, drafts, rows


@pytest.mark.parametrize("action", ACTIONS)
def test_another_reviewer_is_refused_on_a_claimed_case_and_nothing_changes(
    migrated: Settings, ref: str, action: str
) -> None:
    before = _state(migrated, ref)
    message = f"case {ref} is claimed by {RITA}; take it over first"
    with pytest.raises(Conflict, match=message), session_scope(migrated) as session:
        ACTIONS[action](session, migrated, ref, OTTO)
    assert _state(migrated, ref) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_taking_over_moves_the_claim_and_does_the_action(
    migrated: Settings, ref: str, action: str
) -> None:
    with session_scope(migrated) as session:
        ACTIONS[action](session, migrated, ref, OTTO, take_over=True)
    state, holder, _, _ = _state(migrated, ref)
    assert holder == OTTO and state != CaseState.DRAFTED
    with session_scope(migrated) as session:
        taken = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.taken_over"))
        assert [entry.actor for entry in taken] == [OTTO]


@pytest.mark.parametrize("action", ACTIONS)
def test_the_holder_works_their_own_claimed_case(migrated: Settings, ref: str, action: str) -> None:
    with session_scope(migrated) as session:
        ACTIONS[action](session, migrated, ref, RITA.upper())
    assert _state(migrated, ref)[1] == RITA


def test_an_unclaimed_case_is_open_to_anyone(migrated: Settings, ref: str) -> None:
    with session_scope(migrated) as session:
        rita = session.execute(select(Reviewer).where(Reviewer.email == RITA)).scalar_one()
        review.unclaim(session, ref, rita)
    with session_scope(migrated) as session:
        review.save_draft(session, migrated, ref, OTTO, ANSWER)
    assert _state(migrated, ref)[1:3] == (None, 2)


@pytest.mark.parametrize("command", ["approve", "reject"])
def test_the_cli_refuses_a_claimed_case_until_take_over_is_given(
    migrated: Settings, ref: str, command: str
) -> None:
    from click.testing import CliRunner

    from consultant.cli import main

    extra = ["--reason", "out of scope"] if command == "reject" else ["--edit", "-"]
    argv = ["cases", command, ref, "--as", OTTO, *extra]

    refused = CliRunner().invoke(main, argv, input=ANSWER)
    assert refused.exit_code == 1
    assert f"case {ref} is claimed by {RITA}; take it over first" in refused.output
    assert _state(migrated, ref)[:2] == (CaseState.IN_REVIEW, RITA)

    taken = CliRunner().invoke(main, [*argv, "--take-over"], input=ANSWER)
    assert taken.exit_code == 0, taken.output
    expected = CaseState.APPROVED if command == "approve" else CaseState.REJECTED
    assert _state(migrated, ref)[:2] == (expected, OTTO)
