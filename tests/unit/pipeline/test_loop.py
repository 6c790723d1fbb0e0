"""The stage functions in order on SQLite: process, approve, send to the local outbox."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consultant.db.models import (
    AuditEntry,
    Case,
    CaseCode,
    CaseState,
    Draft,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from consultant.db.session import session_factory, session_scope
from consultant.errors import Refused
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.pipeline.send import Outcome, send_outbound
from consultant.review import approve, reject
from consultant.settings import Settings
from tests.conftest import mail_bytes

ANSWER = "Hello Dana,\n\nHere is the answer from our coding expert.\n"


def _stored(settings: Settings, name: str = "simple_question.eml") -> int:
    with session_scope(settings) as session:
        return store_raw(session, mail_bytes(name), source="smtp").inbound_id


def _processed(settings: Settings, name: str = "simple_question.eml") -> str:
    inbound_id = _stored(settings, name)
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        return session.get_one(Case, case_id).ref or ""


def _count(settings: Settings, model: type) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_processing_opens_a_drafted_case_with_its_codes(migrated: Settings) -> None:
    ref = _processed(migrated)
    with session_scope(migrated) as session:
        case = session.execute(select(Case)).scalar_one()
        codes = list(session.scalars(select(CaseCode.code).order_by(CaseCode.position)))
        draft = session.execute(select(Draft)).scalar_one()
    assert case.ref == ref and case.state == CaseState.DRAFTED
    assert case.sender == "dana.biller@example-clinic.org"
    assert codes == ["20700", "27447", "59", "M86.161"]
    assert draft.subject == f"Re: Bill 20700 with 27447? [{ref}]"
    assert "M86.161" in draft.body_text and "M86.161" in draft.body_html
    assert "Hello Dana," in draft.body_text


def test_processing_twice_gives_one_case_and_one_draft(migrated: Settings) -> None:
    inbound_id = _stored(migrated)
    with session_scope(migrated) as session:
        first = process_message(session, migrated, inbound_id)
    with session_scope(migrated) as session:
        again = process_message(session, migrated, inbound_id)
    assert first == again
    assert (_count(migrated, Case), _count(migrated, Draft)) == (1, 1)


def test_mail_without_sender_is_quarantined_not_answered(migrated: Settings) -> None:
    inbound_id = _stored(migrated, "no_sender.eml")
    with session_scope(migrated) as session:
        assert process_message(session, migrated, inbound_id).case_id is None
    with session_scope(migrated) as session:
        row = session.get_one(InboundMessage, inbound_id)
        assert (row.state, row.error) == (InboundState.QUARANTINED, "no sender address in From")
    assert _count(migrated, Case) == 0


def test_approval_refuses_a_draft_still_holding_the_placeholder(migrated: Settings) -> None:
    ref = _processed(migrated)
    with pytest.raises(Refused, match="placeholder"), session_scope(migrated) as session:
        approve(session, migrated, ref, "r@example.org")
    assert _count(migrated, OutboundMessage) == 0


def test_approval_writes_outbox_row_and_audit_together(migrated: Settings) -> None:
    ref = _processed(migrated)
    with session_scope(migrated) as session:
        outbound = approve(session, migrated, ref, "r@example.org", ANSWER)
        outbound_id = outbound.id
    with session_scope(migrated) as session:
        row = session.get_one(OutboundMessage, outbound_id)
        case = session.execute(select(Case)).scalar_one()
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        edited = session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "draft.edited")
        )
    assert case.state == CaseState.APPROVED and row.state == OutboundState.QUEUED
    assert row.recipients == ["dana.biller@example-clinic.org"]
    assert actions[-3:] == ["draft.edited", "case.approved", "answer.queued"]
    # The audit log keeps the edit's size and hash, not its text (mail data is purged).
    assert edited is not None and set(edited["diff"]) == {"sha256", "size"}
    assert "Here is the answer" not in str(edited)
    with pytest.raises(Refused, match="approved"), session_scope(migrated) as session:
        approve(session, migrated, ref, "r2@example.org", ANSWER)


def test_send_twice_delivers_once_to_the_outbox_folder(migrated: Settings) -> None:
    ref = _processed(migrated)
    with session_scope(migrated) as session:
        outbound_id = approve(session, migrated, ref, "r@example.org", ANSWER).id
    sessions = session_factory(migrated)
    assert send_outbound(sessions, migrated, outbound_id) == Outcome.SENT
    assert send_outbound(sessions, migrated, outbound_id) == Outcome.SKIPPED
    files = list(Path(migrated.outbox_path()).glob("*.eml"))
    assert len(files) == 1
    reply = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert reply["In-Reply-To"] == "<q1-20261124.091500@example-clinic.org>"
    assert ref in reply["Subject"]
    with session_scope(migrated) as session:
        assert session.execute(select(Case.state)).scalar_one() == CaseState.SENT


def test_reject_needs_a_reason_and_closes_the_draft(migrated: Settings) -> None:
    ref = _processed(migrated)
    with pytest.raises(Refused, match="reason"), session_scope(migrated) as session:
        reject(session, ref, "r@example.org", "  ")
    with session_scope(migrated) as session:
        reject(session, ref, "r@example.org", "not a coding question")
    with session_scope(migrated) as session:
        case = session.execute(select(Case)).scalar_one()
    assert (case.state, case.state_reason) == (CaseState.REJECTED, "not a coding question")
