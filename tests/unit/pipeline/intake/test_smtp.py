"""The SMTP handler's store step, without a socket."""

from __future__ import annotations

from aiosmtpd.smtp import Envelope
from sqlalchemy import select

from consultant.db.models import InboundMessage
from consultant.db.session import session_scope
from consultant.pipeline.intake.smtp import IntakeHandler, incoming_of, storable
from consultant.settings import Settings


def test_envelope_sender_with_8bit_bytes_or_nul_is_stored_as_text(migrated: Settings) -> None:
    # Found by the fuzz run: "MAIL FROM:<\xff\xfe@x>" reached the database as surrogates
    # (the insert failed, SMTP answered 451) and a NUL would fail on PostgreSQL.
    handler = IntakeHandler(migrated, lambda inbound_id: None)
    envelope = Envelope()
    envelope.mail_from = b"<\xff\xfea\x00b@example.org>".decode("utf-8", "surrogateescape")
    envelope.rcpt_tos = ["consult@localhost"]
    try:
        [stored] = handler._store([incoming_of(b"From: a@example.org\n\nHello\n", envelope)])
    finally:
        handler.close()
    with session_scope(migrated) as session:
        row = session.scalars(select(InboundMessage).where(InboundMessage.id == stored.inbound_id))
        assert row.one().envelope_from == "<\ufffd\ufffdab@example.org>"
    assert storable("caf\u00e9@example.org") == "caf\u00e9@example.org"
