"""Classify and account through process_message on SQLite: threading, robots,
bounces, the loop limit, DMARC, unknown senders and quotas."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import func, select

from consultant.accounts import create_account
from consultant.cases import advance
from consultant.db.base import utcnow
from consultant.db.models import (
    AuditEntry,
    Case,
    CaseState,
    Draft,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from consultant.db.session import session_factory, session_scope
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import Processed, process_message
from consultant.pipeline.send import send_outbound
from consultant.review import approve
from consultant.review.queue import review_queue
from consultant.settings import Settings
from tests.conftest import mail_bytes, need, shared_dir

SISIMAI = shared_dir() / "corpus" / "mail-robustness" / "sisimai-set-of-emails" / "maildir"
QUESTION = mail_bytes("simple_question.eml")
ASKER = "dana.biller@example-clinic.org"


def _mail(
    *,
    sender: str = ASKER,
    subject: str = "Bill 20700 with 27447?",
    body: str = "Can I bill 20700 with 27447? Dx M86.161.",
    headers: str = "",
    message_id: str | None = None,
) -> bytes:
    message_id = message_id or f"<{abs(hash((sender, subject, body, headers)))}@example.org>"
    return (
        f"{headers}From: Asker <{sender}>\nTo: consult@localhost\nSubject: {subject}\n"
        f"Date: Tue, 24 Nov 2026 09:15:00 -0500\nMessage-ID: {message_id}\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    ).encode()


def _process(settings: Settings, raw: bytes) -> Processed:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        return process_message(session, settings, inbound_id)


def _case(settings: Settings, case_id: int | None) -> Case:
    assert case_id is not None
    with session_scope(settings) as session:
        case = session.get_one(Case, case_id)
        session.expunge(case)
        return case


def _count(settings: Settings, model: type, *where: object) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _answered(settings: Settings) -> tuple[Case, OutboundMessage]:
    """A question approved and sent to the embedded outbox."""
    case = _case(settings, _process(settings, QUESTION).case_id)
    with session_scope(settings) as session:
        outbound_id = approve(
            session, settings, case.ref or "", "expert@desk.org", "Yes, with 59."
        ).id
    send_outbound(session_factory(settings), settings, outbound_id)
    with session_scope(settings) as session:
        row = session.get_one(OutboundMessage, outbound_id)
        session.expunge(row)
    return _case(settings, case.id), row


def test_reply_to_our_answer_reopens_the_case_and_redrafts(migrated: Settings) -> None:
    case, answer = _answered(migrated)
    assert case.state == CaseState.SENT
    reply = _mail(
        subject=f"Re: Bill 20700 with 27447? [{case.ref}]",
        body="Thanks. And if it was 20702 instead?\n\nOn Tue, Dana wrote:\n> old 99999",
        headers=f"In-Reply-To: {answer.rfc_message_id}\nReferences: {answer.rfc_message_id}\n",
    )
    done = _process(migrated, reply)
    assert done.case_id == case.id and done.kind == "follow_up"
    reopened = _case(migrated, case.id)
    assert reopened.state == CaseState.DRAFTED
    # The queue shows the reply, and the new question is due the plan's SLA after it.
    assert reopened.reopened_at is not None and reopened.reopened_at > case.updated_at
    assert case.account_id is None and case.due_at == case.created_at + timedelta(hours=72)
    assert reopened.due_at == reopened.reopened_at + timedelta(hours=72)  # the guest plan's
    with session_scope(migrated) as session:
        (item,) = review_queue(session, migrated)
        assert item.case.id == case.id and item.replied
    assert _count(migrated, Draft, Draft.case_id == case.id) == 3  # first, expert's, re-draft
    with session_scope(migrated) as session:
        newest = session.scalars(select(Draft).order_by(Draft.version.desc())).first()
        assert newest is not None and "20702" in newest.body_text
        listed = [line for line in newest.body_text.splitlines() if "- 99999" in line]
        assert listed and "only in quoted text" in listed[0]


def test_case_reference_in_subject_threads_only_for_the_asker(migrated: Settings) -> None:
    case, _ = _answered(migrated)
    own = _process(migrated, _mail(subject=f"More on [{case.ref}]", body="What about 20702?"))
    assert own.case_id == case.id
    stranger = _process(
        migrated,
        _mail(sender="someone@else.org", subject=f"Re: [{case.ref}]", body="Same for 99213?"),
    )
    assert stranger.case_id not in (None, case.id)
    other = _case(migrated, stranger.case_id)
    assert other.sender == "someone@else.org"
    assert other.attention and f"refers to case {case.ref}" in other.attention


def test_an_account_colleague_may_follow_up(migrated: Settings) -> None:
    with session_scope(migrated) as session:
        create_account(session, migrated, "Clinic", [ASKER, "boss@example-clinic.org"], "paid")
    case, answer = _answered(migrated)
    done = _process(
        migrated,
        _mail(
            sender="boss@example-clinic.org",
            subject="Re: Bill",
            body="And 20702?",
            headers=f"In-Reply-To: {answer.rfc_message_id}\n",
        ),
    )
    assert done.case_id == case.id


def test_awaiting_sender_case_reopens_on_the_askers_reply(migrated: Settings) -> None:
    case = _case(migrated, _process(migrated, QUESTION).case_id)
    with session_scope(migrated) as session:
        assert advance(session, case.id, CaseState.AWAITING_SENDER, actor="expert@desk.org")
    _process(
        migrated,
        _mail(
            subject=f"Re: [{case.ref}]",
            body="The laterality is left knee.",
            headers="In-Reply-To: <q1-20261124.091500@example-clinic.org>\n",
        ),
    )
    assert _case(migrated, case.id).state == CaseState.DRAFTED
    assert _count(migrated, Draft, Draft.case_id == case.id) == 2


def test_follow_up_during_review_keeps_the_reviewers_draft_and_flags(migrated: Settings) -> None:
    case = _case(migrated, _process(migrated, QUESTION).case_id)
    _process(migrated, _mail(subject=f"[{case.ref}] one more", body="Also 20702?"))
    after = _case(migrated, case.id)
    assert after.state == CaseState.DRAFTED
    assert _count(migrated, Draft, Draft.case_id == case.id) == 1
    assert after.attention and "wrote again" in after.attention


def test_real_auto_reply_is_recorded_and_never_answered(migrated: Settings) -> None:
    need(SISIMAI.is_dir(), "corpus missing")
    set_env_ack = set_env_ack_on(migrated)
    raw = sorted((SISIMAI / "bsd").glob("rfc3834-*"))[0].read_bytes()
    done = _process(set_env_ack, raw)
    assert (done.case_id, done.kind, done.outbound_ids) == (None, "robot", [])
    with session_scope(migrated) as session:
        row = session.scalars(select(InboundMessage)).one()
        assert row.state == InboundState.IGNORED and row.kind == "robot"
        assert row.note and "Auto-Submitted" in row.note
    assert _count(migrated, OutboundMessage) == 0


def set_env_ack_on(settings: Settings) -> Settings:
    return settings.model_copy(update={"acknowledge": True})


def test_auto_reply_to_our_answer_joins_its_case_without_changing_it(migrated: Settings) -> None:
    need(SISIMAI.is_dir(), "corpus missing")
    case, answer = _answered(migrated)
    raw = sorted((SISIMAI / "bsd").glob("rfc3834-*"))[0].read_bytes()
    raw = f"In-Reply-To: {answer.rfc_message_id}\n".encode() + raw
    done = _process(migrated, raw)
    assert (done.case_id, done.kind) == (case.id, "robot")
    assert _case(migrated, case.id).state == CaseState.SENT


def test_real_bounce_of_our_answer_marks_it_bounced_and_flags_the_case(migrated: Settings) -> None:
    need(SISIMAI.is_dir(), "corpus missing")
    case, answer = _answered(migrated)
    source = SISIMAI / "bsd" / "rfc3464-01.eml"
    raw = source.read_bytes()
    original = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", raw.split(b"message/rfc822", 1)[-1])
    assert original is not None
    raw = raw.replace(original.group(1), answer.rfc_message_id.encode())
    done = _process(migrated, raw)
    assert (done.case_id, done.kind) == (case.id, "bounce")
    with session_scope(migrated) as session:
        row = session.get_one(OutboundMessage, answer.id)
        assert row.state == OutboundState.BOUNCED
        assert row.bounce_status and row.bounce_status.startswith("5.")
        assert row.bounce_diagnostic
    flagged = _case(migrated, case.id).attention
    assert flagged and "bounced" in flagged


def test_loop_limit_caps_automatic_mail_to_one_address(migrated: Settings) -> None:
    settings = migrated.model_copy(update={"acknowledge": True, "auto_reply_limit": 2})
    queued = [_process(settings, _mail(body=f"Question {n}: 9921{n}?")) for n in range(4)]
    assert [len(p.outbound_ids) for p in queued] == [1, 1, 0, 0]
    assert _count(migrated, Case) == 4  # the questions still open cases
    with session_scope(migrated) as session:
        row = session.scalars(select(OutboundMessage)).first()
        assert row is not None and row.auto and row.mail_from == ""
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert msg["Auto-Submitted"] == "auto-replied"
        assert msg["In-Reply-To"]
    assert _count(migrated, AuditEntry, AuditEntry.action == "auto_mail.suppressed") == 2


def _dmarc(headers: str) -> bytes:
    return _mail(headers=headers, body="Is 99213 right here?")


TRUSTED = (
    "Authentication-Results: mx.desk.org; spf=fail smtp.mailfrom=example-clinic.org;\n"
    " dkim=none; dmarc=fail (p=reject) header.from=example-clinic.org\n"
)
FORGED_PASS = "Authentication-Results: mx.desk.org; dmarc=pass header.from=example-clinic.org\n"


def test_dmarc_fail_from_the_trusted_mta_is_quarantined(migrated: Settings) -> None:
    settings = migrated.model_copy(update={"trusted_authserv_id": "mx.desk.org"})
    # The sender's forged "pass" sits below our MTA's header: only the topmost counts.
    done = _process(settings, _dmarc(TRUSTED + FORGED_PASS))
    assert done.kind == "quarantined"
    with session_scope(migrated) as session:
        row = session.scalars(select(InboundMessage)).one()
        assert row.state == InboundState.QUARANTINED
        assert row.error and "DMARC fail" in row.error


def test_dmarc_fail_flags_under_the_flag_policy_and_sends_nothing(migrated: Settings) -> None:
    settings = migrated.model_copy(
        update={"trusted_authserv_id": "mx.desk.org", "dmarc_fail": "flag", "acknowledge": True}
    )
    done = _process(settings, _dmarc(TRUSTED))
    case = _case(migrated, done.case_id)
    assert case.attention and "DMARC fail" in case.attention
    assert done.outbound_ids == []


def test_outsiders_authentication_results_are_ignored(migrated: Settings) -> None:
    settings = migrated.model_copy(update={"trusted_authserv_id": "mx.desk.org"})
    forged = "Authentication-Results: mx.other.net; dmarc=fail header.from=example-clinic.org\n"
    assert _process(settings, _dmarc(forged)).kind == "question"
    unauthenticated = migrated.model_copy(update={"trusted_authserv_id": None})
    assert _process(unauthenticated, _mail(headers=TRUSTED, body="x 99214")).kind == "question"


def test_unknown_sender_invited_and_no_case(migrated: Settings) -> None:
    settings = migrated.model_copy(update={"unknown_sender": "invite"})
    done = _process(settings, QUESTION)
    assert done.case_id is None and len(done.outbound_ids) == 1
    with session_scope(migrated) as session:
        row = session.get_one(OutboundMessage, done.outbound_ids[0])
        assert row.kind == "invitation" and row.recipients == [ASKER]
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.state == InboundState.IGNORED and inbound.note
    assert _count(migrated, Case) == 0


def test_unknown_sender_held_for_a_reviewer(migrated: Settings) -> None:
    settings = migrated.model_copy(update={"unknown_sender": "hold"})
    done = _process(settings, QUESTION)
    case = _case(migrated, done.case_id)
    assert case.attention and "unknown sender" in case.attention
    assert done.outbound_ids == []


def test_account_holder_over_quota_gets_the_notice(migrated: Settings) -> None:
    with session_scope(migrated) as session:
        create_account(session, migrated, "Clinic", [ASKER], "free")
    for n in range(5):  # five answers sent this month: the free plan's quota
        case = _case(migrated, _process(migrated, _mail(body=f"Q{n} 9921{n}")).case_id)
        with session_scope(migrated) as session:
            row = approve(session, migrated, case.ref or "", "expert@desk.org", "Answer.")
            row.state, row.sent_at = OutboundState.SENT.value, utcnow()
    done = _process(migrated, _mail(body="Sixth question: 99215?"))
    assert done.case_id is None and len(done.outbound_ids) == 1
    with session_scope(migrated) as session:
        notice = session.get_one(OutboundMessage, done.outbound_ids[0])
        assert notice.kind == "quota_notice"
        text = message_from_bytes(notice.raw, policy=policy.default)
        body = text.get_body(("plain",))
        assert body is not None and "5 consults a month" in body.get_content()
    held = migrated.model_copy(update={"over_quota": "hold"})
    case = _case(migrated, _process(held, _mail(body="Seventh: 99212?")).case_id)
    assert case.attention and "monthly quota used: 5 of 5" in case.attention


def test_mail_from_our_own_address_is_a_loop(migrated: Settings, tmp_path: Path) -> None:
    done = _process(migrated, _mail(sender="consult@localhost", body="99213"))
    assert (done.case_id, done.kind) == (None, "robot")
