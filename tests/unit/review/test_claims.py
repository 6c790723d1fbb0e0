"""A claim holds: another reviewer cannot edit, approve, reject or ask the sender on a
claimed case until they take it over; unclaimed cases stay open to everyone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consultant import review
from consultant.db.models import AuditEntry, CaseState, Reviewer
from consultant.db.session import session_scope
from consultant.errors import Conflict
from consultant.settings import Settings
from tests.claims_support import ACTIONS, ANSWER, OTTO, RITA, case_state, claimed_case


@pytest.fixture
def ref(migrated: Settings) -> str:
    return claimed_case(migrated)


@pytest.mark.parametrize("action", ACTIONS)
def test_another_reviewer_is_refused_on_a_claimed_case_and_nothing_changes(
    migrated: Settings, ref: str, action: str
) -> None:
    before = case_state(migrated, ref)
    message = f"case {ref} is claimed by {RITA}; take it over first"
    with pytest.raises(Conflict, match=message), session_scope(migrated) as session:
        ACTIONS[action](session, migrated, ref, OTTO)
    assert case_state(migrated, ref) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_taking_over_moves_the_claim_and_does_the_action(
    migrated: Settings, ref: str, action: str
) -> None:
    with session_scope(migrated) as session:
        ACTIONS[action](session, migrated, ref, OTTO, take_over=True)
    state, holder, _, _ = case_state(migrated, ref)
    assert holder == OTTO and state != CaseState.DRAFTED
    with session_scope(migrated) as session:
        taken = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.taken_over"))
        assert [entry.actor for entry in taken] == [OTTO]


@pytest.mark.parametrize("action", ACTIONS)
def test_the_holder_works_their_own_claimed_case(migrated: Settings, ref: str, action: str) -> None:
    with session_scope(migrated) as session:
        ACTIONS[action](session, migrated, ref, RITA.upper())
    assert case_state(migrated, ref)[1] == RITA


def test_an_unclaimed_case_is_open_to_anyone(migrated: Settings, ref: str) -> None:
    with session_scope(migrated) as session:
        rita = session.execute(select(Reviewer).where(Reviewer.email == RITA)).scalar_one()
        review.unclaim(session, ref, rita)
    with session_scope(migrated) as session:
        review.save_draft(session, migrated, ref, OTTO, ANSWER)
    assert case_state(migrated, ref)[1:3] == (None, 2)


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
    assert case_state(migrated, ref)[:2] == (CaseState.IN_REVIEW, RITA)

    taken = CliRunner().invoke(main, [*argv, "--take-over"], input=ANSWER)
    assert taken.exit_code == 0, taken.output
    expected = CaseState.APPROVED if command == "approve" else CaseState.REJECTED
    assert case_state(migrated, ref)[:2] == (expected, OTTO)
    with session_scope(migrated) as session:
        done = session.execute(
            select(AuditEntry.action, AuditEntry.actor).where(
                AuditEntry.action.in_(["case.taken_over", f"case.{expected}"])
            )
        ).all()
    assert sorted(done) == sorted([("case.taken_over", OTTO), (f"case.{expected}", OTTO)])
