from __future__ import annotations

from sqlalchemy import func, select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import fingerprint, rfc_message_id_of, store_raw
from consultant.settings import Settings
from tests.conftest import mail_bytes


def test_fingerprint_ignores_trace_headers_and_line_ends() -> None:
    raw = mail_bytes("simple_question.eml")
    relayed = b"Received: from mx1 by mx2; Tue, 24 Nov 2026\r\n\tcontinued\r\n" + raw.replace(
        b"\n", b"\r\n"
    )
    assert fingerprint(relayed) == fingerprint(raw)


def test_fingerprint_changes_with_the_body() -> None:
    raw = mail_bytes("simple_question.eml")
    assert fingerprint(raw) != fingerprint(raw.replace(b"27447", b"27446"))


def test_missing_message_id_is_made_stable_from_the_content() -> None:
    raw = mail_bytes("no_message_id.eml")
    made = rfc_message_id_of(raw, fingerprint(raw))
    assert made == rfc_message_id_of(raw, fingerprint(raw))
    assert made.startswith("<") and made.endswith("@consultant.invalid>")


def test_message_id_is_read_from_the_header() -> None:
    raw = mail_bytes("simple_question.eml")
    assert rfc_message_id_of(raw, "x") == "<q1-20261124.091500@example-clinic.org>"


def test_store_raw_recognises_a_redelivery(migrated: Settings) -> None:
    raw = mail_bytes("simple_question.eml")
    with session_scope(migrated) as session:
        first = store_raw(session, raw, source="smtp", envelope_to=["consult@localhost"])
    with session_scope(migrated) as session:
        again = store_raw(session, b"Received: by relay2\r\n" + raw, source="smtp")
        count = session.scalar(select(func.count()).select_from(InboundMessage))
    assert first.created and not again.created
    assert again.inbound_id == first.inbound_id
    assert count == 1


def test_store_raw_keeps_different_content_under_one_message_id(migrated: Settings) -> None:
    raw = mail_bytes("simple_question.eml")
    with session_scope(migrated) as session:
        first = store_raw(session, raw, source="smtp")
        second = store_raw(session, raw.replace(b"27447", b"27446"), source="smtp")
        stored = session.get_one(InboundMessage, second.inbound_id)
    assert second.created and second.inbound_id != first.inbound_id
    assert stored.raw == raw.replace(b"27447", b"27446")
