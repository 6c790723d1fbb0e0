"""CVE-2024-6923 payloads through the pipeline on SQLite: the mail we write from a
hostile question (subject, From name, Reply-To encoded once, twice, three times)
holds exactly our headers, goes where it should, and keeps its body."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from consultant import review
from consultant.accounts import create_account
from consultant.db.models import AuditEntry, Case, CaseState, OutboundMessage
from consultant.db.session import session_scope
from consultant.errors import Refused
from consultant.pipeline.intake.store import store_raw
from consultant.pipeline.process import process_message
from consultant.settings import Settings
from tests.injection import ASKER, INJECTION, LEVELS, check_outgoing, encoded, question, texts

CLEANED = "Hi X-Injected: yes Bcc: evil@evil.example <p>attacker body</p>"
ANSWER = "Hello,\n\n20700 is an add-on code: report it with the primary procedure.\n"


def _process(settings: Settings, raw: bytes) -> tuple[str | None, list[int]]:
    with session_scope(settings) as session:
        inbound_id = store_raw(session, raw, source="smtp").inbound_id
    with session_scope(settings) as session:
        done = process_message(session, settings, inbound_id)
        case = session.get(Case, done.case_id) if done.case_id else None
        return (case.ref if case else None), done.outbound_ids


def _raw(settings: Settings, outbound_id: int) -> bytes:
    with session_scope(settings) as session:
        return session.get_one(OutboundMessage, outbound_id).raw


def _outbound_count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(select(func.count()).select_from(OutboundMessage)) or 0)


@pytest.mark.parametrize("level", LEVELS)
def test_acknowledgement_of_an_encoded_subject_and_name_holds_only_our_headers(
    migrated: Settings, level: int
) -> None:
    settings = migrated.model_copy(update={"acknowledge": True})
    raw = question(
        subject=encoded("Hi" + INJECTION, level),
        from_name=encoded("Dana" + INJECTION, level),
    )
    ref, [outbound_id] = _process(settings, raw)
    msg = check_outgoing(_raw(settings, outbound_id), to=ASKER, auto=True)
    assert msg["Subject"] == f"Re: {CLEANED} [{ref}]"
    plain, html = texts(msg)
    assert ref and ref in plain and ref in html
    for text in (plain, html):
        assert "Dana" not in text and "attacker" not in text and "=?" not in text


@pytest.mark.parametrize("level", LEVELS)
def test_quota_notice_of_an_encoded_subject_and_name_holds_only_our_headers(
    migrated: Settings, tmp_path: Path, level: int
) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text(
        "plans:\n  guest: {monthly_quota: 1}\n  free: {monthly_quota: 5}\n"
        "  spent: {monthly_quota: 0}\n"
    )
    settings = migrated.model_copy(update={"plans_file": plans})
    with session_scope(settings) as session:
        create_account(session, settings, "Spent Clinic", [ASKER], "spent")
    raw = question(
        subject=encoded("Hi" + INJECTION, level),
        from_name=encoded("Dana" + INJECTION, level),
        reply_to=f"Helper <{'x' * level}@elsewhere.example>",
    )
    ref, [outbound_id] = _process(settings, raw)
    assert ref is None  # over quota: no case, a notice
    msg = check_outgoing(_raw(settings, outbound_id), to=ASKER, auto=True)
    assert msg["Subject"] == f"Re: {CLEANED} (monthly consults used up)"
    plain, html = texts(msg)
    assert "includes 0 consults a month" in " ".join(plain.split())
    for text in (plain, html):
        assert "Dana" not in text and "attacker" not in text and "elsewhere" not in text


@pytest.mark.parametrize("level", LEVELS)
def test_automatic_mail_goes_to_from_not_to_a_reply_to_with_an_encoded_break(
    migrated: Settings, level: int
) -> None:
    settings = migrated.model_copy(update={"unknown_sender": "invite"})
    hostile = encoded("x" + INJECTION, level, word="q")
    _, [outbound_id] = _process(settings, question(reply_to=f'"{hostile}"@evil.example'))
    msg = check_outgoing(_raw(settings, outbound_id), to=ASKER, auto=True)
    plain, html = texts(msg)
    for text in (plain, html):
        assert "Dana" not in text and "evil" not in text and ASKER not in text


@pytest.mark.parametrize("level", LEVELS)
def test_approved_answer_of_an_encoded_subject_holds_only_our_headers(
    migrated: Settings, level: int
) -> None:
    ref, _ = _process(migrated, question(subject=encoded("Hi" + INJECTION, level)))
    assert ref
    with session_scope(migrated) as session:
        row = review.approve(session, migrated, ref, "rita@desk.example", ANSWER)
        raw, recipients = row.raw, list(row.recipients)
    msg = check_outgoing(raw, to=ASKER)
    assert recipients == [ASKER]
    assert msg["Subject"] == f"Re: {CLEANED} [{ref}]"
    assert msg["In-Reply-To"] == "<q-injection@example-clinic.org>"
    assert texts(msg)[0] == ANSWER


@pytest.mark.parametrize("level", LEVELS)
def test_ask_sender_and_refusal_of_an_encoded_subject_hold_only_our_headers(
    migrated: Settings, level: int
) -> None:
    subject = encoded("Hi" + INJECTION, level)
    first, _ = _process(migrated, question(subject=subject, message_id="<q-ask@example.org>"))
    second, _ = _process(migrated, question(subject=subject, message_id="<q-rej@example.org>"))
    assert first and second
    with session_scope(migrated) as session:
        asked = review.ask_sender(session, migrated, first, "rita@desk.example", "Which side?")
        refused = review.reject(
            session,
            second,
            "rita@desk.example",
            "internal: not coding",
            settings=migrated,
            send_refusal=True,
            words="Not a coding question.",
        ).refusal
        assert refused is not None
        raws = {"ask": (asked.raw, first), "refusal": (refused.raw, second)}
    for kind, (raw, ref) in raws.items():
        msg = check_outgoing(raw, to=ASKER)
        assert msg["Subject"] == f"Re: {CLEANED} [{ref}]", kind
        plain, _ = texts(msg)
        assert "Which side?" in plain if kind == "ask" else "Not a coding question." in plain
        assert "internal: not coding" not in plain


@pytest.mark.parametrize("level", LEVELS)
def test_reply_to_with_an_encoded_break_is_refused_for_every_reviewer_mail(
    migrated: Settings, level: int
) -> None:
    hostile = encoded("x" + INJECTION, level, word="q")
    ref, _ = _process(migrated, question(reply_to=f'"{hostile}"@evil.example'))
    assert ref
    attempts = {
        "approve": lambda s: review.approve(s, migrated, ref, "rita@desk.example", ANSWER),
        "ask": lambda s: review.ask_sender(s, migrated, ref, "rita@desk.example", "Which?"),
        "reject": lambda s: review.reject(
            s, ref, "rita@desk.example", "No.", settings=migrated, send_refusal=True
        ),
    }
    for action, attempt in attempts.items():
        refused = pytest.raises(Refused, match=r"cannot send to .*line break")
        with refused as refusal, session_scope(migrated) as session:
            attempt(session)
        print(action, "refused:", refusal.value)
    with session_scope(migrated) as session:
        state = session.scalar(select(Case.state).where(Case.ref == ref))
    assert state == CaseState.DRAFTED and _outbound_count(migrated) == 0
    with session_scope(migrated) as session:  # rejecting without a refusal mail still works
        review.reject(session, ref, "rita@desk.example", "Hostile Reply-To.")


@pytest.mark.parametrize("level", LEVELS)
def test_a_reviewer_subject_with_an_encoded_break_is_refused(
    migrated: Settings, level: int
) -> None:
    ref, _ = _process(migrated, question())
    assert ref
    subject = "Re: " + encoded("Hi" + INJECTION, level)
    with pytest.raises(Refused, match="one line"), session_scope(migrated) as session:
        review.save_draft(session, migrated, ref, "rita@desk.example", ANSWER, subject)
    with session_scope(migrated) as session:
        edits = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "draft.edited")
        )
    assert edits == 0
