"""process_message runs the stages of a mail in order, in one transaction: parse,
classify, account, extract, lookup, draft. Each stage leaves its mark on a plain
question; a stage that stops the mail leaves the later ones undone; a second run
of the same mail does nothing more."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from consultant.db.models import AuditEntry, Case, CaseCode, Draft, InboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import Processed, process_message
from consultant.settings import Settings
from tests.conftest import mail_bytes
from tests.mime_shapes import many_parts


def _store(settings: Settings, raw: bytes) -> int:
    with session_scope(settings) as session:
        return store_raw(session, raw, source="smtp").inbound_id


def _process(settings: Settings, inbound_id: int) -> Processed:
    with session_scope(settings) as session:
        return process_message(session, settings, inbound_id)


def test_a_question_leaves_the_mark_of_every_stage(migrated: Settings) -> None:
    inbound_id = _store(migrated, mail_bytes("simple_question.eml"))
    done = _process(migrated, inbound_id)
    assert done.kind == "question" and done.case_id is not None
    with session_scope(migrated) as session:
        inbound = session.get_one(InboundMessage, inbound_id)
        case = session.get_one(Case, done.case_id)
        codes = session.execute(
            select(CaseCode.system, CaseCode.code).order_by(CaseCode.position)
        ).all()
        draft = session.scalars(select(Draft)).one()
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.case_id == case.id)
            .order_by(AuditEntry.id)
        ).all()
        actions = [action for action, _ in entries]

    # parse: the subject and the sender's name, read from the mail.
    assert (case.subject, case.sender_name) == ("Bill 20700 with 27447?", "Dana Biller")
    # classify: a question, claimed once.
    assert (inbound.state, inbound.kind, inbound.case_id) == ("processed", "question", case.id)
    # account: the policy's decision (a stranger's mail opens a case on the guest plan).
    assert actions[0] == "case.opened" and entries[0][1]["plan"] == "guest"
    assert case.account_id is None
    # extract: every code reference, in the order written.
    assert codes == [
        ("cpt", "20700"),
        ("cpt", "27447"),
        ("modifier", "59"),
        ("icd10cm", "M86.161"),
    ]
    # lookup: the report the draft rests on, dated by the mail.
    report = json.loads(draft.lookup or "{}")
    assert report["dos"] == "2026-11-24"
    assert [c["code"] for c in report["codes"]][:2] == ["20700", "27447"]
    # draft: the first version, by the system, with the case reference.
    assert (draft.version, draft.author) == (1, "system")
    assert case.ref is not None and case.ref in draft.body_text
    assert (case.state, actions[-1]) == ("drafted", "case.drafted")


def test_a_mail_stopped_before_parse_reaches_no_later_stage(migrated: Settings) -> None:
    inbound_id = _store(migrated, many_parts(501))
    assert _process(migrated, inbound_id) == Processed(kind="quarantined")
    with session_scope(migrated) as session:
        assert session.get_one(InboundMessage, inbound_id).state == "quarantined"
        for table in (Case, CaseCode, Draft):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_a_mail_processed_twice_is_worked_once(migrated: Settings) -> None:
    inbound_id = _store(migrated, mail_bytes("simple_question.eml"))
    first = _process(migrated, inbound_id)
    again = _process(migrated, inbound_id)
    assert (again.case_id, again.kind) == (first.case_id, "question")
    assert again.outbound_ids == []
    with session_scope(migrated) as session:
        counts = [
            session.scalar(select(func.count()).select_from(table))
            for table in (Case, Draft, CaseCode)
        ]
        opened = session.scalar(select(func.count()).where(AuditEntry.action == "case.opened"))
    assert counts == [1, 1, 4] and opened == 1
