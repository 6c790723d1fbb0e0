"""store_raw and store_many: one row per mail, a redelivery recognised."""

from __future__ import annotations

from sqlalchemy import func, select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.store import Incoming, store_many, store_raw
from consultant.pipeline.rawmail import fingerprint, rfc_message_id_of
from consultant.settings import Settings
from tests.conftest import mail_bytes


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


def test_store_many_inserts_a_batch_and_recognises_what_is_stored(migrated: Settings) -> None:
    raw = mail_bytes("simple_question.eml")
    other = raw.replace(b"27447", b"27446")
    with session_scope(migrated) as session:
        before = store_raw(session, raw, source="smtp")
    batch = [Incoming(b"Received: by imap\r\n" + raw, "imap:x"), Incoming(other, "imap:x")]
    with session_scope(migrated) as session:
        stored = store_many(session, [*batch, Incoming(other, "imap:x")])
        count = session.scalar(select(func.count()).select_from(InboundMessage))
    assert [s.created for s in stored] == [False, True, False]
    assert stored[0].inbound_id == before.inbound_id
    assert stored[1].inbound_id == stored[2].inbound_id != before.inbound_id
    assert count == 2


def test_quarantined_record_keeps_the_reason_and_the_full_size(migrated: Settings) -> None:
    head = b"From: a@example.org\r\nMessage-ID: <big@example.org>\r\n\r\n"
    with session_scope(migrated) as session:
        stored = store_raw(session, head, source="imap:x", quarantine="too big", size=99_000_000)
        row = session.get_one(InboundMessage, stored.inbound_id)
        assert (row.state, row.error, row.size) == ("quarantined", "too big", 99_000_000)


def test_message_id_that_is_not_utf8_is_replaced_and_the_mail_stored(migrated: Settings) -> None:
    # Found by the fuzz run: the id kept undecodable bytes as surrogates, which no
    # database driver encodes, so the insert failed (SMTP answered 451).
    raw = b"Message-ID: <\xff\xfe@example.org>\nFrom: a@example.org\n\nHello\n"
    assert rfc_message_id_of(raw, fingerprint(raw)).endswith("@consultant.invalid>")
    utf8 = "Message-ID: <caf\u00e9@example.org>\nFrom: a@example.org\n\nHello\n".encode()
    assert rfc_message_id_of(utf8, fingerprint(utf8)) == "<caf\u00e9@example.org>"
    with session_scope(migrated) as session:
        assert store_raw(session, raw, source="smtp").created
        assert store_raw(session, utf8, source="smtp").created
