from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from consultant.cases import advance, audit, make_ref
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
        assert session.scalar(select(AuditEntry.actor)) == "system"


def test_case_reference_names_year_and_number(migrated: Settings) -> None:
    case_id = _case(migrated, CaseState.RECEIVED)
    with session_scope(migrated) as session:
        case = session.get_one(Case, case_id)
        assert make_ref("CC", case) == f"CC-{case.created_at.year}-{case_id:06d}"
