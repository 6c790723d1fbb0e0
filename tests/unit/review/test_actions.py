"""What a reviewer does, below the console: claim, edit with a version check,
approve, reject with a refusal, ask the sender and get their reply back."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from consultant import review
from consultant.db.models import AuditEntry, Case, CaseState, Draft, OutboundMessage, Reviewer
from consultant.db.session import session_scope
from consultant.errors import Conflict, Refused
from consultant.pipeline.draft import PLACEHOLDER
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.review.queue import review_queue, similar_cases
from consultant.reviewers import add_reviewer
from consultant.settings import Settings
from tests.conftest import mail_bytes

ANSWER = "Hello Dana,\n\n20700 is an add-on code: report it with the primary procedure.\n"


def _process(settings: Settings, raw: bytes) -> str:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        case_id = process_message(session, settings, inbound_id).case_id
        assert case_id is not None
        return session.get_one(Case, case_id).ref or ""


def _reviewers(settings: Settings) -> tuple[int, int]:
    with session_scope(settings) as session:
        first = add_reviewer(session, "rita@desk.example", password="long-enough-password")
        second = add_reviewer(session, "otto@desk.example", password="long-enough-password")
        return first.reviewer.id, second.reviewer.id


def _case(settings: Settings, ref: str) -> Case:
    with session_scope(settings) as session:
        return session.execute(select(Case).where(Case.ref == ref)).scalar_one()


@pytest.fixture
def ref(migrated: Settings) -> str:
    return _process(migrated, mail_bytes("simple_question.eml"))


def test_claim_moves_to_review_and_a_second_claim_is_refused(migrated: Settings, ref: str) -> None:
    rita, otto = _reviewers(migrated)
    with session_scope(migrated) as session:
        review.claim(session, ref, session.get_one(Reviewer, rita))
    with pytest.raises(Conflict, match="claimed by rita"), session_scope(migrated) as session:
        review.claim(session, ref, session.get_one(Reviewer, otto))
    with session_scope(migrated) as session:
        review.claim(session, ref, session.get_one(Reviewer, otto), take_over=True)
    case = _case(migrated, ref)
    assert (case.state, case.assignee_id) == (CaseState.IN_REVIEW, otto)
    with session_scope(migrated) as session:
        queue = review_queue(session, migrated, assignee="otto@desk.example")
        unclaimed = review_queue(session, migrated, assignee="none")
    assert [item.case.ref for item in queue] == [ref] and unclaimed == []


def test_stale_save_and_stale_approval_are_refused(migrated: Settings, ref: str) -> None:
    with session_scope(migrated) as session:
        review.save_draft(session, migrated, ref, "rita@desk.example", ANSWER, None, 1)
    stale = pytest.raises(Conflict, match="after you opened version 1")
    with stale, session_scope(migrated) as session:
        review.save_draft(session, migrated, ref, "otto@desk.example", "other", None, 1)
    with pytest.raises(Conflict), session_scope(migrated) as session:
        review.approve(session, migrated, ref, "otto@desk.example", base_version=1)
    with session_scope(migrated) as session:
        texts = list(session.scalars(select(Draft.body_text).order_by(Draft.version)))
        outbound = list(session.scalars(select(OutboundMessage)))
    assert texts[-1] == ANSWER and len(texts) == 2 and outbound == []
    with session_scope(migrated) as session:
        row = review.approve(session, migrated, ref, "rita@desk.example", ANSWER, None, 2)
        assert row.draft_id is not None
        versions = session.scalars(select(Draft.version)).all()
    assert sorted(versions) == [1, 2]  # approving the text as saved makes no new version


def test_reject_with_refusal_queues_the_polite_refusal(migrated: Settings, ref: str) -> None:
    """The refusal says what the reviewer chose to tell the asker; the internal reason
    stays in the case and the audit log."""
    with session_scope(migrated) as session:
        review.reject(
            session,
            ref,
            "rita@desk.example",
            "INTERNAL: asker is a known troll",
            settings=migrated,
            send_refusal=True,
            words="legal question",
        )
    with session_scope(migrated) as session:
        row = session.execute(select(OutboundMessage)).scalar_one()
        actions = session.scalars(select(AuditEntry.action)).all()
    mail = message_from_bytes(row.raw, policy=policy.default)
    assert row.kind == "refusal" and not row.auto and mail["Auto-Submitted"] is None
    assert ref in mail["Subject"]
    assert mail["In-Reply-To"] == "<q1-20261124.091500@example-clinic.org>"
    text = mail.get_body(("plain",))
    assert text is not None and "legal question" in text.get_content()
    assert b"INTERNAL" not in row.raw and b"troll" not in row.raw
    case = _case(migrated, ref)
    assert case.state == CaseState.REJECTED and "refusal.queued" in actions
    assert case.state_reason == "INTERNAL: asker is a known troll"


def test_ask_sender_waits_and_the_reply_threads_back_and_redrafts(
    migrated: Settings, ref: str
) -> None:
    with pytest.raises(Refused, match="question"), session_scope(migrated) as session:
        review.ask_sender(session, migrated, ref, "rita@desk.example", "   ")
    with session_scope(migrated) as session:
        asked = review.ask_sender(
            session, migrated, ref, "rita@desk.example", "Which knee, and what <b>DOS</b>?"
        )
        question_id, kind = asked.rfc_message_id, asked.kind
    assert kind == "information_request"
    assert _case(migrated, ref).state == CaseState.AWAITING_SENDER
    reply = (
        "From: Dana Biller <dana.biller@example-clinic.org>\nTo: consult@localhost\n"
        f"Subject: Re: question [{ref}]\nDate: Wed, 25 Nov 2026 10:00:00 -0500\n"
        f"Message-ID: <reply-1@example-clinic.org>\nIn-Reply-To: {question_id}\n"
        f"References: {question_id}\nContent-Type: text/plain\n\nLeft knee, DOS 11/20/2026.\n"
    ).encode()
    assert _process(migrated, reply) == ref
    with session_scope(migrated) as session:
        versions = session.scalars(select(Draft.version).order_by(Draft.version)).all()
    assert _case(migrated, ref).state == CaseState.DRAFTED and versions == [1, 2]


def test_similar_cases_share_codes_and_are_answered(migrated: Settings, ref: str) -> None:
    with session_scope(migrated) as session:
        review.approve(session, migrated, ref, "rita@desk.example", ANSWER)
        session.execute(select(Case)).scalar_one().state = CaseState.SENT
    later = _process(
        migrated,
        mail_bytes("simple_question.eml")
        .replace(b"q1-20261124.091500", b"q2-other")
        .replace(b"Bill 20700 with 27447?", b"Another question"),
    )
    with session_scope(migrated) as session:
        case = session.execute(select(Case).where(Case.ref == later)).scalar_one()
        found = similar_cases(session, case)
    assert [(s.case.ref, s.shared) for s in found] == [(ref, ("20700", "27447", "M86.161"))]


@pytest.mark.parametrize("subject", ["Re: x\nBcc: victim@example.org", "Re: x\r", "Re:\u2028x"])
def test_a_subject_with_a_line_break_is_refused_not_stored(
    migrated: Settings, ref: str, subject: str
) -> None:
    with pytest.raises(Refused, match="one line"), session_scope(migrated) as session:
        review.save_draft(session, migrated, ref, "rita@desk.example", ANSWER, subject, 1)
    with session_scope(migrated) as session:
        assert session.scalars(select(Draft.version)).all() == [1]


def test_an_edited_answer_is_sent_in_the_styled_answer_template(
    migrated: Settings, ref: str
) -> None:
    """The reviewer's words reach the asker in the answer template's layout (the
    system's greeting, disclaimer and quote styles), not as one pre-formatted block."""
    with session_scope(migrated) as session:
        draft = review.latest_draft(session, _case(migrated, ref).id)
        assert draft is not None
        edited = draft.body_text.replace(
            PLACEHOLDER, "Report 20700 with its primary.\nSecond line <b>."
        )
        row = review.approve(session, migrated, ref, "rita@desk.example", edited, None, 1)
        raw = row.raw
    mail = message_from_bytes(raw, policy=policy.default)
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert (
        '<p style="margin:0 0 12px 0;">Report 20700 with its primary.<br>Second line &lt;b&gt;.</p>'
        in html
    )
    assert "font-family:Arial" in html and 'pre-wrap;">Report' not in html
    assert re.search(r"<p[^>]*font-size:12px[^>]*>This answer is coding guidance", html)
    assert re.search(r"<blockquote[^>]*>", html)
