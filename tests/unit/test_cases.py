from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from consultant.cases import advance, attention_lines, audit, flag, make_ref, unflag
from consultant.db.models import AuditEntry, Case, CaseState
from consultant.db.session import session_scope
from consultant.settings import Settings


def _case(migrated: Settings, state: CaseState) -> int:
    with session_scope(migrated) as session:
        case = Case(sender="a@example.org", subject="s", state=state.value)
        session.add(case)
        session.flush()
        return case.id


def test_advance_moves_a_case_once(migrated: Settings) -> None:
    case_id = _case(migrated, CaseState.DRAFTED)
    with session_scope(migrated) as session:
        assert advance(session, case_id, CaseState.APPROVED, actor="r@example.org")
    with session_scope(migrated) as session:
        assert not advance(session, case_id, CaseState.APPROVED, actor="r@example.org")
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case_id))
        assert list(actions) == ["case.approved"]


def test_advance_refuses_a_transition_the_design_does_not_allow(migrated: Settings) -> None:
    case_id = _case(migrated, CaseState.RECEIVED)
    with session_scope(migrated) as session:
        assert not advance(session, case_id, CaseState.SENT, actor="system")
        assert session.get_one(Case, case_id).state == CaseState.RECEIVED


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_log_is_append_only(migrated: Settings, statement: str) -> None:
    with session_scope(migrated) as session:
        audit(session, "system", "test.entry", None, note="kept")
    with pytest.raises(DatabaseError, match="append-only"), session_scope(migrated) as session:
        session.execute(text(statement))
    with session_scope(migrated) as session:
        actors = session.scalars(select(AuditEntry.actor)).all()
    assert actors == ["package", "system"]  # the policy library's install, then ours


def test_case_reference_names_year_and_number(migrated: Settings) -> None:
    case_id = _case(migrated, CaseState.RECEIVED)
    with session_scope(migrated) as session:
        case = session.get_one(Case, case_id)
        assert make_ref("CC", case) == f"CC-{case.created_at.year}-{case_id:06d}"


def test_flag_adds_each_reason_once_as_one_line_and_unflag_removes_the_one_asked(
    migrated: Settings,
) -> None:
    case_id = _case(migrated, CaseState.DRAFTED)
    with session_scope(migrated) as session:
        assert flag(session, case_id, "unknown sender: held")
        assert flag(session, case_id, "answer not delivered:\r\n  550 no such user")
        assert not flag(session, case_id, "unknown sender: held")  # already there
        assert not flag(session, case_id, " \n ")  # nothing to say
    with session_scope(migrated) as session:
        case = session.get_one(Case, case_id)
        assert attention_lines(case) == [
            "unknown sender: held",
            "answer not delivered: 550 no such user",
        ]
        removed = unflag(session, case_id, lambda line: line.startswith("answer not"))
        assert removed == "answer not delivered: 550 no such user"
        assert unflag(session, case_id, lambda line: line.startswith("answer not")) is None
    with session_scope(migrated) as session:
        assert session.get_one(Case, case_id).attention == "unknown sender: held"
        assert unflag(session, case_id, lambda line: True) == "unknown sender: held"
        assert session.get_one(Case, case_id).attention is None
